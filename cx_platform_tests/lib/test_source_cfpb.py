from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from cx_platform.lib import schemas
from cx_platform.lib.sources import cfpb

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "cfpb_complaints"
FILE1 = SAMPLES / "complaints_sample.csv"
FILE2 = SAMPLES / "payday_loans_2023-01_to_06.csv"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def head_lines(path: Path, n_lines: int) -> bytes:
    """The first ``n_lines`` CSV lines of ``path``, byte for byte; a line ends at a newline outside quotes."""
    data = path.read_bytes()
    pos, quotes = 0, 0
    for _ in range(n_lines):
        while True:
            end = data.index(b"\n", pos) + 1
            quotes += data.count(b'"', pos, end)
            pos = end
            if quotes % 2 == 0:
                break
    return data[:pos]


# Crafted records appended to the real slice of file 1 (records 4-10 of that file).
CRAFTED_1 = "\n".join(
    [
        # 4: impossible date
        "2019-13-45,Debt collection,,Issue,,,,ACME,NY,10001,,Other,Web,2019-10-01,Closed,Yes,N/A,9000001",
        # 5: same id as record 1
        "2019-10-01,Debt collection,,Issue,,,,ACME,NY,10001,,Other,Web,2019-10-01,Closed,Yes,N/A,3571115",
        # 6: too few fields
        "2019-10-01,Debt collection,ACME,9000004",
        # 7: no Complaint ID
        "2019-10-01,Debt collection,,Issue,,,,ACME,NY,10001,,Other,Web,2019-10-01,Closed,Yes,N/A,",
        # 8: phone, in progress, sent before received, PII in the narrative
        '2019-10-01,Payday loan,,Issue,,"Call me at 212-555-1234 or mail jo@example.com",,ACME,NY,10001,,'
        "Consent provided,Phone,2019-09-30,In progress,Yes,N/A,9000002",
        # 9: legacy product name, referral, untimely, winter date (EST)
        "2016-12-02,Credit reporting,,Issue,,,,Equifax,NY,10001,,N/A,Referral,2016-12-05,Untimely response,"
        "No,No,9000003",
        # 10: non-numeric id
        "2019-10-01,Debt collection,,Issue,,,,ACME,NY,10001,,Other,Web,2019-10-01,Closed,Yes,N/A,CFPB-1",
    ]
)

# Crafted records appended (CRLF, as in the file) to the real slice of file 2 (records 3-5 of that file).
CRAFTED_2 = "\r\n".join(
    [
        # 3: `None` narrative and send date, fax channel
        "04/01/23,Payday loan,None,Issue,None,None,None,ACME,TX,None,None,None,Fax,None,"
        "Closed with explanation,Yes,N/A,9000005",
        # 4: same id as file 1's record 3: the earlier file wins
        "04/02/23,Payday loan,None,Issue,None,None,None,ACME,TX,None,None,None,Web,04/02/23,"
        "Closed,Yes,N/A,3379500",
        # 5: US date that does not exist
        "02/30/23,Payday loan,None,Issue,None,None,None,ACME,TX,None,None,None,Web,02/30/23,"
        "Closed,Yes,N/A,9000006",
    ]
)


@pytest.fixture()
def slices(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "cfpb_complaints"
    folder.mkdir()
    # File 1: two junk lines, the header and the first three records (record 2 has a multi-line narrative).
    f1 = folder / "complaints_sample.csv"
    f1.write_bytes(head_lines(FILE1, 2 + 1 + 3) + CRAFTED_1.encode() + b"\n")
    # File 2: the header and the first two records (CRLF endings, LF inside the narratives).
    f2 = folder / "payday_loans_2023-01_to_06.csv"
    f2.write_bytes(head_lines(FILE2, 1 + 2) + CRAFTED_2.encode() + b"\r\n")
    return f1, f2


def test_slice_files_are_real_prefixes(slices):
    f1, f2 = slices
    assert f1.read_bytes().startswith(b"Archive:  /Users/hvo/Downloads/complaints.csv.zip\n")
    assert FILE2.read_bytes().startswith(head_lines(FILE2, 3))
    assert head_lines(FILE2, 3).endswith(b",Yes,N/A,7001995\r\n")


def test_counts_and_reconciliation(slices):
    result = cfpb.read(list(slices), business_tz="America/New_York")
    assert result.source == "cfpb_complaints"
    assert result.records_read == 10 + 5
    assert result.records_accepted == 5 + 3
    assert result.records_quarantined == 5 + 2
    assert result.reconciles
    assert result.files == [
        "cfpb_complaints/complaints_sample.csv",
        "cfpb_complaints/payday_loans_2023-01_to_06.csv",
    ]
    assert result.accepted.schema == schemas.INTERACTIONS
    assert result.quarantine.schema == schemas.QUARANTINE
    assert result.accepted["interaction_id"].to_list() == [
        "cfpb:3571115",
        "cfpb:3384392",
        "cfpb:3379500",
        "cfpb:9000002",
        "cfpb:9000003",
        "cfpb:6731964",
        "cfpb:7001995",
        "cfpb:9000005",
    ]
    assert result.accepted["source_record"].to_list() == [1, 2, 3, 8, 9, 1, 2, 3]


def test_quarantine_reasons(slices):
    result = cfpb.read(list(slices), business_tz="America/New_York")
    assert result.quarantine.select("source_file", "source_record", "reason").rows() == [
        ("cfpb_complaints/complaints_sample.csv", 4, "unparseable Date received: '2019-13-45'"),
        ("cfpb_complaints/complaints_sample.csv", 5, "duplicate id"),
        ("cfpb_complaints/complaints_sample.csv", 6, "wrong field count: 4, expected 18"),
        ("cfpb_complaints/complaints_sample.csv", 7, "missing Complaint ID"),
        ("cfpb_complaints/complaints_sample.csv", 10, "non-numeric Complaint ID: 'CFPB-1'"),
        ("cfpb_complaints/payday_loans_2023-01_to_06.csv", 4, "duplicate id"),
        ("cfpb_complaints/payday_loans_2023-01_to_06.csv", 5, "unparseable Date received: '02/30/23'"),
    ]
    assert set(result.quarantine["source"]) == {"cfpb_complaints"}
    assert result.quarantine["raw"][1] == (
        "2019-10-01,Debt collection,,Issue,,,,ACME,NY,10001,,Other,Web,2019-10-01,Closed,Yes,N/A,3571115"
    )


def test_real_records_mapped(slices):
    result = cfpb.read(list(slices), business_tz="America/New_York")
    rows = {row["interaction_id"]: row for row in result.accepted.to_dicts()}

    first = rows["cfpb:3571115"]
    assert first["source"] == "cfpb_complaints"
    assert first["kind"] == "contact"
    assert first["brand"] == "TRANSUNION INTERMEDIATE HOLDINGS, INC."
    assert first["channel"] == "web"
    assert first["queue"] == "Credit reporting, credit repair services, or other personal consumer reports"
    assert first["source_reason"] == "Credit reporting"
    # 2020-03-18 midnight in New York (EDT, UTC-4) is 04:00 UTC; the business date is the date as given.
    assert first["created_at"] == utc(2020, 3, 18, 4)
    assert first["business_date"] == date(2020, 3, 18)
    assert first["first_response_at"] == utc(2020, 3, 18, 4)
    assert first["status"] == "resolved" and first["resolved"] is True
    assert first["resolved_at"] is None
    assert first["transcript"] is None and first["n_messages"] == 0
    assert first["customer_id"] is None and first["nps_score"] is None and first["quality_flags"] is None
    assert first["source_file"] == "cfpb_complaints/complaints_sample.csv"
    assert first["source_record"] == 1

    multi_line = rows["cfpb:3384392"]
    assert multi_line["transcript"] == (
        "transworld systems inc. \nis trying to collect a debt that is not mine, not owed and is inaccurate."
    )
    assert multi_line["n_messages"] == 1
    assert multi_line["source_reason"] == "Debt collection"
    assert multi_line["source_record"] == 2

    late = rows["cfpb:3379500"]
    assert late["created_at"] == utc(2019, 9, 19, 4)
    assert late["first_response_at"] == utc(2019, 9, 20, 4)
    assert late["quality_flags"] is None
    assert late["brand"] == "Experian Information Solutions Inc."

    payday = rows["cfpb:6731964"]
    assert payday["created_at"] == utc(2023, 3, 22, 4)  # US date 03/22/23
    assert payday["business_date"] == date(2023, 3, 22)
    assert payday["brand"] == "American First Finance, Inc."
    assert payday["source_reason"] == "Payday loan, title loan, or personal loan"
    assert payday["transcript"].startswith("This company 's offer was not clear. \n\nThis account was opened")
    assert payday["transcript"].endswith("They are basically a loan shark.")
    assert "\r" not in payday["transcript"]
    assert payday["source_file"] == "cfpb_complaints/payday_loans_2023-01_to_06.csv"
    assert payday["source_record"] == 1
    assert rows["cfpb:7001995"]["created_at"] == utc(2023, 5, 19, 4)
    assert rows["cfpb:7001995"]["brand"] == "Credit Fresh Holdings Inc"


def test_crafted_records_mapped(slices):
    result = cfpb.read(list(slices), business_tz="America/New_York")
    rows = {row["interaction_id"]: row for row in result.accepted.to_dicts()}

    phone = rows["cfpb:9000002"]
    assert phone["channel"] == "phone"
    assert phone["status"] == "open" and phone["resolved"] is False
    assert phone["quality_flags"] == "sent_before_received"
    assert phone["transcript"] == "Call me at [PHONE] or mail [EMAIL]"
    assert phone["source_reason"] == "Payday loan, title loan, or personal loan"
    assert phone["queue"] == "Payday loan"

    legacy = rows["cfpb:9000003"]
    assert legacy["channel"] == "other"
    assert legacy["status"] == "untimely" and legacy["resolved"] is False
    assert legacy["source_reason"] == "Credit reporting"
    assert legacy["created_at"] == utc(2016, 12, 2, 5)  # EST, UTC-5
    assert legacy["business_date"] == date(2016, 12, 2)

    nones = rows["cfpb:9000005"]
    assert nones["channel"] == "other"  # Fax
    assert nones["transcript"] is None and nones["n_messages"] == 0
    assert nones["first_response_at"] is None
    assert nones["created_at"] == utc(2023, 4, 1, 4)


def test_business_tz_default_utc(slices):
    result = cfpb.read(list(slices))
    first = result.accepted.row(0, named=True)
    assert first["created_at"] == utc(2020, 3, 18)
    assert first["business_date"] == date(2020, 3, 18)


def test_file_order_decides_duplicates(slices):
    f1, f2 = slices
    result = cfpb.read([f2, f1])
    q = result.quarantine.select("source_file", "source_record", "reason").rows()
    assert ("cfpb_complaints/complaints_sample.csv", 3, "duplicate id") in q
    assert ("cfpb_complaints/payday_loans_2023-01_to_06.csv", 4, "duplicate id") not in q
    assert result.reconciles


def test_missing_header_is_an_error(tmp_path: Path):
    bad = tmp_path / "x" / "no_header.csv"
    bad.parent.mkdir()
    bad.write_text("just,some\nrandom,lines\n")
    with pytest.raises(ValueError, match="no CFPB header"):
        cfpb.read([bad])


def test_empty_file_has_no_records(tmp_path: Path):
    empty = tmp_path / "cfpb_complaints" / "empty.csv"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    result = cfpb.read([empty])
    assert (result.records_read, result.records_accepted, result.records_quarantined) == (0, 0, 0)
    assert result.files == ["cfpb_complaints/empty.csv"]


def test_no_files():
    result = cfpb.read([])
    assert result.records_read == 0 and result.reconciles
    assert result.accepted.schema == schemas.INTERACTIONS and result.accepted.is_empty()


@pytest.mark.skipif(not FILE1.exists() or not FILE2.exists(), reason="CFPB samples not present")
def test_full_sample_files():
    result = cfpb.read([FILE1, FILE2], business_tz="America/New_York")
    assert result.records_read == 6_623 + 2_163
    assert result.records_accepted == 6_623 + 2_163
    assert result.records_quarantined == 0
    assert result.reconciles
    acc = result.accepted
    assert acc["interaction_id"].is_unique().all()

    by_file = {
        row["source_file"]: row
        for row in acc.group_by("source_file")
        .agg(
            pl.len().alias("n"),
            pl.col("transcript").is_not_null().sum().alias("narratives"),
            pl.col("business_date").min().alias("first"),
            pl.col("business_date").max().alias("last"),
            pl.col("business_date").n_unique().alias("days"),
            (pl.col("first_response_at") != pl.col("created_at")).sum().alias("sent_later"),
        )
        .to_dicts()
    }
    f1 = by_file["cfpb_complaints/complaints_sample.csv"]
    assert (f1["n"], f1["narratives"], f1["days"], f1["sent_later"]) == (6_623, 1_532, 502, 1_223)
    assert (f1["first"], f1["last"]) == (date(2015, 4, 6), date(2020, 3, 19))
    f2 = by_file["cfpb_complaints/payday_loans_2023-01_to_06.csv"]
    assert (f2["n"], f2["narratives"], f2["days"]) == (2_163, 2_163, 180)
    assert (f2["first"], f2["last"]) == (date(2023, 1, 1), date(2023, 6, 30))

    channels = dict(
        acc.filter(pl.col("source_file") == "cfpb_complaints/complaints_sample.csv")
        .group_by("channel")
        .len()
        .rows()
    )
    # Web 5,143, Referral 627 + Postal mail 267 + Fax 102 -> other, Phone 482, Email 2.
    assert channels == {"web": 5_143, "other": 996, "phone": 482, "email": 2}
    assert acc["n_messages"].sum() == 1_532 + 2_163


def test_disputes_and_timely_response_map_to_reopen_and_sla():
    result = cfpb.read([FILE1, FILE2])
    accepted = result.accepted
    # SOURCE.md: "Consumer disputed?" is filled only before April 2017 (file 1: 23 No, 9 Yes)
    assert accepted["reopened"].value_counts().sort("reopened").rows() == [(None, 8754), (False, 23), (True, 9)]
    # "Timely response?" No: 94 in file 1 + 68 in file 2
    assert accepted.filter(pl.col("responded_in_time").not_())["interaction_id"].len() == 94 + 68
