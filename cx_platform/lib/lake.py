"""The local Parquet lake: one place that knows paths, layout and how a partition is written.

Layout: ``<root>/<table>/date=YYYY-MM-DD/part-0.parquet`` for daily tables (hive style, readable as is by
polars, DuckDB and Spark) and ``<root>/<table>/part-0.parquet`` for unpartitioned tables.
A write replaces the partition atomically: the file is written beside its target under a temporary
name and renamed over it, so a re-run is idempotent and a crash never leaves a half-written file.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from cx_platform.lib.schemas import conform

PART_FILE = "part-0.parquet"


class Lake:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def table_dir(self, table: str) -> Path:
        return self.root / table

    def partition_path(self, table: str, day: dt.date) -> Path:
        return self.table_dir(table) / f"date={day.isoformat()}" / PART_FILE

    def table_path(self, table: str) -> Path:
        return self.table_dir(table) / PART_FILE

    def glob(self, table: str) -> str:
        return str(self.table_dir(table) / "**" / "*.parquet")

    # ---- writing -------------------------------------------------------------------------------
    def write_partition(self, table: str, day: dt.date, df: pl.DataFrame, schema: pl.Schema) -> Path:
        """Replace one daily partition. ``business_date`` is implied by the path, so it is not stored."""
        frame = conform(df, schema)
        if "business_date" in frame.columns:
            wrong = frame.filter(pl.col("business_date") != day).height
            if wrong:
                raise ValueError(f"{table}: {wrong} rows do not belong to partition {day}")
            frame = frame.drop("business_date")
        return _atomic_write(frame, self.partition_path(table, day))

    def write_partitions(
        self, table: str, days: Iterable[dt.date], df: pl.DataFrame, schema: pl.Schema
    ) -> dict[dt.date, int]:
        """Write every day in ``days`` (a day without rows gets a 0-row file with the full schema)."""
        frame = conform(df, schema)
        by_day = {key[0]: part for key, part in frame.partition_by("business_date", as_dict=True).items()}
        days = list(days)
        outside = set(by_day) - set(days)
        if outside:
            raise ValueError(f"{table}: rows for days outside the requested range: {sorted(outside)[:5]}")
        counts = {}
        for day in days:
            part = by_day.get(day, frame.clear())
            self.write_partition(table, day, part, schema)
            counts[day] = part.height
        return counts

    def write_table(self, table: str, df: pl.DataFrame, schema: pl.Schema) -> Path:
        return _atomic_write(conform(df, schema), self.table_path(table))

    # ---- reading -------------------------------------------------------------------------------
    def existing_days(self, table: str) -> list[dt.date]:
        base = self.table_dir(table)
        if not base.exists():
            return []
        return sorted(
            dt.date.fromisoformat(p.parent.name.removeprefix("date="))
            for p in base.glob(f"date=*/{PART_FILE}")
        )

    def has_partition(self, table: str, day: dt.date) -> bool:
        return self.partition_path(table, day).exists()

    def scan_days(self, table: str, days: Iterable[dt.date], schema: pl.Schema) -> pl.LazyFrame:
        """Lazily read the given days (missing days are skipped), with ``business_date`` restored from
        the path. One scan over all files; a column added to the schema after a partition was written
        reads as null there (nullable schema evolution), so old partitions stay readable."""
        paths = [str(self.partition_path(table, day)) for day in days if self.has_partition(table, day)]
        if not paths:
            return pl.LazyFrame(schema=schema)
        file_schema = {name: dtype for name, dtype in schema.items() if name != "business_date"}
        return pl.scan_parquet(
            paths, schema=file_schema, missing_columns="insert", hive_partitioning=True,
            hive_schema={"date": pl.Date},
        ).rename({"date": "business_date"}).select(schema.names())

    def read_table(self, table: str, schema: pl.Schema) -> pl.DataFrame:
        path = self.table_path(table)
        if not path.exists():
            raise FileNotFoundError(f"table {table!r} has not been materialized yet ({path})")
        return pl.read_parquet(path).select(schema.names())


def _atomic_write(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def day_range(start: dt.date, end_inclusive: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end_inclusive - start).days + 1)]
