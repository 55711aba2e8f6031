"""The single entry point of the cx_platform code location (``dagster dev`` / ``workspace.yaml``)."""

import warnings

import dagster as dg

# BackfillPolicy and TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=...) are beta in
# Dagster 1.13; we use them on purpose (single-run ranges, the FCR look-ahead), so keep logs readable.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from cx_platform.defs.enrichment.assets import (
    contact_topics,
    interaction_labels,
    semantic_csat_model,
    transcript_embeddings,
)
from cx_platform.defs.ingestion.assets import customers, interactions, staging_assets
from cx_platform.defs.kpis.assets import (
    kpi_customer_base,
    kpi_funnel_daily,
    kpi_operating_daily,
    kpi_performance_daily,
    rollup_assets,
)
from cx_platform.defs.monitoring.assets import kpi_anomalies
from cx_platform.defs.monitoring.checks import DAILY_CHECKS, FRESHNESS_CHECKS, SOURCE_CHECKS
from cx_platform.defs.monitoring.policies import apply_policies
from cx_platform.defs.monitoring.sensors import (
    anomaly_alert_sensor,
    kpi_freshness_sensor,
    landing_sensor,
    topics_follow_up_sensor,
    topics_job,
)
from cx_platform.defs.reporting.assets import executive_dashboard
from cx_platform.defs.resources import default_resources

SOURCE_ASSETS = [*staging_assets, customers, semantic_csat_model, kpi_customer_base]
DAILY_ASSETS = [
    interactions,
    transcript_embeddings,
    interaction_labels,
    contact_topics,
    kpi_funnel_daily,
    kpi_operating_daily,
    kpi_performance_daily,
]

MONITORING_ASSETS = [kpi_anomalies]
ROLLUP_ASSETS = rollup_assets
# The freshness checks judge "now", not the data of a run: their own sensor and job run them.
_NOT_IN_DATA_RUNS = dg.AssetSelection.checks(*FRESHNESS_CHECKS)

# Step 1 of the main pipeline: parse every landing file (unpartitioned: exports are not split by day).
sources_job = dg.define_asset_job(
    "sources_job",
    selection=dg.AssetSelection.assets(*SOURCE_ASSETS),
    description="Parse every source export into staging + quarantine, customers, and the CSAT model.",
)

# Step 2: the daily tables for a day or a range of days (one run per range: every asset is single-run),
# ending with the anomalies of those days.
daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.assets(*DAILY_ASSETS, *MONITORING_ASSETS) - _NOT_IN_DATA_RUNS,
    description="interactions -> embeddings -> labels and contact topics -> KPI tier tables -> anomalies "
    "for the selected business dates.",
)

# Step 3: weekly and monthly rollups of the daily tier tables (cheap: recomputed whole).
rollups_job = dg.define_asset_job(
    "rollups_job",
    selection=dg.AssetSelection.assets(*ROLLUP_ASSETS),
    description="Weekly and monthly tier tables as ratios of sums of the daily tables.",
)

# What the landing sensor launches: a source's staging asset and the daily tables of the changed days.
landing_job = dg.define_asset_job(
    "landing_job",
    selection=dg.AssetSelection.assets(*staging_assets, customers, kpi_customer_base, *DAILY_ASSETS,
                                       *MONITORING_ASSETS) - _NOT_IN_DATA_RUNS,
    description="Re-stage the sources whose landing files changed and re-run their changed days.",
)

freshness_checks_job = dg.define_asset_job(
    "freshness_checks_job",
    selection=_NOT_IN_DATA_RUNS,
    description="Is the latest business day of every KPI table materialized by its deadline?",
)

KPI_TABLES = [kpi_funnel_daily, kpi_operating_daily, kpi_performance_daily]

# Step 4: the executive dashboard (also rebuilt automatically whenever a KPI table changes).
REPORTING_ASSETS = [executive_dashboard]
reporting_job = dg.define_asset_job(
    "reporting_job",
    selection=dg.AssetSelection.assets(*REPORTING_ASSETS),
    description="Render the executive dashboard from the lake to <lake>/reporting/executive_dashboard.html.",
)

defs = dg.Definitions(
    assets=apply_policies(
        [*SOURCE_ASSETS, *DAILY_ASSETS, *MONITORING_ASSETS, *ROLLUP_ASSETS],
        daily=[a.key for a in [*DAILY_ASSETS, *MONITORING_ASSETS]],
        rollups=[a.key for a in ROLLUP_ASSETS],
        freshness=[a.key for a in [*KPI_TABLES, *ROLLUP_ASSETS, *MONITORING_ASSETS]],
        unpartitioned=dg.AssetSelection.assets(*SOURCE_ASSETS),
    ) + REPORTING_ASSETS,
    asset_checks=[*SOURCE_CHECKS, *DAILY_CHECKS, *FRESHNESS_CHECKS],
    jobs=[sources_job, daily_job, rollups_job, landing_job, topics_job, freshness_checks_job, reporting_job],
    sensors=[landing_sensor, topics_follow_up_sensor, anomaly_alert_sensor, kpi_freshness_sensor],
    resources=default_resources(),
)
