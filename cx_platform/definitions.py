"""The single entry point of the cx_platform code location (``dagster dev`` / ``workspace.yaml``)."""

import warnings

import dagster as dg

# BackfillPolicy and TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=...) are beta in
# Dagster 1.13; we use them on purpose (single-run ranges, the FCR look-ahead), so keep logs readable.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from cx_platform.defs.enrichment.assets import interaction_labels, semantic_csat_model, transcript_embeddings
from cx_platform.defs.ingestion.assets import customers, interactions, staging_assets
from cx_platform.defs.kpis.assets import (
    kpi_customer_base,
    kpi_funnel_daily,
    kpi_operating_daily,
    kpi_performance_daily,
    rollup_assets,
)
from cx_platform.defs.resources import default_resources

SOURCE_ASSETS = [*staging_assets, customers, semantic_csat_model, kpi_customer_base]
DAILY_ASSETS = [
    interactions,
    transcript_embeddings,
    interaction_labels,
    kpi_funnel_daily,
    kpi_operating_daily,
    kpi_performance_daily,
]

# Step 1 of the main pipeline: parse every landing file (unpartitioned: exports are not split by day).
sources_job = dg.define_asset_job(
    "sources_job",
    selection=dg.AssetSelection.assets(*SOURCE_ASSETS),
    description="Parse every source export into staging + quarantine, customers, and the CSAT model.",
)
ROLLUP_ASSETS = rollup_assets

# Step 2: the daily tables for a day or a range of days (one run per range: every asset is single-run).
daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.assets(*DAILY_ASSETS),
    description="interactions -> embeddings -> labels -> KPI tier tables for the selected business dates.",
)

# Step 3: weekly and monthly rollups of the daily tier tables (cheap: recomputed whole).
rollups_job = dg.define_asset_job(
    "rollups_job",
    selection=dg.AssetSelection.assets(*ROLLUP_ASSETS),
    description="Weekly and monthly tier tables as ratios of sums of the daily tables.",
)

defs = dg.Definitions(
    assets=[*SOURCE_ASSETS, *DAILY_ASSETS, *ROLLUP_ASSETS],
    jobs=[sources_job, daily_job, rollups_job],
    resources=default_resources(),
)
