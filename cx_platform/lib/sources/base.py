"""What every source adapter returns, and helpers shared by the adapters.

An adapter reads the original export files of one source, as they come, and maps each record to the
canonical schema (see ``cx_platform.lib.schemas``). A record it cannot read correctly goes to the
quarantine frame with its file, record number and reason; nothing is dropped silently:
``records_read == records_accepted + records_quarantined`` for every adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from cx_platform.lib import schemas
from cx_platform.lib.redact import redact_text


@dataclass
class AdapterResult:
    source: str
    records_read: int
    records_accepted: int
    accepted: pl.DataFrame  # conforms to the adapter's target schema (interactions or customers)
    quarantine: pl.DataFrame  # conforms to schemas.QUARANTINE
    files: list[str] = field(default_factory=list)

    @property
    def records_quarantined(self) -> int:
        return self.quarantine.height

    @property
    def reconciles(self) -> bool:
        return self.records_read == self.records_accepted + self.records_quarantined


class QuarantineLog:
    """Collects rejected records with their reason, redacted and truncated."""

    def __init__(self, source: str):
        self.source = source
        self.rows: list[dict] = []

    def add(self, source_file: str, record: int, reason: str, raw: str | None) -> None:
        self.rows.append(
            {
                "source": self.source,
                "source_file": source_file,
                "source_record": record,
                "reason": reason,
                "raw": (redact_text(raw) or "")[:2000],
            }
        )

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=schemas.QUARANTINE)


def with_business_date(df: pl.DataFrame, business_tz: str) -> pl.DataFrame:
    """Partition key: the local business date of ``created_at`` (a UTC timestamp) in ``business_tz``."""
    ZoneInfo(business_tz)  # fail early with a clear error on an unknown zone
    return df.with_columns(
        pl.col("created_at").dt.convert_time_zone(business_tz).dt.date().alias("business_date")
    )


def file_label(path: Path) -> str:
    """How a source file is named in lineage and quarantine: its folder and name, never an absolute path."""
    return f"{path.parent.name}/{path.name}"
