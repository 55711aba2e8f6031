"""What the executive dashboard shows, prepared from the lake (pure polars, no Dagster).

Every number is a ratio of sums of the KPI tables' numerators and denominators, exactly as the KPI
catalog defines them: the three daily tier tables are merged on their common grain (day x source x
brand x channel), rolled up to day / week / month, and any filter or drill-down sums those rows again
before the catalog re-derives each rate. A rate whose denominator is zero is null, never 0; a null tile
carries the reason (:func:`null_reason`).

The page does the same sums in the browser for the filter the reader picks; :func:`tile` and
:func:`contact_drivers` are the reference it is tested against.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cx_platform.lib import kpi_catalog, kpis, schemas
from cx_platform.lib.kpi_catalog import CATALOG, KPI, SEGMENTS
from cx_platform.lib.lake import Lake

GRANULARITIES = {"day": "1d", "week": "1w", "month": "1mo"}  # weeks start on Monday, as in the rollups
DAILY_SCHEMAS = {
    "kpi_funnel_daily": kpis.FUNNEL_DAILY,
    "kpi_operating_daily": kpis.OPERATING_DAILY,
    "kpi_performance_daily": kpis.PERFORMANCE_DAILY,
}
SNAPSHOT_TABLE = "kpi_customer_base"
SEGMENT_DAYS = "segment_days"  # daily rows behind an aggregate: 0 means the segment has no data there
COMPLETE = "fcr_window_complete"
SPARK_POINTS = 12
UNLABELLED = "(unlabelled)"
REASON_COUNTS = ("contacts", "csat_responses", "csat_satisfied", "semantic_scored", "semantic_satisfied")
# An emerging contact reason: the largest rise in share of contacts against the previous period, with at
# least this many contacts now and at least this many points of share gained (filters out noise).
EMERGING_MIN_CONTACTS = 5
EMERGING_MIN_SHARE_POINTS = 2.0


def daily_kpis() -> list[KPI]:
    """KPIs of the daily tier tables that can be summed across days and segments (medians cannot)."""
    return [k for k in CATALOG if k.table in DAILY_SCHEMAS and k.additive]


def carried_columns() -> list[str]:
    """The additive columns the dashboard needs: every numerator and denominator of a daily KPI."""
    names = [c for k in daily_kpis() for c in (k.numerator, k.denominator) if c]
    return list(dict.fromkeys(names))


# ---- reading the lake --------------------------------------------------------------------------------


def read_daily(lake: Lake, table: str) -> pl.DataFrame:
    """A daily tier table with ``business_date`` and every declared column; a column that no partition
    holds (written before the catalog added it) is all null."""
    schema = DAILY_SCHEMAS[table]
    if not lake.existing_days(table):
        return pl.DataFrame(schema=schema)
    stored = pl.Schema({name: dtype for name, dtype in schema.items() if name != "business_date"})
    return (
        pl.scan_parquet(
            lake.glob(table), hive_partitioning=True, hive_schema={"date": pl.Date}, schema=stored,
            missing_columns="insert", extra_columns="ignore",
        )
        .rename({"date": "business_date"})
        .select(schema.names())
        .collect()
    )


def merge_tiers(tables: Mapping[str, pl.DataFrame]) -> tuple[pl.DataFrame, frozenset[str]]:
    """The daily tier tables joined on day x segment, keeping the carried columns (a column that two
    tables share, such as ``contacts``, holds the same count in both: the first value present is kept).
    Returns the frame and the carried columns that hold no value at all (the tables predate them), which
    are left out so their KPIs show as n/a rather than 0."""
    keys = ["business_date", *SEGMENTS]
    carried = carried_columns()
    merged: pl.DataFrame | None = None
    for i, frame in enumerate(tables.values()):
        part = frame.select(*keys, *(c for c in frame.columns if c in carried or c == COMPLETE))
        if merged is None:
            merged = part
            continue
        merged = merged.join(part, on=keys, how="full", coalesce=True, suffix=f"__{i}")
        shared = [c for c in part.columns if f"{c}__{i}" in merged.columns]
        merged = merged.with_columns(pl.coalesce(c, f"{c}__{i}").alias(c) for c in shared).drop(
            f"{c}__{i}" for c in shared)
    assert merged is not None, "no tier tables"
    absent = frozenset(
        c for c in carried if c not in merged.columns or merged[c].null_count() == merged.height
    )
    present = [c for c in carried if c not in absent]
    merged = merged.select(
        *keys,
        *(pl.col(c).fill_null(0) for c in present),
        *([pl.col(COMPLETE)] if COMPLETE in merged.columns else []),
        pl.lit(1, pl.Int64).alias(SEGMENT_DAYS),
    )
    return merged, absent


def aggregate(rows: pl.DataFrame, filters: Mapping[str, str] | None = None,
              by: Sequence[str] = ("period_start",)) -> pl.DataFrame:
    """Sum the carried columns of ``rows`` that match ``filters`` per ``by`` and derive every daily
    KPI from the sums (a ratio of sums, never an average of ratios). FCR is complete only if every
    row behind it is."""
    frame = rows.filter(*(pl.col(k) == v for k, v in filters.items())) if filters else rows
    sums = [c for c in frame.columns if c in set(carried_columns()) | {SEGMENT_DAYS}]
    aggs = [pl.col(sums).sum()]
    if COMPLETE in frame.columns:
        aggs.append(pl.col(COMPLETE).all())
    out = frame.group_by(list(by)).agg(*aggs)
    for table in DAILY_SCHEMAS:
        out = kpi_catalog.apply_rates(out, table)
    return out.sort(list(by))


def period_rows(daily: pl.DataFrame, granularity: str) -> pl.DataFrame:
    """The merged daily rows rolled up to ``granularity`` per segment (``period_start`` = first day)."""
    every = GRANULARITIES[granularity]
    return aggregate(
        daily.with_columns(pl.col("business_date").dt.truncate(every).alias("period_start")),
        by=("period_start", *SEGMENTS),
    )


def read_contact_reasons(lake: Lake) -> pl.DataFrame:
    """Contacts and CSAT counts per day x segment x contact reason, from ``interactions`` joined to
    ``interaction_labels.contact_reason``; contacts are counted as the KPI tables count them
    (:func:`cx_platform.lib.kpis.build_facts`: one row per id, merged tickets left out)."""
    keys = ["business_date", *SEGMENTS, "contact_reason"]
    empty = pl.DataFrame(schema={**{k: pl.String for k in keys}, "business_date": pl.Date,
                                 **{c: pl.Int64 for c in REASON_COUNTS}}).select(*keys, *REASON_COUNTS)
    if not lake.existing_days("interactions"):
        return empty

    def scan(table: str, columns: list[str]) -> pl.DataFrame:
        if not lake.existing_days(table):
            return pl.DataFrame(schema={c: schemas.INTERACTION_LABELS[c] for c in columns})
        return (pl.scan_parquet(lake.glob(table), hive_partitioning=True, hive_schema={"date": pl.Date})
                .select(columns).collect())

    interactions = scan("interactions", ["interaction_id", "source", "kind", "brand", "channel", "status",
                                         "csat_score", "date"]).rename({"date": "business_date"})
    labels = scan("interaction_labels", ["interaction_id", "contact_reason", "is_sales", "semantic_csat"])
    facts = kpis.build_facts(schemas.conform(interactions, schemas.INTERACTIONS),
                             schemas.conform(labels, schemas.INTERACTION_LABELS))
    return contact_reason_counts(facts)


def contact_reason_counts(facts: pl.DataFrame) -> pl.DataFrame:
    """Per day x segment x contact reason, over contacts (survey answers are not contacts)."""
    csat = pl.col("csat_score").cast(pl.Int64)
    scored = pl.col("semantic_csat").is_not_null()
    return (
        facts.filter(pl.col("kind") == "contact")
        .with_columns(pl.col("contact_reason").fill_null(UNLABELLED))
        .group_by(["business_date", *SEGMENTS, "contact_reason"])
        .agg(
            pl.len().cast(pl.Int64).alias("contacts"),
            _count(csat.is_between(1, 5)).alias("csat_responses"),
            _count(csat.is_between(4, 5)).alias("csat_satisfied"),
            _count(scored).alias("semantic_scored"),
            _count(scored & (pl.col("semantic_csat") >= kpis.SATISFIED_THRESHOLD))
            .alias("semantic_satisfied"),
        )
        .sort(["business_date", *SEGMENTS, "contact_reason"])
    )


def reason_period_rows(reasons: pl.DataFrame, granularity: str) -> pl.DataFrame:
    every = GRANULARITIES[granularity]
    return (
        reasons.with_columns(pl.col("business_date").dt.truncate(every).alias("period_start"))
        .group_by(["period_start", *SEGMENTS, "contact_reason"])
        .agg(pl.col(list(REASON_COUNTS)).sum())
        .sort(["period_start", *SEGMENTS, "contact_reason"])
    )


def read_customer_base(lake: Lake) -> pl.DataFrame | None:
    path = lake.table_path(SNAPSHOT_TABLE)
    return pl.read_parquet(path).select(kpis.CUSTOMER_BASE.names()) if path.exists() else None


def customer_base_totals(base: pl.DataFrame, source: str | None = None) -> dict[str, float | None]:
    """Snapshot KPIs over all contracts (of ``source``): counts and revenue are summed, then churn,
    ARPA, LTV, CAC and LTV:CAC are derived from the sums as the catalog defines them."""
    frame = base.filter(pl.col("source") == source) if source else base
    if frame.is_empty():
        return {k.name: None for k in kpi_catalog.kpis_for(SNAPSHOT_TABLE)}
    total = frame.select(
        pl.col("customers", "churned", "retained", "monthly_revenue_sum", "new_customers",
               "marketing_spend").sum(),
        pl.col("gross_margin").first(),
    ).with_columns(
        pl.when(pl.col("customers") > 0)
        .then(pl.col("monthly_revenue_sum") / pl.col("customers") * pl.col("gross_margin"))
        .alias("margin_per_month")
    )
    row = kpi_catalog.apply_rates(total, SNAPSHOT_TABLE).row(0, named=True)
    return {k.name: _finite(row.get(k.name)) for k in kpi_catalog.kpis_for(SNAPSHOT_TABLE)} | {
        "customers": row["customers"], "churned": row["churned"]}


def read_anomalies(lake: Lake) -> pl.DataFrame | None:
    """``<lake>/kpi_anomalies/date=*/part-0.parquet`` when the monitoring assets have written it."""
    base = lake.table_dir("kpi_anomalies")
    if not any(base.glob("date=*/*.parquet")):
        return None
    frame = pl.scan_parquet(str(base / "date=*" / "*.parquet"), hive_partitioning=True,
                            hive_schema={"date": pl.Date}, missing_columns="insert",
                            extra_columns="ignore").collect()
    return normalize_anomalies(frame)


def normalize_anomalies(frame: pl.DataFrame) -> pl.DataFrame:
    """date, kpi, segment (as written: ``source=twcs|channel=social``), value, expected, score, change
    (up / down), direction (good / bad / neutral) and drivers as text; columns the table lacks are null."""
    def col(name: str, dtype) -> pl.Expr:
        return (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype, strict=False).alias(name)

    drivers = frame["drivers"] if "drivers" in frame.columns else pl.Series([None] * frame.height)
    return frame.select(
        pl.coalesce(col("date", pl.Date), col("business_date", pl.Date)).alias("date"),
        col("kpi", pl.String), col("segment", pl.String), col("value", pl.Float64),
        col("expected", pl.Float64), col("score", pl.Float64), col("change", pl.String),
        col("direction", pl.String),
    ).with_columns(pl.Series("drivers", [_as_text(d) for d in drivers.to_list()], dtype=pl.String)).sort(
        "date", "kpi", "segment")


def parse_segment(segment: str | None) -> dict[str, str] | None:
    """``"all"`` / empty -> {} (no filter); ``"channel=chat"``, ``"source=twcs, brand=X"`` (also ``:``
    and ``|``/``;``/``&`` separated) -> the filters; anything else -> None (shown only in the list)."""
    text = (segment or "").strip()
    if text.lower() in ("", "all", "total", "*", "overall"):
        return {}
    filters: dict[str, str] = {}
    for part in text.replace("|", ",").replace(";", ",").replace("&", ",").split(","):
        key, sep, value = part.partition("=") if "=" in part else part.partition(":")
        key = key.strip()
        if not sep or key not in SEGMENTS:
            return None
        filters[key] = value.strip()
    return filters


def read_topics(lake: Lake) -> pl.DataFrame | None:
    """The latest day of ``<lake>/contact_topics`` (discovered topics of the trailing window: name,
    recent volume, growth, new / growing flags) when the topic assets have written it; None otherwise,
    and the page then derives the drivers from contact reasons alone."""
    base = lake.table_dir("contact_topics")
    if not any(base.glob("date=*/*.parquet")):
        return None
    frame = pl.scan_parquet(str(base / "date=*" / "*.parquet"), hive_partitioning=True,
                            hive_schema={"date": pl.Date}, missing_columns="insert",
                            extra_columns="ignore").collect()
    return normalize_topics(frame)


def normalize_topics(frame: pl.DataFrame) -> pl.DataFrame | None:
    """topic, contacts (in the recent days when the table says so), growth, emerging (new or growing)
    and date, for the latest date; None when no name or volume column can be recognised."""
    def first(*names: str) -> str | None:
        return next((n for n in names if n in frame.columns), None)

    def flag(*names: str) -> pl.Expr:
        present = [pl.col(n).cast(pl.Boolean, strict=False).fill_null(False)
                   for n in names if n in frame.columns]
        return pl.any_horizontal(present) if present else pl.lit(None, pl.Boolean)

    def optional(name: str | None, dtype) -> pl.Expr:
        return pl.col(name).cast(dtype, strict=False) if name else pl.lit(None, dtype)

    label = first("name", "topic_label", "label", "topic", "title")
    count = first("volume_recent", "contacts", "volume", "volume_window", "count", "n", "size")
    if label is None or count is None:
        return None
    date = (pl.coalesce(optional(first("date"), pl.Date), optional(first("business_date"), pl.Date))
            if first("date", "business_date") else pl.lit(None, pl.Date))
    out = frame.select(
        # topics are discovered per source: "twcs: refund / order / return"
        (pl.when(pl.col("source").is_not_null()).then(pl.col("source") + ": ").otherwise(pl.lit(""))
         + pl.col(label).cast(pl.String) if "source" in frame.columns
         else pl.col(label).cast(pl.String)).alias("topic"),
        pl.col(count).cast(pl.Float64, strict=False).alias("contacts"),
        flag("is_new", "is_growing", "emerging", "is_emerging").alias("emerging"),
        flag("is_new").alias("new"),
        optional(first("growth", "growth_rate"), pl.Float64).alias("growth"),
        date.alias("date"),
    )
    if out["date"].is_not_null().any():
        out = out.filter(pl.col("date") == out["date"].max())
    return out.group_by("topic").agg(
        pl.col("contacts").sum(), pl.col("emerging").any(), pl.col("new").any(), pl.col("growth").max(),
        pl.col("date").max(),
    ).sort(["contacts", "topic"], descending=[True, False])


# ---- periods and tiles -------------------------------------------------------------------------------


def shift_period(start: dt.date, granularity: str, n: int) -> dt.date:
    """The start of the period ``n`` periods after (negative: before) the one starting at ``start``."""
    if granularity == "day":
        return start + dt.timedelta(days=n)
    if granularity == "week":
        return start + dt.timedelta(weeks=n)
    months = start.year * 12 + start.month - 1 + n
    return dt.date(months // 12, months % 12 + 1, 1)


def period_start(day: dt.date, granularity: str) -> dt.date:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def current_period(series: pl.DataFrame, start: dt.date | None = None,
                   end: dt.date | None = None) -> dt.date | None:
    """The latest period of an aggregated series (see :func:`aggregate`) that holds data, within the
    optional ``[start, end]`` range of period starts."""
    frame = series.filter(pl.col(SEGMENT_DAYS) > 0)
    if start:
        frame = frame.filter(pl.col("period_start") >= start)
    if end:
        frame = frame.filter(pl.col("period_start") <= end)
    return frame["period_start"].max() if frame.height else None


@dataclass(frozen=True)
class Tile:
    kpi: KPI
    period: dt.date | None
    value: float | None
    previous: float | None
    reason: str | None  # why value is n/a; None when there is a value
    previous_reason: str | None
    spark: tuple[tuple[dt.date, float | None], ...] = ()
    numerator: float | None = None
    denominator: float | None = None
    provisional: bool = False  # FCR of a period whose 7-day look-ahead has not fully landed

    @property
    def change(self) -> float | None:
        return None if self.value is None or self.previous is None else self.value - self.previous

    @property
    def verdict(self) -> str:
        """better | worse | flat against the previous period, neutral for activity metrics, n/a."""
        change = self.change
        if change is None:
            return "n/a"
        if self.kpi.higher_is_better is None:
            return "neutral"
        if abs(change) <= 1e-9 * max(1.0, abs(self.previous or 0.0)):
            return "flat"
        return "better" if (change > 0) == self.kpi.higher_is_better else "worse"


def null_reason(kpi: KPI, row: Mapping | None, granularity: str, absent: Iterable[str] = ()) -> str | None:
    """Why ``kpi`` has no value in ``row`` (one aggregated period), or None when it has one."""
    if {kpi.numerator, kpi.denominator} & set(absent):
        return "not in the KPI tables yet: re-materialize the KPI assets"
    if row is None or not row.get(SEGMENT_DAYS):
        return f"no data for this segment in this {granularity}"
    if _finite(row.get(kpi.name)) is not None:
        return None
    if kpi.is_rate and not row.get(kpi.denominator):
        return f"no {humanize(kpi.denominator)} in this {granularity}"
    return kpi.null_rule


def tile(series: pl.DataFrame, kpi: KPI, granularity: str, period: dt.date | None,
         absent: Iterable[str] = (), points: int = SPARK_POINTS) -> Tile:
    """``kpi`` at ``period`` of an aggregated series, against the period just before it (the calendar
    period, so a gap in the data shows as n/a rather than comparing with an older period), with the
    ``points`` periods up to ``period`` for the sparkline."""
    rows = {row["period_start"]: row for row in series.iter_rows(named=True)}
    absent = frozenset(absent)

    def value(p: dt.date | None) -> float | None:
        row = rows.get(p)
        return None if row is None or null_reason(kpi, row, granularity, absent) else _finite(row[kpi.name])

    if period is None:
        return Tile(kpi, None, None, None, "no data for this segment", None)
    row, before = rows.get(period), shift_period(period, granularity, -1)
    spark_periods = [shift_period(period, granularity, -i) for i in reversed(range(points))]
    spark = tuple((p, value(p)) for p in spark_periods)
    return Tile(
        kpi, period, value(period), value(before),
        null_reason(kpi, row, granularity, absent), null_reason(kpi, rows.get(before), granularity, absent),
        spark,
        numerator=_finite(row.get(kpi.numerator)) if row else None,
        denominator=_finite(row.get(kpi.denominator)) if row and kpi.denominator else None,
        provisional=bool(kpi.name == "fcr_rate" and row and row.get(COMPLETE) is False),
    )


def headline_kpis(tier: str | None = None) -> list[KPI]:
    """The catalog's headline KPIs of the daily tables (of ``tier``), activity metrics first."""
    chosen = [k for k in daily_kpis() if k.headline and (tier is None or k.tier == tier)]
    return sorted(chosen, key=lambda k: not k.activity)


def contact_drivers(reasons: pl.DataFrame, period: dt.date, granularity: str,
                    filters: Mapping[str, str] | None = None, top: int = 5) -> dict:
    """Top contact reasons by volume in ``period`` with their share and change of share against the
    previous period, and the emerging reason: the largest rise in share, given at least
    ``EMERGING_MIN_CONTACTS`` contacts now and ``EMERGING_MIN_SHARE_POINTS`` points gained."""
    frame = reasons.filter(*(pl.col(k) == v for k, v in filters.items())) if filters else reasons
    previous = shift_period(period, granularity, -1)

    def shares(p: dt.date) -> dict[str, int]:
        counts = (frame.filter(pl.col("period_start") == p)
                  .group_by("contact_reason").agg(pl.col("contacts").sum()))
        return {r: int(c) for r, c in counts.iter_rows() if c}

    now, before = shares(period), shares(previous)
    total_now, total_before = sum(now.values()), sum(before.values())
    rows = []
    for reason, contacts in sorted(now.items(), key=lambda kv: (-kv[1], kv[0])):
        share = 100.0 * contacts / total_now
        prior = 100.0 * before.get(reason, 0) / total_before if total_before else None
        rows.append({"reason": reason, "contacts": contacts, "share": share,
                     "previous_contacts": before.get(reason, 0) if total_before else None,
                     "share_change": None if prior is None else share - prior})
    candidates = [
        r for r in rows
        if r["reason"] != UNLABELLED and r["share_change"] is not None
        and r["contacts"] >= EMERGING_MIN_CONTACTS and r["share_change"] >= EMERGING_MIN_SHARE_POINTS
    ]
    emerging = max(candidates, key=lambda r: (r["share_change"], r["contacts"]), default=None)
    return {"period": period, "previous": previous, "total": total_now, "previous_total": total_before,
            "top": rows[:top], "emerging": emerging}


# ---- everything together ----------------------------------------------------------------------------


@dataclass
class DashboardData:
    daily: pl.DataFrame  # merged tier tables, one row per day x segment
    absent: frozenset[str]
    reasons: pl.DataFrame  # per day x segment x contact reason
    customer_base: pl.DataFrame | None
    anomalies: pl.DataFrame | None
    topics: pl.DataFrame | None
    currency: str = "USD"
    lake_root: str = ""
    fcr_window_days: int = kpis.FCR_WINDOW_DAYS
    rows: dict[str, pl.DataFrame] = field(init=False)  # per granularity, per segment
    reason_rows: dict[str, pl.DataFrame] = field(init=False)

    def __post_init__(self):
        self.rows = {g: period_rows(self.daily, g) for g in GRANULARITIES}
        self.reason_rows = {g: reason_period_rows(self.reasons, g) for g in GRANULARITIES}

    @property
    def first_date(self) -> dt.date | None:
        return self.daily["business_date"].min() if self.daily.height else None

    @property
    def last_date(self) -> dt.date | None:
        return self.daily["business_date"].max() if self.daily.height else None

    def series(self, granularity: str, filters: Mapping[str, str] | None = None) -> pl.DataFrame:
        return aggregate(self.rows[granularity], filters)

    def headline_tiles(self, granularity: str = "week",
                       filters: Mapping[str, str] | None = None) -> list[Tile]:
        """Every headline tile of the daily tables at the latest period with data."""
        series = self.series(granularity, filters)
        period = current_period(series)
        return [tile(series, k, granularity, period, self.absent) for k in headline_kpis()]


def load(lake: Lake, currency: str = "USD") -> DashboardData:
    tables = {table: read_daily(lake, table) for table in DAILY_SCHEMAS}
    daily, absent = merge_tiers(tables)
    stated = tables["kpi_operating_daily"]["fcr_window_days"].max()  # the window the table was built with
    window = int(stated) if stated is not None else kpis.FCR_WINDOW_DAYS
    return DashboardData(
        daily=daily, absent=absent, reasons=read_contact_reasons(lake),
        customer_base=read_customer_base(lake), anomalies=read_anomalies(lake), topics=read_topics(lake),
        currency=currency, lake_root=str(Path(lake.root).resolve()), fcr_window_days=window,
    )


# ---- helpers -----------------------------------------------------------------------------------------


def humanize(column: str) -> str:
    words = {"fcr": "FCR", "csat": "CSAT", "nps": "NPS", "sla": "SLA", "frt": "FRT"}
    return " ".join(words.get(w, w) for w in column.split("_"))


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.fill_null(False).cast(pl.Int64).sum()


def _finite(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_as_text(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, (list, tuple)):
        return "; ".join(t for t in (_as_text(v) for v in value) if t)
    return str(value)
