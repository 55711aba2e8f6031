"""KPI tier tables: daily, hive-partitioned Parquet, one row per day and segment (source, brand, channel).
Formulas live in ``cx_platform.lib.kpis``; these assets read the lake, call them and write the result."""

import datetime as dt

import dagster as dg
import polars as pl

from cx_platform.defs.partitions import daily_partitions, partition_days
from cx_platform.defs.resources import EmbeddingModelResource, LakeResource
from cx_platform.lib import kpis, schemas
from cx_platform.lib.lake import Lake

# FCR for day D needs the contacts of D+1..D+7: the dependency says so, so lineage and staleness show it.
FCR_WINDOW_MAPPING = dg.TimeWindowPartitionMapping(
    start_offset=0, end_offset=kpis.FCR_WINDOW_DAYS, allow_nonexistent_upstream_partitions=True
)


def load_facts(lake: Lake, days: list[dt.date]) -> pl.DataFrame:
    """Interactions of ``days`` joined with their labels, in the shape the KPI functions expect."""
    labels = lake.scan_days("interaction_labels", days, schemas.INTERACTION_LABELS).select(
        "interaction_id", "contact_reason", "is_sales", "semantic_csat"
    )
    return (
        lake.scan_days("interactions", days, schemas.INTERACTIONS)
        .join(labels, on="interaction_id", how="left")
        .select(kpis.FACTS.names())
        .collect()
    )


def _rate_check(table: pl.DataFrame, rate_columns: list[str], check_name: str) -> dg.AssetCheckResult:
    """Rates lie in [0, 1] and are null exactly where their denominator is zero (never NaN)."""
    out_of_range = sum(
        table.filter(pl.col(c).is_not_null() & ~pl.col(c).is_between(0, 1)).height for c in rate_columns
    )
    nan = sum(table[c].is_nan().sum() for c in rate_columns)
    return dg.AssetCheckResult(
        check_name=check_name, passed=out_of_range == 0 and nan == 0,
        metadata={"rates_out_of_range": out_of_range, "nan_values": int(nan), "rows": table.height},
    )


def _headline(table: pl.DataFrame, numerator: str, denominator: str) -> float | None:
    den = table[denominator].sum()
    return round(table[numerator].sum() / den, 4) if den else None


def _kpi_asset(name: str, group: str, deps, rate_columns: list[str]):
    return dict(
        name=name,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=group,
        kinds={"polars", "parquet"},
        deps=deps,
        check_specs=[dg.AssetCheckSpec("rates_valid", asset=name, description=_rate_check.__doc__)],
        metadata={"rate_columns": rate_columns},
    )


FUNNEL_RATES = ["qualification_rate"]


@dg.asset(**_kpi_asset("kpi_funnel_daily", "kpi_funnel", ["interactions", "interaction_labels"], FUNNEL_RATES))
def kpi_funnel_daily(
    context: dg.AssetExecutionContext, lake: LakeResource, embedding_model: EmbeddingModelResource
) -> dg.MaterializeResult:
    """Funnel tier, one row per day x source x brand x channel.
    leads = contacts whose contact reason is a sales reason of the taxonomy;
    qualified_leads = leads a human engaged with (answered call >= min_handle_seconds, or a conversation
    of >= min_messages messages); qualification_rate = qualified_leads / leads."""
    days = partition_days(context)
    table = kpis.funnel_daily(load_facts(lake.lake, days), embedding_model.taxonomy().qualification)
    lake.lake.write_partitions("kpi_funnel_daily", days, table, kpis.FUNNEL_DAILY)
    return dg.MaterializeResult(
        metadata={
            "rows": table.height,
            "leads": int(table["leads"].sum()),
            "qualification_rate": _headline(table, "qualified_leads", "leads"),
            "path": dg.MetadataValue.path(str(lake.lake.table_dir("kpi_funnel_daily"))),
        },
        check_results=[_rate_check(table, FUNNEL_RATES, "rates_valid")],
    )


OPERATING_RATES = ["fcr_rate", "abandonment_rate", "deflection_rate"]


@dg.asset(
    **_kpi_asset(
        "kpi_operating_daily",
        "kpi_operating",
        [
            dg.AssetDep("interactions", partition_mapping=FCR_WINDOW_MAPPING),
            dg.AssetDep("interaction_labels", partition_mapping=FCR_WINDOW_MAPPING),
        ],
        OPERATING_RATES,
    )
)
def kpi_operating_daily(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Operating tier, one row per day x source x brand x channel.
    AHT = handle_seconds_sum / handled_contacts (talk + hold + wrap where the source has them);
    FRT mean = frt_seconds_sum / frt_count (first human reply - created), plus the median;
    resolution time = resolution_seconds_sum / resolution_count;
    FCR = resolved contacts with no repeat contact by the same customer on the same issue within 7 days /
    resolved contacts with a known customer (fcr_window_complete says whether D+1..D+7 have landed);
    abandonment = abandoned_calls / offered_calls; deflection = deflected / bot contacts."""
    store = lake.lake
    days = partition_days(context)
    window = [days[0] + dt.timedelta(days=i) for i in range((days[-1] - days[0]).days + kpis.FCR_WINDOW_DAYS + 1)]
    complete = {
        day for day in days
        if all(store.has_partition("interactions", day + dt.timedelta(days=k))
               for k in range(1, kpis.FCR_WINDOW_DAYS + 1))
    }
    table = kpis.operating_daily(load_facts(store, window), days, complete)
    store.write_partitions("kpi_operating_daily", days, table, kpis.OPERATING_DAILY)
    return dg.MaterializeResult(
        metadata={
            "rows": table.height,
            "contacts": int(table["contacts"].sum()),
            "aht_seconds": _headline(table, "handle_seconds_sum", "handled_contacts"),
            "frt_seconds_mean": _headline(table, "frt_seconds_sum", "frt_count"),
            "fcr_rate": _headline(table, "fcr_first_contact_resolutions", "fcr_resolved_contacts"),
            "abandonment_rate": _headline(table, "abandoned_calls", "offered_calls"),
            "days_fcr_provisional": len(days) - len(complete),
            "path": dg.MetadataValue.path(str(store.table_dir("kpi_operating_daily"))),
        },
        check_results=[_rate_check(table, OPERATING_RATES, "rates_valid")],
    )


PERFORMANCE_RATES = ["csat_rate", "csat_coverage", "semantic_csat_rate", "semantic_coverage"]


@dg.asset(
    **_kpi_asset(
        "kpi_performance_daily", "kpi_performance", ["interactions", "interaction_labels"], PERFORMANCE_RATES
    )
)
def kpi_performance_daily(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Performance tier, one row per day x source x brand x channel.
    surveyed CSAT = csat_satisfied (4-5) / csat_responses (1-5), coverage = responses / contacts;
    semantic CSAT = semantic_satisfied (predicted >= 3.5) / semantic_scored, coverage = scored / contacts;
    NPS = 100 x (promoters 9-10 - detractors 0-6) / nps_responses (0-10 answers only)."""
    store = lake.lake
    days = partition_days(context)
    table = kpis.performance_daily(load_facts(store, days))
    store.write_partitions("kpi_performance_daily", days, table, kpis.PERFORMANCE_DAILY)
    nps_den = table["nps_responses"].sum()
    return dg.MaterializeResult(
        metadata={
            "rows": table.height,
            "csat_rate": _headline(table, "csat_satisfied", "csat_responses"),
            "semantic_csat_rate": _headline(table, "semantic_satisfied", "semantic_scored"),
            "semantic_coverage": _headline(table, "semantic_scored", "contacts"),
            "nps": round(100 * (table["nps_promoters"].sum() - table["nps_detractors"].sum()) / nps_den, 2)
            if nps_den else None,
            "path": dg.MetadataValue.path(str(store.table_dir("kpi_performance_daily"))),
        },
        check_results=[_rate_check(table, PERFORMANCE_RATES, "rates_valid")],
    )


@dg.asset(
    group_name="kpi_performance",
    kinds={"polars", "parquet"},
    deps=["customers"],
    check_specs=[dg.AssetCheckSpec("rates_valid", asset="kpi_customer_base")],
)
def kpi_customer_base(lake: LakeResource) -> dg.MaterializeResult:
    """Customer-base performance KPIs from the customers snapshot, one row per source x contract:
    churn_rate = churned / customers, retention_rate = 1 - churn_rate, ARPA = monthly revenue / customers,
    LTV = ARPA x gross margin / monthly churn rate. Not daily: the snapshot carries no dates."""
    table = kpis.customer_base(lake.lake.read_table("customers", schemas.CUSTOMERS))
    path = lake.lake.write_table("kpi_customer_base", table, kpis.CUSTOMER_BASE)
    return dg.MaterializeResult(
        metadata={
            "customers": int(table["customers"].sum()),
            "churn_rate": _headline(table, "churned", "customers"),
            "path": dg.MetadataValue.path(str(path)),
        },
        check_results=[_rate_check(table, ["churn_rate", "retention_rate"], "rates_valid")],
    )
