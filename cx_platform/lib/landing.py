"""What changed in the landing folder, by content (no Dagster import).

A landing file is identified by its path relative to the landing root (``<source>/<file>``) and known by
the hash of its bytes, never by its modification time: a re-sent corrected file is new work even if its
timestamp went backwards, and a file merely touched (or copied with new times) is not. For the files
that did change, the business days whose rows changed are found by comparing per-day hashes of the
parsed rows with the ones recorded last time, so a corrected file re-runs only the days it corrects.
The state is a JSON-serialisable mapping, kept as a sensor cursor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

FILE_DIGEST_BYTES = 16
DAY_DIGEST_BYTES = 6  # per-day change detection: 48 bits is plenty, and keeps the cursor small
CHUNK_BYTES = 1 << 20


def file_digest(path: Path) -> str:
    """blake2b of the file's bytes (hex), read in 1 MiB chunks."""
    digest = hashlib.blake2b(digest_size=FILE_DIGEST_BYTES)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def landed_files(root: Path, patterns: Mapping[str, Sequence[str]]) -> dict[str, Path]:
    """``{"<source>/<file>": path}`` for every file matching its source's patterns (one folder per source)."""
    found = {}
    for source, globs in patterns.items():
        folder = Path(root) / source
        for pattern in globs:
            for path in folder.glob(pattern):
                if path.is_file():
                    found[path.relative_to(root).as_posix()] = path
    return dict(sorted(found.items()))


def day_digests(rows: pl.DataFrame, key: str = "interaction_id") -> dict[str, str]:
    """``{"YYYY-MM-DD": hash}`` of each business day's rows (order-independent: sorted by ``key``)."""
    if rows.is_empty() or "business_date" not in rows.columns:
        return {}
    out = {}
    for (day,), part in rows.partition_by("business_date", as_dict=True).items():
        if day is None:
            continue
        payload = part.drop("business_date").sort(key).write_csv().encode()
        out[day.isoformat()] = hashlib.blake2b(payload, digest_size=DAY_DIGEST_BYTES).hexdigest()
    return dict(sorted(out.items()))


def changed_days(before: Mapping[str, str], after: Mapping[str, str]) -> set[dt.date]:
    """Days whose rows were added, removed or altered between two :func:`day_digests`."""
    days = before.keys() | after.keys()
    return {dt.date.fromisoformat(day) for day in days if before.get(day) != after.get(day)}


@dataclass(frozen=True)
class FileState:
    digest: str
    days: dict[str, str] = field(default_factory=dict)


@dataclass
class LandingState:
    """Per landing file: its content hash and the per-day hashes of the rows it held."""

    files: dict[str, FileState] = field(default_factory=dict)

    def to_cursor(self) -> str:
        return json.dumps({name: [f.digest, f.days] for name, f in sorted(self.files.items())},
                          separators=(",", ":"))

    @classmethod
    def from_cursor(cls, cursor: str | None) -> LandingState:
        if not cursor:
            return cls()
        entries = json.loads(cursor).items()
        return cls({name: FileState(digest, dict(days)) for name, (digest, days) in entries})


@dataclass(frozen=True)
class FileChanges:
    new: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]

    @property
    def any(self) -> bool:
        return bool(self.new or self.changed or self.removed)


def diff_files(previous: Mapping[str, FileState], current_digests: Mapping[str, str]) -> FileChanges:
    """Compare the recorded files with the digests found now. Only content counts."""
    return FileChanges(
        new=sorted(n for n in current_digests if n not in previous),
        changed=sorted(n for n, d in current_digests.items() if n in previous and previous[n].digest != d),
        removed=sorted(n for n in previous if n not in current_digests),
        unchanged=sorted(n for n, d in current_digests.items() if n in previous and previous[n].digest == d),
    )


def active_windows(days: Iterable[dt.date], merge_gap_days: int) -> list[tuple[dt.date, dt.date]]:
    """Group dates into [start, end] windows; a gap of more than ``merge_gap_days`` starts a new one."""
    windows: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if windows and (day - windows[-1][1]).days <= merge_gap_days:
            windows[-1][1] = day
        else:
            windows.append([day, day])
    return [(start, end) for start, end in windows]


def rerun_windows(
    days: Iterable[dt.date], look_back_days: int, merge_gap_days: int, first: dt.date, last: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """Partition ranges to re-run for changed ``days``: each day and the ``look_back_days`` before it
    (whose look-ahead KPIs such as FCR read it), merged into windows and clipped to [first, last]."""
    spans = active_windows(days, merge_gap_days)
    out = []
    for start, end in spans:
        start, end = max(start - dt.timedelta(days=look_back_days), first), min(end, last)
        if start <= end:
            out.append((start, end))
    return _merge_touching(out)


def _merge_touching(windows: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    # a look-back can make a window reach into the previous one
    merged: list[list[dt.date]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1] + dt.timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]
