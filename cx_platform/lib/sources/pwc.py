"""PwC "Call Centre Trends" workbook (PhoneNow, Q1 2021, simulated): one sheet row per call.

Columns (found by name in the first row, in any order): ``Call Id`` (``ID0001``), ``Agent``, ``Date``
(TEXT ``YYYY-MM-DD``), ``Time`` (an Excel time of day), ``Topic``, ``Answered (Y/N)``, ``Resolved``
(Y/N), ``Speed of answer in seconds``, ``AvgTalkDuration`` (an Excel time ``h:mm:ss`` that is a
duration: the talk time of that call) and ``Satisfaction rating`` (1-5). The last three are empty on
unanswered calls.

The workbook states no time zone: ``created_at`` is ``Date`` + ``Time`` read in ``source_tz`` (UTC by
default). ``first_response_at`` = ``created_at`` + speed of answer on answered calls and ``resolved_at``
= ``first_response_at`` + talk time on resolved ones. ``status`` is ``abandoned`` (not answered),
``resolved`` or ``unresolved``; ``Topic`` is both ``queue`` and ``source_reason``.

Cells are read defensively, since copies of this workbook differ: a date may also be an Excel date or
serial, a time a ``datetime``, a day fraction or ``"h:mm:ss"`` text, a duration a ``timedelta`` or text,
numbers may be text. What cannot be understood is quarantined with the column and value: an
unparseable ``Date`` or ``Time``, a missing ``Call Id``, a Y/N that is neither, a negative or
non-numeric speed, a rating that is not an integer from 1 to 5 (never clipped), a duplicate ``Call Id``.
Fully empty rows are not records.

``quality_flags``: ``unanswered_with_values`` (speed, talk time or rating on an unanswered call; kept),
``resolved_without_answer``, ``missing_speed_of_answer`` / ``missing_talk_duration`` (answered call
without them), ``nonexistent_local_time`` / ``ambiguous_local_time`` (DST changes in ``source_tz``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from openpyxl.utils.datetime import from_excel, to_excel

from cx_platform.lib.sources.base import (
    AdapterResult,
    QuarantineLog,
    file_label,
    interactions_result,
    local_to_utc,
)

SOURCE = "pwc_call_center"
FILE_PATTERNS = ("*.xlsx",)

DEFAULT_SOURCE_TZ = "UTC"
ID_PREFIX = "pwc"
BRAND = "PhoneNow"

# canonical role -> the workbook's column name
COLUMNS = {
    "call_id": "Call Id",
    "agent": "Agent",
    "date": "Date",
    "time": "Time",
    "topic": "Topic",
    "answered": "Answered (Y/N)",
    "resolved": "Resolved",
    "speed": "Speed of answer in seconds",
    "talk": "AvgTalkDuration",
    "rating": "Satisfaction rating",
}
CSAT_RANGE = (1, 5)
MAX_DURATION_SECONDS = 86_400  # a wait or a talk time of a day or more is not understood
YES = {"y", "yes", "true", "1"}
NO = {"n", "no", "false", "0"}

DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00)?)?")
CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?")
DURATION_RE = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)")  # h:mm:ss or mm:ss


class _Reject(ValueError):
    """A record that cannot be read; the message is the quarantine reason."""


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _bad(column: str, value: object, what: str = "unparseable") -> _Reject:
    return _Reject(f"{what} {COLUMNS[column]}: {value!r}")


def _parse_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = DATE_RE.fullmatch(value.strip())
        if match:
            try:
                return date.fromisoformat(match.group(1))
            except ValueError:
                pass
    elif _is_number(value) and float(value).is_integer() and 1 <= value < 2_958_466:  # an Excel date serial
        return from_excel(value).date()
    raise _bad("date", value)


def _parse_clock(value: object) -> timedelta:
    """A time of day as the time since midnight, to the second."""
    if isinstance(value, datetime):  # a date-time, or a time that openpyxl read with a date
        value = value.time()
    if isinstance(value, time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    elif isinstance(value, timedelta) and timedelta(0) <= value < timedelta(days=1):
        seconds = value.total_seconds()
    elif _is_number(value) and 0 <= value < 1:  # an Excel time as a fraction of a day
        seconds = value * 86_400
    elif isinstance(value, str) and (match := CLOCK_RE.fullmatch(value.strip())):
        hours, minutes, secs = int(match.group(1)), int(match.group(2)), float(match.group(3) or 0)
        if not (hours < 24 and minutes < 60 and secs < 60):
            raise _bad("time", value)
        seconds = hours * 3600 + minutes * 60 + secs
    else:
        raise _bad("time", value)
    return timedelta(seconds=round(seconds))


def _parse_duration(column: str, value: object) -> float | None:
    """A duration in seconds (to the second); None when the cell is empty."""
    if _blank(value):
        return None
    if isinstance(value, time):  # h:mm:ss stored as a time of day
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    elif isinstance(value, timedelta):  # [h]:mm:ss
        seconds = value.total_seconds()
    elif isinstance(value, datetime):  # a time of a day or more, read by openpyxl as a date near 1900
        seconds = to_excel(value) * 86_400
    elif _is_number(value) and 0 <= value < 1:  # an Excel time that lost its format
        seconds = value * 86_400
    elif isinstance(value, str) and (match := DURATION_RE.fullmatch(value.strip())):
        hours, minutes, secs = int(match.group(1) or 0), int(match.group(2)), float(match.group(3))
        if not (minutes < 60 and secs < 60):
            raise _bad(column, value)
        seconds = hours * 3600 + minutes * 60 + secs
    else:
        raise _bad(column, value)
    if not 0 <= seconds < MAX_DURATION_SECONDS:
        raise _bad(column, value, "out-of-range")
    return float(round(seconds))


def _parse_seconds(column: str, value: object) -> float | None:
    """A number of seconds (``Speed of answer in seconds``); None when the cell is empty."""
    if _blank(value):
        return None
    if isinstance(value, (time, timedelta)):  # the column formatted as a duration
        return _parse_duration(column, value)
    if _is_number(value):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise _bad(column, value, "non-numeric") from None
    if number != number or number < 0:  # NaN or negative
        raise _bad(column, value, "negative" if number < 0 else "non-numeric")
    if number >= MAX_DURATION_SECONDS:
        raise _bad(column, value, "out-of-range")
    return number


def _parse_rating(value: object) -> int | None:
    if _blank(value):
        return None
    if _is_number(value):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise _bad("rating", value, "non-numeric") from None
    if not number.is_integer():
        raise _bad("rating", value, "non-integer")
    if not CSAT_RANGE[0] <= number <= CSAT_RANGE[1]:
        raise _bad("rating", value, f"out-of-range ({CSAT_RANGE[0]}-{CSAT_RANGE[1]})")
    return int(number)


def _parse_yes_no(column: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text is not None and text.lower() in YES:
        return True
    if text is not None and text.lower() in NO:
        return False
    raise _Reject(f"{'missing' if text is None else 'bad'} {COLUMNS[column]}: {value!r}")


def _map_call(cells: dict[str, object], tz: ZoneInfo) -> dict:
    """One call as a canonical row (without lineage columns); raises _Reject when it cannot be read."""
    call_id = _text(cells["call_id"])
    if call_id is None:
        raise _Reject(f"missing {COLUMNS['call_id']}")
    for column in ("date", "time"):
        if _blank(cells[column]):
            raise _Reject(f"missing {COLUMNS[column]}")
    day = _parse_date(cells["date"])
    clock = _parse_clock(cells["time"])
    answered = _parse_yes_no("answered", cells["answered"])
    resolved = _parse_yes_no("resolved", cells["resolved"])
    wait = _parse_seconds("speed", cells["speed"])
    talk = _parse_duration("talk", cells["talk"])
    csat = _parse_rating(cells["rating"])

    created_at, tz_flag = local_to_utc(datetime.combine(day, time()) + clock, tz)
    flags = [tz_flag] if tz_flag else []
    first_response_at = resolved_at = None
    if answered:
        if wait is None:
            flags.append("missing_speed_of_answer")
        else:
            first_response_at = created_at + timedelta(seconds=wait)
        if talk is None:
            flags.append("missing_talk_duration")
        elif resolved and first_response_at is not None:
            resolved_at = first_response_at + timedelta(seconds=talk)
    else:
        if wait is not None or talk is not None or csat is not None:
            flags.append("unanswered_with_values")
        if resolved:
            flags.append("resolved_without_answer")
    topic = _text(cells["topic"])
    return {
        "interaction_id": f"{ID_PREFIX}:{call_id}",
        "source": SOURCE,
        "kind": "contact",
        "brand": BRAND,
        "channel": "phone",
        "agent_id": _text(cells["agent"]),
        "queue": topic,
        "source_reason": topic,
        "created_at": created_at,
        "first_response_at": first_response_at,
        "resolved_at": resolved_at,
        "status": ("resolved" if resolved else "unresolved") if answered else "abandoned",
        "resolved": resolved,
        "handled_by_bot": False,
        "answered": answered,
        "abandoned": not answered,
        "wait_seconds": wait,
        "handle_seconds": talk,
        "csat_score": csat,
        "quality_flags": ",".join(flags) or None,
    }


def _normalise(name: object) -> str:
    return " ".join(str(name).split()).lower() if name is not None else ""


def _column_positions(header: tuple) -> dict[str, int] | None:
    """Where each column is, by name (the first of repeated names); None when one is missing."""
    positions = {_normalise(name): i for i, name in reversed(list(enumerate(header)))}
    if any(_normalise(name) not in positions for name in COLUMNS.values()):
        return None
    return {role: positions[_normalise(name)] for role, name in COLUMNS.items()}


def _raw(row: tuple) -> str:
    return "\t".join("" if value is None else str(value) for value in row)


def _read_file(path: Path, tz: ZoneInfo, seen: set[str], quarantine: QuarantineLog) -> tuple[list[dict], int]:
    label = file_label(path)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        # The calls are on the first sheet whose first row has the expected column names.
        for sheet in workbook.worksheets:
            rows_iter = sheet.iter_rows(values_only=True)
            positions = _column_positions(next(rows_iter, ()))
            if positions is not None:
                break
        else:
            names = ", ".join(COLUMNS.values())
            raise ValueError(f"{path}: not a PwC call-centre workbook (no sheet with the columns {names})")
        rows: list[dict] = []
        record = 0
        for cells in rows_iter:
            if all(_blank(value) for value in cells):
                continue  # an empty row is not a record
            record += 1
            values = {role: cells[i] if i < len(cells) else None for role, i in positions.items()}
            try:
                row = _map_call(values, tz)
            except _Reject as err:
                quarantine.add(label, record, str(err), _raw(cells))
                continue
            if row["interaction_id"] in seen:
                quarantine.add(label, record, "duplicate id", _raw(cells))
                continue
            seen.add(row["interaction_id"])
            row["source_file"] = label
            row["source_record"] = record
            rows.append(row)
        return rows, record
    finally:
        workbook.close()


def read(files: list[Path], business_tz: str = "UTC", source_tz: str = DEFAULT_SOURCE_TZ) -> AdapterResult:
    tz = ZoneInfo(source_tz)
    quarantine = QuarantineLog(SOURCE)
    seen: set[str] = set()
    rows: list[dict] = []
    records_read = 0
    paths = list(dict.fromkeys(Path(f) for f in files))  # the same file listed twice is read once
    for path in paths:
        file_rows, file_records = _read_file(path, tz, seen, quarantine)
        rows.extend(file_rows)
        records_read += file_records
    return interactions_result(SOURCE, rows, quarantine, records_read, paths, business_tz)
