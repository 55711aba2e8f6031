"""Backfills: a date range in one run (in process and from the CLI), and a late file re-running its day
and the earlier days whose 7-day FCR reads it. Ingestion + KPI assets only (no embedding model)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cx_platform.definitions import defs
from cx_platform.defs.monitoring import checks
from cx_platform.defs.monitoring.sensors import landing_sensor, topics_follow_up_sensor
from cx_platform.defs.resources import LandingResource
from cx_platform.lib import kpis
from cx_platform.lib.lake import Lake, day_range
from cx_platform_tests.defs.synthetic import (
    MODEL_BOUND,
    range_tags,
    resources,
    stage_other_sources_empty,
    ticket,
    write_tickets,
)

D = dt.date
JUNE = day_range(D(2023, 6, 1), D(2023, 6, 10))
REPEATER = "repeat.customer@example.com"
TICKETS = dg.AssetKey(["staging", "customer_support_tickets"])
DAILY = [dg.AssetKey(k) for k in ("interactions", "kpi_funnel_daily", "kpi_operating_daily",
                                  "kpi_performance_daily", "kpi_anomalies")]
REPO = Path(__file__).resolve().parents[2]


def june_tickets() -> list[dict]:
    """Two tickets a day from one-off customers, and one billing ticket on 2 June from REPEATER."""
    rows = [ticket(10 * i + k, day, hour=9 + k) for i, day in enumerate(JUNE) for k in range(2)]
    return rows + [ticket(999, D(2023, 6, 2), email=REPEATER, hour=15)]


def assets_and_checks(*keys: dg.AssetKey) -> list:
    wanted = set(keys)
    own = [c for c in [*checks.SOURCE_CHECKS, *checks.DAILY_CHECKS]
           if {k.asset_key for k in c.check_keys} <= wanted]
    return [*(defs.get_assets_def(k) for k in keys), *own]


def fcr(lake: Lake, day: dt.date) -> tuple[int, int]:
    op = lake.scan_days("kpi_operating_daily", [day], kpis.OPERATING_DAILY).collect()
    return int(op["fcr_first_contact_resolutions"].sum()), int(op["fcr_resolved_contacts"].sum())


def materializations(instance, key: str) -> dict[str, int]:
    records = instance.fetch_materializations(dg.AssetKey(key), limit=1000).records
    return {p: sum(1 for r in records if r.partition_key == p) for p in {r.partition_key for r in records}}


@pytest.fixture
def june(tmp_path):
    landing, lake = tmp_path / "landing", Lake(tmp_path / "lake")
    write_tickets(landing, "june.csv", june_tickets())
    stage_other_sources_empty(lake)
    instance = dg.DagsterInstance.ephemeral()
    res = resources(lake.root, landing)
    assert dg.materialize(assets_and_checks(TICKETS), resources=res, instance=instance).success
    return landing, lake, instance, res


def test_a_date_range_is_one_run_that_writes_and_records_every_day(june):
    _, lake, instance, res = june
    result = dg.materialize(assets_and_checks(*DAILY), resources=res, instance=instance,
                            tags=range_tags(JUNE[0], JUNE[-1]))
    assert result.success
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()
              if not e.passed]
    assert failed == []
    assert len(instance.get_runs()) == 2  # staging, then the whole range at once
    for key in DAILY:
        assert instance.get_materialized_partitions(key) == {d.isoformat() for d in JUNE}, key
        assert lake.existing_days(key.path[-1]) == JUNE
    assert fcr(lake, D(2023, 6, 2)) == (3, 3)  # the repeat customer has not come back (yet)


def test_a_late_file_reruns_its_day_and_the_fcr_days_that_read_it(june):
    landing, lake, instance, res = june
    assert dg.materialize(assets_and_checks(*DAILY), resources=res, instance=instance,
                          tags=range_tags(JUNE[0], JUNE[-1])).success
    cursor = landing_sensor(dg.build_sensor_context(
        instance=instance, resources={"landing": LandingResource(root=str(landing))})).cursor

    # a late export: the repeat customer wrote again about billing on 5 June
    write_tickets(landing, "late.csv", [ticket(5000, D(2023, 6, 5), email=REPEATER)])
    result = landing_sensor(dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"landing": LandingResource(root=str(landing))}))
    [request] = result.run_requests
    tags = request.tags
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        "2023-05-29", "2023-06-05")
    selection = [k for k in request.asset_selection if k not in MODEL_BOUND]  # the model is not run here
    run = dg.materialize(assets_and_checks(*selection), selection=selection, resources=res, instance=instance,
                         tags=request.tags)
    assert run.success

    counts = materializations(instance, "kpi_operating_daily")
    twice = {d.isoformat() for d in day_range(D(2023, 6, 1), D(2023, 6, 5))}
    assert {p for p, n in counts.items() if n == 2} == twice
    assert {p for p, n in counts.items() if n == 1} == {
        *(d.isoformat() for d in day_range(D(2023, 5, 29), D(2023, 5, 31))),
        *(d.isoformat() for d in day_range(D(2023, 6, 6), D(2023, 6, 10)))}
    assert fcr(lake, D(2023, 6, 2)) == (2, 3)  # 2 June's resolution was not a first-contact resolution
    assert lake.scan_days("interactions", [D(2023, 6, 5)], kpis.INTERACTIONS).collect().height == 3

    # once the landing run has succeeded, the contact topics of the 27 days after its range are re-run
    # alone: their trailing 28-day window reads 5 June (06-06 .. 06-05 + 27 days = 07-02)
    follow_up = topics_follow_up_sensor(dg.build_run_status_sensor_context(
        sensor_name="topics_follow_up_sensor", dagster_instance=instance, dagster_run=run.dagster_run,
        dagster_event=run.get_run_success_event()))
    assert isinstance(follow_up, dg.RunRequest)
    assert (follow_up.tags["dagster/asset_partition_range_start"],
            follow_up.tags["dagster/asset_partition_range_end"]) == ("2023-06-06", "2023-07-02")
    assert follow_up.tags["cx/after_run"] == run.run_id
    assert topics_follow_up_sensor.job_name == "topics_job"
    assert defs.resolve_job_def("topics_job").asset_layer.selected_asset_keys == {dg.AssetKey("contact_topics")}

    # a run the landing sensor did not launch (here the first backfill) asks for no follow-up
    first_run = instance.get_run_by_id(instance.get_runs(limit=10)[-1].run_id)
    assert "cx/topics_through" not in first_run.tags
    skipped = topics_follow_up_sensor(dg.build_run_status_sensor_context(
        sensor_name="topics_follow_up_sensor", dagster_instance=instance, dagster_run=first_run,
        dagster_event=run.get_run_success_event()))
    assert isinstance(skipped, dg.SkipReason)


def test_the_cli_backfills_a_range_in_one_run(june, tmp_path):
    _, lake, _, _ = june
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "CX_LAKE_DIR": str(lake.root),
           "CX_LANDING_DIR": str(tmp_path / "landing")}
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize",
               "-m", "cx_platform.definitions",
               "--select", ",".join(k.to_user_string() for k in DAILY),
               "--partition-range", "2023-06-01...2023-06-10",
               # one process for the whole run: each step in its own process would re-import the code
               "--config-json", '{"execution": {"config": {"in_process": {}}}}']
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_runs()) == 1
        materialized = instance.get_materialized_partitions(dg.AssetKey("kpi_operating_daily"))
        assert materialized == {d.isoformat() for d in JUNE}
    contacts = pl.scan_parquet(lake.glob("kpi_operating_daily")).select(pl.col("contacts").sum())
    assert contacts.collect().item() == 21


def test_every_daily_asset_can_run_a_range_in_one_run():
    graph = defs.resolve_asset_graph()
    for key in [*DAILY, *MODEL_BOUND]:
        assert graph.get(key).backfill_policy == dg.BackfillPolicy.single_run(), key
    # a late day D re-runs the FCR KPIs of D-7..D: the dependency says so
    mapping = graph.get(dg.AssetKey("kpi_operating_daily")).partition_mappings[dg.AssetKey("interactions")]
    assert (mapping.start_offset, mapping.end_offset) == (0, kpis.FCR_WINDOW_DAYS)
