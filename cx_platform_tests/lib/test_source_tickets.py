"""Customer-support-tickets adapter: mapping, flags, quarantine and reconciliation.

The slice is the header and the first six records of data/samples/customer_support_tickets/
customer_support_tickets.csv, copied byte for byte (descriptions span several lines); the "bad" rows
are real rows altered on purpose. The data is synthetic (Faker names and example.com addresses).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cx_platform.lib import schemas
from cx_platform.lib.redact import pseudonymize
from cx_platform.lib.sources import tickets

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "customer_support_tickets"
UTC = dt.timezone.utc

HEADER = 'Ticket ID,Customer Name,Customer Email,Customer Age,Customer Gender,Product Purchased,Date of Purchase,Ticket Type,Ticket Subject,Ticket Description,Ticket Status,Resolution,Ticket Priority,Ticket Channel,First Response Time,Time to Resolution,Customer Satisfaction Rating\n'
TICKET_1 = (
    '1,Marisa Obrien,carrollallison@example.com,32,Other,GoPro Hero,2021-03-22,Technical issue,Product setup,"I\'m having an issue with the {product_purchased}. Please assist.\n'
    '\n'
    'Your billing zip code is: 71701.\n'
    '\n'
    'We appreciate that you have requested a website address.\n'
    '\n'
    'Please double check your email address. I\'ve tried troubleshooting steps mentioned in the user manual, but the issue persists.",Pending Customer Response,,Critical,Social media,2023-06-01 12:15:36,,\n'
)
TICKET_2 = (
    '2,Jessica Rios,clarkeashley@example.com,42,Female,LG Smart TV,2021-05-22,Technical issue,Peripheral compatibility,"I\'m having an issue with the {product_purchased}. Please assist.\n'
    '\n'
    'If you need to change an existing product.\n'
    '\n'
    "I'm having an issue with the {product_purchased}. Please assist.\n"
    '\n'
    'If The issue I\'m facing is intermittent. Sometimes it works fine, but other times it acts up unexpectedly.",Pending Customer Response,,Critical,Chat,2023-06-01 16:45:38,,\n'
)
TICKET_3 = (
    '3,Christopher Robbins,gonzalestracy@example.com,48,Other,Dell XPS,2020-07-14,Technical issue,Network problem,"I\'m facing a problem with my {product_purchased}. The {product_purchased} is not turning on. It was working fine until yesterday, but now it doesn\'t respond.\n'
    '\n'
    '1.8.3 I really I\'m using the original charger that came with my {product_purchased}, but it\'s not charging properly.",Closed,Case maybe show recently my computer follow.,Low,Social media,2023-06-01 11:14:38,2023-06-01 18:05:38,3.0\n'
)
TICKET_4 = (
    '4,Christina Dillon,bradleyolson@example.org,27,Female,Microsoft Office,2020-11-13,Billing inquiry,Account access,"I\'m having an issue with the {product_purchased}. Please assist.\n'
    '\n'
    'If you have a problem you\'re interested in and I\'d love to see this happen, please check out the Feedback. I\'ve already contacted customer support multiple times, but the issue remains unresolved.",Closed,Try capital clearly never color toward story.,Low,Social media,2023-06-01 07:29:40,2023-06-01 01:57:40,3.0\n'
)
TICKET_5 = (
    '5,Alexander Carroll,bradleymark@example.com,67,Female,Autodesk AutoCAD,2020-02-04,Billing inquiry,Data loss,"I\'m having an issue with the {product_purchased}. Please assist.\n'
    '\n'
    '\n'
    'Note: The seller is not responsible for any damages arising out of the delivery of the battleground game. Please have the game in good condition and shipped to you I\'ve noticed a sudden decrease in battery life on my {product_purchased}. It used to last much longer.",Closed,West decision evidence bit.,Low,Email,2023-06-01 00:12:42,2023-06-01 19:53:42,1.0\n'
)
TICKET_6 = (
    '6,Rebecca Fleming,sheenasmith@example.com,53,Male,Microsoft Office,2020-07-28,Cancellation request,Payment issue,"I\'m facing a problem with my {product_purchased}. The {product_purchased} is not turning on. It was working fine until yesterday, but now it doesn\'t respond. To remove the new {product_purch I\'ve checked for any available software updates for my {product_purchased}, but there are none.",Open,,Low,Social media,,,\n'
)


# Real records 1-6: 1, 2 pending (first response only); 3, 5 closed; 4 closed and resolved BEFORE its
# first response; 6 open (no timestamp at all).
REAL_1_6 = TICKET_1 + TICKET_2 + TICKET_3 + TICKET_4 + TICKET_5 + TICKET_6
PERSONAL = ("Marisa Obrien", "carrollallison@example.com", "Rebecca Fleming", "sheenasmith@example.com")


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def altered(ticket: str, ticket_id: int, old: str, new: str) -> str:
    """A copy of a real record under another Ticket ID, with one value changed."""
    assert ticket.count(old) == 1
    return str(ticket_id) + ticket[ticket.index(",") :].replace(old, new)


def test_maps_real_tickets(tmp_path):
    path = write(tmp_path / "customer_support_tickets.csv", HEADER + REAL_1_6)

    result = tickets.read([path])

    assert (result.records_read, result.records_accepted, result.records_quarantined) == (6, 5, 1)
    assert result.reconciles
    assert result.accepted.schema == schemas.INTERACTIONS
    rows = {row["interaction_id"]: row for row in result.accepted.iter_rows(named=True)}
    assert list(rows) == [f"tickets:{i}" for i in range(1, 6)]

    pending = rows["tickets:1"]
    assert pending["source_record"] == 1
    assert pending["source_file"] == f"{tmp_path.name}/customer_support_tickets.csv"
    assert (pending["source"], pending["kind"]) == ("customer_support_tickets", "contact")
    assert pending["brand"] == "GoPro Hero"
    assert pending["channel"] == "social"
    assert pending["customer_id"] == pseudonymize("carrollallison@example.com")
    assert (pending["queue"], pending["source_reason"]) == ("Critical", "Technical issue")
    assert (pending["status"], pending["resolved"]) == ("pending", False)
    assert pending["created_at"] == dt.datetime(2023, 6, 1, 12, 15, 36, tzinfo=UTC)
    assert pending["first_response_at"] is None  # never faked from created_at
    assert pending["resolved_at"] is None
    assert pending["csat_score"] is None
    assert pending["n_messages"] == 1
    assert pending["quality_flags"] == "created_at_is_first_response"
    assert pending["business_date"] == dt.date(2023, 6, 1)
    assert pending["transcript"].startswith(
        "Product setup: I'm having an issue with the GoPro Hero. Please assist.\n\nYour billing zip code is: 71701."
    )

    assert rows["tickets:2"]["channel"] == "chat"
    assert rows["tickets:5"]["channel"] == "email"
    assert rows["tickets:5"]["csat_score"] == 1

    closed = rows["tickets:3"]
    assert (closed["status"], closed["resolved"], closed["csat_score"], closed["n_messages"]) == (
        "resolved",
        True,
        3,
        2,
    )
    assert closed["created_at"] == dt.datetime(2023, 6, 1, 11, 14, 38, tzinfo=UTC)
    assert closed["resolved_at"] == dt.datetime(2023, 6, 1, 18, 5, 38, tzinfo=UTC)
    assert closed["quality_flags"] == "created_at_is_first_response"
    assert closed["transcript"].count("Dell XPS") == 3
    assert "{product_purchased}" not in closed["transcript"]

    early = rows["tickets:4"]  # resolved 01:57:40, first response 07:29:40: kept, flagged
    assert early["resolved_at"] == dt.datetime(2023, 6, 1, 1, 57, 40, tzinfo=UTC)
    assert early["quality_flags"] == "created_at_is_first_response,resolved_before_first_response"

    (quarantined,) = result.quarantine.iter_rows(named=True)
    assert quarantined["source_record"] == 6
    assert quarantined["reason"] == "no timestamp: cannot place ticket on a business date"
    assert quarantined["raw"].startswith("6,[REDACTED],[REDACTED],53,Male,Microsoft Office,")


def test_names_and_emails_are_never_stored(tmp_path):
    path = write(tmp_path / "customer_support_tickets.csv", HEADER + REAL_1_6)

    result = tickets.read([path])

    for frame in (result.accepted, result.quarantine):
        text = frame.select(pl.col(pl.String)).write_csv()
        for value in PERSONAL:
            assert value not in text


def test_bad_tickets_are_quarantined_with_a_reason(tmp_path):
    bad = (
        TICKET_3  # duplicate Ticket ID 3
        + altered(TICKET_3, 9001, ",3.0\n", ",4.5\n")
        + altered(TICKET_3, 9002, ",3.0\n", ",6.0\n")
        + altered(TICKET_3, 9003, ",3.0\n", ",0\n")
        + altered(TICKET_3, 9004, ",3.0\n", ",good\n")
        + altered(TICKET_3, 9005, "2023-06-01 11:14:38", "2023-06-31 11:14:38")
        + altered(TICKET_3, 9006, "2023-06-01 18:05:38", "tomorrow")
        + altered(TICKET_3, 9007, ",Closed,", ",Escalated,")
        + altered(TICKET_3, 9008, ",Low,Social media,", ",Social media,")
        + altered(TICKET_3, 9009, ",Social media,", ",Carrier pigeon,")  # accepted as channel "other"
    )
    path = write(tmp_path / "customer_support_tickets.csv", HEADER + REAL_1_6 + bad)

    result = tickets.read([path])

    label = f"{tmp_path.name}/customer_support_tickets.csv"
    assert (result.records_read, result.records_accepted, result.records_quarantined) == (16, 6, 10)
    assert result.reconciles
    assert result.quarantine.schema == schemas.QUARANTINE
    reasons = dict(zip(result.quarantine["source_record"], result.quarantine["reason"], strict=True))
    assert reasons == {
        6: "no timestamp: cannot place ticket on a business date",
        7: f"duplicate Ticket ID 3 (first at {label} record 3)",
        8: "Customer Satisfaction Rating is not a whole number: '4.5'",
        9: "Customer Satisfaction Rating out of 1..5: '6.0'",
        10: "Customer Satisfaction Rating out of 1..5: '0'",
        11: "non-numeric Customer Satisfaction Rating: 'good'",
        12: "unparseable First Response Time: '2023-06-31 11:14:38'",
        13: "unparseable Time to Resolution: 'tomorrow'",
        14: "unknown Ticket Status: 'Escalated'",
        15: "wrong field count: expected 17, got 16",
    }
    other = result.accepted.filter(pl.col("interaction_id") == "tickets:9009")
    assert other["channel"].to_list() == ["other"]
    assert other["csat_score"].to_list() == [3]


def test_empty_and_foreign_files(tmp_path):
    empty = write(tmp_path / "empty.csv", "")
    result = tickets.read([empty])
    assert (result.records_read, result.accepted.height) == (0, 0)
    assert result.accepted.schema == schemas.INTERACTIONS

    foreign = write(tmp_path / "other.csv", "Ticket ID,Subject\n1,x\n")
    with pytest.raises(ValueError, match="missing columns"):
        tickets.read([foreign])


@pytest.mark.skipif(not (SAMPLES / "customer_support_tickets.csv").exists(), reason="sample not present")
def test_real_file_reconciles():
    result = tickets.read([SAMPLES / "customer_support_tickets.csv"])

    assert result.records_read == 6000  # SOURCE.md: Ticket ID 1-6000
    assert result.reconciles
    # Every Open ticket (no First Response Time, no Time to Resolution) is quarantined, nothing else.
    assert result.records_quarantined == 1991
    assert result.quarantine["reason"].unique().to_list() == [
        "no timestamp: cannot place ticket on a business date"
    ]
    accepted = result.accepted
    assert accepted.height == 4009
    assert accepted["interaction_id"].is_unique().all()
    assert dict(accepted["status"].value_counts().iter_rows()) == {"pending": 2055, "resolved": 1954}
    assert accepted["csat_score"].count() == 1954  # SOURCE.md: 1,954 rated (Closed) tickets
    assert accepted["csat_score"].drop_nulls().is_between(1, 5).all()
    # SOURCE.md: Time to Resolution earlier than First Response Time in 945 of the 6,000 rows.
    assert accepted["quality_flags"].str.contains("resolved_before_first_response").sum() == 945
    assert accepted["first_response_at"].null_count() == accepted.height
    assert set(accepted["business_date"]) == {dt.date(2023, 5, 31), dt.date(2023, 6, 1)}
    assert not accepted["transcript"].str.contains("{product_purchased}", literal=True).any()


def test_handle_time_is_assigned_open_time_and_never_negative():
    result = tickets.read([SAMPLES / "customer_support_tickets.csv"])
    frame = result.accepted
    closed = frame.filter(pl.col("resolved_at").is_not_null())
    negative = closed.filter(pl.col("quality_flags").str.contains("resolved_before_first_response"))
    # SOURCE.md: 945 of the 6,000 rows resolve before their first response -> no handling time for them
    assert negative.height == 945 and negative["handle_seconds"].is_null().all()
    ok = closed.filter(pl.col("handle_seconds").is_not_null())
    expected = (ok["resolved_at"] - ok["created_at"]).dt.total_seconds().cast(pl.Float64)
    assert ok["handle_seconds"].equals(expected, check_names=False) and (ok["handle_seconds"] >= 0).all()
