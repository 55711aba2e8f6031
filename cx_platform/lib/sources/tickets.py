"""Customer support tickets (Kaggle "suraj520/customer-support-ticket-dataset"): SYNTHETIC data.

One CSV record per ticket; descriptions are quoted and span several lines, so records are split by the
csv module, never by line. Mapping to one canonical interaction per ticket:

* ``interaction_id`` ``tickets:<Ticket ID>``; ``brand`` = Product Purchased; ``queue`` = Ticket Priority;
  ``source_reason`` = Ticket Type; ``channel`` from Ticket Channel (an unknown value becomes ``other``);
* ``customer_id`` = pseudonymised Customer Email; the customer's name and e-mail are never stored;
* ``status``: Closed -> ``resolved``, Open -> ``open``, Pending Customer Response -> ``pending``;
  ``resolved`` = Closed;
* timestamps (naive ``YYYY-MM-DD HH:MM:SS``, read as UTC): the file has NO creation time, so
  ``created_at`` = First Response Time, the earliest time known (flag ``created_at_is_first_response``)
  and ``first_response_at`` stays null rather than faking a zero first-response time;
  ``resolved_at`` = Time to Resolution, flagged ``resolved_before_first_response`` when it is earlier;
  ``handle_seconds`` = the assigned-open time, resolution - first response (null when negative).
  Open tickets have neither timestamp and cannot be placed on a business date: they are quarantined;
* ``csat_score`` = Customer Satisfaction Rating (``4.0`` -> 4); anything but a whole number 1..5 is
  quarantined, never clipped;
* ``transcript`` = ``<Ticket Subject>: <Ticket Description>`` with the ``{product_purchased}``
  placeholder filled in, PII redacted; ``n_messages`` = 1, plus 1 when there is a Resolution.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cx_platform.lib import schemas
from cx_platform.lib.redact import pseudonymize, redact_text
from cx_platform.lib.sources.base import (
    AdapterResult,
    QuarantineLog,
    csv_line,
    file_label,
    rows_frame,
    with_business_date,
)

SOURCE = "customer_support_tickets"
FILE_PATTERNS = ("*.csv",)
ID_PREFIX = "tickets"

REQUIRED_COLUMNS = (
    "Ticket ID",
    "Customer Email",
    "Product Purchased",
    "Ticket Type",
    "Ticket Subject",
    "Ticket Description",
    "Ticket Status",
    "Resolution",
    "Ticket Priority",
    "Ticket Channel",
    "First Response Time",
    "Time to Resolution",
    "Customer Satisfaction Rating",
)
CHANNELS = {"Email": "email", "Phone": "phone", "Chat": "chat", "Social media": "social"}
STATUSES = {"Closed": "resolved", "Open": "open", "Pending Customer Response": "pending"}
PLACEHOLDER = "{product_purchased}"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
NO_TIMESTAMP = "no timestamp: cannot place ticket on a business date"
# Never stored, not even in quarantine: the raw record keeps these fields as a mask.
PERSONAL_COLUMNS = ("Customer Name", "Customer Email")
MASK = "[REDACTED]"


class RecordError(ValueError):
    """A ticket record that cannot be read; the message is the quarantine reason."""


def read(files: list[Path], business_tz: str = "UTC") -> AdapterResult:
    quarantine = QuarantineLog(SOURCE)
    rows: list[dict] = []
    first_seen: dict[int, str] = {}  # ticket id -> where it was first accepted
    records_read = 0

    for path in files:
        label = file_label(path)
        header, records = _read_csv(path)
        if not header:  # an empty file
            continue
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise ValueError(f"{label}: not a customer-support-tickets header, missing columns {missing}")
        personal = [header.index(name) for name in PERSONAL_COLUMNS if name in header]
        for record, fields in records:
            records_read += 1
            # Mask by header position, also on a record of the wrong length (best effort; e-mail
            # addresses elsewhere are caught by the redaction of the quarantine log).
            raw = csv_line([MASK if i in personal else field for i, field in enumerate(fields)])
            try:
                if len(fields) != len(header):
                    raise RecordError(f"wrong field count: expected {len(header)}, got {len(fields)}")
                ticket_id, row = _ticket_row(dict(zip(header, fields, strict=True)), label, record)
                if ticket_id in first_seen:
                    raise RecordError(f"duplicate Ticket ID {ticket_id} (first at {first_seen[ticket_id]})")
            except RecordError as err:
                quarantine.add(label, record, str(err), raw)
                continue
            first_seen[ticket_id] = f"{label} record {record}"
            rows.append(row)

    frame = rows_frame(rows, schemas.INTERACTIONS)
    accepted = schemas.conform(with_business_date(frame, business_tz), schemas.INTERACTIONS)
    return AdapterResult(
        source=SOURCE,
        records_read=records_read,
        records_accepted=len(rows),
        accepted=accepted,
        quarantine=quarantine.frame(),
        files=[file_label(path) for path in files],
    )


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header, and ``(record number, fields)`` for each data record of ``path``."""
    with path.open(encoding="utf-8-sig", newline="") as handle:  # newline="": quoted fields keep their line breaks
        reader = csv.reader(io.StringIO(handle.read(), newline=""))
    header = next(reader, [])

    def records() -> Iterator[tuple[int, list[str]]]:
        record = 0
        for fields in reader:
            if not fields:  # a blank line holds no record
                continue
            record += 1
            yield record, fields

    return header, records()


def _ticket_row(fields: dict[str, str], source_file: str, record: int) -> tuple[int, dict]:
    """``(Ticket ID, canonical row)`` of one ticket record; RecordError when it cannot be accepted."""
    ticket_id = _parse_ticket_id(fields["Ticket ID"])
    status_text = fields["Ticket Status"].strip()
    if status_text not in STATUSES:
        raise RecordError(f"unknown Ticket Status: {status_text!r}")
    first_response = _parse_timestamp(fields["First Response Time"], "First Response Time")
    resolution_time = _parse_timestamp(fields["Time to Resolution"], "Time to Resolution")
    csat = _parse_csat(fields["Customer Satisfaction Rating"])

    flags = []
    if first_response is not None:
        created_at = first_response
        flags.append("created_at_is_first_response")
    elif resolution_time is not None:
        created_at = resolution_time
        flags.append("created_at_is_resolution_time")
    else:
        raise RecordError(NO_TIMESTAMP)
    # Assigned-open time (first agent response -> resolution) is the ticket's handling time; a
    # resolution stamped before the first response is impossible: flagged, and no handling time.
    handle_seconds = None
    if first_response is not None and resolution_time is not None:
        if resolution_time < first_response:
            flags.append("resolved_before_first_response")
        else:
            handle_seconds = (resolution_time - first_response).total_seconds()

    product = fields["Product Purchased"].strip() or None
    channel_text = fields["Ticket Channel"].strip()
    subject = fields["Ticket Subject"].strip()
    description = fields["Ticket Description"].strip()
    if product:
        description = description.replace(PLACEHOLDER, product)
    transcript = f"{subject}: {description}" if subject else description

    return ticket_id, {
        "interaction_id": f"{ID_PREFIX}:{ticket_id}",
        "source": SOURCE,
        "kind": "contact",
        "brand": product,
        "channel": CHANNELS.get(channel_text, "other") if channel_text else None,
        "customer_id": pseudonymize(fields["Customer Email"]),
        "queue": fields["Ticket Priority"].strip() or None,
        "source_reason": fields["Ticket Type"].strip() or None,
        "created_at": created_at,
        "resolved_at": resolution_time,
        "handle_seconds": handle_seconds,
        "status": STATUSES[status_text],
        "resolved": status_text == "Closed",
        "csat_score": csat,
        "n_messages": 1 + (1 if fields["Resolution"].strip() else 0),
        "transcript": redact_text(transcript) or None,
        "quality_flags": ",".join(flags) or None,
        "source_file": source_file,
        "source_record": record,
    }


def _parse_ticket_id(value: str) -> int:
    value = value.strip()
    if not value:
        raise RecordError("missing Ticket ID")
    if not value.isascii() or not value.isdigit():
        raise RecordError(f"non-numeric Ticket ID: {value!r}")
    return int(value)


def _parse_timestamp(value: str, column: str) -> dt.datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise RecordError(f"unparseable {column}: {value!r}") from None


def _parse_csat(value: str) -> int | None:
    """``4.0`` -> 4; blank -> None; a fraction or anything outside 1..5 is an error, never clipped."""
    value = value.strip()
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RecordError(f"non-numeric Customer Satisfaction Rating: {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise RecordError(f"Customer Satisfaction Rating is not a whole number: {value!r}")
    if not 1 <= number <= 5:
        raise RecordError(f"Customer Satisfaction Rating out of 1..5: {value!r}")
    return int(number)
