"""Technion call-centre adapter: a slice of real lines (byte for byte) plus crafted bad lines.

Israel is on UTC+2 in February 1999, so a local 7:02:47 is 05:02:47 UTC.
"""

from __future__ import annotations

import fnmatch
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from cx_platform.lib import schemas
from cx_platform.lib.sources import technion
from cx_platform.lib.sources.base import AdapterResult

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "samples" / "technion_call_center"
REAL_FILE = DATA_DIR / "data_anonymous_bank_february_days01-21.txt"
LABEL = "technion_call_center/data_anonymous_bank_february_days01-21.txt"

HEADER = (
    "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit"
    "\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver"
)
# Real lines of data_anonymous_bank_february_days01-21.txt (line numbers in the comments).
REAL_LINES = [
    # 2: AGENT served by DORIT; ser_start one second before vru_exit (clock skew)
    "AA0101\t34536\t0\t0\tPS\t990201\t7:02:47\t7:02:56\t9\t0:00:00\t0:00:00\t0\tAGENT\t7:02:55\t7:05:41"
    "\t166\tDORIT",
    # 3: AGENT with NO_SERVER
    "AA0101\t34537\t0\t0\tPS\t990201\t7:31:45\t7:31:55\t10\t0:00:00\t0:00:00\t0\tAGENT\t7:31:54\t7:31:59\t5"
    "\tNO_SERVER",
    # 5: HANG after 5 s in the queue, identified customer
    "AA0101\t34539\t23317894\t2\tPS\t990201\t8:09:16\t8:09:22\t6\t8:09:22\t8:09:27\t5\tHANG\t0:00:00"
    "\t0:00:00\t0"
    "\tNO_SERVER",
    # 553: PHANTOM
    "AA0101\t35092\t0\t0\tNW\t990209\t13:53:36\t13:53:46\t10\t13:53:46\t13:54:10\t24\tPHANTOM\t13:54:09"
    "\t13:54:13"
    "\t4\tNO_SERVER",
    # 2523: service crosses midnight (ser_exit 0:01:28 < ser_start 23:59:43)
    "AA0102\t31307\t0\t0\tPS\t990220\t23:59:32\t23:59:44\t12\t0:00:00\t0:00:00\t0\tAGENT\t23:59:43\t0:01:28"
    "\t105"
    "\tDARMON",
    # 2274: entered at 23:59:54, queue and service on the next day
    "AA0102\t31056\t15696776\t2\tPS\t990215\t23:59:54\t23:59:54\t0\t0:00:00\t0:00:27\t27\tAGENT\t0:00:26"
    "\t0:01:33"
    "\t67\tAVNI",
    # 112: AGENT with ser_time 0 and placeholder service clocks 0:00:00
    "AA0101\t34648\t24442634\t2\tPS\t990202\t13:44:47\t13:44:53\t6\t13:44:53\t13:45:06\t13\tAGENT\t0:00:00"
    "\t0:00:00"
    "\t0\tYIFAT",
    # 23358 and 24516: the same call_id on two VRU lines, two different calls
    "AA0214\t13121\t0\t0\tNW\t990202\t8:20:01\t8:20:16\t15\t0:00:00\t0:00:00\t0\tAGENT\t8:20:15\t8:20:33"
    "\t18\tKAZAV",
    "AA0215\t13121\t0\t0\tPS\t990201\t0:51:51\t0:52:01\t10\t0:00:00\t0:00:00\t0\tHANG\t0:00:00\t0:00:00\t0"
    "\tNO_SERVER",
    # 333: float-formatted customer_id
    "AA0101\t34872\t6.02701E+11\t0\tPE\t990205\t9:19:25\t9:19:31\t6\t9:19:31\t9:19:51\t20\tAGENT\t9:19:31"
    "\t9:27:04"
    "\t453\tDORIT",
    # 1682: vru_exit before vru_entry, vru_time -57
    "AA0102\t30456\t25627027\t2\tPS\t990207\t9:48:14\t9:47:17\t-57\t9:47:17\t9:50:11\t174\tAGENT\t9:50:11"
    "\t9:51:28"
    "\t77\tKAZAV",
    # 5869: queue crosses midnight (q_exit 0:00:26 < q_start 23:59:29)
    "AA0105\t35608\t0\t0\tNW\t990210\t23:59:19\t23:59:19\t0\t23:59:29\t0:00:26\t57\tHANG\t0:00:00\t0:00:00\t0"
    "\tNO_SERVER",
]


def _crafted(call_id: str, **changes: str) -> str:
    """A copy of the first real line with another call_id and some fields changed."""
    fields = dict(zip(HEADER.split("\t"), REAL_LINES[0].split("\t")))
    fields.update(call_id=call_id, **changes)
    return "\t".join(fields.values())


BAD_LINES = [
    ("\t".join(REAL_LINES[0].split("\t")[:-1]), "wrong field count: 16, expected 17"),
    (_crafted("90001", date="990230"), "unparseable date: '990230'"),
    (_crafted("90002", vru_entry="7:62:47"), "unparseable vru_entry: '7:62:47'"),
    (_crafted("90003", q_time="-5"), "negative q_time: '-5'"),
    (_crafted("90004", ser_time="12.5"), "non-integer ser_time: '12.5'"),
    (_crafted("90005", outcome="BUSY"), "unknown outcome: 'BUSY'"),
    (REAL_LINES[0], "duplicate id"),
]


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def slice_file(tmp_path: Path) -> Path:
    folder = tmp_path / "technion_call_center"
    folder.mkdir()
    path = folder / "data_anonymous_bank_february_days01-21.txt"
    lines = [HEADER, *REAL_LINES, *(line for line, _ in BAD_LINES)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())  # CRLF and a trailing newline, as the real file
    return path


@pytest.fixture
def result(slice_file: Path) -> AdapterResult:
    return technion.read([slice_file], business_tz="Asia/Jerusalem")


def _row(result, interaction_id: str) -> dict:
    rows = result.accepted.filter(pl.col("interaction_id") == interaction_id).to_dicts()
    assert len(rows) == 1, interaction_id
    return rows[0]


def test_real_lines_are_byte_for_byte_from_the_real_file():
    if not REAL_FILE.exists():
        pytest.skip("real Technion file not present")
    lines = set(REAL_FILE.read_bytes().split(b"\r\n"))
    assert HEADER.encode() in lines
    for line in REAL_LINES:
        assert line.encode() in lines


def test_reconciles_and_conforms(result):
    assert result.source == "technion_call_center"
    assert result.records_read == len(REAL_LINES) + len(BAD_LINES)  # the trailing empty line is no record
    assert result.records_accepted == len(REAL_LINES)
    assert result.records_quarantined == len(BAD_LINES)
    assert result.reconciles
    assert result.accepted.schema == schemas.INTERACTIONS
    assert result.quarantine.schema == schemas.QUARANTINE
    assert result.files == [LABEL]
    assert result.accepted["interaction_id"].is_unique().all()
    assert result.accepted["source_record"].to_list() == list(range(1, len(REAL_LINES) + 1))


def test_quarantine_reasons_and_record_numbers(result):
    quarantine = result.quarantine.sort("source_record")
    first_bad = len(REAL_LINES) + 1
    assert quarantine["source_record"].to_list() == list(range(first_bad, first_bad + len(BAD_LINES)))
    assert quarantine["reason"].to_list() == [reason for _, reason in BAD_LINES]
    assert set(quarantine["source"]) == {"technion_call_center"}
    assert set(quarantine["source_file"]) == {LABEL}
    assert quarantine["raw"][1] == BAD_LINES[1][0]  # the line without its CRLF


def test_served_call(result):
    row = _row(result, "technion:AA0101:34536")
    assert row["source"] == "technion_call_center"
    assert row["kind"] == "contact"
    assert row["brand"] == "Anonymous Bank"
    assert row["channel"] == "phone"
    assert row["customer_id"] is None  # 0 = unidentified
    assert row["agent_id"] == "DORIT"
    assert row["queue"] == "PS"
    assert row["source_reason"] == "regular banking"
    assert row["created_at"] == _utc(1999, 2, 1, 5, 2, 47)  # 7:02:47 Israel time (UTC+2)
    assert row["first_response_at"] == _utc(1999, 2, 1, 5, 2, 55)
    assert row["resolved_at"] == _utc(1999, 2, 1, 5, 5, 41)  # + 166 s
    assert row["wait_seconds"] == 0.0
    assert row["handle_seconds"] == 166.0
    assert (row["status"], row["answered"], row["abandoned"], row["resolved"]) == (
        "served", True, False, True
    )
    assert row["handled_by_bot"] is False
    assert row["n_messages"] is None and row["transcript"] is None and row["csat_score"] is None
    assert row["quality_flags"] == "clock_skew"  # ser_start 7:02:55 < vru_exit 7:02:56
    assert row["business_date"] == date(1999, 2, 1)
    assert row["source_file"] == LABEL
    assert row["source_record"] == 1


def test_agent_without_server(result):
    row = _row(result, "technion:AA0101:34537")
    assert row["agent_id"] is None
    assert row["answered"] is True
    assert row["handle_seconds"] == 5.0
    assert row["quality_flags"] == "agent_without_server,clock_skew"


def test_abandoned_call(result):
    row = _row(result, "technion:AA0101:34539")
    assert row["customer_id"] == "23317894"
    assert row["agent_id"] is None
    assert (row["status"], row["answered"], row["abandoned"], row["resolved"]) == (
        "abandoned", False, True, False
    )
    assert row["created_at"] == _utc(1999, 2, 1, 6, 9, 16)
    assert row["wait_seconds"] == 5.0
    assert row["handle_seconds"] is None
    assert row["first_response_at"] is None and row["resolved_at"] is None
    assert row["quality_flags"] is None


def test_phantom_call_is_a_ghost(result):
    row = _row(result, "technion:AA0101:35092")
    assert (row["kind"], row["status"]) == ("ghost", "phantom")
    assert (row["answered"], row["abandoned"], row["resolved"]) == (False, False, False)
    assert row["queue"] == "NW"
    assert row["source_reason"] == "prospective customer"
    assert row["wait_seconds"] == 24.0
    assert row["handle_seconds"] is None
    assert row["first_response_at"] is None
    assert row["quality_flags"] is None


def test_service_crossing_midnight(result):
    row = _row(result, "technion:AA0102:31307")
    assert row["created_at"] == _utc(1999, 2, 20, 21, 59, 32)
    assert row["first_response_at"] == _utc(1999, 2, 20, 21, 59, 43)
    assert row["resolved_at"] == _utc(1999, 2, 20, 22, 1, 28)  # 0:01:28 local on the 21st; from ser_time 105
    assert row["handle_seconds"] == 105.0
    assert row["quality_flags"] == "crossed_midnight,clock_skew"
    assert row["business_date"] == date(1999, 2, 20)


def test_service_starting_after_midnight(result):
    row = _row(result, "technion:AA0102:31056")
    assert row["created_at"] == _utc(1999, 2, 15, 21, 59, 54)
    # ser_start 0:00:26 < vru_entry 23:59:54: the next day, 1999-02-16 00:00:26 local
    assert row["first_response_at"] == _utc(1999, 2, 15, 22, 0, 26)
    assert row["resolved_at"] == _utc(1999, 2, 15, 22, 1, 33)
    assert row["wait_seconds"] == 27.0
    assert row["quality_flags"] == "crossed_midnight"


def test_queue_crossing_midnight(result):
    row = _row(result, "technion:AA0105:35608")
    assert row["abandoned"] is True
    assert row["wait_seconds"] == 57.0
    assert row["quality_flags"] == "crossed_midnight"


def test_zero_service_time_with_placeholder_clocks(result):
    row = _row(result, "technion:AA0101:34648")
    assert row["answered"] is True
    assert row["handle_seconds"] == 0.0
    # ser_start/ser_exit are 0:00:00 placeholders, not midnight
    assert row["first_response_at"] is None and row["resolved_at"] is None
    assert row["quality_flags"] == "zero_service_time"


def test_call_id_is_unique_per_vru_line_only(result):
    served = _row(result, "technion:AA0214:13121")
    hung_up = _row(result, "technion:AA0215:13121")
    assert served["agent_id"] == "KAZAV"
    assert hung_up["abandoned"] is True
    # 0:51:51 local on 1 February is still 31 January in UTC; the business date follows business_tz
    assert hung_up["created_at"] == _utc(1999, 1, 31, 22, 51, 51)
    assert hung_up["business_date"] == date(1999, 2, 1)


def test_business_date_in_utc(slice_file):
    accepted = technion.read([slice_file]).accepted  # business_tz defaults to UTC
    row = accepted.filter(pl.col("interaction_id") == "technion:AA0215:13121").row(0, named=True)
    assert row["business_date"] == date(1999, 1, 31)


def test_float_formatted_customer_id_is_not_kept(result):
    row = _row(result, "technion:AA0101:34872")
    assert row["customer_id"] is None
    assert row["quality_flags"] == "customer_id_float_formatted"
    assert row["source_reason"] == "regular banking (English)"


def test_negative_vru_time_is_a_flag(result):
    row = _row(result, "technion:AA0102:30456")
    assert row["customer_id"] == "25627027"
    assert row["handle_seconds"] == 77.0
    assert row["wait_seconds"] == 174.0
    assert row["quality_flags"] == "negative_vru_time"


def test_source_tz_is_a_parameter(slice_file):
    accepted = technion.read([slice_file], source_tz="UTC").accepted
    row = accepted.filter(pl.col("interaction_id") == "technion:AA0101:34536").row(0, named=True)
    assert row["created_at"] == _utc(1999, 2, 1, 7, 2, 47)


def test_duplicates_across_files(slice_file, tmp_path):
    other = tmp_path / "technion_call_center" / "data_anonymous_bank_copy.txt"
    other.write_bytes(f"{HEADER}\r\n{REAL_LINES[0]}\r\n".encode())
    result = technion.read([slice_file, other])
    assert result.reconciles
    copy_label = "technion_call_center/data_anonymous_bank_copy.txt"
    dup = result.quarantine.filter(pl.col("source_file") == copy_label)
    assert dup.select("source_record", "reason").rows() == [(1, "duplicate id")]


def test_file_patterns_exclude_the_shifts_matrix():
    names = ["data_anonymous_bank_february_days01-21.txt", "data_anonymous_bank_shifts.csv", "SOURCE.md"]
    matched = [name for name in names if any(fnmatch.fnmatch(name, p) for p in technion.FILE_PATTERNS)]
    assert matched == ["data_anonymous_bank_february_days01-21.txt"]


def test_a_file_that_is_not_a_call_log_is_refused(tmp_path):
    path = tmp_path / "data_anonymous_bank_shifts.txt"
    path.write_bytes(b"Hour,StartTime,Shift1,Shift2\r1,Midnight,1,0\r2,1am,1,0\r")  # CR-only, as the real one
    with pytest.raises(ValueError, match="not a Technion call log"):
        technion.read([path])


def test_no_files():
    result = technion.read([])
    assert result.records_read == 0 and result.reconciles
    assert result.accepted.schema == schemas.INTERACTIONS


def test_full_real_file():
    if not REAL_FILE.exists():
        pytest.skip("real Technion file not present")
    result = technion.read([REAL_FILE], business_tz="Asia/Jerusalem")
    # SOURCE.md: 25,890 calls over 21 days (990201-990221); all of them readable.
    assert result.records_read == 25_890
    assert result.records_accepted == 25_890
    assert result.records_quarantined == 0
    assert result.reconciles
    accepted = result.accepted
    assert accepted["interaction_id"].is_unique().all()
    days = accepted["business_date"].unique().sort()
    assert days.to_list() == [date(1999, 2, d) for d in range(1, 22)]
    # Outcomes of the slice (SOURCE.md gives the full month: AGENT 27,162 / HANG 5,904 / PHANTOM 278).
    counts = dict(accepted.group_by("status").len().rows())
    assert counts == {"served": 20_899, "abandoned": 4_770, "phantom": 221}
    flags = accepted["quality_flags"].str.split(",").explode().value_counts()
    flag_counts = dict(flags.drop_nulls("quality_flags").rows())
    # Full month: 491 AGENT/NO_SERVER, 85 AGENT with ser_time 0, 16 + 2 midnight crossings.
    assert flag_counts["agent_without_server"] == 384
    assert flag_counts["zero_service_time"] == 72
    # 13 with ser_exit < ser_start, 2 with q_exit < q_start, 4 entering at 23:59 and served after 0:00
    assert flag_counts["crossed_midnight"] == 19
    assert flag_counts["customer_id_float_formatted"] == 18
    assert flag_counts["negative_vru_time"] == 23
    assert "duration_mismatch" not in flag_counts
