"""Cross-cutting operational policy, applied once in ``definitions.py``: when the daily tables refresh
(declarative automation in the business time zone), when they must be fresh (freshness policies), and
the declared column schema of every lake table (so the UI shows it)."""

import datetime as dt
from collections.abc import Iterable, Sequence

import dagster as dg
import polars as pl

from cx_platform.defs.partitions import BUSINESS_TZ
from cx_platform.lib import kpis, schemas, topics
from cx_platform.lib.anomaly import ANOMALIES

# Yesterday's partition of every daily table is computed at 06:00 business time; it is due by 09:00.
REFRESH_CRON = "0 6 * * *"
FRESHNESS_DEADLINE = dt.time(9, 0)
FRESHNESS_DEADLINE_CRON = f"{FRESHNESS_DEADLINE.minute} {FRESHNESS_DEADLINE.hour} * * *"

DECLARED_SCHEMAS: dict[str, pl.Schema] = {
    "interactions": schemas.INTERACTIONS,
    "transcript_embeddings": schemas.TRANSCRIPT_EMBEDDINGS,
    "interaction_labels": schemas.INTERACTION_LABELS,
    "customers": schemas.CUSTOMERS,
    "kpi_funnel_daily": kpis.FUNNEL_DAILY,
    "kpi_operating_daily": kpis.OPERATING_DAILY,
    "kpi_performance_daily": kpis.PERFORMANCE_DAILY,
    "kpi_customer_base": kpis.CUSTOMER_BASE,
    "kpi_anomalies": ANOMALIES,
    "contact_topics": topics.CONTACT_TOPICS,
}


def daily_refresh(unpartitioned_deps: dg.AssetSelection) -> dg.AutomationCondition:
    """``on_cron`` for the latest daily partition, except that unpartitioned parents (the staged exports,
    the CSAT model) need not have changed since the tick: a day with no new file still gets its
    (possibly empty) partition, so the FCR look-ahead and the freshness deadline stay honest."""
    return (
        dg.AutomationCondition.in_latest_time_window()
        & dg.AutomationCondition.cron_tick_passed(REFRESH_CRON, BUSINESS_TZ).since_last_handled()
        & dg.AutomationCondition.all_deps_updated_since_cron(REFRESH_CRON, BUSINESS_TZ).ignore(
            unpartitioned_deps)
    ).with_label(f"daily_refresh({REFRESH_CRON}, {BUSINESS_TZ})")


def kpi_freshness() -> dg.FreshnessPolicy:
    """Fresh when materialized in the 24 hours before the latest 09:00 business-time deadline."""
    return dg.FreshnessPolicy.cron(
        deadline_cron=FRESHNESS_DEADLINE_CRON, lower_bound_delta=dt.timedelta(hours=24), timezone=BUSINESS_TZ
    )


def table_schema(schema: pl.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in schema.items()])


def apply_policies(
    assets: Sequence[dg.AssetsDefinition],
    daily: Iterable[dg.AssetKey],
    rollups: Iterable[dg.AssetKey],
    freshness: Iterable[dg.AssetKey],
    unpartitioned: dg.AssetSelection,
) -> list[dg.AssetsDefinition]:
    """The assets with automation conditions, freshness policies and column schemas attached."""
    daily, rollups, freshness = set(daily), set(rollups), set(freshness)
    refresh = daily_refresh(unpartitioned)
    # rollups are cheap and read every daily partition: refresh them after any daily update. Eager's
    # "no missing dependency" clause is dropped: the calendar has years of days without data.
    rollup_refresh = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())

    def attach(spec: dg.AssetSpec) -> dg.AssetSpec:
        updates = {}
        if spec.key in daily:
            updates["automation_condition"] = refresh
        elif spec.key in rollups:
            updates["automation_condition"] = rollup_refresh
        if spec.key in freshness:
            updates["freshness_policy"] = kpi_freshness()
        declared = DECLARED_SCHEMAS.get(spec.key.to_user_string()) or (
            schemas.INTERACTIONS if spec.key.path[0] == "staging" else None)
        if declared is not None:
            updates["metadata"] = {**spec.metadata, "dagster/column_schema": table_schema(declared)}
        return spec.replace_attributes(**updates) if updates else spec

    return list(dg.map_asset_specs(attach, assets))
