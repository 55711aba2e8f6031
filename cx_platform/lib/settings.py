"""Deployment settings read from the environment, with embedded defaults for a local run.

| variable | default | meaning |
|---|---|---|
| ``CX_LAKE_DIR`` | ``./cx_lake`` | root of the Parquet lake |
| ``CX_LANDING_DIR`` | ``<repo>/data/samples`` | one folder per source, holding the original export files |
| ``CX_BUSINESS_TZ`` | ``UTC`` | zone whose local date is the partition key |
| ``CX_PARTITIONS_START`` | ``1999-01-01`` | first daily partition (the oldest shipped data is Feb 1999) |
| ``CX_TAXONOMY`` | the packaged ``config/taxonomy.yaml`` | contact-reason taxonomy |
| ``CX_ECONOMICS`` | the packaged ``config/economics.yaml`` | unit costs, SLA targets, spend file |
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent


def business_tz() -> str:
    tz = os.environ.get("CX_BUSINESS_TZ", "UTC")
    ZoneInfo(tz)  # raises ZoneInfoNotFoundError with the bad name
    return tz


def partitions_start() -> str:
    return os.environ.get("CX_PARTITIONS_START", "1999-01-01")


def default_lake_dir() -> str:
    return os.environ.get("CX_LAKE_DIR", str(Path.cwd() / "cx_lake"))


def default_landing_dir() -> str:
    return os.environ.get("CX_LANDING_DIR", str(REPO_DIR / "data" / "samples"))


def default_taxonomy_path() -> str:
    return os.environ.get("CX_TAXONOMY", str(PACKAGE_DIR / "config" / "taxonomy.yaml"))


def default_economics_path() -> str:
    return os.environ.get("CX_ECONOMICS", str(PACKAGE_DIR / "config" / "economics.yaml"))
