"""KPI formulas on tiny hand-made frames; every expected value is worked out by hand in a comment."""

import datetime as dt

import polars as pl
import pytest

from cx_platform.lib import kpis
from cx_platform.lib.taxonomy import Qualification

D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)
T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)


def _conform(rows: list[dict]) -> pl.DataFrame:
    """Facts frame with defaults: one source/brand, chat contacts created at T0 (business date = its date)."""
    defaults = {"source": "s", "brand": "b", "channel": "chat", "kind": "contact", "created_at": T0}
    rows = [{**defaults, "interaction_id": f"s:{i}", **row} for i, row in enumerate(rows)]
    for row in rows:
        row["business_date"] = row["created_at"].date()
    columns = {name: [row.get(name) for row in rows] for name in kpis.FACTS.names()}
    return pl.DataFrame(columns, schema=kpis.FACTS)


def test_rate_is_null_when_denominator_is_zero():
    frame = pl.DataFrame({"n": [1, 0, 3], "d": [2, 0, 0]})
    # 1/2 = 0.5; 0/0 -> null; 3/0 -> null (never inf)
    assert frame.select(kpis.rate("n", "d"))["n"].to_list() == [0.5, None, None]


def test_aht_frt_resolution_and_abandonment():
    hour = dt.timedelta(hours=1)
    table = kpis.operating_daily(
        _conform(
            [
                # answered call: 300 s handle, first response after 60 s, resolved after 1 h
                {"answered": True, "abandoned": False, "handle_seconds": 300.0,
                 "first_response_at": T0 + dt.timedelta(seconds=60), "resolved_at": T0 + hour},
                # answered call: 100 s handle, first response after 120 s
                {"answered": True, "abandoned": False, "handle_seconds": 100.0,
                 "first_response_at": T0 + dt.timedelta(seconds=120)},
                # abandoned call: no handle time
                {"answered": False, "abandoned": True},
                # clock skew: resolved before created -> excluded from resolution time, not averaged in
                {"resolved_at": T0 - hour},
            ]
        ),
        [D1],
        window_complete_days=set(),
    )
    row = table.row(0, named=True)
    assert row["contacts"] == 4
    # AHT = (300 + 100) / 2 handled = 200 s
    assert (row["handled_contacts"], row["aht_seconds"]) == (2, 200.0)
    # FRT mean = (60 + 120) / 2 = 90 s; median of {60, 120} = 90 s
    assert (row["frt_count"], row["frt_seconds_mean"], row["frt_seconds_median"]) == (2, 90.0, 90.0)
    # resolution: only the first row (3600 s); the negative one is dropped
    assert (row["resolution_count"], row["resolution_seconds_mean"]) == (1, 3600.0)
    # abandonment = 1 abandoned / 3 offered calls (rows with `answered` known)
    assert (row["abandoned_calls"], row["offered_calls"]) == (1, 3)
    assert row["abandonment_rate"] == pytest.approx(1 / 3)
    # no bot contacts -> deflection denominator 0 -> null, not 0
    assert (row["bot_contacts"], row["deflection_rate"]) == (0, None)


def test_fcr_counts_a_repeat_that_lands_in_a_later_partition():
    day = dt.timedelta(days=1)
    rows = [
        # customer A: resolved on D1, contacts again on D1+3 about the same issue -> not FCR
        {"customer_id": "A", "contact_reason": "billing", "resolved": True},
        {"customer_id": "A", "contact_reason": "billing", "resolved": True, "created_at": T0 + 3 * day},
        # customer B: resolved on D1, same issue again after 8 days (outside the 7-day window) -> FCR
        {"customer_id": "B", "contact_reason": "billing", "resolved": True},
        {"customer_id": "B", "contact_reason": "billing", "resolved": True, "created_at": T0 + 8 * day},
        # customer C: resolved on D1, next contact 2 days later but about another issue -> FCR
        {"customer_id": "C", "contact_reason": "billing", "resolved": True},
        {"customer_id": "C", "contact_reason": "delivery", "resolved": True, "created_at": T0 + 2 * day},
        # unknown customer: cannot be checked for repeats -> left out of FCR
        {"customer_id": None, "resolved": True},
        # unresolved: not in the FCR denominator
        {"customer_id": "D", "resolved": False},
    ]
    table = kpis.operating_daily(_conform(rows), [D1], window_complete_days={D1})
    row = table.row(0, named=True)
    # denominator: resolved with known customer on D1 = A, B, C = 3; numerator: B and C = 2 -> 2/3
    assert (row["fcr_first_contact_resolutions"], row["fcr_resolved_contacts"]) == (2, 3)
    assert row["fcr_rate"] == pytest.approx(2 / 3)
    assert row["fcr_window_complete"] is True and row["fcr_window_days"] == 7


def test_funnel_leads_and_qualification():
    table = kpis.funnel_daily(
        _conform(
            [
                {"is_sales": True, "handle_seconds": 90.0},  # lead, qualified (>= 60 s)
                {"is_sales": True, "handle_seconds": 30.0},  # lead, not qualified
                {"is_sales": True, "n_messages": 3},  # lead, qualified (>= 2 messages)
                {"is_sales": False, "handle_seconds": 500.0},  # not a lead
                {"is_sales": True, "kind": "survey", "n_messages": 5},  # survey rows are not contacts
            ]
        ),
        Qualification(min_handle_seconds=60, min_messages=2),
    )
    row = table.row(0, named=True)
    # contacts 4, leads 3, qualified 2 -> 2/3
    assert (row["contacts"], row["leads"], row["qualified_leads"]) == (4, 3, 2)
    assert row["qualification_rate"] == pytest.approx(2 / 3)


def test_csat_semantic_csat_and_nps():
    table = kpis.performance_daily(
        _conform(
            [
                {"csat_score": 5, "semantic_csat": 4.6},
                {"csat_score": 4, "semantic_csat": 3.2},
                {"csat_score": 2, "semantic_csat": 1.5},
                {"semantic_csat": 3.5},
                {},  # contact with no survey and no text
                {"kind": "survey", "nps_score": 10},
                {"kind": "survey", "nps_score": 9},
                {"kind": "survey", "nps_score": 7},
                {"kind": "survey", "nps_score": 3},
                {"kind": "survey", "nps_score": None},  # a comment without a score is not an answer
            ]
        )
    )
    row = table.row(0, named=True)
    assert row["contacts"] == 5
    # surveyed CSAT: 2 of 3 answers are 4-5 -> 0.667; coverage 3 answers / 5 contacts = 0.6
    assert (row["csat_satisfied"], row["csat_responses"]) == (2, 3)
    assert row["csat_rate"] == pytest.approx(2 / 3) and row["csat_coverage"] == pytest.approx(0.6)
    # semantic: scored 4 of 5 contacts; satisfied (>= 3.5): 4.6 and 3.5 -> 2/4 = 0.5
    assert (row["semantic_satisfied"], row["semantic_scored"]) == (2, 4)
    assert row["semantic_csat_rate"] == 0.5 and row["semantic_coverage"] == pytest.approx(0.8)
    # mean predicted score = (4.6 + 3.2 + 1.5 + 3.5) / 4 = 12.8 / 4 = 3.2
    assert row["semantic_csat_mean"] == pytest.approx(3.2, abs=1e-5)
    # NPS: 4 answers, promoters 2 (10, 9), detractors 1 (3) -> 100 * (2 - 1) / 4 = 25
    assert (row["nps_responses"], row["nps_promoters"], row["nps_detractors"]) == (4, 2, 1)
    assert row["nps"] == pytest.approx(25.0)


def test_segments_and_rollup_is_a_ratio_of_sums():
    rows = [
        {"channel": "chat", "csat_score": 5},
        {"channel": "email", "csat_score": 5},
        {"channel": "email", "csat_score": 1},
        {"channel": "email", "csat_score": 1},
        {"channel": "email", "csat_score": 1, "created_at": T0 + dt.timedelta(days=1)},
    ]
    table = kpis.performance_daily(_conform(rows))
    assert table.height == 3  # (D1, chat), (D1, email), (D2, email)
    # chat D1: 1/1 = 1.0; email D1: 1/3; email D2: 0/1. Average of ratios would be 0.444;
    # the correct rollup is the ratio of sums: (1 + 1 + 0) / (1 + 3 + 1) = 2/5 = 0.4
    rollup = table["csat_satisfied"].sum() / table["csat_responses"].sum()
    assert rollup == pytest.approx(0.4)


def test_customer_base_churn_and_ltv():
    customers = pl.DataFrame(
        {
            "source": ["t"] * 4,
            "contract": ["Month-to-month", "Month-to-month", "Month-to-month", "Two year"],
            "churned": [True, False, False, False],
            "monthly_revenue": [50.0, 70.0, 60.0, 100.0],
        }
    )
    table = kpis.customer_base(customers, gross_margin=0.5)
    m2m = table.filter(pl.col("contract") == "Month-to-month").row(0, named=True)
    # churn 1/3; ARPA (50 + 70 + 60) / 3 = 60; LTV = 60 x 0.5 / (1/3) = 90
    assert m2m["churn_rate"] == pytest.approx(1 / 3) and m2m["arpa"] == pytest.approx(60.0)
    assert m2m["ltv"] == pytest.approx(90.0)
    two = table.filter(pl.col("contract") == "Two year").row(0, named=True)
    # no churn -> churn 0, retention 1, LTV has a zero denominator -> null
    assert (two["churn_rate"], two["retention_rate"], two["ltv"]) == (0.0, 1.0, None)
