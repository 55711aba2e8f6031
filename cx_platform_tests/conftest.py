"""Shared fixtures: small landing folders cut from the real shipped files, record by record."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def head_records(src: Path, dst: Path, n: int, preamble_lines: int = 0) -> Path:
    """Copy the first ``n`` CSV records of ``src`` (after the header) byte for byte.

    A record may span lines inside quotes: it ends at a line end where the running count of double
    quotes is even. ``preamble_lines`` junk lines before the header are kept as they are.
    """
    data = src.read_bytes()
    lines = data.splitlines(keepends=True)
    out, records, quotes = lines[: preamble_lines + 1], 0, 0
    for line in lines[preamble_lines + 1 :]:
        if records == n:
            break
        out.append(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            records += 1
            quotes = 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(b"".join(out))
    return dst


@pytest.fixture(scope="session")
def landing_slice(tmp_path_factory) -> Path:
    """A landing folder with a few real records of every source (full files where they are small)."""
    root = tmp_path_factory.mktemp("landing")
    head_records(SAMPLES / "technion_call_center/data_anonymous_bank_february_days01-21.txt",
                 root / "technion_call_center/data_anonymous_bank_february_days01-21.txt", 150)
    head_records(SAMPLES / "customer_support_tickets/customer_support_tickets.csv",
                 root / "customer_support_tickets/customer_support_tickets.csv", 40)
    head_records(SAMPLES / "cfpb_complaints/payday_loans_2023-01_to_06.csv",
                 root / "cfpb_complaints/payday_loans_2023-01_to_06.csv", 20)
    head_records(SAMPLES / "nps_verbatims/text_data_to_2018-04.csv",
                 root / "nps_verbatims/text_data_to_2018-04.csv", 30)
    head_records(SAMPLES / "star_reviews/amazon_alexa.tsv", root / "star_reviews/amazon_alexa.tsv", 400)
    for folder in ("twcs", "pwc_call_center", "telco_churn"):
        shutil.copytree(SAMPLES / folder, root / folder, ignore=shutil.ignore_patterns("labeled"))
    return root
