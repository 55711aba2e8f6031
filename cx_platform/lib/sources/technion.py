"""Technion "Anonymous Bank" call-centre log (Israel, 1999): one tab-separated line per call.

Layout (see the source's SOURCE.md): CRLF line endings, a header of 17 names starting with ``vru+line``,
dates ``YYMMDD`` (``990201``), wall-clock times ``H:MM:SS`` without a leading zero, durations in
whole seconds (``vru_time``, ``q_time``, ``ser_time``), ``outcome`` AGENT (served) / HANG (abandoned) /
PHANTOM (ghost call) and ``server`` = agent first name or ``NO_SERVER``.

How the log is read:

* **Ids.** ``call_id`` is a counter *per VRU line*: in February 1999 about a quarter of the ids occur on
  two lines (``AA0214`` and ``AA0215`` both have call 13121), while ``(vru+line, call_id)`` is unique.
  ``interaction_id`` is therefore ``technion:<vru+line>:<call_id>``; a repeat of that pair is a
  duplicate.
* **Time.** Times are local wall-clock times of the bank (``source_tz``, Asia/Jerusalem) and carry no
  date. Each one is placed on the day that puts it nearest to ``vru_entry`` (calls last minutes, the
  systems' clocks disagree by up to about a minute), so a ``ser_start`` of ``0:00:26`` after a
  ``vru_entry`` of ``23:59:54`` is on the next day, and an exit earlier than its start is on the day
  after the start. Durations come from the ``*_time`` columns, never from differences of the clocks.
* **Placeholders.** A phase that did not happen is written ``0:00:00``/``0:00:00`` with 0 seconds (no
  queue; no service on HANG calls, and on 42 AGENT calls with ``ser_time`` 0). Those clocks are not
  timestamps: such an AGENT call has a null ``first_response_at``.
* ``customer_id`` 0 means an unidentified caller (null). A few ids are float-formatted by a spreadsheet
  (``6.02701E+11``): their digits are lost, so they are nulled and flagged rather than kept as a key
  that could merge different customers.
* ``resolved`` is a proxy: a call is counted resolved when it reached an agent (the log has no outcome
  of the conversation itself).

``quality_flags``: ``agent_without_server`` (AGENT with ``NO_SERVER``), ``zero_service_time`` (AGENT
with ``ser_time`` 0), ``crossed_midnight``, ``clock_skew`` (service starts before ``vru_exit``),
``negative_vru_time`` (``vru_exit`` before ``vru_entry``: a clock skew, kept because ``vru_time`` is not
mapped), ``hang_with_service_time`` (HANG with a service segment), ``duration_mismatch`` (a ``*_time``
disagrees with its clocks), ``customer_id_float_formatted``, ``unknown_type``,
``nonexistent_local_time`` / ``ambiguous_local_time`` (DST changes).

Quarantined: a wrong field count, an undecodable line, an unparseable date or time, a ``q_time`` or
``ser_time`` that is negative or not an integer (any ``*_time`` that is not an integer), an unknown
outcome, a missing or non-numeric ``call_id``, a malformed ``customer_id``, a duplicate id. Blank lines
(such as a trailing empty line) are not records.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cx_platform.lib.sources.base import (
    AdapterResult,
    QuarantineLog,
    file_label,
    interactions_result,
    local_to_utc,
)

SOURCE = "technion_call_center"
# Monthly call logs only: the folder also holds data_anonymous_bank_shifts.csv, a staffing matrix.
FILE_PATTERNS = ("data_anonymous_bank_*.txt",)

DEFAULT_SOURCE_TZ = "Asia/Jerusalem"
ID_PREFIX = "technion"
BRAND = "Anonymous Bank"

COLUMNS = (
    "vru+line",
    "call_id",
    "customer_id",
    "priority",
    "type",
    "date",
    "vru_entry",
    "vru_exit",
    "vru_time",
    "q_start",
    "q_exit",
    "q_time",
    "outcome",
    "ser_start",
    "ser_exit",
    "ser_time",
    "server",
)
CLOCK_COLUMNS = ("vru_entry", "vru_exit", "q_start", "q_exit", "ser_start", "ser_exit")
DURATION_COLUMNS = ("vru_time", "q_time", "ser_time")
# Durations that feed canonical columns; a negative value there is unusable. A negative vru_time is
# only a flag (the IVR clocks are skewed by about a minute on a few calls).
MUST_BE_NON_NEGATIVE = ("q_time", "ser_time")

# outcome -> (kind, status)
OUTCOMES = {
    "AGENT": ("contact", "served"),
    "HANG": ("contact", "abandoned"),
    "PHANTOM": ("ghost", "phantom"),
}
CALL_TYPES = {
    "PS": "regular banking",
    "PE": "regular banking (English)",
    "IN": "internet support",
    "NE": "stock exchange",
    "NW": "prospective customer",
    "TT": "callback request",
}
NO_SERVER = "NO_SERVER"
UNIDENTIFIED_CUSTOMER = "0"

CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})")
FLOAT_FORMATTED_RE = re.compile(r"\d+(?:\.\d+)?[eE]\+?\d+")
DAY = timedelta(days=1)
HALF_DAY = timedelta(hours=12)


class _Reject(ValueError):
    """A record that cannot be read; the message is the quarantine reason."""


def _parse_date(text: str) -> date:
    try:
        if len(text) == 6:  # YYMMDD, two-digit year
            year = int(text[:2])
            return date(1900 + year if year >= 50 else 2000 + year, int(text[2:4]), int(text[4:6]))
        if len(text) == 8:  # YYYYMMDD, in case a copy widened the year
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        pass
    raise _Reject(f"unparseable date: {text!r}")


def _parse_clock(name: str, text: str) -> timedelta:
    """A wall-clock time ``H:MM:SS`` as the time since midnight."""
    match = CLOCK_RE.fullmatch(text)
    if match:
        hours, minutes, seconds = (int(part) for part in match.groups())
        if hours < 24 and minutes < 60 and seconds < 60:
            return timedelta(hours=hours, minutes=minutes, seconds=seconds)
    raise _Reject(f"unparseable {name}: {text!r}")


def _parse_duration(name: str, text: str) -> int:
    """Whole seconds; an integer-valued float such as ``166.0`` is accepted."""
    try:
        number = float(text)
    except ValueError:
        raise _Reject(f"non-numeric {name}: {text!r}") from None
    if not number.is_integer():
        raise _Reject(f"non-integer {name}: {text!r}")
    if number < 0 and name in MUST_BE_NON_NEGATIVE:
        raise _Reject(f"negative {name}: {text!r}")
    return int(number)


def _customer_id(text: str) -> tuple[str | None, str | None]:
    """(customer_id, flag)."""
    if text in ("", UNIDENTIFIED_CUSTOMER):
        return None, None
    if text.isdigit():
        return text, None
    if FLOAT_FORMATTED_RE.fullmatch(text):
        return None, "customer_id_float_formatted"
    raise _Reject(f"malformed customer_id: {text!r}")


def _place(clock: timedelta, anchor: datetime) -> datetime:
    """The local instant at ``clock`` nearest to ``anchor``: on its day, the day before or the day after."""
    instant = datetime.combine(anchor.date(), datetime.min.time()) + clock
    if instant - anchor < -HALF_DAY:
        instant += DAY
    elif instant - anchor > HALF_DAY:
        instant -= DAY
    return instant


def _is_placeholder(start: timedelta, exit_: timedelta, seconds: int) -> bool:
    """A phase that did not happen: ``0:00:00`` / ``0:00:00`` and 0 seconds."""
    return seconds == 0 and start == timedelta(0) == exit_


def _map_call(values: dict[str, str], tz: ZoneInfo) -> dict:
    """One call as a canonical row (without lineage columns); raises _Reject when it cannot be read."""
    line, call_id = values["vru+line"], values["call_id"]
    if not line:
        raise _Reject("missing vru+line")
    if not call_id:
        raise _Reject("missing call_id")
    if not call_id.isdigit():
        raise _Reject(f"non-numeric call_id: {call_id!r}")
    day = _parse_date(values["date"])
    clocks = {name: _parse_clock(name, values[name]) for name in CLOCK_COLUMNS}
    seconds = {name: _parse_duration(name, values[name]) for name in DURATION_COLUMNS}
    outcome = values["outcome"]
    if outcome not in OUTCOMES:
        raise _Reject(f"unknown outcome: {outcome!r}")
    customer_id, customer_flag = _customer_id(values["customer_id"])
    flags = [customer_flag] if customer_flag else []

    # Local instants of the phases that happened (see the module docstring).
    entry = datetime.combine(day, datetime.min.time()) + clocks["vru_entry"]
    vru_exit = _place(clocks["vru_exit"], entry)
    phases = [(entry, vru_exit)]
    queue_seen = not _is_placeholder(clocks["q_start"], clocks["q_exit"], seconds["q_time"])
    service_seen = not _is_placeholder(clocks["ser_start"], clocks["ser_exit"], seconds["ser_time"])
    ser_start = None
    for seen, start_col, exit_col, time_col in (
        (queue_seen, "q_start", "q_exit", "q_time"),
        (service_seen, "ser_start", "ser_exit", "ser_time"),
    ):
        if not seen:
            continue
        start = _place(clocks[start_col], entry)
        end = _place(clocks[exit_col], start)  # 23:59:43 -> 0:01:28 ends the next day
        phases.append((start, end))
        if (end - start).total_seconds() != seconds[time_col]:
            flags.append("duration_mismatch")
        if start_col == "ser_start":
            ser_start = start

    server = values["server"]
    agent_id = None if server in ("", NO_SERVER) else server
    served = outcome == "AGENT"
    if served and agent_id is None:
        flags.append("agent_without_server")
    if served and seconds["ser_time"] == 0:
        flags.append("zero_service_time")
    if outcome == "HANG" and seconds["ser_time"] > 0:
        flags.append("hang_with_service_time")
    if any(end.date() > day or start.date() > day for start, end in phases):
        flags.append("crossed_midnight")
    if ser_start is not None and ser_start < vru_exit:
        flags.append("clock_skew")
    if seconds["vru_time"] < 0:
        flags.append("negative_vru_time")
    call_type = values["type"]
    if call_type not in CALL_TYPES:
        flags.append("unknown_type")

    created_at, tz_flag = local_to_utc(entry, tz)
    first_response_at = resolved_at = None
    if served and ser_start is not None:
        first_response_at, start_tz_flag = local_to_utc(ser_start, tz)
        resolved_at = first_response_at + timedelta(seconds=seconds["ser_time"])
        tz_flag = tz_flag or start_tz_flag
    if tz_flag:
        flags.append(tz_flag)

    kind, status = OUTCOMES[outcome]
    return {
        "interaction_id": f"{ID_PREFIX}:{line}:{call_id}",
        "source": SOURCE,
        "kind": kind,
        "brand": BRAND,
        "channel": "phone",
        "customer_id": customer_id,
        "agent_id": agent_id,
        "queue": call_type or None,
        "source_reason": CALL_TYPES.get(call_type),
        "created_at": created_at,
        "first_response_at": first_response_at,
        "resolved_at": resolved_at,
        "status": status,
        "resolved": served,  # proxy: reached an agent
        "handled_by_bot": False,
        "answered": served,
        "abandoned": outcome == "HANG",
        "wait_seconds": float(seconds["q_time"]),
        "handle_seconds": float(seconds["ser_time"]) if served else None,
        "quality_flags": ",".join(dict.fromkeys(flags)) or None,
    }


def _header(line: bytes, path: Path) -> list[str]:
    names = [name.strip() for name in line.decode("utf-8-sig", errors="replace").rstrip("\r").split("\t")]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise ValueError(
            f"{path}: not a Technion call log (header lacks {', '.join(missing)}); "
            f"first line starts {line[:80]!r}"
        )
    return names


def _read_file(path: Path, tz: ZoneInfo, seen: set[str], quarantine: QuarantineLog) -> tuple[list[dict], int]:
    label = file_label(path)
    lines = path.read_bytes().split(b"\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return [], 0  # an empty export
    header = _header(lines[0], path)
    rows: list[dict] = []
    record = 0
    for raw_line in lines[1:]:
        if not raw_line.strip():
            continue  # a blank line (the file's trailing newline) is not a record
        record += 1
        raw_line = raw_line.rstrip(b"\r")
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError:
            quarantine.add(label, record, "not valid UTF-8", raw_line.decode("utf-8", errors="replace"))
            continue
        fields = text.split("\t")
        if len(fields) != len(header):
            quarantine.add(label, record, f"wrong field count: {len(fields)}, expected {len(header)}", text)
            continue
        try:
            row = _map_call({name: value.strip() for name, value in zip(header, fields)}, tz)
        except _Reject as err:
            quarantine.add(label, record, str(err), text)
            continue
        if row["interaction_id"] in seen:
            quarantine.add(label, record, "duplicate id", text)
            continue
        seen.add(row["interaction_id"])
        row["source_file"] = label
        row["source_record"] = record
        rows.append(row)
    return rows, record


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
