from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from cx_platform.lib import schemas
from cx_platform.lib.sources import nps
from cx_platform.lib.sources.base import AdapterResult

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
SAMPLE = SAMPLES / "nps_verbatims" / "text_data_to_2018-04.csv"
LABEL = "nps_verbatims/text_data_to_2018-04.csv"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def nps_id(record: int) -> str:
    return f"nps:text_data_to_2018-04:{record}"


# Appended after the header and the first 17 real records (no multi-line fields in this file).
CRAFTED = [
    # 18: a real record from line 201 of the file: no score, no rating, a fragment as comment
    "12/03/2018 19:45,First Payment,,,t paying customers like this.,other",
    # 19: 31 February
    "31/02/2018 10:00,Order,Promoter,10,great,other",
    # 20: month-first date, as another export might write it
    "04/13/2018 10:00,Order,Promoter,10,great,other",
    # 21-23: scores that are not 0-10 integers
    "01/03/2018 10:00,Order,Promoter,11,great,other",
    "01/03/2018 10:00,Order,Passive,7.5,ok,other",
    "01/03/2018 10:00,Order,Detractor,-1,bad,other",
    # 24: no comment
    "01/03/2018 10:00,Order,Passive,8,,other",
    # 25: a field too many
    "01/03/2018 10:00,Order,Passive,8,ok,other,extra",
    # 26: just after midnight in summer time (BST, UTC+1)
    "01/06/2018 00:30,Service in Use,Promoter,9,fine,Q1",
    # 27: personal data in the comment
    '02/03/2018 09:15,Equipment Received,Detractor,2,"mail me, jo.bloggs@example.co.uk",Q1',
    # 28: score and rating disagree
    "02/03/2018 09:15,Order,Detractor,9,hmm,other",
    # 29: a wall-clock time that did not exist (clocks went forward at 01:00 on 25 March 2018)
    "25/03/2018 01:30,Order,Passive,7,ok,other",
    # 30: text where the score should be
    "02/03/2018 09:15,Order,Passive,seven,ok,other",
]


def head_lines(path: Path, n_lines: int) -> bytes:
    data = path.read_bytes()
    pos = 0
    for _ in range(n_lines):
        pos = data.index(b"\n", pos) + 1
    return data[:pos]


@pytest.fixture()
def slice_file(tmp_path: Path) -> Path:
    folder = tmp_path / "nps_verbatims"
    folder.mkdir()
    path = folder / "text_data_to_2018-04.csv"
    path.write_bytes(head_lines(SAMPLE, 1 + 17) + ("\n".join(CRAFTED) + "\n").encode())
    return path


@pytest.fixture()
def result(slice_file: Path) -> AdapterResult:
    return nps.read([slice_file], business_tz="Europe/London")


@pytest.fixture()
def rows(result) -> dict[str, dict]:
    return {row["interaction_id"]: row for row in result.accepted.to_dicts()}


def test_counts_and_reconciliation(result):
    assert result.source == "nps_verbatims"
    assert result.records_read == 30
    assert result.records_quarantined == 7
    assert result.records_accepted == 23
    assert result.reconciles
    assert result.files == [LABEL]
    assert result.accepted.schema == schemas.INTERACTIONS
    assert result.quarantine.schema == schemas.QUARANTINE
    assert result.accepted["interaction_id"].is_unique().all()


def test_quarantine_reasons(result):
    assert set(result.quarantine["source_file"]) == {LABEL}
    reasons = dict(result.quarantine.select("source_record", "reason").rows())
    assert reasons == {
        19: "unparseable CUSTOMER_RESPONSE_DATE: '31/02/2018 10:00'",
        20: "unparseable CUSTOMER_RESPONSE_DATE: '04/13/2018 10:00'",
        21: "NPS_SCORE out of range 0-10: '11'",
        22: "non-integer NPS_SCORE: '7.5'",
        23: "NPS_SCORE out of range 0-10: '-1'",
        25: "wrong field count: 7, expected 6",
        30: "non-numeric NPS_SCORE: 'seven'",
    }
    assert result.quarantine["raw"][2] == "01/03/2018 10:00,Order,Promoter,11,great,other"


def test_real_records(rows):
    first = rows[nps_id(1)]
    assert first["source"] == "nps_verbatims"
    assert first["kind"] == "survey"
    assert first["channel"] == "other"
    assert first["brand"] == "company"
    assert first["source_reason"] == "Order"
    assert first["nps_score"] == 7
    # 11/04/2018 20:09 is 11 April (day first), British Summer Time: 19:09 UTC.
    assert first["created_at"] == utc(2018, 4, 11, 19, 9)
    assert first["business_date"] == date(2018, 4, 11)
    assert first["transcript"] == "The process was good I need to see how good the rest of the service is"
    assert first["n_messages"] == 1
    assert first["source_file"] == LABEL
    assert first["source_record"] == 1
    assert first["quality_flags"] is None
    assert first["customer_id"] is None and first["csat_score"] is None and first["status"] is None

    # 21/02/2018 19:39 is in winter (GMT = UTC).
    third = rows[nps_id(3)]
    assert third["created_at"] == utc(2018, 2, 21, 19, 39)
    assert third["source_reason"] == "First Payment"
    assert third["nps_score"] == 3

    # 07/04/2018 is 7 April, not 4 July.
    assert rows[nps_id(2)]["created_at"] == utc(2018, 4, 7, 12, 37)
    assert rows[nps_id(2)]["nps_score"] == 10

    quoted = rows[nps_id(17)]
    assert quoted["transcript"] == "good communication, price and  delivery as advertised"
    assert quoted["created_at"] == utc(2018, 4, 19, 18, 33)

    no_score = rows[nps_id(18)]
    assert no_score["nps_score"] is None
    assert no_score["transcript"] == "t paying customers like this."
    assert no_score["created_at"] == utc(2018, 3, 12, 19, 45)


def test_crafted_records(rows):
    empty_text = rows[nps_id(24)]
    assert empty_text["transcript"] is None and empty_text["n_messages"] == 0
    assert empty_text["nps_score"] == 8

    midnight = rows[nps_id(26)]
    assert midnight["created_at"] == utc(2018, 5, 31, 23, 30)
    assert midnight["business_date"] == date(2018, 6, 1)  # business tz Europe/London
    assert midnight["source_reason"] == "Service in Use"

    assert rows[nps_id(27)]["transcript"] == "mail me, [EMAIL]"
    assert rows[nps_id(28)]["quality_flags"] == "nps_rating_mismatch"

    gap = rows[nps_id(29)]
    assert gap["quality_flags"] == "nonexistent_local_time"
    assert gap["created_at"] == utc(2018, 3, 25, 1, 30)


def test_business_date_follows_business_tz(slice_file: Path):
    rows = {row["interaction_id"]: row for row in nps.read([slice_file]).accepted.to_dicts()}
    assert rows[nps_id(26)]["created_at"] == utc(2018, 5, 31, 23, 30)
    assert rows[nps_id(26)]["business_date"] == date(2018, 5, 31)  # default business tz UTC


def test_same_file_twice_is_duplicate(slice_file: Path):
    result = nps.read([slice_file, slice_file])
    assert result.records_read == 60
    assert result.records_accepted == 23
    assert result.quarantine.filter(pl.col("reason") == "duplicate id").height == 23
    assert result.reconciles


@pytest.mark.skipif(not SAMPLE.exists(), reason="NPS sample not present")
def test_full_sample_file():
    result = nps.read([SAMPLE], business_tz="Europe/London")
    assert result.records_read == 1_872
    assert result.records_accepted == 1_872
    assert result.records_quarantined == 0
    assert result.reconciles
    acc = result.accepted
    # SOURCE.md's "30 rows have no score" is for the full 2,385-row package data; this slice holds 27 of them.
    assert acc["nps_score"].null_count() == 27
    assert acc["nps_score"].min() == 0 and acc["nps_score"].max() == 10
    assert acc.filter(pl.col("nps_score") == 0).height == 598
    assert acc.filter(pl.col("nps_score") >= 9).height == 401 + 128
    assert acc["business_date"].min() == date(2017, 12, 11)
    assert acc["business_date"].max() == date(2018, 4, 30)
    assert acc["transcript"].null_count() == 0
    assert acc["quality_flags"].null_count() == 1_872
    assert dict(acc.group_by("source_reason").len().rows()) == {
        "First Payment": 877,
        "Order": 769,
        "Equipment Received": 197,
        "Service in Use": 29,
    }


def test_autumn_hour_is_flagged_ambiguous(tmp_path: Path):
    path = tmp_path / "nps_verbatims" / "autumn.csv"
    path.parent.mkdir()
    path.write_text(
        "CUSTOMER_RESPONSE_DATE,SURVEY_SUB_TYPE,NPS_RATING,NPS_SCORE,text,Qtr\n"
        "28/10/2018 01:30,Order,Passive,7,ok,other\n"
        "28/10/2018 02:30,Order,Passive,7,ok,other\n"
    )
    acc = nps.read([path]).accepted
    assert acc["interaction_id"].to_list() == ["nps:autumn:1", "nps:autumn:2"]
    assert acc["quality_flags"].to_list() == ["ambiguous_local_time", None]
    # the first of the two 01:30s (still BST), then 02:30 GMT
    assert acc["created_at"].to_list() == [utc(2018, 10, 28, 0, 30), utc(2018, 10, 28, 2, 30)]


def test_missing_header_is_an_error(tmp_path: Path):
    path = tmp_path / "nps_verbatims" / "no_header.csv"
    path.parent.mkdir()
    path.write_text("11/04/2018 20:09,Order,Passive,7,ok,other\n")
    with pytest.raises(ValueError, match="no NPS header"):
        nps.read([path])
