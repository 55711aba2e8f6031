"""What every source adapter returns, and helpers shared by the adapters.

An adapter reads the original export files of one source, as they come, and maps each record to the
canonical schema (see ``cx_platform.lib.schemas``). A record it cannot read correctly goes to the
quarantine frame with its file, record number and reason; nothing is dropped silently:
``records_read == records_accepted + records_quarantined`` for every adapter.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
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


def rows_frame(rows: list[dict], schema: pl.Schema) -> pl.DataFrame:
    """Adapter rows (dicts holding only the columns a source knows) as a frame with ``schema``'s types;
    every column the rows do not name is null."""
    return pl.from_dicts(rows, schema={n: t for n, t in schema.items() if n != "business_date"})


def csv_line(fields: list[str]) -> str:
    """A parsed record written back as one CSV line, for the quarantine."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def local_to_utc(local: dt.datetime, tz: ZoneInfo) -> tuple[dt.datetime, str | None]:
    """A wall-clock time in ``tz`` as UTC, with a flag when it is ambiguous or does not exist (DST)."""
    aware = local.replace(tzinfo=tz)
    utc = aware.astimezone(dt.UTC)
    flag = None
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        flag = "nonexistent_local_time"  # in the spring-forward gap; read with the pre-change offset
    elif aware.utcoffset() != local.replace(tzinfo=tz, fold=1).utcoffset():
        flag = "ambiguous_local_time"  # in the repeated autumn hour; read as the first occurrence
    return utc, flag


def interactions_result(
    source: str, rows: list[dict], quarantine: QuarantineLog, records_read: int, paths: list[Path],
    business_tz: str,
) -> AdapterResult:
    """The adapter result for an interactions source: rows typed, dated in the business zone, conformed."""
    frame = rows_frame(rows, schemas.INTERACTIONS)
    accepted = schemas.conform(with_business_date(frame, business_tz), schemas.INTERACTIONS)
    return AdapterResult(
        source=source,
        records_read=records_read,
        records_accepted=accepted.height,
        accepted=accepted,
        quarantine=quarantine.frame(),
        files=[file_label(path) for path in paths],
    )


# A header is looked for in at most this many lines: exports may carry junk lines before it.
MAX_PREAMBLE_LINES = 50

Record = tuple[int, dict[str, str | None] | None, list[str], str | None]


def find_csv_header(handle, path: Path, required: tuple[str, ...], what: str) -> list[str] | None:
    """Read ``handle`` past any preamble up to and including the header line (the first line that names
    every ``required`` column); return the header's names. None for a file with nothing but blank lines;
    a ValueError naming ``what`` when there is text but no header."""
    blank = True
    for _ in range(MAX_PREAMBLE_LINES):
        line = handle.readline()
        if not line:
            if blank:
                return None
            break
        blank = blank and not line.strip()
        names = [name.strip().lstrip("\ufeff") for name in next(csv.reader([line]), [])]
        if all(name in names for name in required):
            return names
    raise ValueError(
        f"{path}: no {what} header (with {', '.join(required)}) in the first {MAX_PREAMBLE_LINES} lines"
    )


def csv_records(
    path: Path, required: tuple[str, ...], what: str, clean: Callable[[str | None], str | None]
) -> Iterator[Record]:
    """(record number, values by column or None, raw fields, parse error) for each data record of a CSV
    export whose header (see :func:`find_csv_header`) may follow junk lines.

    Values go through ``clean``; a record whose field count differs from the header's has no values and
    comes with the error, as does one the csv module cannot parse. Blank lines are not records.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        header = find_csv_header(handle, path, required, what)
        if header is None:
            return
        reader = csv.reader(handle)
        record = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                record += 1
                yield record, None, [], f"csv parse error: {err}"
                continue
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            record += 1
            if len(fields) != len(header):
                yield record, None, fields, f"wrong field count: {len(fields)}, expected {len(header)}"
            else:
                yield record, {name: clean(value) for name, value in zip(header, fields)}, fields, None
