"""NPS survey verbatims: one CSV row per survey answer (0-10 score and a free-text comment).

Columns: ``CUSTOMER_RESPONSE_DATE`` (``DD/MM/YYYY HH:MM``, day first, UK local time), ``SURVEY_SUB_TYPE``
(journey stage), ``NPS_RATING`` (Promoter / Passive / Detractor), ``NPS_SCORE``, ``text``, ``Qtr``.

The file has no ids, so a record is identified by its file and record number:
``nps:<file stem>:<record>``. A missing score is kept (null ``nps_score``); a score that is not an
integer from 0 to 10 is quarantined, never clipped. The company name is masked in the data, so
``brand`` is the literal ``company``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cx_platform.lib.redact import redact_text
from cx_platform.lib.sources.base import (
    AdapterResult,
    QuarantineLog,
    Record,
    csv_line,
    csv_records,
    file_label,
    interactions_result,
    local_to_utc,
)

SOURCE = "nps_verbatims"  # the landing folder name
ID_PREFIX = "nps"
FILE_PATTERNS = ("*.csv",)

SOURCE_TZ = ZoneInfo("Europe/London")  # response times are UK wall-clock times
DATE_FORMAT = "%d/%m/%Y %H:%M"
REQUIRED = ("CUSTOMER_RESPONSE_DATE", "NPS_SCORE", "text")

# NPS classes by score, to cross-check the file's own NPS_RATING.
RATINGS = {**{s: "detractor" for s in range(0, 7)}, 7: "passive", 8: "passive", 9: "promoter", 10: "promoter"}


class Rejected(ValueError):
    """A record that goes to the quarantine; the message is the reason."""


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _parse_score(value: str | None) -> int | None:
    """The 0-10 score, None when missing; raises Rejected for anything else (never clipped)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise Rejected(f"non-numeric NPS_SCORE: {value!r}") from None
    if not number.is_integer():
        raise Rejected(f"non-integer NPS_SCORE: {value!r}")
    if not 0 <= number <= 10:
        raise Rejected(f"NPS_SCORE out of range 0-10: {value!r}")
    return int(number)


def _records(path: Path) -> Iterator[Record]:
    """(record number, values by column or None, raw fields, parse error) for each data record of ``path``
    (see :func:`~cx_platform.lib.sources.base.csv_records`). Values are stripped, empty ones None."""
    return csv_records(path, REQUIRED, "NPS", _clean)


def _interaction(values: dict[str, str | None]) -> dict:
    """One survey answer in the canonical shape (without id and lineage); raises Rejected."""
    when = values.get("CUSTOMER_RESPONSE_DATE")
    try:
        local = datetime.strptime(when or "", DATE_FORMAT)
    except ValueError:
        raise Rejected(f"unparseable CUSTOMER_RESPONSE_DATE: {when!r}") from None
    score = _parse_score(values.get("NPS_SCORE"))

    created_at, time_flag = local_to_utc(local, SOURCE_TZ)
    flags = [time_flag] if time_flag else []
    rating = values.get("NPS_RATING")
    if score is not None and rating is not None and rating.lower() != RATINGS[score]:
        flags.append("nps_rating_mismatch")
    text = values.get("text")
    return {
        "source": SOURCE,
        "kind": "survey",
        "brand": "company",
        "channel": "other",
        "source_reason": values.get("SURVEY_SUB_TYPE"),
        "created_at": created_at,
        "nps_score": score,
        "n_messages": 1 if text else 0,
        "transcript": redact_text(text),
        "quality_flags": ",".join(flags) or None,
    }


def read(files: list[Path], business_tz: str = "UTC") -> AdapterResult:
    quarantine = QuarantineLog(SOURCE)
    seen: set[str] = set()
    rows: list[dict] = []
    records_read = 0
    paths = [Path(f) for f in files]
    for path in paths:
        label = file_label(path)
        for record, values, fields, error in _records(path):
            records_read += 1
            interaction_id = f"{ID_PREFIX}:{path.stem}:{record}"
            try:
                if error:
                    raise Rejected(error)
                row = _interaction(values)
                if interaction_id in seen:  # the same file name read twice, e.g. from two folders
                    raise Rejected("duplicate id")
            except Rejected as rejected:
                quarantine.add(label, record, str(rejected), csv_line(fields))
                continue
            seen.add(interaction_id)
            row = {"interaction_id": interaction_id, **row, "source_file": label, "source_record": record}
            rows.append(row)
    return interactions_result(SOURCE, rows, quarantine, records_read, paths, business_tz)
