"""The executive dashboard asset, rendered on a demo-like lake and read in a real headless Chromium.

The lake is built from synthetic interactions with the real KPI formulas (no model): three sources over
two windows of 2023 with a gap, an old 2019 window for one source, a customer snapshot and one anomaly.
Expected values are computed here straight from the Parquet files, as the catalog defines each KPI.
Screenshots and a PDF print go to ``artifacts/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cx_platform.defs.reporting.assets import executive_dashboard
from cx_platform.defs.resources import BusinessConfigResource, LakeResource
from cx_platform.lib import kpi_catalog, kpis, schemas
from cx_platform.lib.dashboard import data as prep
from cx_platform.lib.economics import load_economics
from cx_platform.lib.lake import Lake, day_range
from cx_platform.lib.settings import default_economics_path, default_taxonomy_path
from cx_platform.lib.taxonomy import load_taxonomy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed "
                                "(Debian: apt-get install -y chromium); CI installs it")

WINDOWS = {  # source -> windows of business dates holding its contacts
    "acme_calls": [(dt.date(2019, 3, 4), dt.date(2019, 3, 17)), (dt.date(2023, 1, 2), dt.date(2023, 2, 26))],
    "shop_chat": [(dt.date(2023, 1, 2), dt.date(2023, 2, 26)), (dt.date(2023, 4, 3), dt.date(2023, 4, 30))],
    "nps_survey": [(dt.date(2023, 1, 2), dt.date(2023, 2, 26)), (dt.date(2023, 4, 3), dt.date(2023, 4, 30))],
}
REASONS = ["billing", "delivery", "login", "sales_inquiry"]
SURGE_FROM = dt.date(2023, 4, 24)  # delivery contacts surge in the last week: the emerging reason
ANOMALY = {"date": dt.date(2023, 4, 19), "kpi": "csat_rate", "segment": "source=shop_chat", "value": 0.2,
           "expected": 0.6, "score": -4.1, "change": "down", "direction": "bad",
           "drivers": "channel=chat: -0.400 (100%)"}


def contact(source: str, day: dt.date, n: int, rng: random.Random) -> dict:
    """One interaction of ``source``, in the canonical schema's terms."""
    created = dt.datetime.combine(day, dt.time(9), dt.UTC) + dt.timedelta(minutes=37 * n)

    def after(**delta) -> dt.datetime:
        return created + dt.timedelta(**delta)

    row = {"interaction_id": f"{source}:{day}:{n}", "source": source, "business_date": day, "kind": "contact",
           "created_at": created, "customer_id": f"c{rng.randint(1, 60)}", "status": "resolved",
           "resolved": True, "resolved_at": after(hours=rng.randint(1, 30))}
    if source == "acme_calls":
        abandoned = rng.random() < 0.15
        return row | {
            "brand": "Acme", "channel": "phone", "answered": not abandoned, "abandoned": abandoned,
            "wait_seconds": float(rng.randint(3, 200)), "resolved": not abandoned,
            "status": "abandoned" if abandoned else "resolved",
            "handle_seconds": None if abandoned else float(rng.randint(120, 900)),
            "first_response_at": None if abandoned else after(seconds=rng.randint(5, 90)),
        }
    if source == "shop_chat":
        bot = rng.random() < 0.6
        return row | {
            "brand": rng.choice(["Acme", "Bolt"]), "channel": "chat", "handled_by_bot": bot,
            "handed_off_to_human": bot and rng.random() < 0.4, "n_messages": rng.randint(2, 12),
            "first_response_at": after(seconds=rng.randint(20, 600)), "transcript": "customer: hi agent: hi",
            "csat_score": rng.choice([1, 2, 3, 4, 5, 5]) if rng.random() < 0.3 else None,
        }
    return row | {"brand": "Acme", "channel": "web", "kind": "survey", "status": None, "resolved": None,
                  "resolved_at": None, "nps_score": rng.randint(0, 10), "transcript": "would recommend"}


def synthetic_interactions(rng: random.Random) -> tuple[pl.DataFrame, pl.DataFrame]:
    inter, labels = [], []
    for source, windows in WINDOWS.items():
        for start, end in windows:
            for day in day_range(start, end):
                for n in range(rng.randint(6, 14)):
                    row = contact(source, day, n, rng)
                    surge = source != "acme_calls" and day >= SURGE_FROM and rng.random() < 0.5
                    reason = "delivery" if surge else rng.choice(REASONS)
                    inter.append(row)
                    labels.append({
                        "interaction_id": row["interaction_id"], "source": source, "business_date": day,
                        "contact_reason": reason, "is_sales": reason == "sales_inquiry", "status": "ok",
                        "semantic_csat": None if source == "acme_calls" else rng.uniform(1, 5),
                    })
    interactions = pl.DataFrame(inter, infer_schema_length=None).with_columns(
        pl.col("csat_score", "nps_score").cast(pl.Int8))
    return (schemas.conform(interactions, schemas.INTERACTIONS),
            schemas.conform(pl.DataFrame(labels, infer_schema_length=None), schemas.INTERACTION_LABELS))


def build_lake(root: Path) -> Lake:
    lake = Lake(root)
    economics = load_economics(default_economics_path())
    qualification = load_taxonomy(default_taxonomy_path()).qualification
    interactions, labels = synthetic_interactions(random.Random(7))
    facts = kpis.build_facts(interactions, labels)
    for start, end in sorted({w for ws in WINDOWS.values() for w in ws}):
        days = day_range(start, end)
        in_window = pl.col("business_date").is_between(start, end)
        complete = {d for d in days if d + dt.timedelta(days=kpis.FCR_WINDOW_DAYS) <= end}
        window = facts.filter(in_window)
        for table, frame, schema in [
            ("interactions", interactions.filter(in_window), schemas.INTERACTIONS),
            ("interaction_labels", labels.filter(in_window), schemas.INTERACTION_LABELS),
            ("kpi_funnel_daily", kpis.funnel_daily(window, qualification), kpis.FUNNEL_DAILY),
            ("kpi_operating_daily", kpis.operating_daily(window, days, complete, economics),
             kpis.OPERATING_DAILY),
            ("kpi_performance_daily", kpis.performance_daily(window, days, economics),
             kpis.PERFORMANCE_DAILY),
        ]:
            lake.write_partitions(table, days, frame, schema)
    customers = schemas.conform(pl.DataFrame({
        "customer_id": [f"t{i}" for i in range(40)], "source": "telco",
        "contract": ["month-to-month" if i % 3 else "two-year" for i in range(40)],
        "tenure_months": pl.Series([1 + i % 24 for i in range(40)], dtype=pl.Int32),
        "monthly_revenue": [30.0 + i for i in range(40)], "churned": [i % 5 == 0 for i in range(40)],
    }), schemas.CUSTOMERS)
    lake.write_table("kpi_customer_base", kpis.customer_base(customers, economics), kpis.CUSTOMER_BASE)
    # as the monitoring assets write it: hive partition by date, business_date not stored
    folder = lake.table_dir("kpi_anomalies") / f"date={ANOMALY['date']}"
    folder.mkdir(parents=True)
    pl.DataFrame([{k: v for k, v in ANOMALY.items() if k != "date"}]).write_parquet(folder / "part-0.parquet")
    folder = lake.table_dir("contact_topics") / "date=2023-04-30"  # as the topic assets write it
    folder.mkdir(parents=True)
    pl.DataFrame({"topic_id": [0, 1], "name": ["parcel late tracking", "password reset"],
                  "volume_recent": [40, 9], "growth": [3.5, 0.9], "is_new": [False, False],
                  "is_growing": [True, False]}).write_parquet(folder / "part-0.parquet")
    return lake


# ---- expected values, straight from the Parquet files ---------------------------------------------------


def expected_values(lake: Lake, period: str, filters: dict[str, str]) -> dict[str, float | None]:
    """Every headline KPI of the daily tables over the latest ``period`` ("1w" or "1mo") that holds data
    for the segment: scale x sum(numerator) / sum(denominator) of the catalog, null for a zero denominator."""
    frames = {t: pl.scan_parquet(lake.glob(t), hive_partitioning=True).collect() for t in prep.DAILY_SCHEMAS}
    for name, frame in frames.items():
        frames[name] = frame.filter(*(pl.col(k) == v for k, v in filters.items())) if filters else frame
    latest = max(f["date"].max() for f in frames.values() if f.height)
    start = pl.Series([latest]).dt.truncate(period).item()
    out = {}
    for kpi in kpi_catalog.CATALOG:
        if not kpi.headline or kpi.table not in frames:
            continue
        rows = frames[kpi.table].filter(pl.col("date").dt.truncate(period) == start)
        num = rows[kpi.numerator].sum()
        if kpi.denominator is None:
            out[kpi.name] = float(num)
        else:
            den = rows[kpi.denominator].sum()
            out[kpi.name] = kpi.scale * num / den if den else None
    return {"period_start": start, **out}


# ---- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    return build_lake(tmp_path_factory.mktemp("dash_lake"))


@pytest.fixture(scope="module")
def materialized(lake):
    result = dg.materialize(
        [executive_dashboard],
        resources={"lake": LakeResource(root=str(lake.root)), "business_config": BusinessConfigResource()},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("executive_dashboard")
    return Path(mat.metadata["path"].value), mat.metadata


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """A loaded dashboard page that records console errors and any network request it makes."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1440, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: r.url.startswith("file:") or self.requests.append(r.url))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector("body[data-ready=true]")

    def tile_value(self, kpi: str) -> float | None:
        raw = self.page.get_attribute(f'.tile[data-kpi="{kpi}"]', "data-value")
        return float(raw) if raw else None

    def period(self) -> str:
        return self.page.get_attribute("body", "data-period")

    def change(self, action) -> None:
        """Run ``action`` (a filter change) and wait until the page has redrawn."""
        self.page.evaluate("document.body.dataset.ready = 'false'")
        action()
        self.page.wait_for_selector("body[data-ready=true]")


@pytest.fixture
def page(browser, materialized):
    view = Page(browser, materialized[0])
    yield view
    view.page.close()


def save(view: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    view.page.evaluate("window.scrollTo(0, 0)")
    path = ARTIFACTS / name
    view.page.screenshot(path=str(path), full_page=True)
    return path


# ---- tests -------------------------------------------------------------------------------------------


def test_asset_writes_the_page_into_the_lake_and_records_its_path(lake, materialized):
    path, metadata = materialized
    assert path == lake.root / "reporting" / "executive_dashboard.html" and path.exists()
    assert metadata["anomalies_table"].value is True
    expected = expected_values(lake, "1w", {})
    assert metadata["latest_week"].value == str(expected["period_start"])
    assert metadata["latest_week/contacts"].value == expected["contacts"]


def test_page_loads_offline_with_every_tier_and_headline_tile_at_the_parquet_values(lake, page):
    assert page.errors == [] and page.requests == []
    for tier in kpi_catalog.TIERS:
        assert page.page.locator(f"#tier-{tier} h2").is_visible()
    expected = expected_values(lake, "1w", {})
    assert page.period() == expected["period_start"].isoformat()
    for kpi in (k for k in kpi_catalog.CATALOG if k.headline and k.table in prep.DAILY_SCHEMAS):
        tile = page.page.locator(f'.tile[data-kpi="{kpi.name}"]')
        assert tile.is_visible(), kpi.name
        assert kpi.definition in tile.get_attribute("title")
        want = expected[kpi.name]
        if want is None:
            assert page.tile_value(kpi.name) is None, kpi.name
            assert tile.locator(".t-value").inner_text() == "n/a", kpi.name
            assert tile.locator(".t-reason").inner_text(), kpi.name
        else:
            assert page.tile_value(kpi.name) == pytest.approx(want, rel=1e-6), kpi.name
    # activity is kept apart from outcomes
    assert page.page.locator('.group.activity .tile[data-kpi="contacts"]').count() == 1
    assert page.page.locator('.group.outcomes .tile[data-kpi="contacts"]').count() == 0
    save(page, "executive_dashboard.png")


def test_customer_base_tiles_match_the_snapshot(lake, page):
    base = pl.read_parquet(lake.table_path("kpi_customer_base"))
    churn = base["churned"].sum() / base["customers"].sum()
    assert page.tile_value("churn_rate") == pytest.approx(churn)
    arpa = base["monthly_revenue_sum"].sum() / base["customers"].sum()
    assert page.tile_value("ltv") == pytest.approx(arpa * base["gross_margin"][0] / churn)
    page.change(lambda: page.page.select_option("#channel", "chat"))
    assert page.tile_value("churn_rate") is None
    assert "no brand or channel" in page.page.locator('.tile[data-kpi="churn_rate"] .t-reason').inner_text()


def test_filters_change_what_is_shown(lake, page):
    before = page.tile_value("contacts")
    page.change(lambda: page.page.select_option("#source", "acme_calls"))
    calls = expected_values(lake, "1w", {"source": "acme_calls"})
    assert page.period() == calls["period_start"].isoformat() == "2023-02-20"
    assert page.tile_value("contacts") == calls["contacts"] != before
    assert page.tile_value("aht_seconds") == pytest.approx(calls["aht_seconds"])
    assert page.tile_value("abandonment_rate") == pytest.approx(calls["abandonment_rate"])
    assert page.tile_value("csat_rate") is None  # the call centre runs no survey: n/a, never 0
    page.change(lambda: page.page.click("label:has(input[value=month])"))
    monthly = expected_values(lake, "1mo", {"source": "acme_calls"})
    assert page.period() == "2023-02-01"
    assert page.tile_value("contacts") == monthly["contacts"]
    assert page.tile_value("fcr_rate") == pytest.approx(monthly["fcr_rate"])
    page.change(lambda: (page.page.click("label:has(input[value=week])"),
                         page.page.select_option("#source", ""), page.page.fill("#brand", "Bolt"),
                         page.page.dispatch_event("#brand", "change")))
    bolt = expected_values(lake, "1w", {"brand": "Bolt"})
    assert page.tile_value("deflection_rate") == pytest.approx(bolt["deflection_rate"])
    assert page.page.locator("#drilldown-table tbody tr").first.get_attribute("data-value") == "chat"
    save(page, "executive_dashboard_brand_bolt.png")


def test_date_range_picks_an_earlier_period(lake, page):
    page.change(lambda: (page.page.fill("#from", "2019-03-01"), page.page.fill("#to", "2019-03-31"),
                         page.page.dispatch_event("#to", "change")))
    assert page.period() == "2019-03-11"
    assert "2019" in page.page.locator("#context").inner_text()
    assert page.tile_value("contacts") is not None


def test_anomaly_is_marked_on_its_segment_trend_and_listed(page):
    assert page.page.locator("#anomalies-body .anomaly-row").count() == 1  # all segments: listed
    assert page.page.locator("#trend-performance .anomaly-marker").count() == 0  # not this segment's line
    page.change(lambda: page.page.select_option("#source", "shop_chat"))
    marker = page.page.locator("#trend-performance .anomaly-marker")
    assert marker.count() == 1 and "expected" in marker.locator("title").text_content()


def test_csat_deflection_and_fcr_panels(lake, page):
    expected = expected_values(lake, "1w", {})
    csat = page.page.locator("#panel-csat")
    shown = csat.locator('[data-kpi="semantic_csat_rate"]').inner_text()
    assert shown == f"{100 * expected['semantic_csat_rate']:.1f}%"
    assert "coverage" in csat.locator('[data-kpi="semantic_coverage"]').inner_text()
    deflection = page.page.locator("#panel-deflection").inner_text()
    assert "Savings in this week: $" in deflection
    fcr = page.page.locator("#panel-fcr").inner_text()
    assert "7-day repeat window" in fcr and "provisional" in fcr  # the last week's look-ahead is incomplete


def test_script_and_python_tiles_agree(lake, page):
    data = prep.load(lake)
    tiles = data.headline_tiles("week")
    script = page.page.evaluate("""names => {
        const c = window.cxDashboard, v = c.computeView();
        return names.map(n => c.tileData(c.kpis[n], v.series, v.g, v.current));
    }""", [t.kpi.name for t in tiles])
    def same(a, b) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and a == pytest.approx(b))

    for py, js in zip(tiles, script):
        assert js["period"] == py.period.isoformat(), py.kpi.name
        assert same(js["value"], py.value) and same(js["previous"], py.previous), py.kpi.name
        assert [p for p, _ in js["spark"]] == [p.isoformat() for p, _ in py.spark], py.kpi.name
        assert all(same(a, b) for (_, a), (_, b) in zip(js["spark"], py.spark)), py.kpi.name
        assert js["provisional"] == py.provisional, py.kpi.name
    drivers = prep.contact_drivers(data.reason_rows["week"], tiles[0].period, "week")
    assert drivers["emerging"]["reason"] == "delivery"
    assert page.page.locator("#emerging").inner_text().startswith("Emerging: delivery")
    listed = page.page.locator("#drivers-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.reason)")
    assert listed[:5] == [r["reason"] for r in drivers["top"]]
    topics = page.page.locator("#topics li")
    assert topics.count() == 2 and "growing" in topics.first.inner_text()


def test_printable(page):
    page.page.emulate_media(media="print")
    assert page.page.locator("#reset").is_hidden() and page.page.locator("#tier-operating").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.page.pdf(path=str(ARTIFACTS / "executive_dashboard.pdf"), landscape=True, print_background=True)
    assert (ARTIFACTS / "executive_dashboard.pdf").stat().st_size > 10_000
