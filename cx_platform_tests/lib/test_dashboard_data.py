"""The data behind each dashboard tile, on tiny hand-made KPI rows; expected values worked out by hand."""

import datetime as dt
import json
import re

import polars as pl
import pytest

from cx_platform.lib import kpi_catalog, kpis, schemas
from cx_platform.lib.dashboard import build
from cx_platform.lib.dashboard import data as prep
from cx_platform.lib.dashboard.render import render_html
from cx_platform.lib.kpi_catalog import BY_NAME
from cx_platform.lib.lake import Lake

MON = dt.date(2023, 5, 1)  # a Monday
WEEK = dt.timedelta(days=7)


def rows(table: str, records: list[dict]) -> pl.DataFrame:
    """A daily tier table from a few columns (the others null, as in a table that predates them)."""
    defaults = {"source": "s", "brand": "b", "channel": "chat"}
    return schemas.conform(pl.DataFrame([{**defaults, **r} for r in records]), prep.DAILY_SCHEMAS[table])


def merged(operating: list[dict], performance: list[dict] = ()) -> tuple[pl.DataFrame, frozenset]:
    tables = {"kpi_operating_daily": rows("kpi_operating_daily", operating)}
    if performance:
        tables["kpi_performance_daily"] = rows("kpi_performance_daily", list(performance))
    return prep.merge_tiers(tables)


def weekly(operating: list[dict], filters=None) -> tuple[pl.DataFrame, frozenset]:
    daily, absent = merged(operating)
    return prep.aggregate(prep.period_rows(daily, "week"), filters), absent


def test_rates_are_ratios_of_sums_across_segments_and_days():
    daily, _ = merged([
        {"business_date": MON, "channel": "chat", "handled_contacts": 1, "handle_seconds_sum": 100.0},
        {"business_date": MON + dt.timedelta(days=2), "channel": "phone", "handled_contacts": 3,
         "handle_seconds_sum": 600.0},
    ])
    week = prep.aggregate(prep.period_rows(daily, "week")).row(0, named=True)
    # (100 + 600) / (1 + 3) = 175 s, not the mean of the daily ratios (100 + 200) / 2 = 150
    assert week["period_start"] == MON and week["aht_seconds"] == pytest.approx(175.0)
    assert week[prep.SEGMENT_DAYS] == 2
    phone = prep.aggregate(prep.period_rows(daily, "day"), {"channel": "phone"}).row(0, named=True)
    assert phone["aht_seconds"] == pytest.approx(200.0)


def test_weeks_start_on_monday_and_months_on_the_first():
    sunday = MON + dt.timedelta(days=6)
    daily, _ = merged([{"business_date": sunday, "contacts": 2},
                       {"business_date": sunday + dt.timedelta(days=1), "contacts": 3}])
    assert prep.period_rows(daily, "week")["period_start"].to_list() == [MON, MON + WEEK]
    assert prep.period_rows(daily, "month")["period_start"].to_list() == [dt.date(2023, 5, 1)]
    assert prep.shift_period(dt.date(2023, 1, 1), "month", -1) == dt.date(2022, 12, 1)
    assert prep.period_start(dt.date(2023, 5, 7), "week") == MON


def test_tile_value_change_direction_and_sparkline():
    series, absent = weekly([
        {"business_date": MON - WEEK, "contacts": 10, "handled_contacts": 10, "handle_seconds_sum": 3000.0},
        {"business_date": MON, "contacts": 12, "handled_contacts": 12, "handle_seconds_sum": 3000.0},
    ])
    period = prep.current_period(series)
    assert period == MON
    aht = prep.tile(series, BY_NAME["aht_seconds"], "week", period, absent)
    # 3000/12 = 250 s against 3000/10 = 300 s: down, and lower is better
    assert (aht.value, aht.previous, aht.change) == pytest.approx((250.0, 300.0, -50.0))
    assert aht.verdict == "better" and aht.reason is None
    assert len(aht.spark) == prep.SPARK_POINTS and aht.spark[-1] == (MON, pytest.approx(250.0))
    assert aht.spark[-3] == (MON - 2 * WEEK, None)  # no data that week: a gap, not 0
    contacts = prep.tile(series, BY_NAME["contacts"], "week", period, absent)
    assert (contacts.value, contacts.previous, contacts.verdict) == (12, 10, "neutral")  # activity


def test_previous_period_is_the_calendar_period_so_a_gap_is_not_compared():
    series, absent = weekly([
        {"business_date": MON - 3 * WEEK, "handled_contacts": 1, "handle_seconds_sum": 100.0},
        {"business_date": MON, "handled_contacts": 1, "handle_seconds_sum": 200.0},
    ])
    aht = prep.tile(series, BY_NAME["aht_seconds"], "week", MON, absent)
    assert aht.value == 200.0 and aht.previous is None and aht.verdict == "n/a"
    assert aht.previous_reason == "no data for this segment in this week"


def test_null_kpis_carry_their_reason_never_zero():
    series, absent = weekly([{"business_date": MON, "contacts": 5, "offered_calls": 0, "abandoned_calls": 0,
                              "bot_contacts": 0, "deflected_contacts": 0}])
    abandonment = prep.tile(series, BY_NAME["abandonment_rate"], "week", MON, absent)
    assert abandonment.value is None and abandonment.reason == "no offered calls in this week"
    # sla columns are null in every row: the table predates them, the KPI is not "0%"
    sla = prep.tile(series, BY_NAME["sla_attainment"], "week", MON, absent)
    assert "sla_met_contacts" in absent
    assert sla.value is None and sla.reason.startswith("not in the KPI tables yet")
    other = prep.tile(series, BY_NAME["abandonment_rate"], "week", MON + WEEK, absent)
    assert other.reason == "no data for this segment in this week"


def test_fcr_is_provisional_when_any_day_lacks_its_look_ahead():
    base = {"fcr_resolved_contacts": 4, "fcr_first_contact_resolutions": 3}
    series, absent = weekly([
        {"business_date": MON, **base, "fcr_window_complete": True},
        {"business_date": MON + dt.timedelta(days=1), **base, "fcr_window_complete": False},
    ])
    fcr = prep.tile(series, BY_NAME["fcr_rate"], "week", MON, absent)
    assert fcr.value == pytest.approx(6 / 8) and fcr.provisional
    complete, absent = weekly([{"business_date": MON, **base, "fcr_window_complete": True}])
    assert not prep.tile(complete, BY_NAME["fcr_rate"], "week", MON, absent).provisional


def test_current_period_is_the_latest_with_data_within_the_range():
    series, _ = weekly([{"business_date": MON - 5 * WEEK, "contacts": 1},
                        {"business_date": MON, "contacts": 1}])
    assert prep.current_period(series) == MON
    assert prep.current_period(series, end=MON - WEEK) == MON - 5 * WEEK
    assert prep.current_period(series, start=MON + WEEK) is None


def test_filters_and_headline_tiles_of_every_tier():
    daily, absent = merged(
        [{"business_date": MON, "source": "a", "contacts": 4},
         {"business_date": MON, "source": "b", "contacts": 6}],
        [{"business_date": MON, "source": "a", "contacts": 4, "nps_responses": 4, "nps_net": 1}],
    )
    data = prep.DashboardData(daily=daily, absent=absent, reasons=prep.contact_reason_counts(
        pl.DataFrame(schema=kpis.FACTS)), customer_base=None, anomalies=None, topics=None)
    tiles = {t.kpi.name: t for t in data.headline_tiles("week")}
    assert set(tiles) == {k.name for k in kpi_catalog.CATALOG if k.headline and k.table in prep.DAILY_SCHEMAS}
    assert tiles["contacts"].value == 10
    assert tiles["nps"].value == pytest.approx(25.0)  # 100 x 1 / 4
    only_b = {t.kpi.name: t for t in data.headline_tiles("week", {"source": "b"})}
    assert only_b["contacts"].value == 6 and only_b["nps"].reason == "no NPS responses in this week"


def test_contact_reasons_count_contacts_like_the_kpi_tables(tmp_path):
    lake = Lake(tmp_path)
    day = MON
    ids = ["t:1", "t:2", "t:3", "t:4", "t:5"]
    interactions = schemas.conform(pl.DataFrame({
        "interaction_id": [*ids, "t:1"],  # t:1 delivered twice counts once
        "source": "t", "brand": "b", "channel": "chat",
        "kind": ["contact", "contact", "contact", "survey", "contact", "contact"],
        "status": ["resolved", "resolved", "merged", None, "open", "resolved"],  # merged: not a contact
        "csat_score": pl.Series([5, 2, None, 4, None, 5], dtype=pl.Int8),
        "business_date": day,
    }), schemas.INTERACTIONS)
    labels = schemas.conform(pl.DataFrame({
        "interaction_id": ids, "source": "t", "contact_reason": ["billing"] * 4 + [None],
        "semantic_csat": pl.Series([4.0, 1.0, 5.0, 5.0, None], dtype=pl.Float32), "business_date": day,
    }), schemas.INTERACTION_LABELS)
    lake.write_partitions("interactions", [day], interactions.unique("interaction_id", keep="first"),
                          schemas.INTERACTIONS)
    lake.write_partitions("interaction_labels", [day], labels, schemas.INTERACTION_LABELS)
    counts = {r["contact_reason"]: r for r in prep.read_contact_reasons(lake).iter_rows(named=True)}
    # billing: t:1 and t:2 (t:3 merged, t:4 a survey answer); t:5 has no label
    assert counts["billing"]["contacts"] == 2
    assert (counts["billing"]["csat_responses"], counts["billing"]["csat_satisfied"]) == (2, 1)
    assert (counts["billing"]["semantic_scored"], counts["billing"]["semantic_satisfied"]) == (2, 1)
    assert counts[prep.UNLABELLED]["contacts"] == 1


def reason_rows(counts: dict[dt.date, dict[str, int]]) -> pl.DataFrame:
    records = [{"business_date": d, "source": "s", "brand": "b", "channel": "chat", "contact_reason": r,
                "contacts": n, "csat_responses": 0, "csat_satisfied": 0, "semantic_scored": 0,
                "semantic_satisfied": 0} for d, by in counts.items() for r, n in by.items()]
    return prep.reason_period_rows(pl.DataFrame(records), "week")


def test_contact_drivers_rank_reasons_and_flag_the_fastest_rise():
    reasons = reason_rows({
        MON - WEEK: {"billing": 50, "delivery": 5, "login": 40, prep.UNLABELLED: 5},
        MON: {"billing": 40, "delivery": 30, "login": 20, prep.UNLABELLED: 10},
    })
    out = prep.contact_drivers(reasons, MON, "week")
    assert [r["reason"] for r in out["top"]] == ["billing", "delivery", "login", prep.UNLABELLED]
    billing = out["top"][0]
    assert billing["share"] == pytest.approx(40.0) and billing["share_change"] == pytest.approx(-10.0)
    # delivery: 5/100 = 5% -> 30/100 = 30%, +25 pts; (unlabelled) +5 pts never counts as emerging
    assert out["emerging"]["reason"] == "delivery" and out["emerging"]["share_change"] == pytest.approx(25.0)


def test_no_emerging_reason_without_a_previous_period_or_enough_volume():
    alone = prep.contact_drivers(reason_rows({MON: {"billing": 10}}), MON, "week")
    assert alone["emerging"] is None and alone["top"][0]["share_change"] is None
    small = reason_rows({MON - WEEK: {"billing": 100}, MON: {"billing": 100, "rare": 4}})
    assert prep.contact_drivers(small, MON, "week")["emerging"] is None  # 4 < EMERGING_MIN_CONTACTS


def test_customer_base_totals_derive_ltv_from_summed_counts():
    base = schemas.conform(pl.DataFrame({
        "source": ["telco", "telco"], "contract": ["a", "b"], "customers": [100, 300], "churned": [10, 10],
        "monthly_revenue_sum": [5000.0, 15000.0], "gross_margin": [0.5, 0.5], "new_customers": [10, 30],
        "marketing_spend": [1000.0, 3000.0],
    }), kpis.CUSTOMER_BASE)
    totals = prep.customer_base_totals(base)
    # churn 20/400 = 5%; ARPA 20000/400 = 50; LTV = 50 x 0.5 / 0.05 = 500; CAC 4000/40 = 100
    assert totals["churn_rate"] == pytest.approx(0.05)
    assert totals["ltv"] == pytest.approx(500.0)
    assert totals["cac"] == pytest.approx(100.0) and totals["ltv_to_cac"] == pytest.approx(5.0)
    assert prep.customer_base_totals(base, "other")["ltv"] is None


def test_anomaly_segments_and_table_shape():
    assert prep.parse_segment("source=twcs|channel=social") == {"source": "twcs", "channel": "social"}
    assert prep.parse_segment("all") == {} and prep.parse_segment(None) == {}
    assert prep.parse_segment("weird segment") is None
    frame = pl.DataFrame({"kpi": ["csat_rate"], "segment": ["source=s"], "value": [0.5], "expected": [0.8],
                          "score": [-4.2], "change": ["down"], "direction": ["bad"],
                          "drivers": ["channel=chat: -0.3 (100%)"], "date": [MON]})
    out = prep.normalize_anomalies(frame).row(0, named=True)
    assert out["date"] == MON and out["direction"] == "bad" and out["drivers"].startswith("channel=chat")
    assert prep.normalize_anomalies(frame.drop("drivers", "change"))["drivers"].to_list() == [None]


def test_topics_are_read_when_their_columns_can_be_recognised(tmp_path):
    lake = Lake(tmp_path)
    for day, volumes in [(MON - WEEK, [3, 30]), (MON, [12, 30])]:  # as the topic assets write them
        folder = lake.table_dir("contact_topics") / f"date={day}"
        folder.mkdir(parents=True)
        pl.DataFrame({"topic_id": [1, 0], "name": ["refund delay late", "app crash login"],
                      "volume_recent": volumes, "growth": [4.0, 1.0], "is_new": [False, False],
                      "is_growing": [True, False]}).write_parquet(folder / "part-0.parquet")
    out = prep.read_topics(lake)
    assert out["topic"].to_list() == ["app crash login", "refund delay late"]  # the latest day only
    assert out["date"].unique().to_list() == [MON]
    refund = out.filter(pl.col("topic") == "refund delay late").row(0, named=True)
    assert (refund["contacts"], refund["emerging"], refund["new"], refund["growth"]) == (12, True, False, 4.0)
    assert prep.normalize_topics(pl.DataFrame({"something": [1]})) is None
    # topics discovered per source keep their source in the label, so equal names do not merge
    per_source = prep.normalize_topics(pl.DataFrame({
        "source": ["twcs", "cfpb_complaints", None], "name": ["refund", "refund", "refund"],
        "volume_recent": [5, 7, 2], "business_date": [MON] * 3}))
    assert per_source.select("topic", "contacts").rows() == [
        ("cfpb_complaints: refund", 7.0), ("twcs: refund", 5.0), ("refund", 2.0)]
    assert prep.read_topics(Lake(tmp_path / "empty")) is None


def test_absent_tables_give_an_empty_but_working_page(tmp_path):
    lake = Lake(tmp_path)
    day = MON
    op = rows("kpi_operating_daily", [{"business_date": day, "contacts": 3}])
    lake.write_partitions("kpi_operating_daily", [day], op, kpis.OPERATING_DAILY)
    path, data = build(lake, generated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert path == tmp_path / "reporting" / "executive_dashboard.html"
    assert data.anomalies is None and data.topics is None and data.customer_base is None
    assert data.headline_tiles("week")[0].value == 3  # contacts, the activity tile, comes first


def test_page_is_self_contained_and_escapes_data(tmp_path):
    daily, absent = merged([{"business_date": MON, "brand": "</script><b>x", "contacts": 1}])
    data = prep.DashboardData(daily=daily, absent=absent, reasons=prep.contact_reason_counts(
        pl.DataFrame(schema=kpis.FACTS)), customer_base=None, anomalies=None, topics=None)
    html = render_html(data, dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert html.count("</script>") == 2  # the data block and the script, nothing injected
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "@import" not in html and "url(" not in html
    block = re.search(r'<script type="application/json" id="cx-data">(.*?)</script>', html, re.DOTALL)
    payload = json.loads(block[1])
    assert payload["dims"]["brand"] == ["</script><b>x"]
    assert {k["name"] for k in payload["kpis"]} == {k.name for k in kpi_catalog.CATALOG}
    for kpi in prep.headline_kpis():  # a tile per headline KPI, titled with its definition
        assert f'data-kpi="{kpi.name}"' in html
    assert "@media print" in html


def test_cli_renders_without_dagster(tmp_path, capsys):
    from cx_platform.dashboard import main

    lake = Lake(tmp_path / "lake")
    lake.write_partitions("kpi_operating_daily", [MON], rows("kpi_operating_daily", [
        {"business_date": MON, "contacts": 1}]), kpis.OPERATING_DAILY)
    out = tmp_path / "page.html"
    assert main(["--no-dagster", "--lake", str(lake.root), "--out", str(out)]) == 0
    assert out.exists() and str(out) in capsys.readouterr().out
    assert main(["--no-dagster", "--lake", str(tmp_path / "nothing")]) == 1
