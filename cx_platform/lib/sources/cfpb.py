"""CFPB Consumer Complaint Database exports (the public 18-column CSV schema).

One record is one complaint. The files come in more than one flavour (see the source's SOURCE.md):

* junk lines before the header (an unzip log), so the header is found by its content;
* ISO dates (``2019-09-24``) or US dates with a two-digit year (``03/22/23``);
* empty values written as nothing, ``""``, the literal ``None`` or ``N/A``;
* LF or CRLF between records and bare LF inside quoted multi-line narratives.

``Date received`` is a calendar date without a time: ``created_at`` is midnight of that date in the
business time zone, as UTC, so that the business date equals the date the CFPB gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
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
)

SOURCE = "cfpb_complaints"  # the landing folder name
ID_PREFIX = "cfpb"
FILE_PATTERNS = ("*.csv",)

REQUIRED = ("Date received", "Complaint ID")

EMPTY_VALUES = {"", "none", "n/a"}
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y", "%Y/%m/%d")

CHANNELS = {
    "web": "web",
    "email": "email",
    "phone": "phone",
    "referral": "other",
    "postal mail": "other",
    "fax": "other",
}

# The CFPB renamed products over time; map the legacy and current names to one label per product.
# Names not listed here are kept as they are.
MONEY_TRANSFER = "Money transfer, virtual currency, or money service"
PRODUCTS = {
    "Credit reporting": "Credit reporting",
    "Credit reporting, credit repair services, or other personal consumer reports": "Credit reporting",
    "Credit reporting or other personal consumer reports": "Credit reporting",
    "Payday loan": "Payday loan, title loan, or personal loan",
    "Payday loan, title loan, or personal loan": "Payday loan, title loan, or personal loan",
    "Payday loan, title loan, personal loan, or advance loan": "Payday loan, title loan, or personal loan",
    "Credit card": "Credit card or prepaid card",
    "Prepaid card": "Credit card or prepaid card",
    "Credit card or prepaid card": "Credit card or prepaid card",
    "Bank account or service": "Checking or savings account",
    "Checking or savings account": "Checking or savings account",
    "Money transfers": MONEY_TRANSFER,
    "Virtual currency": MONEY_TRANSFER,
    MONEY_TRANSFER: MONEY_TRANSFER,
}


def _clean(value: str | None) -> str | None:
    """A field's value, or None for the empty markers the exports use."""
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in EMPTY_VALUES else value


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(timezone.utc)


def _status(response: str | None) -> tuple[str | None, bool | None]:
    """(status, resolved) from ``Company response to consumer``."""
    if response is None:
        return None, None
    response = response.lower()
    if response == "in progress":
        return "open", False
    if response.startswith("closed"):
        return "resolved", True
    if response == "untimely response":
        return "untimely", False
    return response, None


class Rejected(ValueError):
    """A record that goes to the quarantine; the message is the reason."""


def _records(path: Path) -> Iterator[Record]:
    """(record number, values by column or None, raw fields, parse error) for each data record of ``path``
    (see :func:`~cx_platform.lib.sources.base.csv_records`). Values are cleaned (see ``_clean``)."""
    return csv_records(path, REQUIRED, "CFPB", _clean)


YES_NO = {"Yes": True, "No": False}


def _interaction(values: dict[str, str | None], tz: ZoneInfo) -> dict:
    """One complaint in the canonical shape (without lineage); raises Rejected."""
    complaint_id = values.get("Complaint ID")
    if complaint_id is None:
        raise Rejected("missing Complaint ID")
    if not complaint_id.isdigit():
        raise Rejected(f"non-numeric Complaint ID: {complaint_id!r}")
    received = _parse_date(values.get("Date received"))
    if received is None:
        raise Rejected(f"unparseable Date received: {values.get('Date received')!r}")

    sent = _parse_date(values.get("Date sent to company"))
    flags = []
    if sent is not None and sent < received:
        flags.append("sent_before_received")
    if sent is None and values.get("Date sent to company") is not None:
        flags.append("unparseable_date_sent")
    narrative = values.get("Consumer complaint narrative")
    status, resolved = _status(values.get("Company response to consumer"))
    via = values.get("Submitted via")
    product = values.get("Product")
    return {
        "interaction_id": f"{ID_PREFIX}:{complaint_id}",
        "source": SOURCE,
        "kind": "contact",
        "brand": values.get("Company"),
        "channel": CHANNELS.get(via.lower(), "other") if via else "other",
        "queue": product,
        "source_reason": PRODUCTS.get(product, product) if product else None,
        "created_at": _midnight_utc(received, tz),
        "first_response_at": _midnight_utc(sent, tz) if sent else None,
        "status": status,
        "resolved": resolved,
        # "Consumer disputed?" (filled before April 2017 only): the consumer reopened the case
        "reopened": YES_NO.get(values.get("Consumer disputed?") or ""),
        "responded_in_time": YES_NO.get(values.get("Timely response?") or ""),
        "n_messages": 1 if narrative else 0,
        "transcript": redact_text(narrative),
        "quality_flags": ",".join(flags) or None,
    }


def read(files: list[Path], business_tz: str = "UTC") -> AdapterResult:
    tz = ZoneInfo(business_tz)
    quarantine = QuarantineLog(SOURCE)
    seen: set[str] = set()
    rows: list[dict] = []
    records_read = 0
    paths = [Path(f) for f in files]
    for path in paths:  # in the order given: on a duplicate id the earlier file wins
        label = file_label(path)
        for record, values, fields, error in _records(path):
            records_read += 1
            try:
                if error:
                    raise Rejected(error)
                row = _interaction(values, tz)
                if row["interaction_id"] in seen:
                    raise Rejected("duplicate id")
            except Rejected as rejected:
                quarantine.add(label, record, str(rejected), csv_line(fields))
                continue
            seen.add(row["interaction_id"])
            rows.append({**row, "source_file": label, "source_record": record})
    return interactions_result(SOURCE, rows, quarantine, records_read, paths, business_tz)
