"""PwC call-centre adapter: a tiny workbook with the real layout and cell types, plus bad rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from cx_platform.lib import schemas
from cx_platform.lib.sources import pwc
from cx_platform.lib.sources.base import AdapterResult

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "samples" / "pwc_call_center"
REAL_FILE = DATA_DIR / "01 Call-Center-Dataset.xlsx"
LABEL = "pwc_call_center/01 Call-Center-Dataset.xlsx"

HEADER = (
    "Call Id",
    "Agent",
    "Date",
    "Time",
    "Topic",
    "Answered (Y/N)",
    "Resolved",
    "Speed of answer in seconds",
    "AvgTalkDuration",
    "Satisfaction rating",
)
# Real rows (values and cell types as openpyxl reads the real workbook): Date is text, Time and
# AvgTalkDuration are Excel times, the rest text or integers.
REAL_ROWS = [
    ("ID0001", "Diane", "2021-01-01", time(9, 12, 58), "Contract related", "Y", "Y", 109, time(0, 2, 23), 3),
    ("ID0002", "Becky", "2021-01-01", time(9, 12, 58), "Technical Support", "Y", "N", 70, time(0, 4, 2), 3),
    ("ID0006", "Stewart", "2021-01-01", time(10, 0, 29), "Technical Support", "N", "N", None, None, None),
    ("ID4999", "Jim", "2021-03-31", time(17, 2, 24), "Streaming", "Y", "Y", 98, time(0, 0, 58), 5),
    ("ID5000", "Diane", "2021-03-31", time(17, 39, 50), "Contract related", "N", "N", None, None, None),
]
# The same kind of values as other copies of the workbook may hold them.
VARIANT_ROWS = [
    ("ID9001", "Joe", datetime(2021, 2, 1), "9:30:00", "Admin Support", "y", "n", "45", timedelta(minutes=3),
     4.0),
    ("ID9002", "Greg", 44228, 0.5, "Payment related", "Y", "Y", 12.0, "0:01:30", "5"),
]
BAD_ROWS = [
    (("ID8001", "Dan", "2021-01-02", time(9, 0), "Streaming", "Y", "Y", 20, time(0, 1), 6),
     "out-of-range (1-5) Satisfaction rating: 6"),
    (("ID8002", "Dan", "2021-01-02", time(9, 0), "Streaming", "Y", "Y", 20, time(0, 1), 3.5),
     "non-integer Satisfaction rating: 3.5"),
    (("ID8003", "Dan", "2021-01-02", time(9, 0), "Streaming", "Y", "Y", 20, time(0, 1), 0),
     "out-of-range (1-5) Satisfaction rating: 0"),
    ((None, "Dan", "2021-01-02", time(9, 0), "Streaming", "Y", "Y", 20, time(0, 1), 3), "missing Call Id"),
    (("ID8004", "Dan", "2021-02-30", time(9, 0), "Streaming", "Y", "Y", 20, time(0, 1), 3),
     "unparseable Date: '2021-02-30'"),
    (("ID8005", "Dan", "02/01/2021", time(9, 0), "Streaming", "Y", "Y", 20, time(0, 1), 3),
     "unparseable Date: '02/01/2021'"),
    (("ID8006", "Dan", "2021-01-02", "noon", "Streaming", "Y", "Y", 20, time(0, 1), 3),
     "unparseable Time: 'noon'"),
    (("ID8007", "Dan", "2021-01-02", time(9, 0), "Streaming", "maybe", "Y", 20, time(0, 1), 3),
     "bad Answered (Y/N): 'maybe'"),
    (("ID8008", "Dan", "2021-01-02", time(9, 0), "Streaming", "Y", "Y", -3, time(0, 1), 3),
     "negative Speed of answer in seconds: -3"),
    (("ID8009", "Dan", "2021-01-02", time(9, 0), "Streaming", "Y", "Y", "fast", time(0, 1), 3),
     "non-numeric Speed of answer in seconds: 'fast'"),
    (("ID8010", "Dan", "2021-01-02", time(9, 0), "Streaming", "Y", "Y", 20, "a while", 3),
     "unparseable AvgTalkDuration: 'a while'"),
    (("ID0001", "Diane", "2021-01-01", time(9, 12, 58), "Contract related", "Y", "Y", 109, time(0, 2, 23), 3),
     "duplicate id"),
]
EMPTY_ROW = (None,) * len(HEADER)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def _write_workbook(path: Path, rows: list[tuple]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


@pytest.fixture
def workbook_file(tmp_path: Path) -> Path:
    folder = tmp_path / "pwc_call_center"
    folder.mkdir()
    rows = [*REAL_ROWS, EMPTY_ROW, *VARIANT_ROWS, *(row for row, _ in BAD_ROWS), EMPTY_ROW]
    return _write_workbook(folder / "01 Call-Center-Dataset.xlsx", rows)


@pytest.fixture
def result(workbook_file: Path) -> AdapterResult:
    return pwc.read([workbook_file])


def _row(result: AdapterResult, interaction_id: str) -> dict:
    rows = result.accepted.filter(pl.col("interaction_id") == interaction_id).to_dicts()
    assert len(rows) == 1, interaction_id
    return rows[0]


def test_reconciles_and_conforms(result):
    good = len(REAL_ROWS) + len(VARIANT_ROWS)
    assert result.source == "pwc_call_center"
    assert result.records_read == good + len(BAD_ROWS)  # the empty rows are no records
    assert result.records_accepted == good
    assert result.records_quarantined == len(BAD_ROWS)
    assert result.reconciles
    assert result.accepted.schema == schemas.INTERACTIONS
    assert result.quarantine.schema == schemas.QUARANTINE
    assert result.files == [LABEL]
    assert result.accepted["source_record"].to_list() == list(range(1, good + 1))


def test_quarantine_reasons(result):
    quarantine = result.quarantine.sort("source_record")
    first_bad = len(REAL_ROWS) + len(VARIANT_ROWS) + 1
    assert quarantine["source_record"].to_list() == list(range(first_bad, first_bad + len(BAD_ROWS)))
    assert quarantine["reason"].to_list() == [reason for _, reason in BAD_ROWS]
    assert set(quarantine["source_file"]) == {LABEL}
    assert quarantine["raw"][0].startswith("ID8001\tDan\t2021-01-02\t09:00:00\t")


def test_answered_and_resolved_call(result):
    row = _row(result, "pwc:ID0001")
    assert (row["source"], row["kind"], row["brand"], row["channel"]) == (
        "pwc_call_center", "contact", "PhoneNow", "phone"
    )
    assert row["agent_id"] == "Diane"
    assert row["queue"] == row["source_reason"] == "Contract related"
    assert row["customer_id"] is None
    assert row["created_at"] == _utc(2021, 1, 1, 9, 12, 58)
    assert row["wait_seconds"] == 109.0
    assert row["first_response_at"] == _utc(2021, 1, 1, 9, 14, 47)  # + 109 s
    assert row["handle_seconds"] == 143.0  # 0:02:23
    assert row["resolved_at"] == _utc(2021, 1, 1, 9, 17, 10)  # + 143 s
    assert (row["status"], row["answered"], row["abandoned"], row["resolved"]) == (
        "resolved", True, False, True
    )
    assert row["csat_score"] == 3
    assert row["handled_by_bot"] is False
    assert row["quality_flags"] is None
    assert row["business_date"] == date(2021, 1, 1)
    assert (row["source_file"], row["source_record"]) == (LABEL, 1)


def test_answered_unresolved_call(result):
    row = _row(result, "pwc:ID0002")
    assert row["status"] == "unresolved"
    assert row["resolved"] is False
    assert row["handle_seconds"] == 242.0  # 0:04:02
    assert row["first_response_at"] == _utc(2021, 1, 1, 9, 14, 8)
    assert row["resolved_at"] is None


def test_abandoned_call(result):
    row = _row(result, "pwc:ID0006")
    assert (row["status"], row["answered"], row["abandoned"], row["resolved"]) == (
        "abandoned", False, True, False
    )
    assert row["wait_seconds"] is None and row["handle_seconds"] is None and row["csat_score"] is None
    assert row["first_response_at"] is None and row["resolved_at"] is None
    assert row["quality_flags"] is None


def test_cell_type_variants(result):
    row = _row(result, "pwc:ID9001")
    assert row["created_at"] == _utc(2021, 2, 1, 9, 30)  # Excel date + "9:30:00" text
    assert row["wait_seconds"] == 45.0  # "45"
    assert row["handle_seconds"] == 180.0  # a [h]:mm:ss timedelta
    assert row["csat_score"] == 4  # 4.0
    assert (row["answered"], row["resolved"], row["status"]) == (True, False, "unresolved")

    row = _row(result, "pwc:ID9002")
    assert row["created_at"] == _utc(2021, 2, 1, 12)  # serial 44228 + day fraction 0.5
    assert row["handle_seconds"] == 90.0  # "0:01:30"
    assert row["resolved_at"] == _utc(2021, 2, 1, 12, 1, 42)  # + 12 s + 90 s
    assert row["csat_score"] == 5  # "5"


def test_source_and_business_time_zones(tmp_path):
    rows = [("ID0001", "Diane", "2021-01-02", time(0, 30), "Streaming", "Y", "Y", 10, time(0, 1), 4)]
    path = _write_workbook(tmp_path / "calls.xlsx", rows)
    row = pwc.read([path], source_tz="Europe/Zurich").accepted.row(0, named=True)
    assert row["created_at"] == _utc(2021, 1, 1, 23, 30)  # CET is UTC+1
    assert row["business_date"] == date(2021, 1, 1)
    row = pwc.read([path], business_tz="Europe/Zurich", source_tz="Europe/Zurich").accepted.row(0, named=True)
    assert row["business_date"] == date(2021, 1, 2)


def test_contradictions_are_flagged_not_dropped(tmp_path):
    rows = [
        ("ID0001", "Joe", "2021-01-02", time(9), "Streaming", "N", "Y", 30, None, None),
        ("ID0002", "Joe", "2021-01-02", time(9), "Streaming", "Y", "Y", None, None, None),
    ]
    accepted = pwc.read([_write_workbook(tmp_path / "calls.xlsx", rows)]).accepted.sort("interaction_id")
    assert accepted["quality_flags"].to_list() == [
        "unanswered_with_values,resolved_without_answer",
        "missing_speed_of_answer,missing_talk_duration",
    ]
    assert accepted["status"].to_list() == ["abandoned", "resolved"]
    assert accepted["resolved_at"].to_list() == [None, None]


def test_a_workbook_without_the_columns_is_refused(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["Hour", "StartTime", "Shift1"])
    workbook.save(tmp_path / "other.xlsx")
    with pytest.raises(ValueError, match="not a PwC call-centre workbook"):
        pwc.read([tmp_path / "other.xlsx"])


def test_full_real_file():
    if not REAL_FILE.exists():
        pytest.skip("real PwC workbook not present")
    result = pwc.read([REAL_FILE])
    # SOURCE.md: 5,000 calls, 2021-01-01 to 2021-03-31 (90 days), 946 not answered.
    assert result.records_read == 5_000
    assert result.records_accepted == 5_000
    assert result.records_quarantined == 0
    assert result.reconciles
    accepted = result.accepted
    assert accepted["interaction_id"].is_unique().all()
    assert accepted["business_date"].n_unique() == 90
    assert accepted["business_date"].min() == date(2021, 1, 1)
    assert accepted["business_date"].max() == date(2021, 3, 31)
    assert accepted.filter(~pl.col("answered")).height == 946
    statuses = dict(accepted.group_by("status").len().rows())
    assert statuses == {"resolved": 3_646, "unresolved": 408, "abandoned": 946}
    assert accepted["csat_score"].null_count() == 946
    assert accepted["quality_flags"].null_count() == 5_000
    answered = accepted.filter(pl.col("answered"))
    assert answered["handle_seconds"].min() == 30.0 and answered["handle_seconds"].max() == 420.0
