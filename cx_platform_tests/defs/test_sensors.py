"""Sensors evaluated with ``build_sensor_context``: the landing cursor (by content), anomaly alerts
(once per KPI, segment and day), and the freshness sensor. No clocks, no sleeps."""

from __future__ import annotations

import datetime as dt
import json
import os

import dagster as dg
import pytest

from cx_platform.definitions import defs
from cx_platform.defs.monitoring import checks
from cx_platform.defs.monitoring.sensors import (
    DAILY_CHAIN,
    anomaly_alert_sensor,
    kpi_freshness_sensor,
    landing_sensor,
)
from cx_platform.defs.resources import AlertSinkResource, LakeResource, LandingResource
from cx_platform.lib.alerts import AlertLog
from cx_platform_tests.defs.synthetic import resources, ticket, write_tickets
from cx_platform_tests.defs.test_monitoring import LAST, build_lake, run_kpis_and_anomalies

D = dt.date
TICKETS = dg.AssetKey(["staging", "customer_support_tickets"])


@pytest.fixture
def instance():
    # invoked directly, a sensor works on the in-memory instance (the daemon needs a persistent one)
    return dg.DagsterInstance.ephemeral()


def evaluate(sensor, instance, cursor=None, **resources):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
    return sensor(context), context


def landing_tick(instance, landing, cursor):
    result, _ = evaluate(landing_sensor, instance, cursor, landing=LandingResource(root=str(landing)))
    return result


def windows(result) -> list[tuple[str, str]]:
    return [(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
            for r in result.run_requests]


def test_landing_cursor_follows_content_not_file_times(tmp_path, instance):
    landing = tmp_path / "landing"
    june = [ticket(i, D(2023, 6, 1) + dt.timedelta(days=i % 10)) for i in range(1, 21)]
    path = write_tickets(landing, "tickets.csv", june)

    first = landing_tick(instance, landing, None)
    assert windows(first) == [("2023-05-25", "2023-06-10")]  # every day of the file, and 7 days before
    request = first.run_requests[0]
    assert request.asset_selection == [TICKETS, *DAILY_CHAIN]

    os.utime(path, (0, 0))  # touched (even backwards in time), content unchanged: nothing to do
    touched = landing_tick(instance, landing, first.cursor)
    assert isinstance(touched, dg.SkipReason)

    # re-sent with one ticket of 4 June corrected: only that day (and the 7 before it) re-runs
    corrected = [dict(t) for t in june]
    corrected[3]["Customer Satisfaction Rating"] = "1.0"  # ticket 4 is on 2023-06-05
    write_tickets(landing, "tickets.csv", corrected)
    resent = landing_tick(instance, landing, first.cursor)
    assert windows(resent) == [("2023-05-29", "2023-06-05")]
    assert resent.run_requests[0].run_key != request.run_key

    # the same corrected file again: unchanged since the last cursor
    assert isinstance(landing_tick(instance, landing, resent.cursor), dg.SkipReason)


def test_a_new_file_with_a_late_day_runs_that_day_and_the_fcr_days_before_it(tmp_path, instance):
    landing = tmp_path / "landing"
    june = [ticket(i, D(2023, 6, 10) + dt.timedelta(days=i % 5)) for i in range(1, 11)]
    write_tickets(landing, "june.csv", june)
    cursor = landing_tick(instance, landing, None).cursor
    write_tickets(landing, "late.csv", [ticket(100, D(2023, 5, 2))])
    late = landing_tick(instance, landing, cursor)
    assert windows(late) == [("2023-04-25", "2023-05-02")]
    # a removed file re-runs the days it held
    (landing / "customer_support_tickets" / "late.csv").unlink()
    assert windows(landing_tick(instance, landing, late.cursor)) == [("2023-04-25", "2023-05-02")]


def test_an_unreadable_file_restages_its_source_so_the_run_reports_why(tmp_path, instance):
    landing = tmp_path / "landing"
    (landing / "customer_support_tickets").mkdir(parents=True)
    (landing / "customer_support_tickets" / "broken.csv").write_text("not,a,ticket,export\n1,2,3,4\n")
    [request] = landing_tick(instance, landing, None).run_requests
    assert request.asset_selection == [TICKETS] and "dagster/asset_partition_range_start" not in request.tags


def test_the_run_requests_are_valid_for_the_landing_job(tmp_path, instance):
    landing = tmp_path / "landing"
    write_tickets(landing, "tickets.csv", [ticket(1, D(2023, 6, 1))])
    request = landing_tick(instance, landing, None).run_requests[0]
    job = defs.resolve_job_def("landing_job")
    assert set(request.asset_selection) <= job.asset_layer.selected_asset_keys
    assert landing_sensor.job_name == "landing_job"


@pytest.fixture(scope="module")
def injected(tmp_path_factory):
    """A lake whose last day has a CSAT drop on phone x billing, with its KPIs and anomalies materialized."""
    instance = dg.DagsterInstance.ephemeral()
    lake = build_lake(tmp_path_factory.mktemp("injected"), {(LAST, "phone", "billing"): 0.0})
    assert run_kpis_and_anomalies(lake, instance).success
    return lake, instance


def test_anomaly_alerts_are_sent_once_per_kpi_segment_and_day(tmp_path, injected):
    lake, instance = injected
    log = tmp_path / "alerts.jsonl"
    sink = AlertSinkResource(log_path=str(log), max_age_days=0)
    result, context = evaluate(anomaly_alert_sensor, instance, None, lake=LakeResource(root=str(lake.root)),
                               alert_sink=sink)
    sent = AlertLog(log).read()
    assert {(a["kpi"], a["segment"], a["business_date"]) for a in sent} == {
        ("csat_rate", "source=synthetic", LAST.isoformat()),
        ("csat_rate", "source=synthetic|channel=phone", LAST.isoformat()),
    }
    assert sent[0]["drivers"] and sent[0]["direction"] == "bad"
    assert "2 alerts sent" in result.skip_message

    # the day is recomputed (a backfill, a late file): the sensor sees it again, the sink sends nothing new
    assert dg.materialize([defs.get_assets_def("kpi_anomalies")], resources=resources(lake.root),
                          instance=instance, partition_key=LAST.isoformat()).success
    again, _ = evaluate(anomaly_alert_sensor, instance, context.cursor,
                        lake=LakeResource(root=str(lake.root)), alert_sink=sink)
    assert "1 kpi_anomalies materializations" in again.skip_message and "0 alerts sent" in again.skip_message
    assert len(AlertLog(log).read()) == 2


def test_no_alert_on_a_steady_series(tmp_path, instance):
    lake = build_lake(tmp_path)
    assert run_kpis_and_anomalies(lake, instance).success
    log = tmp_path / "alerts.jsonl"
    result, _ = evaluate(anomaly_alert_sensor, instance, None, lake=LakeResource(root=str(lake.root)),
                         alert_sink=AlertSinkResource(log_path=str(log), max_age_days=0))
    assert "0 alerts sent" in result.skip_message and AlertLog(log).read() == []


def test_old_anomalies_stay_in_the_table_and_are_not_paged(tmp_path, injected, monkeypatch):
    lake, instance = injected
    monkeypatch.setattr(checks, "now", lambda: dt.datetime.combine(LAST + dt.timedelta(days=30), dt.time(12),
                                                                 tzinfo=dt.UTC))
    log = tmp_path / "alerts.jsonl"
    evaluate(anomaly_alert_sensor, instance, None, lake=LakeResource(root=str(lake.root)),
             alert_sink=AlertSinkResource(log_path=str(log), max_age_days=7))
    assert AlertLog(log).read() == []


def test_the_webhook_gets_the_alerts_when_configured(tmp_path, monkeypatch):
    posted = []
    monkeypatch.setattr("cx_platform.defs.resources.post_json",
                        lambda url, payload, timeout: posted.append((url, payload)) or 200)
    sink = AlertSinkResource(log_path=str(tmp_path / "a.jsonl"), webhook_url="http://hooks.invalid/x")
    alert = {"business_date": "2024-01-01", "kpi": "nps", "segment": "source=s", "score": -5.0}
    assert len(sink.send([alert, alert])) == 1
    assert sink.send([alert]) == []
    assert posted == [("http://hooks.invalid/x", {"alerts": [{"key": "2024-01-01|nps|source=s", **alert}]})]
    assert json.loads((tmp_path / "a.jsonl").read_text())["key"] == "2024-01-01|nps|source=s"


def test_freshness_sensor_runs_the_checks_after_a_deadline_or_new_data(tmp_path, instance, monkeypatch):
    clock = {"now": dt.datetime(2024, 4, 1, 10, tzinfo=dt.UTC)}
    monkeypatch.setattr(checks, "now", lambda: clock["now"])
    first, context = evaluate(kpi_freshness_sensor, instance)
    assert isinstance(first, dg.RunRequest)
    same, _ = evaluate(kpi_freshness_sensor, instance, context.cursor)
    assert isinstance(same, dg.SkipReason)
    clock["now"] = dt.datetime(2024, 4, 2, 9, 30, tzinfo=dt.UTC)  # the next deadline has passed
    assert isinstance(evaluate(kpi_freshness_sensor, instance, context.cursor)[0], dg.RunRequest)
    lake = build_lake(tmp_path)
    dg.materialize([defs.get_assets_def("kpi_funnel_daily")], resources=resources(lake.root),
                   instance=instance, partition_key=LAST.isoformat())
    assert isinstance(evaluate(kpi_freshness_sensor, instance, context.cursor)[0], dg.RunRequest)
    job = defs.resolve_job_def("freshness_checks_job")
    assert {k.name for k in job.asset_layer.asset_graph.asset_check_keys} == {"latest_partition_on_time"}
