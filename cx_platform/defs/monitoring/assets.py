"""Monitoring: the daily ``kpi_anomalies`` table (each KPI per segment against its own trailing baseline).

The math lives in ``cx_platform.lib.anomaly``; this asset reads the KPI tables (the day in hand and the
trailing window before it, straight from the lake), scores, names the drivers and writes the day."""

import datetime as dt

import dagster as dg
import polars as pl

from cx_platform.defs.kpis.assets import load_facts, with_look_ahead
from cx_platform.defs.partitions import daily_partitions, partition_days
from cx_platform.defs.resources import BusinessConfigResource, LakeResource
from cx_platform.lib import anomaly, kpis
from cx_platform.lib.anomaly import ANOMALIES, AnomalyConfig
from cx_platform.lib.lake import Lake, day_range

TABLE_SCHEMAS = {
    "kpi_funnel_daily": kpis.FUNNEL_DAILY,
    "kpi_operating_daily": kpis.OPERATING_DAILY,
    "kpi_performance_daily": kpis.PERFORMANCE_DAILY,
}
TOP_ROWS = 10


class AnomalySettings(dg.Config):
    """Detection settings (defaults in ``cx_platform.lib.anomaly.AnomalyConfig``)."""

    window_days: int = AnomalyConfig.window_days
    min_history_days: int = AnomalyConfig.min_history_days
    threshold: float = AnomalyConfig.threshold
    min_volume: float = AnomalyConfig.min_volume

    def to_config(self) -> AnomalyConfig:
        return AnomalyConfig(window_days=self.window_days, min_history_days=self.min_history_days,
                             threshold=self.threshold, min_volume=self.min_volume)


def reason_slices(
    store: Lake, days: list[dt.date], tables: set[str], business_config: BusinessConfigResource
) -> dict[str, pl.DataFrame]:
    """The KPI tables of ``days`` recomputed per contact reason instead of brand, with the very same
    formulas (the brand is only a grouping key there), so contact reasons can be named as drivers."""
    facts = load_facts(store, with_look_ahead(days)).with_columns(
        pl.col("contact_reason").fill_null(kpis.UNKNOWN).alias("brand")
    )
    economics = business_config.economics()
    compute = {
        "kpi_funnel_daily": lambda: kpis.funnel_daily(
            facts.filter(pl.col("business_date").is_in(days)), business_config.taxonomy().qualification),
        "kpi_operating_daily": lambda: kpis.operating_daily(facts, days, set(), economics),
        "kpi_performance_daily": lambda: kpis.performance_daily(facts, days, economics),
    }
    return {t: compute[t]().rename({"brand": "contact_reason"}) for t in sorted(tables)}


def _top(anomalies: pl.DataFrame) -> dg.MetadataValue:
    top = anomalies.sort(pl.col("score").abs(), descending=True).head(TOP_ROWS)
    lines = ["| day | KPI | segment | value | expected | score | direction | drivers |", "|---" * 8 + "|"]
    lines += [
        f"| {r['business_date']} | {r['kpi']} | {r['segment'].replace('|', ' x ')} | {r['value']:.4g} | "
        f"{r['expected']:.4g} | "
        f"{r['score']:+.1f} | {r['direction']} | {r['drivers']} |"
        for r in top.iter_rows(named=True)
    ]
    return dg.MetadataValue.md("\n".join(lines))


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="monitoring",
    kinds={"polars", "parquet"},
    deps=list(TABLE_SCHEMAS),
)
def kpi_anomalies(
    context: dg.AssetExecutionContext,
    config: AnomalySettings,
    lake: LakeResource,
    business_config: BusinessConfigResource,
) -> dg.MaterializeResult:
    """One row per anomalous (day, KPI, segment): the catalog's headline KPIs of the daily tier tables,
    per source and per source x channel, compared with their own trailing baseline (median and MAD of
    the previous 28 days, weekday-aware when the week has a shape); ``score`` = (value - expected) /
    robust scale, an anomaly at |score| >= 3.5; ``direction`` good/bad from the KPI's better direction;
    ``drivers`` = the brands, channels and contact reasons whose contributions explain the change.
    No row for a series with under 14 days of history. The baseline is read from the lake, not declared
    as a dependency, so that a missing old day never blocks today's detection."""
    store = lake.lake
    settings = config.to_config()
    days = partition_days(context)
    span = day_range(days[0] - dt.timedelta(days=settings.window_days), days[-1])
    rows = {t: store.scan_days(t, span, schema).collect() for t, schema in TABLE_SCHEMAS.items()}
    series = pl.concat([anomaly.segment_series(frame, t) for t, frame in rows.items()])
    detection = anomaly.detect(series, days, settings)
    found = detection.anomalies
    if found.height:
        window = day_range(found["business_date"].min() - dt.timedelta(days=settings.window_days),
                           found["business_date"].max())
        by_reason = reason_slices(store, window, set(found["table"]), business_config)
        found = anomaly.explain(found, {t: [rows[t], *([by_reason[t]] if t in by_reason else [])]
                                        for t in TABLE_SCHEMAS}, settings)
    store.write_partitions("kpi_anomalies", days, found, ANOMALIES)
    context.log.info(f"{found.height} anomalies in {len(days)} days ({detection.scored} points scored)")
    return dg.MaterializeResult(
        metadata={
            "rows": found.height,
            "bad": found.filter(pl.col("direction") == "bad").height,
            "good": found.filter(pl.col("direction") == "good").height,
            "neutral": found.filter(pl.col("direction") == "neutral").height,
            "points_scored": detection.scored,
            "points_without_enough_history": detection.short_history,
            "kpis_monitored": [k.name for k in anomaly.monitored_kpis()],
            "top_anomalies": _top(found),
            "path": dg.MetadataValue.path(str(store.table_dir("kpi_anomalies"))),
        }
    )
