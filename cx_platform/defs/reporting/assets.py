"""Reporting: the executive dashboard, a self-contained HTML page rebuilt whenever the KPI tables change."""

import dagster as dg

from cx_platform.defs.resources import BusinessConfigResource, LakeResource
from cx_platform.lib import dashboard
from cx_platform.lib.dashboard.data import GRANULARITIES

# Rebuild after any upstream materialization. Eager's "no missing dependency" clause is dropped: the
# daily tables are missing on every calendar day without data (the real sources have years of gaps),
# which would block the page forever, and the page states those gaps itself.
REBUILD_ON_UPDATE = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


@dg.asset(
    group_name="reporting",
    kinds={"html", "polars"},
    deps=["kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily", "kpi_customer_base",
          "interactions", "interaction_labels", "contact_topics", "kpi_anomalies"],
    automation_condition=REBUILD_ON_UPDATE,
    description=(
        "The executive dashboard leadership decides from: one self-contained HTML page (no network) with a "
        "section per KPI tier, a tile per headline KPI (value, change against the previous period, "
        "sparkline, good direction), activity apart from outcomes, trends with anomalies marked "
        "(kpi_anomalies, when present), surveyed vs semantic CSAT with coverage, deflection savings, "
        "FCR with its 7-day window, contact drivers, and drill-down by channel, brand, source and contact "
        "reason; filters for day/week/month, date range and segment. Every number is a ratio of sums of "
        "the KPI tables, defined by the KPI catalog. Written to <lake>/reporting/executive_dashboard.html."
    ),
)
def executive_dashboard(lake: LakeResource, business_config: BusinessConfigResource) -> dg.MaterializeResult:
    path, data = dashboard.build(lake.lake, currency=business_config.economics().currency)
    tiles = data.headline_tiles("week")
    period = next((t.period for t in tiles if t.period), None)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "url": dg.MetadataValue.url(path.resolve().as_uri()),
            "size_bytes": path.stat().st_size,
            "data_from": str(data.first_date), "data_to": str(data.last_date),
            "latest_week": str(period),
            **{f"latest_week/{t.kpi.name}": None if t.value is None else round(t.value, 4) for t in tiles},
            "kpis_not_in_tables": ", ".join(sorted(data.absent)) or "none",
            "anomalies_table": data.anomalies is not None,
            "contact_topics_table": data.topics is not None,
            "granularities": ", ".join(GRANULARITIES),
        }
    )
