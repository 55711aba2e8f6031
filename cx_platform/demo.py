"""Run the main pipeline on the shipped real sample, recorded in a local Dagster instance.

    python -m cx_platform.demo            # lake in ./cx_lake, instance in ./.dagster_home

Step 1 materializes ``sources_job`` (parse every export). Step 2 materializes ``daily_job`` only over the
business dates that hold data: the real sources span 1999-2023 with long gaps, so the dates are grouped
into *active windows* (dates closer than ``--merge-gap-days`` are merged, so a window also covers the
7 days FCR looks ahead) and each window is one single-run range run. A few runs instead of thousands,
and the Dagster UI shows exactly the partitions that hold data as materialized.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import polars as pl

from cx_platform.lib.landing import active_windows


def prepare_environment() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path.cwd() / ".dagster_home"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    if not config.exists():
        # A local demo instance: no usage telemetry leaves the machine.
        config.write_text("telemetry:\n  enabled: false\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--merge-gap-days", type=int, default=31)
    parser.add_argument("--log-level", default="INFO", help="Dagster console log level")
    args = parser.parse_args(argv)
    prepare_environment()
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")

    from dagster import DagsterInstance

    from cx_platform.definitions import defs
    from cx_platform.lib.lake import Lake
    from cx_platform.lib.settings import default_lake_dir

    started = time.perf_counter()
    instance = DagsterInstance.get()
    lake = Lake(default_lake_dir())
    print(f"lake: {lake.root.resolve()}\ndagster instance: {os.environ['DAGSTER_HOME']}")

    run_config = {"loggers": {"console": {"config": {"log_level": args.log_level}}}}
    result = defs.resolve_job_def("sources_job").execute_in_process(
        instance=instance, run_config=run_config, raise_on_error=False
    )
    if not result.success:
        print("sources_job failed; see the run in the Dagster UI", file=sys.stderr)
        return 1
    staged = pl.scan_parquet(str(lake.root / "staging" / "*" / "*.parquet")).select("business_date").unique()
    days = staged.collect()["business_date"].drop_nulls().to_list()
    windows = active_windows(days, args.merge_gap_days)
    print(f"{len(days)} business dates hold data -> {len(windows)} single-run ranges")

    daily_job = defs.resolve_job_def("daily_job")
    for i, (start, end) in enumerate(windows, 1):
        print(f"  [{i}/{len(windows)}] {start} .. {end}", flush=True)
        run = daily_job.execute_in_process(
            instance=instance,
            run_config=run_config,
            tags={"dagster/asset_partition_range_start": start.isoformat(),
                  "dagster/asset_partition_range_end": end.isoformat()},
            raise_on_error=False,
        )
        if not run.success:
            print(f"daily_job failed for {start}..{end}; see the run in the Dagster UI", file=sys.stderr)
            return 1
    for job, what in (("rollups_job", "weekly and monthly rollups"), ("reporting_job", "executive dashboard")):
        print(f"  {what}", flush=True)
        if not defs.resolve_job_def(job).execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        ).success:
            print(f"{job} failed; see the run in the Dagster UI", file=sys.stderr)
            return 1
    _print_summary(lake, time.perf_counter() - started)
    return 0


def _print_summary(lake, seconds: float) -> None:
    print("\nTables written (rows):")
    for table in ["interactions", "transcript_embeddings", "interaction_labels", "contact_topics",
                  "kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily", "quarantine"]:
        rows = pl.scan_parquet(lake.glob(table)).select(pl.len()).collect().item()
        print(f"  {table:<24} {rows:>8}  {lake.table_dir(table).resolve()}")
    print(semantic_coverage(lake))
    with pl.Config(tbl_rows=20, tbl_cols=20, tbl_width_chars=160, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, float_precision=3):
        print("\nHeadline KPIs per source over the whole sample (ratios of sums; null = not supported; "
              "survey answers are not contacts, so a survey-only source shows 0 contacts and an NPS):")
        print(headline_kpis(lake))
        base = pl.read_parquet(lake.table_path("kpi_customer_base"))
        churn = base["churned"].sum() / base["customers"].sum()
        print(f"\nCustomer base (telco snapshot): {base['customers'].sum()} customers, churn rate {churn:.3f}")
        print("\nKPIs each source cannot support (the denominator that is zero everywhere):")
        for source, missing in unsupported_kpis(lake).iter_rows():
            print(f"  {source:<26} {missing}")
    dashboard = lake.root / "reporting" / "executive_dashboard.html"
    print(f"\nExecutive dashboard: {dashboard.resolve()}")
    print(f"\nDone in {seconds:.0f} s. Open the UI with:\n"
          f"  DAGSTER_HOME={os.environ['DAGSTER_HOME']} .venv/bin/dagster dev -h 127.0.0.1 -p 3000")


def semantic_coverage(lake) -> str:
    """How much of the interactions the semantic layer labelled, and with what status."""
    interactions = pl.scan_parquet(lake.glob("interactions")).select(pl.len()).collect().item()
    by_status = (
        pl.scan_parquet(lake.glob("interaction_labels"))
        .group_by("status")
        .agg(
            rows=pl.len(),
            reason=pl.col("contact_reason").is_not_null().sum(),
            csat=pl.col("semantic_csat").is_not_null().sum(),
        )
        .sort("rows", descending=True)
        .collect()
    )
    rows = by_status["rows"].sum()
    share = f"{rows / interactions:.1%}" if interactions else "n/a"
    return (
        f"\nSemantic layer: {rows} of {interactions} interactions labelled ({share}); contact reason on "
        f"{by_status['reason'].sum()}, semantic CSAT and sentiment on {by_status['csat'].sum()} (the rows with a "
        "scorable English transcript)\n  status: "
        + ", ".join(f"{status} {n}" for status, n in by_status.select("status", "rows").iter_rows())
    )


def unsupported_kpis(lake) -> pl.DataFrame:
    from cx_platform.lib.kpi_coverage import kpi_coverage

    tables = {t: pl.scan_parquet(lake.glob(t)).collect()
              for t in ("kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily")}
    return (
        kpi_coverage(tables).filter(~pl.col("supported"))
        .group_by("source", maintain_order=True)
        .agg(pl.concat_str([pl.col("kpi"), pl.lit(" ("), pl.col("why"), pl.lit(")")]).str.join(", "))
    )


def headline_kpis(lake) -> pl.DataFrame:
    """One row per source: the tier tables rolled up as ratios of sums."""
    def ratio(num: str, den: str, scale: float = 1.0) -> pl.Expr:
        return pl.when(pl.col(den).sum() > 0).then(scale * pl.col(num).sum() / pl.col(den).sum())

    op = pl.scan_parquet(lake.glob("kpi_operating_daily")).group_by("source").agg(
        pl.col("contacts").sum(),
        ratio("handle_seconds_sum", "handled_contacts").alias("aht_s"),
        ratio("frt_seconds_sum", "frt_count", 1 / 3600).alias("frt_h"),
        ratio("fcr_first_contact_resolutions", "fcr_resolved_contacts").alias("fcr_7d"),
        ratio("abandoned_calls", "offered_calls").alias("abandon"),
    )
    funnel = pl.scan_parquet(lake.glob("kpi_funnel_daily")).group_by("source").agg(
        pl.col("leads").sum(), ratio("qualified_leads", "leads").alias("qualif")
    )
    perf = pl.scan_parquet(lake.glob("kpi_performance_daily")).group_by("source").agg(
        ratio("csat_satisfied", "csat_responses").alias("csat"),
        ratio("semantic_satisfied", "semantic_scored").alias("sem_csat"),
        ratio("semantic_scored", "contacts").alias("sem_cov"),
        (100 * (pl.col("nps_promoters").sum() - pl.col("nps_detractors").sum()) / pl.col("nps_responses").sum())
        .alias("nps"),
    ).with_columns(pl.col("nps").fill_nan(None))
    return (
        perf.join(op, on="source", how="left").join(funnel, on="source", how="left")
        .select("source", "contacts", "aht_s", "frt_h", "fcr_7d", "abandon", "leads", "qualif", "csat",
                "sem_csat", "sem_cov", "nps")
        .with_columns(pl.col("contacts", "leads").fill_null(0))
        .sort("source").collect()
    )


if __name__ == "__main__":
    raise SystemExit(main())
