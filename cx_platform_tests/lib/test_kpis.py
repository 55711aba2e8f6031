"""KPI formulas on tiny hand-made frames; every expected value is worked out by hand in a comment."""

import datetime as dt

import polars as pl
import pytest

from cx_platform.lib import kpi_catalog, kpis
from cx_platform.lib.economics import BusinessHours, Economics
from cx_platform.lib.taxonomy import Qualification

D1 = dt.date(2024, 3, 1)
T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)  # a Friday
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)

ECON = Economics(
    human_cost_per_contact={"phone": 6.0, "chat": 4.0, "other": 5.0},
    automation_cost_per_contact=0.5,
    sla_targets_seconds={"chat": 60.0, "phone": 20.0},
    short_abandon_seconds=5.0,
)


def facts(rows: list[dict]) -> pl.DataFrame:
    """Facts frame with defaults: one source/brand, chat contacts created at T0 (business date = its date)."""
    defaults = {"source": "s", "brand": "b", "channel": "chat", "kind": "contact", "created_at": T0}
    rows = [{**defaults, "interaction_id": f"s:{i}", **row} for i, row in enumerate(rows)]
    for row in rows:
        row["business_date"] = row["created_at"].date()
    return pl.DataFrame({n: [r.get(n) for r in rows] for n in kpis.FACTS.names()}, schema=kpis.FACTS)


def only_row(table: pl.DataFrame, name: str) -> dict:
    """The day's KPIs across every segment (a ratio-of-sums rollup when rows span several channels)."""
    if table.height > 1:
        table = kpi_catalog.rollup(table, name, "1d", by=())
    return table.row(0, named=True)


def operating(rows, economics=ECON, complete=frozenset()):
    return only_row(kpis.operating_daily(facts(rows), [D1], set(complete), economics), "kpi_operating_daily")


def performance(rows, economics=ECON):
    return only_row(kpis.performance_daily(facts(rows), [D1], economics), "kpi_performance_daily")


def test_rate_is_null_when_denominator_is_zero():
    kpi = kpi_catalog.BY_NAME["csat_rate"]
    frame = pl.DataFrame({"csat_satisfied": [1, 0, 3], "csat_responses": [2, 0, 0]})
    # 1/2 = 0.5; 0/0 -> null; 3/0 -> null (never inf); the count columns stay and show why
    assert frame.select(kpi_catalog.rate_expr(kpi))["csat_rate"].to_list() == [0.5, None, None]


def test_aht_frt_resolution_and_negative_durations():
    row = operating(
        [
            # answered call: 300 s handle, first response after 60 s, resolved after 1 h
            {"answered": True, "abandoned": False, "handle_seconds": 300.0,
             "first_response_at": T0 + dt.timedelta(seconds=60), "resolved_at": T0 + HOUR},
            # answered call: 100 s handle, first response after 120 s
            {"answered": True, "abandoned": False, "handle_seconds": 100.0,
             "first_response_at": T0 + dt.timedelta(seconds=120)},
            # clock skew: resolved and answered before created -> excluded, never averaged in
            {"resolved_at": T0 - HOUR, "first_response_at": T0 - HOUR},
        ]
    )
    assert row["contacts"] == 3
    # AHT = (300 + 100) / 2 handled = 200 s
    assert (row["handled_contacts"], row["aht_seconds"]) == (2, 200.0)
    # FRT mean = (60 + 120) / 2 = 90 s; median of {60, 120} = 90 s; the negative one is dropped
    assert (row["frt_count"], row["frt_seconds_mean"], row["frt_seconds_median"]) == (2, 90.0, 90.0)
    # resolution: only the first row (3600 s)
    assert (row["resolution_count"], row["resolution_seconds_mean"]) == (1, 3600.0)
    # SLA (chat target 60 s): 60 <= 60 met, 120 > 60 missed -> 1/2
    assert (row["sla_met_contacts"], row["sla_eligible_contacts"], row["sla_attainment"]) == (1, 2, 0.5)


def test_source_sla_verdict_wins_over_the_target():
    row = operating([{"responded_in_time": True, "first_response_at": T0 + 10 * DAY},
                     {"responded_in_time": False}])
    # the source said timely / not timely: 1 met of 2 judged, whatever the configured target
    assert (row["sla_met_contacts"], row["sla_eligible_contacts"]) == (1, 2)


def test_abandonment_with_short_abandon_threshold():
    row = operating(
        [
            {"channel": "phone", "answered": True, "abandoned": False, "wait_seconds": 30.0},
            {"channel": "phone", "answered": False, "abandoned": True, "wait_seconds": 45.0},
            {"channel": "phone", "answered": False, "abandoned": True, "wait_seconds": 3.0},  # short abandon
            {"channel": "chat"},  # not a call: answered unknown
        ]
    )
    # offered = 3 calls - 1 short abandon = 2; abandoned = 1 -> 1/2
    assert (row["offered_calls"], row["abandoned_calls"], row["short_abandoned_calls"]) == (2, 1, 1)
    assert row["abandonment_rate"] == 0.5


def test_fcr_counts_a_repeat_that_lands_in_a_later_partition():
    rows = [
        # customer A: resolved on D1, contacts again on D1+3 (a later partition) about the same issue
        {"customer_id": "A", "contact_reason": "billing", "resolved": True},
        {"customer_id": "A", "contact_reason": "billing", "resolved": True, "created_at": T0 + 3 * DAY},
        # customer B: resolved on D1, same issue again after 8 days (outside the 7-day window) -> FCR
        {"customer_id": "B", "contact_reason": "billing", "resolved": True},
        {"customer_id": "B", "contact_reason": "billing", "resolved": True, "created_at": T0 + 8 * DAY},
        # customer C: resolved on D1, next contact 2 days later but about another issue -> FCR
        {"customer_id": "C", "contact_reason": "billing", "resolved": True},
        {"customer_id": "C", "contact_reason": "delivery", "resolved": True, "created_at": T0 + 2 * DAY},
        # unknown customer: cannot be checked for repeats -> left out of FCR
        {"customer_id": None, "resolved": True},
        # unresolved: not in the FCR denominator
        {"customer_id": "D", "resolved": False},
    ]
    row = operating(rows, complete={D1})
    # denominator: resolved with known customer on D1 = A, B, C = 3; numerator: B and C = 2 -> 2/3
    assert (row["fcr_first_contact_resolutions"], row["fcr_resolved_contacts"]) == (2, 3)
    assert row["fcr_rate"] == pytest.approx(2 / 3)
    assert row["fcr_window_complete"] is True and row["fcr_window_days"] == 7
    # without the later days loaded, A looks resolved first time: that is why D1 stays provisional
    early = kpis.operating_daily(facts(rows[::2]), [D1], set(), ECON).row(0, named=True)
    assert early["fcr_rate"] == 1.0 and early["fcr_window_complete"] is False


def test_bot_outcomes_are_disjoint_and_add_up():
    rows = [
        # tried by the bot AND handed to a human: counts once, as handed off (not deflected)
        {"handled_by_bot": True, "handed_off_to_human": True, "resolved": True, "customer_id": "A"},
        # resolved by the bot, no repeat: deflected
        {"handled_by_bot": True, "handed_off_to_human": False, "resolved": True, "customer_id": "B"},
        # resolved by the bot but the customer came back within 7 days: not deflected -> abandoned-in-bot
        {"handled_by_bot": True, "handed_off_to_human": False, "resolved": True, "customer_id": "C",
         "contact_reason": "x"},
        {"customer_id": "C", "contact_reason": "x", "created_at": T0 + 2 * DAY},
        # left the bot unresolved: abandoned in bot
        {"handled_by_bot": True, "handed_off_to_human": False, "resolved": False},
        # never in automation
        {"handled_by_bot": False},
    ]
    row = operating(rows)
    # bot contacts 4 = deflected 1 + handed off 1 + abandoned 2
    assert row["bot_contacts"] == 4
    assert (row["deflected_contacts"], row["handed_off_contacts"], row["bot_abandoned_contacts"]) == (1, 1, 2)
    assert row["deflection_rate"] == 0.25 and row["handoff_rate"] == 0.25
    perf = performance(rows)
    # savings = 1 deflected chat x (4.00 human - 0.50 automation) = 3.50
    assert perf["deflection_savings"] == pytest.approx(3.5)
    # cost: B, C(bot), D(bot, unresolved) stay with automation 3 x 0.50 = 1.50; A handed off, C's repeat
    # and the no-bot contact are human chats 3 x 4.00 = 12.00 -> 13.50 over 5 D1 contacts (C's repeat is D3)
    assert perf["contacts"] == 5 and perf["support_cost"] == pytest.approx(1.5 + 8.0)


def test_cost_per_contact_and_per_resolution():
    perf = performance([
        {"channel": "phone", "resolved": True},  # 6.00
        {"channel": "phone", "resolved": False},  # 6.00
        {"channel": "sms", "resolved": True},  # unknown channel -> 'other' rate 5.00
    ])
    # cost 17.00; per contact 17 / 3 = 5.667; per resolution 17 / 2 = 8.50
    assert perf["support_cost"] == pytest.approx(17.0)
    assert perf["cost_per_contact"] == pytest.approx(17 / 3) and perf["cost_per_resolution"] == pytest.approx(8.5)


def test_reopen_escalation_and_transfer_use_only_sources_that_report_them():
    row = operating([
        {"resolved": True, "reopened": True, "transferred": True},
        {"resolved": True, "reopened": False, "transferred": False},
        {"resolved": True},  # this source does not report reopening or transfers
        {"resolved": False, "reopened": True},  # not resolved: not in the reopen denominator
    ])
    # reopen: 1 of 2 resolved contacts whose source reports it; transfer: 1 of 2 known
    assert (row["reopened_contacts"], row["reopen_known_contacts"], row["reopen_rate"]) == (1, 2, 0.5)
    assert (row["transferred_contacts"], row["transfer_known_contacts"]) == (1, 2)
    # nobody reports escalation -> 0 / 0 -> null, not 0
    assert (row["escalation_known_contacts"], row["escalation_rate"]) == (0, None)


def test_backlog_counts_open_and_pending():
    row = operating([{"status": "open"}, {"status": "pending"}, {"status": "resolved", "resolved": True}])
    assert (row["open_contacts"], row["resolved_contacts"]) == (2, 1)


def test_business_hours_variant_of_frt():
    hours = BusinessHours(timezone="UTC", weekdays=(0, 1, 2, 3, 4), start=dt.time(9), end=dt.time(17))
    econ = Economics(human_cost_per_contact={"other": 1.0}, business_hours=hours)
    friday_4pm = dt.datetime(2024, 3, 1, 16, 0, tzinfo=dt.UTC)
    # asked Friday 16:00, answered Monday 10:00: wall clock 66 h; business time 1 h Friday + 1 h Monday
    row = operating([{"created_at": friday_4pm, "first_response_at": friday_4pm + dt.timedelta(hours=66)}], econ)
    assert row["frt_seconds_mean"] == 66 * 3600.0
    assert row["frt_business_seconds_mean"] == 2 * 3600.0


def test_business_hours_on_the_day_clocks_change():
    hours = BusinessHours(timezone="America/New_York", weekdays=(6,), start=dt.time(0), end=dt.time(23, 59))
    # Sunday 2024-03-10 in New York is 23 hours long: local 00:00 (05:00 UTC) to 23:59 (03:59 UTC next day)
    start = dt.datetime(2024, 3, 10, 5, 0, tzinfo=dt.UTC)
    seconds = hours.seconds_between(start, start + dt.timedelta(hours=30))
    # 00:00 -> 23:59 local on a 23-hour day = 22 h 59 min of elapsed time
    assert seconds == (22 * 60 + 59) * 60


def test_funnel_leads_and_qualification():
    table = kpis.funnel_daily(
        facts(
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
    row = performance(
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
    assert row["contacts"] == 5
    # surveyed CSAT: 2 of 3 answers are 4-5 -> 0.667; coverage 3 answers / 5 contacts = 0.6
    assert (row["csat_satisfied"], row["csat_responses"]) == (2, 3)
    assert row["csat_rate"] == pytest.approx(2 / 3) and row["csat_coverage"] == pytest.approx(0.6)
    # semantic: scored 4 of 5 contacts; satisfied (>= 3.5): 4.6 and 3.5 -> 2/4 = 0.5
    assert (row["semantic_satisfied"], row["semantic_scored"]) == (2, 4)
    assert row["semantic_csat_rate"] == 0.5 and row["semantic_coverage"] == pytest.approx(0.8)
    # mean predicted score = (4.6 + 3.2 + 1.5 + 3.5) / 4 = 12.8 / 4 = 3.2
    assert row["semantic_csat_mean"] == pytest.approx(3.2, abs=1e-5)
    # NPS: 4 answers, promoters 2 (10, 9), detractors 1 (3) -> 100 x (2 - 1) / 4 = 25
    assert (row["nps_responses"], row["nps_promoters"], row["nps_detractors"], row["nps_net"]) == (4, 2, 1, 1)
    assert row["nps"] == pytest.approx(25.0)


def test_out_of_range_survey_answers_are_never_counted():
    # adapters quarantine these; the formula is defensive too: 6 is no CSAT, 11 is no NPS answer
    row = performance([{"csat_score": 6}, {"csat_score": 5}, {"kind": "survey", "nps_score": 11}])
    assert (row["csat_responses"], row["nps_responses"], row["nps"]) == (1, 0, None)


def test_late_and_changed_survey_answers_and_duplicate_tickets():
    interactions = facts([{"interaction_id": "t:1"}, {"interaction_id": "t:2"},
                          {"interaction_id": "t:2"},  # the same ticket delivered twice
                          {"interaction_id": "t:3", "status": "merged"}]).drop(
        "contact_reason", "is_sales", "semantic_csat")
    answers = pl.DataFrame(
        {
            "interaction_id": ["t:1", "t:1", "t:2"],
            # t:1 answered 3 days later with 2, then changed to 5 on day 4; t:2 answered 10 days later
            "answered_at": [T0 + 3 * DAY, T0 + 4 * DAY, T0 + 10 * DAY],
            "csat_score": [2, 5, 4],
            "nps_score": [None, None, None],
        },
        schema=kpis.SURVEY_ANSWERS,
    )
    labels = pl.DataFrame(schema={"interaction_id": pl.String, "contact_reason": pl.String,
                                  "is_sales": pl.Boolean, "semantic_csat": pl.Float32})
    built = kpis.build_facts(interactions, labels, answers)
    # t:2 counts once; merged t:3 is not a contact of its own -> 2 rows, both on the interaction's date D1
    assert built["interaction_id"].to_list() == ["t:1", "t:2"]
    assert built["business_date"].to_list() == [D1, D1]
    # the changed answer counts once, the latest: 5
    assert built["csat_score"].to_list() == [5, 4]
    row = kpis.performance_daily(built, [D1], ECON).row(0, named=True)
    assert (row["contacts"], row["csat_responses"], row["csat_satisfied"]) == (2, 2, 2)


def test_weekly_and_monthly_rollups_are_ratios_of_sums():
    daily = pl.DataFrame(
        {
            "business_date": [dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 11)],
            "source": ["s"] * 3, "brand": ["b"] * 3, "channel": ["chat"] * 3,
            "csat_satisfied": [1, 1, 0], "csat_responses": [1, 3, 0],
        }
    )
    daily = kpi_catalog.apply_rates(daily, "kpi_performance_daily")
    weekly = kpi_catalog.rollup(daily, "kpi_performance_daily", "1w")
    # week of Mon 4 March: (1 + 1) / (1 + 3) = 0.5, not the average of 1.0 and 0.333 (0.667)
    # week of Mon 11 March: 0 / 0 -> null
    assert weekly["period_start"].to_list() == [dt.date(2024, 3, 4), dt.date(2024, 3, 11)]
    assert weekly["csat_rate"].to_list() == [0.5, None]
    monthly = kpi_catalog.rollup(daily, "kpi_performance_daily", "1mo")
    # March: 2 / 4 = 0.5
    assert monthly["csat_rate"].to_list() == [0.5]


def test_customer_base_churn_ltv_and_cac():
    customers = pl.DataFrame(
        {
            "source": ["t"] * 4,
            "contract": ["Month-to-month", "Month-to-month", "Month-to-month", "Two year"],
            "churned": [True, False, False, False],
            "monthly_revenue": [50.0, 70.0, 60.0, 100.0],
            "tenure_months": [1, 20, 0, 40],
        }
    )
    spend = pl.DataFrame({"date": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)], "category": ["marketing"] * 2,
                          "amount": [999.0, 300.0], "currency": ["USD"] * 2})
    econ = Economics(gross_margin=0.5, acquisition_window_months=1, spend=spend)
    table = kpis.customer_base(customers, econ)
    m2m = table.filter(pl.col("contract") == "Month-to-month").row(0, named=True)
    # churn 1/3; ARPA (50 + 70 + 60) / 3 = 60; LTV = 60 x 0.5 / (1/3) = 90
    assert m2m["churn_rate"] == pytest.approx(1 / 3) and m2m["arpa"] == pytest.approx(60.0)
    assert m2m["ltv"] == pytest.approx(90.0)
    # CAC: last month's marketing 300 over the 2 customers with tenure <= 1 = 150; LTV:CAC = 90 / 150 = 0.6
    assert (m2m["new_customers"], m2m["cac"]) == (2, pytest.approx(150.0))
    assert m2m["ltv_to_cac"] == pytest.approx(0.6)
    two = table.filter(pl.col("contract") == "Two year").row(0, named=True)
    # no churn -> LTV has a zero denominator -> null; no new customers -> CAC null, LTV:CAC null
    assert (two["churn_rate"], two["retention_rate"], two["ltv"], two["cac"]) == (0.0, 1.0, None, None)
