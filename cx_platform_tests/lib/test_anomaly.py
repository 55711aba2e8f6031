"""Robust trailing baselines, scores and drivers on hand-built KPI rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from cx_platform.lib import anomaly
from cx_platform.lib.anomaly import (
    AnomalyConfig,
    contributions,
    detect,
    explain,
    robust_baseline,
    segment_series,
)
from cx_platform.lib.kpi_catalog import BY_NAME

START = dt.date(2024, 1, 1)
DAYS = [START + dt.timedelta(days=i) for i in range(36)]
LAST = DAYS[-1]


def performance_rows(
    satisfied: dict[tuple[dt.date, str, str], int], responses: int = 100, seed: int = 1
) -> pl.DataFrame:
    """kpi_performance_daily-shaped rows for one source, channels phone/chat x brands a/b: ``responses``
    surveys per row and about 80% satisfied, with ``satisfied`` overriding chosen (day, channel, brand)."""
    rng = np.random.default_rng(seed)
    rows = []
    for day in DAYS:
        for channel in ("phone", "chat"):
            for brand in ("a", "b"):
                ok = satisfied.get((day, channel, brand), int(rng.binomial(responses, 0.8)))
                rows.append({"business_date": day, "source": "s1", "brand": brand, "channel": channel,
                             "contacts": responses, "csat_responses": responses, "csat_satisfied": ok})
    return pl.DataFrame(rows)


def test_a_steady_series_raises_nothing():
    series = segment_series(performance_rows({}), "kpi_performance_daily")
    result = detect(series, DAYS)
    assert result.anomalies.is_empty()
    # the first 14 days have too little history to be scored at all
    assert result.short_history > 0 and result.scored > 0


def test_an_injected_drop_is_found_and_its_channel_and_brand_named_as_drivers():
    rows = performance_rows({(LAST, "phone", "a"): 20})  # phone x brand a: 80% -> 20% satisfied
    series = segment_series(rows, "kpi_performance_daily")
    found = detect(series, [LAST]).anomalies.filter(pl.col("kpi") == "csat_rate")
    assert set(found["segment"]) == {"source=s1", "source=s1|channel=phone"}
    whole = found.filter(pl.col("segment") == "source=s1").row(0, named=True)
    assert whole["change"] == "down" and whole["direction"] == "bad" and whole["score"] <= -3.5
    last_day = rows.filter(pl.col("business_date") == LAST)
    assert whole["value"] == pytest.approx(last_day["csat_satisfied"].sum() / 400)
    explained = explain(found, {"kpi_performance_daily": [rows]})
    drivers = dict(zip(explained["segment"], explained["drivers"]))
    assert drivers["source=s1"].startswith("channel=phone")
    assert "brand=a" in drivers["source=s1"]
    assert drivers["source=s1|channel=phone"].startswith("brand=a")  # channel is the segment itself
    assert "chat" not in drivers["source=s1"]


def test_no_score_without_enough_history():
    rows = performance_rows({(LAST, "phone", "a"): 0})
    rows = rows.filter(pl.col("business_date") >= LAST - dt.timedelta(days=10))
    result = detect(segment_series(rows, "kpi_performance_daily"), [LAST])
    assert result.anomalies.is_empty() and result.scored == 0 and result.short_history > 0


def test_small_segments_are_not_scored_on_rates():
    rows = performance_rows({(LAST, "phone", "a"): 0}, responses=4)  # 16 answers a day < min_volume 20
    assert detect(segment_series(rows, "kpi_performance_daily"), [LAST]).anomalies.filter(
        pl.col("kpi") == "csat_rate").is_empty()


def test_weekday_profile_is_used_when_the_week_has_a_shape():
    days = [START + dt.timedelta(days=i) for i in range(28)]
    weekend = [500.0 if d.weekday() >= 5 else 100.0 for d in days]
    noisy = [v + (i % 3) for i, v in enumerate(weekend)]
    saturday = START + dt.timedelta(days=33)  # 2024-02-03 is a Saturday
    base = robust_baseline(days, noisy, saturday, AnomalyConfig())
    assert base.method == "weekday" and base.expected == pytest.approx(501, abs=2)
    flat = robust_baseline(days, [100.0 + (i % 3) for i in range(28)], saturday, AnomalyConfig())
    assert flat.method == "all_days" and flat.expected == pytest.approx(101)
    # a weekend-sized Saturday is normal, not a spike
    series = pl.DataFrame({"business_date": days + [saturday], "kpi": "contacts", "segment": "source=s1",
                           "source": "s1", "channel": None, "numerator": noisy + [505.0],
                           "denominator": None, "value": noisy + [505.0]},
                          schema_overrides={"channel": pl.String, "denominator": pl.Float64})
    assert detect(series, [saturday]).anomalies.is_empty()


def test_contributions_add_up_to_the_change():
    kpi = BY_NAME["csat_rate"]
    today = pl.DataFrame({"channel": ["phone", "chat", "email"], "csat_satisfied": [10, 80, 5],
                          "csat_responses": [50, 100, 5]})
    base = pl.DataFrame({"channel": ["phone", "chat", "sms"], "csat_satisfied": [160, 150, 9],
                         "csat_responses": [200, 200, 10]})
    parts = contributions(today, base, kpi, "channel", base_days=2)
    change = 95 / 155 - 319 / 410
    assert sum(parts.values()) == pytest.approx(change)
    assert min(parts, key=parts.get) == "phone"


def test_direction_follows_the_catalog():
    assert anomaly.direction(BY_NAME["aht_seconds"], "up") == "bad"
    assert anomaly.direction(BY_NAME["csat_rate"], "up") == "good"
    assert anomaly.direction(BY_NAME["contacts"], "down") == "neutral"


def test_fcr_is_scored_only_on_complete_windows():
    rows = pl.DataFrame({
        "business_date": DAYS, "source": "s1", "brand": "a", "channel": "phone",
        "fcr_resolved_contacts": 100, "fcr_first_contact_resolutions": 70,
        "fcr_window_complete": [d < LAST for d in DAYS],
    })
    series = segment_series(rows, "kpi_operating_daily")
    assert LAST not in series.filter(pl.col("kpi") == "fcr_rate")["business_date"].to_list()


def test_a_single_channel_source_is_scored_once():
    rows = performance_rows({}).filter(pl.col("channel") == "chat")
    assert set(segment_series(rows, "kpi_performance_daily")["segment"]) == {"source=s1"}
