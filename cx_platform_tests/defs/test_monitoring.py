"""Checks, freshness and the anomalies table, run with Dagster's own APIs on hand-made lake partitions
(KPI assets + monitoring; no embedding model)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from cx_platform.definitions import defs
from cx_platform.defs.monitoring import checks
from cx_platform.lib import schemas
from cx_platform.lib.anomaly import ANOMALIES
from cx_platform.lib.lake import Lake, day_range
from cx_platform_tests.defs.synthetic import contact_frames, range_tags, resources

START = dt.date(2024, 3, 1)
DAYS = day_range(START, START + dt.timedelta(days=34))
LAST = DAYS[-1]
KPI_KEYS = [dg.AssetKey(k) for k in ("kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily")]
ANOMALIES_KEY = dg.AssetKey("kpi_anomalies")


def graph_assets(*keys: dg.AssetKey) -> list:
    return [defs.get_assets_def(k) for k in keys]


def checks_of(*keys: dg.AssetKey) -> list:
    """The monitoring checks (data-quality multi-checks) defined for ``keys``."""
    wanted = set(keys)
    return [c for c in checks.DAILY_CHECKS if {k.asset_key for k in c.check_keys} <= wanted]


def build_lake(tmp_path, shares=None) -> Lake:
    lake = Lake(tmp_path / "lake")
    interactions, labels = contact_frames(DAYS, shares)
    lake.write_partitions("interactions", DAYS, interactions, schemas.INTERACTIONS)
    lake.write_partitions("interaction_labels", DAYS, labels, schemas.INTERACTION_LABELS)
    return lake


def run_kpis_and_anomalies(lake: Lake, instance=None):
    keys = [*KPI_KEYS, ANOMALIES_KEY]
    return dg.materialize(
        [*graph_assets(*keys), *checks_of(*keys)], resources=resources(lake.root),
        instance=instance or dg.DagsterInstance.ephemeral(), tags=range_tags(DAYS[0], DAYS[-1]),
    )


def evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def test_an_injected_csat_drop_is_found_with_its_channel_and_contact_reason_as_drivers(tmp_path):
    lake = build_lake(tmp_path, {(LAST, "phone", "billing"): 0.0})
    result = run_kpis_and_anomalies(lake)
    assert result.success
    found = pl.read_parquet(lake.partition_path("kpi_anomalies", LAST))
    assert set(found.columns) == set(ANOMALIES.names()) - {"business_date"}
    csat = found.filter(pl.col("kpi") == "csat_rate")
    assert set(csat["segment"]) == {"source=synthetic", "source=synthetic|channel=phone"}
    whole = csat.filter(pl.col("segment") == "source=synthetic").row(0, named=True)
    assert whole["direction"] == "bad" and whole["change"] == "down" and whole["score"] <= -3.5
    assert whole["drivers"].startswith("channel=phone")
    assert "contact_reason=billing" in whole["drivers"]
    phone = csat.filter(pl.col("segment") == "source=synthetic|channel=phone").row(0, named=True)
    assert phone["drivers"].startswith("contact_reason=billing")
    # earlier days: steady, or too little history to be scored
    earlier = pl.scan_parquet(lake.glob("kpi_anomalies"), hive_partitioning=True).filter(
        pl.col("date") < LAST).collect()
    assert earlier.filter(pl.col("kpi") == "csat_rate").is_empty()

    checked = evaluations(result)
    warn = checked[("kpi_anomalies", "no_anomalies")]
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    assert warn.metadata["anomalies"].value == found.height
    assert all(e.passed for (asset, name), e in checked.items() if name != "no_anomalies"), [
        k for k, e in checked.items() if not e.passed]
    meta = result.asset_materializations_for_node("kpi_anomalies")[0].metadata
    assert meta["rows"].value == found.height and meta["bad"].value >= 2
    assert "csat_rate" in meta["top_anomalies"].value


def test_a_steady_series_gives_an_empty_table_and_a_passing_check(tmp_path):
    lake = build_lake(tmp_path)
    result = run_kpis_and_anomalies(lake)
    assert result.success
    written = pl.scan_parquet(lake.glob("kpi_anomalies"), hive_partitioning=True).collect()
    assert written.filter(pl.col("kpi").is_in(["csat_rate", "contacts"])).is_empty()
    assert lake.existing_days("kpi_anomalies") == DAYS  # a 0-row file for every day
    assert evaluations(result)[("kpi_anomalies", "no_anomalies")].passed == written.is_empty()


def run_checks_only(lake: Lake, asset_key: dg.AssetKey, day: dt.date):
    monitoring = checks_of(asset_key)
    return dg.materialize(
        [*graph_assets(asset_key), *monitoring], selection=dg.AssetSelection.checks(*monitoring),
        resources=resources(lake.root), instance=dg.DagsterInstance.ephemeral(), tags=range_tags(day, day),
        raise_on_error=False,
    )


def test_out_of_range_values_fail_with_numbers_in_metadata(tmp_path):
    lake = Lake(tmp_path / "lake")
    day = DAYS[0]
    interactions, _ = contact_frames([day], per_cell=2)
    row = pl.int_range(pl.len())
    broken = interactions.with_columns(
        pl.when(row == 0).then(7).otherwise("csat_score").cast(pl.Int8).alias("csat_score"),
        pl.when(row == 1).then(-5.0).otherwise("handle_seconds").alias("handle_seconds"),
    )
    lake.write_partitions("interactions", [day], broken, schemas.INTERACTIONS)
    result = run_checks_only(lake, dg.AssetKey("interactions"), day)
    checked = evaluations(result)
    values = checked[("interactions", "values_in_range")]
    assert not values.passed and values.severity == dg.AssetCheckSeverity.ERROR
    assert values.metadata["csat_outside_1_5"].value == 1
    durations = checked[("interactions", "durations_non_negative")]
    assert not durations.passed and durations.severity == dg.AssetCheckSeverity.WARN
    assert durations.metadata["negative_handle_seconds"].value == 1
    assert checked[("interactions", "schema_matches")].passed


def test_a_broken_schema_fails_the_blocking_check_and_skips_the_row_checks(tmp_path):
    lake = Lake(tmp_path / "lake")
    day = DAYS[0]
    path = lake.partition_path("kpi_funnel_daily", day)
    path.parent.mkdir(parents=True)
    pl.DataFrame({"source": ["s"], "contacts": ["not a number"]}).write_parquet(path)
    result = run_checks_only(lake, dg.AssetKey("kpi_funnel_daily"), day)
    assert not result.success  # a failed blocking check fails its step: nothing downstream runs
    checked = evaluations(result)
    schema = checked[("kpi_funnel_daily", "schema_matches")]
    assert not schema.passed and schema.severity == dg.AssetCheckSeverity.ERROR
    mismatch = schema.metadata["first_mismatches"].value[day.isoformat()]
    assert "leads" in mismatch["missing_columns"] and "contacts" in mismatch["wrong_types"]
    assert not checked[("kpi_funnel_daily", "contacts_reconcile")].passed
    assert defs.resolve_asset_graph().get_check_spec(
        dg.AssetCheckKey(dg.AssetKey("kpi_funnel_daily"), "schema_matches")).blocking


def test_freshness_check_fails_on_a_missing_partition_and_passes_once_it_lands(tmp_path, monkeypatch):
    # 10:00 on 1 April: the deadline (09:00) for 31 March has passed
    monkeypatch.setattr(checks, "now", lambda: dt.datetime(2024, 4, 1, 10, tzinfo=dt.UTC))
    lake = build_lake(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    freshness = [c for c in checks.FRESHNESS_CHECKS if {k.asset_key for k in c.check_keys} <= set(KPI_KEYS)]

    def evaluate():
        return evaluations(dg.materialize(
            [*graph_assets(*KPI_KEYS), *freshness], selection=dg.AssetSelection.checks(*freshness),
            resources=resources(lake.root), instance=instance,
        ))

    missing = evaluate()[("kpi_operating_daily", "latest_partition_on_time")]
    assert not missing.passed and missing.severity == dg.AssetCheckSeverity.ERROR
    assert missing.metadata["due_partition"].value == "2024-03-31"
    assert missing.metadata["latest_materialized_partition"].value == "none"

    dg.materialize(graph_assets(*KPI_KEYS), resources=resources(lake.root), instance=instance,
                   tags=range_tags(dt.date(2024, 3, 25), dt.date(2024, 3, 30)))
    behind = evaluate()[("kpi_operating_daily", "latest_partition_on_time")]
    assert not behind.passed and behind.metadata["days_behind"].value == 1

    dg.materialize(graph_assets(*KPI_KEYS), resources=resources(lake.root), instance=instance,
                   partition_key="2024-03-31")
    on_time = evaluate()[("kpi_operating_daily", "latest_partition_on_time")]
    assert on_time.passed and on_time.metadata["latest_materialized_partition"].value == "2024-03-31"


@pytest.mark.parametrize(("at", "due"), [
    (dt.datetime(2024, 4, 1, 8, 59, tzinfo=dt.UTC), dt.date(2024, 3, 30)),
    (dt.datetime(2024, 4, 1, 9, 0, tzinfo=dt.UTC), dt.date(2024, 3, 31)),
])
def test_the_day_due_switches_at_the_deadline(at, due):
    assert checks.due_partition(at)[0] == due


def test_daily_tables_refresh_at_six_business_time_for_yesterday():
    instance = dg.DagsterInstance.ephemeral()
    before = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=dt.datetime(2024, 4, 1, 5, 59, tzinfo=dt.UTC))
    assert before.total_requested == 0
    after = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=before.cursor,
        evaluation_time=dt.datetime(2024, 4, 1, 6, 30, tzinfo=dt.UTC))
    for name in ["interactions", "transcript_embeddings", "interaction_labels", "kpi_funnel_daily",
                 "kpi_operating_daily", "kpi_performance_daily", "kpi_anomalies"]:
        assert after.get_requested_partitions(dg.AssetKey(name)) == {"2024-03-31"}, name
    assert after.get_num_requested(dg.AssetKey(["staging", "twcs"])) == 0  # exports are event-driven
    # once a daily table has updated, its rollup follows (whatever the day that changed)
    instance.report_runless_asset_event(
        dg.AssetMaterialization("kpi_operating_daily", partition="2024-03-12"))
    later = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=after.cursor,
        evaluation_time=dt.datetime(2024, 4, 1, 6, 45, tzinfo=dt.UTC))
    assert later.get_num_requested(dg.AssetKey("kpi_operating_rollup")) == 1
    assert later.get_num_requested(dg.AssetKey("kpi_funnel_rollup")) == 0
