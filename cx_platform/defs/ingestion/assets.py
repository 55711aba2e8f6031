"""Ingestion: one staging asset per source export format, the customers dimension, and the daily
``interactions`` table that unions every source under the canonical schema."""

from pathlib import Path
from types import ModuleType

import dagster as dg
import polars as pl

from cx_platform.defs.partitions import BUSINESS_TZ, daily_partitions, partition_days
from cx_platform.defs.resources import LakeResource, LandingResource
from cx_platform.lib import schemas
from cx_platform.lib.lake import Lake
from cx_platform.lib.sources import cfpb, nps, pwc, technion, telco, tickets, twcs
from cx_platform.lib.sources.base import AdapterResult

INTERACTION_SOURCES: tuple[ModuleType, ...] = (cfpb, technion, twcs, tickets, nps, pwc)
RECONCILE_CHECK = "records_reconcile"


def quarantine_table(source: str) -> str:
    return f"quarantine/source={source}"


def source_files(landing_root: str, adapter: ModuleType) -> list[Path]:
    folder = Path(landing_root) / adapter.SOURCE
    files = sorted({p for pattern in adapter.FILE_PATTERNS for p in folder.glob(pattern) if p.is_file()})
    if not files:
        raise dg.Failure(
            f"no {adapter.SOURCE} files matching {adapter.FILE_PATTERNS} in {folder}",
            metadata={"landing_folder": str(folder)},
        )
    return files


def _ingest(
    adapter: ModuleType, table: str, schema: pl.Schema, lake: Lake, landing: LandingResource
) -> dg.MaterializeResult:
    files = source_files(landing.root, adapter)
    result: AdapterResult = adapter.read(files, business_tz=BUSINESS_TZ)
    path = lake.write_table(table, result.accepted, schema)
    quarantine_path = lake.write_table(quarantine_table(adapter.SOURCE), result.quarantine, schemas.QUARANTINE)
    reasons = (
        result.quarantine.group_by("reason").len().sort("len", descending=True).head(10).rows()
        if result.records_quarantined
        else []
    )
    counts = {
        "records_read": result.records_read,
        "records_accepted": result.records_accepted,
        "records_quarantined": result.records_quarantined,
    }
    metadata = {
        **counts,
        "rows_staged": result.accepted.height,
        "files": [f.name for f in files],
        "quarantine_reasons": {reason: n for reason, n in reasons},
        "path": dg.MetadataValue.path(str(path)),
        "quarantine_path": dg.MetadataValue.path(str(quarantine_path)),
    }
    if "business_date" in result.accepted.columns and result.accepted.height:
        dates = result.accepted["business_date"]
        metadata |= {"first_day": str(dates.min()), "last_day": str(dates.max()), "days": dates.n_unique()}
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=RECONCILE_CHECK,
                passed=result.reconciles,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=counts,
                description="records read = records accepted + records quarantined",
            )
        ],
    )


def _staging_asset(adapter: ModuleType, key: dg.AssetKey, schema: pl.Schema, description: str):
    table = "/".join(key.path)
    @dg.asset(
        key=key,
        group_name="ingestion",
        kinds={"polars", "parquet"},
        description=description,
        check_specs=[
            dg.AssetCheckSpec(
                RECONCILE_CHECK, asset=key, blocking=True,
                description="Every record read is either accepted or quarantined with a reason.",
            )
        ],
        metadata={"source": adapter.SOURCE, "adapter": adapter.__name__},
    )
    def _asset(lake: LakeResource, landing: LandingResource) -> dg.MaterializeResult:
        return _ingest(adapter, table, schema, lake.lake, landing)

    return _asset


staging_assets = [
    _staging_asset(
        adapter,
        dg.AssetKey(["staging", adapter.SOURCE]),
        schemas.INTERACTIONS,
        f"Canonical interactions parsed from the original {adapter.SOURCE} export files "
        f"(one row per interaction; see {adapter.__name__}). Unreadable records go to "
        f"quarantine/source={adapter.SOURCE} with their file, record number and reason.",
    )
    for adapter in INTERACTION_SOURCES
]

customers = _staging_asset(
    telco,
    dg.AssetKey("customers"),
    schemas.CUSTOMERS,
    "Customers dimension from the telco churn export: one row per customer (tenure, contract, monthly "
    "revenue, churn flag). A snapshot with no dates, so it is not partitioned.",
)


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="ingestion",
    kinds={"polars", "parquet"},
    deps=[a.key for a in staging_assets],
    check_specs=[
        dg.AssetCheckSpec("interaction_ids_unique", asset="interactions", blocking=True,
                          description="interaction_id is unique across every source and day."),
    ],
)
def interactions(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """The canonical interactions table: one row per conversation, ticket, call or survey answer, from
    every source, PII-redacted, partitioned by the local business date of ``created_at``.
    A run over a range of days reads the staged sources once and replaces each day's partition."""
    store = lake.lake
    days = partition_days(context)
    frames = [
        pl.scan_parquet(store.table_path(f"staging/{adapter.SOURCE}"))
        .filter(pl.col("business_date").is_between(days[0], days[-1]))
        for adapter in INTERACTION_SOURCES
    ]
    frame = pl.concat(frames, how="vertical").collect()
    duplicates = frame.height - frame["interaction_id"].n_unique()
    counts = store.write_partitions("interactions", days, frame, schemas.INTERACTIONS)
    by_source = dict(frame.group_by("source").len().sort("source").rows())
    context.log.info(f"wrote {len(days)} partitions, {frame.height} rows: {by_source}")
    return dg.MaterializeResult(
        metadata={
            "rows": frame.height,
            "partitions_written": len(days),
            "days_with_rows": sum(1 for n in counts.values() if n),
            "rows_by_source": by_source,
            "path": dg.MetadataValue.path(str(store.table_dir("interactions"))),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="interaction_ids_unique", passed=duplicates == 0,
                metadata={"duplicate_ids": duplicates},
            )
        ],
    )

