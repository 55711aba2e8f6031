"""Telco churn adapter: mapping to CUSTOMERS, blank TotalCharges, quarantine and reconciliation.

Real records copied byte for byte from data/samples/telco_churn/Telco-Customer-Churn.csv (records 1-3
and record 489, a tenure-0 customer whose TotalCharges is a single space); the "bad" rows are real
rows altered on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cx_platform.lib import schemas
from cx_platform.lib.sources import telco

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "telco_churn"

HEADER = "customerID,gender,SeniorCitizen,Partner,Dependents,tenure,PhoneService,MultipleLines,InternetService,OnlineSecurity,OnlineBackup,DeviceProtection,TechSupport,StreamingTV,StreamingMovies,Contract,PaperlessBilling,PaymentMethod,MonthlyCharges,TotalCharges,Churn\n"
RECORD_1 = "7590-VHVEG,Female,0,Yes,No,1,No,No phone service,DSL,No,Yes,No,No,No,No,Month-to-month,Yes,Electronic check,29.85,29.85,No\n"
RECORD_2 = "5575-GNVDE,Male,0,No,No,34,Yes,No,DSL,Yes,No,Yes,No,No,No,One year,No,Mailed check,56.95,1889.5,No\n"
RECORD_3 = "3668-QPYBK,Male,0,No,No,2,Yes,No,DSL,Yes,Yes,No,No,No,No,Month-to-month,Yes,Mailed check,53.85,108.15,Yes\n"
RECORD_489 = "4472-LVYGI,Female,0,Yes,Yes,0,No,No phone service,DSL,Yes,No,Yes,Yes,Yes,No,Two year,Yes,Bank transfer (automatic),52.55, ,No\n"


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def altered(record: str, customer_id: str, old: str, new: str) -> str:
    """A copy of a real record under another customerID, with one value changed."""
    assert record.count(old) == 1
    return customer_id + record[record.index(",") :].replace(old, new)


def test_maps_real_customers(tmp_path):
    path = write(tmp_path / "Telco-Customer-Churn.csv", HEADER + RECORD_1 + RECORD_2 + RECORD_3 + RECORD_489)

    result = telco.read([path])

    assert (result.records_read, result.records_accepted, result.records_quarantined) == (4, 4, 0)
    assert result.reconciles
    assert result.accepted.schema == schemas.CUSTOMERS
    assert result.accepted.to_dicts()[0] == {
        "customer_id": "7590-VHVEG",
        "source": "telco_churn",
        "tenure_months": 1,
        "contract": "Month-to-month",
        "payment_method": "Electronic check",
        "internet_service": "DSL",
        "monthly_revenue": 29.85,
        "total_revenue": 29.85,
        "churned": False,
        "acquisition_channel": None,
        "source_file": f"{tmp_path.name}/Telco-Customer-Churn.csv",
        "source_record": 1,
    }
    rows = {row["customer_id"]: row for row in result.accepted.iter_rows(named=True)}
    assert rows["3668-QPYBK"]["churned"] is True
    assert rows["5575-GNVDE"]["total_revenue"] == 1889.5
    new_customer = rows["4472-LVYGI"]  # TotalCharges " ": not billed yet, accepted with a null total
    assert (new_customer["tenure_months"], new_customer["total_revenue"]) == (0, None)
    assert new_customer["monthly_revenue"] == 52.55
    assert new_customer["source_record"] == 4


def test_bad_customers_are_quarantined_with_a_reason(tmp_path):
    bad = (
        RECORD_1  # duplicate customerID
        + altered(RECORD_2, "0001-AAAAA", ",56.95,", ",abc,")
        + altered(RECORD_2, "0002-AAAAA", ",56.95,", ",,")
        + altered(RECORD_2, "0003-AAAAA", ",34,", ",x,")
        + altered(RECORD_2, "0004-AAAAA", ",34,", ",3.5,")
        + altered(RECORD_2, "0005-AAAAA", ",No\n", ",Maybe\n")
        + altered(RECORD_2, "0006-AAAAA", ",1889.5,", ",n/a,")
        + altered(RECORD_2, "0007-AAAAA", ",Mailed check,", ",Mailed, check,")
        + RECORD_2[RECORD_2.index(",") :]  # missing customerID
    )
    path = write(tmp_path / "Telco-Customer-Churn.csv", HEADER + RECORD_1 + bad)

    result = telco.read([path])

    label = f"{tmp_path.name}/Telco-Customer-Churn.csv"
    assert (result.records_read, result.records_accepted, result.records_quarantined) == (10, 1, 9)
    assert result.reconciles
    assert result.quarantine.schema == schemas.QUARANTINE
    reasons = dict(zip(result.quarantine["source_record"], result.quarantine["reason"], strict=True))
    assert reasons == {
        2: f"duplicate customerID 7590-VHVEG (first at {label} record 1)",
        3: "non-numeric MonthlyCharges: 'abc'",
        4: "missing MonthlyCharges",
        5: "tenure is not a whole number of months: 'x'",
        6: "tenure is not a whole number of months: '3.5'",
        7: "Churn is not Yes/No: 'Maybe'",
        8: "non-numeric TotalCharges: 'n/a'",
        9: "wrong field count: expected 21, got 22",
        10: "missing customerID",
    }
    assert result.quarantine["raw"][0] == RECORD_1.rstrip("\n")


def test_empty_and_foreign_files(tmp_path):
    empty = write(tmp_path / "Telco-Customer-Churn.csv", "")
    result = telco.read([empty])
    assert (result.records_read, result.accepted.height) == (0, 0)
    assert result.accepted.schema == schemas.CUSTOMERS

    foreign = write(tmp_path / "other.csv", "customerID,Churn\n1,No\n")
    with pytest.raises(ValueError, match="missing columns"):
        telco.read([foreign])


@pytest.mark.skipif(not (SAMPLES / "Telco-Customer-Churn.csv").exists(), reason="sample not present")
def test_real_file_reconciles():
    result = telco.read([SAMPLES / "Telco-Customer-Churn.csv"])

    assert result.records_read == 7043  # SOURCE.md: 7,043 customers
    assert result.reconciles
    assert result.records_quarantined == 0
    accepted = result.accepted
    assert accepted.schema == schemas.CUSTOMERS
    assert accepted["customer_id"].is_unique().all()
    assert accepted["total_revenue"].null_count() == 11  # SOURCE.md: 11 brand-new customers
    assert accepted.filter(accepted["total_revenue"].is_null())["tenure_months"].unique().to_list() == [0]
    assert accepted["churned"].sum() == 1869  # SOURCE.md: 26.5% Yes
    assert round(accepted["churned"].mean(), 3) == 0.265
    assert accepted["acquisition_channel"].null_count() == 7043
