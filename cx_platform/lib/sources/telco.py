"""IBM Telco customer churn sample (``Telco-Customer-Churn.csv``): one customer per record.

A snapshot table with no timestamps, mapped to the canonical CUSTOMERS table (no business date):
``customerID`` -> ``customer_id`` (a fictional key, kept as is), ``tenure`` -> ``tenure_months``,
``Contract``, ``PaymentMethod``, ``InternetService``, ``MonthlyCharges`` -> ``monthly_revenue``,
``TotalCharges`` -> ``total_revenue``, ``Churn`` Yes/No -> ``churned``. ``acquisition_channel`` is not
in the file and stays null.

``TotalCharges`` is text in the file and a single space for the brand-new customers (tenure 0) who
have not been billed yet: that becomes a null ``total_revenue``, and the customer is accepted.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from pathlib import Path

from cx_platform.lib import schemas
from cx_platform.lib.sources.base import AdapterResult, QuarantineLog, csv_line, file_label, rows_frame

SOURCE = "telco_churn"
FILE_PATTERNS = ("Telco-Customer-Churn.csv",)

REQUIRED_COLUMNS = (
    "customerID",
    "tenure",
    "Contract",
    "PaymentMethod",
    "InternetService",
    "MonthlyCharges",
    "TotalCharges",
    "Churn",
)
CHURN = {"Yes": True, "No": False}
MAX_TENURE_MONTHS = 1200  # a century: anything longer is a corrupt value, not a customer


class RecordError(ValueError):
    """A customer record that cannot be read; the message is the quarantine reason."""


def read(files: list[Path], business_tz: str = "UTC") -> AdapterResult:
    """``business_tz`` is accepted for the common adapter signature; a snapshot has no business date."""
    quarantine = QuarantineLog(SOURCE)
    rows: list[dict] = []
    first_seen: dict[str, str] = {}  # customer id -> where it was first accepted
    records_read = 0

    for path in files:
        label = file_label(path)
        header, records = _read_csv(path)
        if not header:  # an empty file
            continue
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise ValueError(f"{label}: not a Telco churn header, missing columns {missing}")
        for record, fields in records:
            records_read += 1
            try:
                if len(fields) != len(header):
                    raise RecordError(f"wrong field count: expected {len(header)}, got {len(fields)}")
                row = _customer_row(dict(zip(header, fields, strict=True)), label, record)
                if row["customer_id"] in first_seen:
                    raise RecordError(
                        f"duplicate customerID {row['customer_id']} (first at {first_seen[row['customer_id']]})"
                    )
            except RecordError as err:
                quarantine.add(label, record, str(err), csv_line(fields))
                continue
            first_seen[row["customer_id"]] = f"{label} record {record}"
            rows.append(row)

    accepted = schemas.conform(rows_frame(rows, schemas.CUSTOMERS), schemas.CUSTOMERS)
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
    with path.open(encoding="utf-8-sig", newline="") as handle:
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


def _customer_row(fields: dict[str, str], source_file: str, record: int) -> dict:
    customer_id = fields["customerID"].strip()
    if not customer_id:
        raise RecordError("missing customerID")
    tenure = fields["tenure"].strip()
    if not (tenure.isascii() and tenure.isdigit()):
        raise RecordError(f"tenure is not a whole number of months: {fields['tenure']!r}")
    if int(tenure) > MAX_TENURE_MONTHS:
        raise RecordError(f"tenure out of range: {fields['tenure']!r}")
    churn = fields["Churn"].strip()
    if churn not in CHURN:
        raise RecordError(f"Churn is not Yes/No: {fields['Churn']!r}")
    return {
        "customer_id": customer_id,
        "source": SOURCE,
        "tenure_months": int(tenure),
        "contract": fields["Contract"].strip() or None,
        "payment_method": fields["PaymentMethod"].strip() or None,
        "internet_service": fields["InternetService"].strip() or None,
        "monthly_revenue": _parse_amount(fields["MonthlyCharges"], "MonthlyCharges", blank_ok=False),
        "total_revenue": _parse_amount(fields["TotalCharges"], "TotalCharges", blank_ok=True),
        "churned": CHURN[churn],
        "source_file": source_file,
        "source_record": record,
    }


def _parse_amount(value: str, column: str, *, blank_ok: bool) -> float | None:
    text = value.strip()
    if not text:
        if blank_ok:
            return None
        raise RecordError(f"missing {column}")
    try:
        amount = float(text)
    except ValueError:
        raise RecordError(f"non-numeric {column}: {value!r}") from None
    if not math.isfinite(amount):
        raise RecordError(f"non-numeric {column}: {value!r}")
    return amount
