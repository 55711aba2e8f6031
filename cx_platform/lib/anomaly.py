"""KPI anomalies per segment against each series' own robust trailing baseline (no Dagster import).

For every monitored KPI (the catalog's headline KPIs of the daily tier tables) and segment (a source, and
a source x channel), the value of day D is compared with the trailing ``window_days`` before D:

* **expected** = median of the history; when a weekly pattern is evident (each weekday seen at least
  ``min_weekday_points`` times and some weekday's median departs from the overall median by more than
  ``weekday_min_effect`` robust standard deviations) the expected value is the overall median plus
  D's weekday effect, and the spread is measured around that weekday profile;
* **scale** = 1.4826 x MAD (a robust standard deviation), floored by the sampling noise the KPI must
  have at D's volume (binomial for ratios, 0-10 answers for NPS, Poisson for counts) and by
  ``relative_floor`` x expected, so a very steady series does not alarm on a trivial change;
* **score** = (value - expected) / scale; an anomaly when ``|score| >= threshold`` (3.5, the usual
  cut-off for the modified z-score).

A series with fewer than ``min_history_days`` usable days in the window is not scored (no alert without
history). Rates count only on days with at least ``min_volume`` in the denominator; FCR and deflection
only on days whose 7-day window is complete. The *drivers* of an anomaly are the sub-segments (brand,
channel, contact reason) whose contributions explain the change of the segment's ratio of sums from its
baseline: contribution_j = w_j (r_j - r_j^base) + (w_j - w_j^base)(r_j^base - R^base), the rate and
mix effects of sub-segment j, which add up exactly to R - R^base.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from cx_platform.lib.kpi_catalog import KPI, TABLES, kpis_for

DAILY_TABLES = tuple(TABLES.values())
SEGMENT_LEVELS: tuple[tuple[str, ...], ...] = (("source",), ("source", "channel"))
DRIVER_DIMS = ("channel", "brand", "contact_reason")
WINDOW_KPIS = frozenset({"fcr_rate", "deflection_rate"})  # provisional until D+1..D+7 have landed
MAD_TO_SIGMA = 1.4826

ANOMALIES = pl.Schema(
    {
        "business_date": pl.Date,
        "kpi": pl.String,
        "title": pl.String,
        "table": pl.String,
        "segment": pl.String,  # "source=twcs" or "source=twcs|channel=social"
        "source": pl.String,
        "channel": pl.String,  # null for a whole-source segment
        "value": pl.Float64,
        "expected": pl.Float64,
        "scale": pl.Float64,  # robust standard deviation used for the score
        "score": pl.Float64,  # (value - expected) / scale
        "change": pl.String,  # up | down
        "direction": pl.String,  # good | bad | neutral (from the catalog's higher_is_better)
        "volume": pl.Float64,  # the KPI's denominator on the day (the value itself for counts)
        "history_days": pl.Int32,
        "baseline": pl.String,  # weekday | all_days
        "drivers": pl.String,  # "channel=phone: -0.210 (92%); contact_reason=billing: -0.150 (65%)"
    }
)


@dataclass(frozen=True)
class AnomalyConfig:
    window_days: int = 28
    min_history_days: int = 14
    threshold: float = 3.5
    min_volume: float = 20.0
    min_weekday_points: int = 3
    weekday_min_effect: float = 1.5
    relative_floor: float = 0.02
    max_drivers: int = 3
    min_driver_share: float = 0.2


@dataclass(frozen=True)
class Baseline:
    expected: float
    scale: float
    history_days: int
    method: str  # weekday | all_days


def monitored_kpis() -> list[KPI]:
    """The headline KPIs of the daily tier tables that can be re-derived for any segment."""
    return [k for table in DAILY_TABLES for k in kpis_for(table) if k.headline and k.additive]


def segment_label(keys: Mapping[str, str]) -> str:
    return "|".join(f"{name}={value}" for name, value in keys.items())


def direction(kpi: KPI, change: str) -> str:
    if kpi.higher_is_better is None:
        return "neutral"
    return "good" if (change == "up") == kpi.higher_is_better else "bad"


# ---- series -----------------------------------------------------------------------------------------


def _sums(frame: pl.DataFrame, keys: list[str], kpi: KPI) -> pl.DataFrame:
    aggs = [pl.col(kpi.numerator).cast(pl.Float64).sum().alias("numerator")]
    if kpi.is_rate:
        aggs.append(pl.col(kpi.denominator).cast(pl.Float64).sum().alias("denominator"))
    else:
        aggs.append(pl.lit(None, pl.Float64).alias("denominator"))
    return frame.group_by(keys).agg(*aggs)


def _value(kpi: KPI) -> pl.Expr:
    if kpi.is_rate:
        ratio = kpi.scale * pl.col("numerator") / pl.col("denominator")
        return pl.when(pl.col("denominator") > 0).then(ratio)
    return pl.col("numerator")


def segment_series(
    rows: pl.DataFrame, table: str, levels: Sequence[tuple[str, ...]] = SEGMENT_LEVELS
) -> pl.DataFrame:
    """One row per day, monitored KPI of ``table`` and segment: numerator, denominator and the value as a
    ratio of sums over the segment's rows. Window KPIs are left out on days whose window is incomplete;
    source x channel segments only for sources with more than one channel in ``rows``."""
    schema = {"business_date": pl.Date, "kpi": pl.String, "segment": pl.String, "source": pl.String,
              "channel": pl.String, "numerator": pl.Float64, "denominator": pl.Float64, "value": pl.Float64}
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    incomplete: list[dt.date] = []
    if "fcr_window_complete" in rows.columns:
        incomplete = (
            rows.group_by("business_date").agg(pl.col("fcr_window_complete").all())
            .filter(~pl.col("fcr_window_complete"))["business_date"].to_list()
        )
    # a source with a single channel would score the same series twice (source, source x channel)
    multi_channel = rows.group_by("source").agg(pl.col("channel").n_unique()).filter(
        pl.col("channel") > 1)["source"].to_list()
    out = []
    for kpi in (k for k in monitored_kpis() if k.table == table):
        if not {kpi.numerator, kpi.denominator or kpi.numerator} <= set(rows.columns):
            continue
        frame = rows.filter(~pl.col("business_date").is_in(incomplete)) if kpi.name in WINDOW_KPIS else rows
        for level in levels:
            sums = _sums(frame, ["business_date", *level], kpi)
            if "channel" in level:
                sums = sums.filter(pl.col("source").is_in(multi_channel))
            label = pl.concat_str([pl.lit(f"{k}=") + pl.col(k).cast(pl.String) for k in level], separator="|")
            out.append(
                sums.with_columns(
                    pl.lit(kpi.name).alias("kpi"),
                    label.alias("segment"),
                    *([] if "channel" in level else [pl.lit(None, pl.String).alias("channel")]),
                    _value(kpi).alias("value"),
                ).select(schema.keys())
            )
    if not out:
        return pl.DataFrame(schema=schema)
    return pl.concat(out).cast(schema).sort("kpi", "segment", "business_date")


# ---- baseline and score -----------------------------------------------------------------------------


def sampling_floor(kpi: KPI, expected: float, volume: float | None) -> float:
    """The spread a KPI has from sampling alone at this volume, so that small segments do not alarm."""
    if not kpi.is_rate:
        return math.sqrt(max(expected, 1.0))  # a count: Poisson
    if not volume:
        return 0.0
    if kpi.unit == "ratio":
        p = min(max(expected, 0.01), 0.99)
        return math.sqrt(p * (1 - p) / volume)
    if kpi.unit == "nps":  # answers of -1/0/+1: variance at most 1 - net^2
        net = min(abs(expected) / 100, 0.97)
        return 100 * math.sqrt((1 - net * net) / volume)
    return 0.0  # means (seconds, currency): the history's own spread decides


def robust_baseline(
    dates: Sequence[dt.date], values: Sequence[float], day: dt.date, config: AnomalyConfig, floor: float = 0.0
) -> Baseline | None:
    """Expected value and robust scale of ``day`` from its history (dates before ``day``)."""
    if len(values) < config.min_history_days:
        return None
    x = np.asarray(values, dtype=float)
    weekday = np.array([d.weekday() for d in dates])
    median = float(np.median(x))
    sigma_all = MAD_TO_SIGMA * float(np.median(np.abs(x - median)))
    effects = {
        w: float(np.median(x[weekday == w])) - median
        for w in range(7)
        if (weekday == w).sum() >= config.min_weekday_points
    }
    weekly = (
        day.weekday() in effects
        and len(effects) == len(set(weekday.tolist()))
        and max(abs(e) for e in effects.values()) > config.weekday_min_effect * max(sigma_all, 1e-12)
    )
    if weekly:
        fitted = median + np.array([effects[w] for w in weekday])
        expected, method = median + effects[day.weekday()], "weekday"
    else:
        fitted, expected, method = np.full_like(x, median), median, "all_days"
    spread = MAD_TO_SIGMA * float(np.median(np.abs(x - fitted)))
    scale = max(spread, floor, config.relative_floor * abs(expected), 1e-9)
    return Baseline(expected, scale, len(x), method)


@dataclass
class Detection:
    anomalies: pl.DataFrame  # ANOMALIES, drivers still empty
    scored: int  # (KPI, segment, day) points with enough history
    short_history: int  # points left out for lack of history


def detect(
    series: pl.DataFrame, days: Sequence[dt.date], config: AnomalyConfig = AnomalyConfig()
) -> Detection:
    """Score every (KPI, segment) point of ``days`` against its own trailing baseline in ``series``."""
    catalog = {k.name: k for k in monitored_kpis()}
    wanted = set(days)
    rows, scored, short = [], 0, 0
    usable = series.filter(pl.col("value").is_not_null() & pl.col("value").is_finite())
    for (kpi_name, segment), group in usable.partition_by(["kpi", "segment"], as_dict=True).items():
        kpi = catalog[kpi_name]
        group = group.sort("business_date")
        if kpi.is_rate:
            group = group.filter(pl.col("denominator") >= config.min_volume)
        dates = group["business_date"].to_list()
        values = group["value"].to_list()
        volumes = (group["denominator"] if kpi.is_rate else group["value"]).to_list()
        for i, day in enumerate(dates):
            if day not in wanted:
                continue
            first = day - dt.timedelta(days=config.window_days)
            history = [j for j in range(i) if dates[j] >= first]
            hist_dates, hist_values = [dates[j] for j in history], [values[j] for j in history]
            rough = float(np.median(hist_values)) if hist_values else 0.0
            baseline = robust_baseline(hist_dates, hist_values, day, config,
                                       sampling_floor(kpi, rough, volumes[i] if kpi.is_rate else None))
            if baseline is None:
                short += 1
                continue
            scored += 1
            score = (values[i] - baseline.expected) / baseline.scale
            if abs(score) < config.threshold:
                continue
            change = "up" if score > 0 else "down"
            rows.append({
                "business_date": day, "kpi": kpi.name, "title": kpi.title, "table": kpi.table,
                "segment": segment, "source": group["source"][i], "channel": group["channel"][i],
                "value": values[i], "expected": baseline.expected, "scale": baseline.scale, "score": score,
                "change": change, "direction": direction(kpi, change), "volume": volumes[i],
                "history_days": baseline.history_days, "baseline": baseline.method, "drivers": "",
            })
    frame = pl.DataFrame(rows, schema=ANOMALIES) if rows else pl.DataFrame(schema=ANOMALIES)
    return Detection(frame.sort("business_date", "kpi", "segment"), scored, short)


# ---- drivers ----------------------------------------------------------------------------------------


def contributions(
    today: pl.DataFrame, base: pl.DataFrame, kpi: KPI, dim: str, base_days: int
) -> dict[str, float]:
    """Each sub-segment's share of the change of the KPI from its baseline (rate effect + mix effect;
    they add up to the segment's change). ``base`` holds ``base_days`` days of rows."""
    keys = [dim]
    now = _sums(today, keys, kpi).rename({"numerator": "n", "denominator": "d"})
    before = _sums(base, keys, kpi).rename({"numerator": "nb", "denominator": "db"})
    both = now.join(before, on=dim, how="full", coalesce=True).fill_null(0.0)
    if not kpi.is_rate:
        return {str(r[dim]): r["n"] - r["nb"] / max(base_days, 1) for r in both.iter_rows(named=True)}
    total, total_base = both["d"].sum(), both["db"].sum()
    if not total or not total_base:
        return {}
    rate_base = kpi.scale * both["nb"].sum() / total_base
    out = {}
    for r in both.iter_rows(named=True):
        w, wb = r["d"] / total, r["db"] / total_base
        rb = kpi.scale * r["nb"] / r["db"] if r["db"] else rate_base
        rate_effect = w * (kpi.scale * r["n"] / r["d"] - rb) if r["d"] else 0.0
        out[str(r[dim])] = rate_effect + (w - wb) * (rb - rate_base)
    return out


def explain(
    anomalies: pl.DataFrame,
    slices: Mapping[str, Sequence[pl.DataFrame]],
    config: AnomalyConfig = AnomalyConfig(),
) -> pl.DataFrame:
    """Fill ``drivers``: the sub-segments that drove each anomaly, biggest first. ``slices[table]`` are
    frames at a finer grain than the segment (the KPI table itself: brand and channel; the same KPIs
    recomputed by contact reason), each with ``business_date``, ``source``, ``channel``, a driver
    dimension and the KPI's numerator and denominator columns."""
    catalog = {k.name: k for k in monitored_kpis()}
    texts = []
    for row in anomalies.iter_rows(named=True):
        kpi, day = catalog[row["kpi"]], row["business_date"]
        first = day - dt.timedelta(days=config.window_days)
        found: list[tuple[float, str, float]] = []
        done: set[str] = {"channel"} if row["channel"] is not None else set()
        for frame in slices.get(row["table"], []):
            scope = frame.filter(pl.col("source") == row["source"])
            if row["channel"] is not None:
                scope = scope.filter(pl.col("channel") == row["channel"])
            today = scope.filter(pl.col("business_date") == day)
            base = scope.filter(pl.col("business_date").is_between(first, day - dt.timedelta(days=1)))
            for dim in (d for d in DRIVER_DIMS if d in frame.columns and d not in done):
                done.add(dim)
                if pl.concat([today[dim], base[dim]]).n_unique() < 2:
                    continue  # a single value cannot explain anything
                parts = contributions(today, base, kpi, dim, base["business_date"].n_unique())
                same_sign = {k: v for k, v in parts.items() if v * row["score"] > 0}
                # share of the segment's net change (sub-segments moving the other way can push one
                # driver above 100%); if the net change disagrees with the score, of the same-signed part
                net = sum(parts.values())
                total = net if net * row["score"] > 0 else sum(same_sign.values())
                for value, c in same_sign.items():
                    if total and c / total >= config.min_driver_share:
                        found.append((c / total, f"{dim}={value}", c))
        found.sort(key=lambda t: -abs(t[2]))
        top = found[: config.max_drivers]
        texts.append("; ".join(f"{name}: {c:+.3f} ({share:.0%})" for share, name, c in top))
    return anomalies.with_columns(pl.Series("drivers", texts, dtype=pl.String))
