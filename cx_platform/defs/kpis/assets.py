"""KPI tier tables: daily, hive-partitioned Parquet, one row per day and segment (source, brand, channel),
plus weekly and monthly rollups. Formulas live in ``cx_platform.lib.kpis`` and the KPI catalog; these
assets read the lake, call them and write the result."""

import datetime as dt

import dagster as dg
import polars as pl

from cx_platform.defs.partitions import daily_partitions, partition_days
from cx_platform.defs.resources import BusinessConfigResource, LakeResource
from cx_platform.lib import kpi_catalog, kpis, schemas
from cx_platform.lib.lake import Lake

# FCR (and deflection) for day D need the contacts of D+1..D+7: the dependency says so, so lineage and
# staleness show it, and a late file for D+3 marks D..D+3 stale.
FCR_WINDOW_MAPPING = dg.TimeWindowPartitionMapping(
    start_offset=0, end_offset=kpis.FCR_WINDOW_DAYS, allow_nonexistent_upstream_partitions=True
)
WINDOW_DEPS = [
    dg.AssetDep("interactions", partition_mapping=FCR_WINDOW_MAPPING),
    dg.AssetDep("interaction_labels", partition_mapping=FCR_WINDOW_MAPPING),
]
ROLLUP_PERIODS = {"week": "1w", "month": "1mo"}


def load_facts(lake: Lake, days: list[dt.date]) -> pl.DataFrame:
    """Interactions of ``days`` with their labels, in the shape the KPI functions expect."""
    interactions = lake.scan_days("interactions", days, schemas.INTERACTIONS).collect()
    labels = lake.scan_days("interaction_labels", days, schemas.INTERACTION_LABELS).collect()
    return kpis.build_facts(interactions, labels)


def with_look_ahead(days: list[dt.date]) -> list[dt.date]:
    last = days[-1] + dt.timedelta(days=kpis.FCR_WINDOW_DAYS)
    return [days[0] + dt.timedelta(days=i) for i in range((last - days[0]).days + 1)]


def _rate_check(table: pl.DataFrame, name: str) -> dg.AssetCheckResult:
    """Ratio KPIs lie in [0, 1], no rate is NaN or infinite, and a rate is null exactly where its
    denominator is zero."""
    rates = [k for k in kpi_catalog.kpis_for(name) if k.is_rate and k.name in table.columns]
    out_of_range = sum(
        table.filter(pl.col(k.name).is_not_null() & ~pl.col(k.name).is_between(0, 1)).height
        for k in rates if k.unit == "ratio"
    )
    not_finite = sum(int((~table[k.name].drop_nulls().is_finite()).sum()) for k in rates)
    null_mismatch = sum(
        table.filter(
            (pl.col(k.name).is_not_null() & (pl.col(k.denominator).fill_null(0) <= 0))
            | (pl.col(k.name).is_null() & (pl.col(k.denominator) > 0) & pl.col(k.numerator).is_not_null())
        ).height
        for k in rates
    )
    return dg.AssetCheckResult(
        check_name="rates_valid",
        passed=out_of_range == 0 and not_finite == 0 and null_mismatch == 0,
        metadata={"rates_out_of_range": out_of_range, "not_finite": not_finite,
                  "null_vs_zero_denominator_mismatches": null_mismatch, "rows": table.height},
    )


def headline(table: pl.DataFrame, name: str) -> float | None:
    """A KPI over the whole table as a ratio of sums (the catalog's numerator over its denominator)."""
    kpi = kpi_catalog.BY_NAME[name]
    den = table[kpi.denominator].sum()
    return round(kpi.scale * table[kpi.numerator].sum() / den, 4) if den else None


def _daily_kpi_asset(name: str, group: str, deps, doc: str):
    def decorate(fn):
        return dg.asset(
            name=name,
            partitions_def=daily_partitions,
            backfill_policy=dg.BackfillPolicy.single_run(),
            group_name=group,
            kinds={"polars", "parquet"},
            deps=deps,
            description=doc + "\n\n" + _formulas(name),
            check_specs=[dg.AssetCheckSpec("rates_valid", asset=name, description=_rate_check.__doc__)],
        )(fn)

    return decorate


def _formulas(table: str) -> str:
    return "\n".join(f"- **{k.title}** `{k.name}` = {k.formula}: {k.definition}"
                     for k in kpi_catalog.kpis_for(table))


def _result(lake: Lake, name: str, table: pl.DataFrame, headlines: list[str], **extra) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "rows": table.height,
            **{h: headline(table, h) for h in headlines},
            **extra,
            "path": dg.MetadataValue.path(str(lake.table_dir(name))),
        },
        check_results=[_rate_check(table, name)],
    )


@_daily_kpi_asset("kpi_funnel_daily", "kpi_funnel", ["interactions", "interaction_labels"],
                  "Funnel tier, one row per day x source x brand x channel.")
def kpi_funnel_daily(
    context: dg.AssetExecutionContext, lake: LakeResource, business_config: BusinessConfigResource
) -> dg.MaterializeResult:
    days = partition_days(context)
    table = kpis.funnel_daily(load_facts(lake.lake, days), business_config.taxonomy().qualification)
    lake.lake.write_partitions("kpi_funnel_daily", days, table, kpis.FUNNEL_DAILY)
    return _result(lake.lake, "kpi_funnel_daily", table, ["qualification_rate"], leads=int(table["leads"].sum()))


@_daily_kpi_asset("kpi_operating_daily", "kpi_operating", WINDOW_DEPS,
                  "Operating tier, one row per day x source x brand x channel.")
def kpi_operating_daily(
    context: dg.AssetExecutionContext, lake: LakeResource, business_config: BusinessConfigResource
) -> dg.MaterializeResult:
    store = lake.lake
    days = partition_days(context)
    complete = {
        day for day in days
        if all(store.has_partition("interactions", day + dt.timedelta(days=k))
               for k in range(1, kpis.FCR_WINDOW_DAYS + 1))
    }
    facts = load_facts(store, with_look_ahead(days))
    table = kpis.operating_daily(facts, days, complete, business_config.economics())
    store.write_partitions("kpi_operating_daily", days, table, kpis.OPERATING_DAILY)
    return _result(
        store, "kpi_operating_daily", table,
        ["aht_seconds", "frt_seconds_mean", "fcr_rate", "abandonment_rate", "sla_attainment"],
        contacts=int(table["contacts"].sum()), days_fcr_provisional=len(days) - len(complete),
    )


@_daily_kpi_asset("kpi_performance_daily", "kpi_performance", WINDOW_DEPS,
                  "Performance tier, one row per day x source x brand x channel.")
def kpi_performance_daily(
    context: dg.AssetExecutionContext, lake: LakeResource, business_config: BusinessConfigResource
) -> dg.MaterializeResult:
    store = lake.lake
    days = partition_days(context)
    economics = business_config.economics()
    table = kpis.performance_daily(load_facts(store, with_look_ahead(days)), days, economics)
    store.write_partitions("kpi_performance_daily", days, table, kpis.PERFORMANCE_DAILY)
    return _result(
        store, "kpi_performance_daily", table,
        ["csat_rate", "semantic_csat_rate", "semantic_coverage", "nps", "cost_per_resolution"],
        currency=economics.currency,
    )


def _rollup_asset(tier: str):
    daily = kpi_catalog.TABLES[tier]
    name = f"kpi_{tier}_rollup"

    @dg.asset(
        name=name,
        group_name=f"kpi_{tier}",
        kinds={"polars", "parquet"},
        deps=[daily],
        description=(
            f"Weekly (Monday-start) and monthly rollups of {daily}: one row per period x segment, "
            "numerators and denominators summed and every rate re-derived from them (a ratio of sums, "
            "never an average of daily ratios). Layout: period=week|month hive folders."
        ),
        check_specs=[dg.AssetCheckSpec("rates_valid", asset=name, description=_rate_check.__doc__)],
    )
    def _asset(lake: LakeResource) -> dg.MaterializeResult:
        store = lake.lake
        frame = pl.scan_parquet(store.glob(daily), hive_partitioning=True).rename(
            {"date": "business_date"}
        ).collect()
        rows, checks = 0, []
        for period, every in ROLLUP_PERIODS.items():
            table = kpi_catalog.rollup(frame, daily, every)
            schema = pl.Schema(table.schema)
            store.write_table(f"{name}/period={period}", table, schema)
            rows += table.height
            checks.append(_rate_check(table.rename({"period_start": "business_date"}), daily))
        passed = all(c.passed for c in checks)
        return dg.MaterializeResult(
            metadata={"rows": rows, "path": dg.MetadataValue.path(str(store.table_dir(name)))},
            check_results=[dg.AssetCheckResult(check_name="rates_valid", passed=passed,
                                               metadata=checks[0].metadata)],
        )

    return _asset


rollup_assets = [_rollup_asset(tier) for tier in kpi_catalog.TIERS]


@dg.asset(
    group_name="kpi_performance",
    kinds={"polars", "parquet"},
    deps=["customers"],
    description="Customer-base performance KPIs from the customers snapshot, one row per source x "
    "contract. Not daily: the snapshot carries no dates.\n\n" + _formulas("kpi_customer_base"),
    check_specs=[dg.AssetCheckSpec("rates_valid", asset="kpi_customer_base")],
)
def kpi_customer_base(lake: LakeResource, business_config: BusinessConfigResource) -> dg.MaterializeResult:
    economics = business_config.economics()
    table = kpis.customer_base(lake.lake.read_table("customers", schemas.CUSTOMERS), economics)
    path = lake.lake.write_table("kpi_customer_base", table, kpis.CUSTOMER_BASE)
    return dg.MaterializeResult(
        metadata={
            "customers": int(table["customers"].sum()),
            "churn_rate": headline(table, "churn_rate"),
            "cac": headline(table, "cac"),
            "currency": economics.currency,
            "path": dg.MetadataValue.path(str(path)),
        },
        check_results=[_rate_check(table, "kpi_customer_base")],
    )
