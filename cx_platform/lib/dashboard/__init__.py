"""The executive dashboard: one self-contained HTML page of the three KPI tiers, built from the lake.

:mod:`.data` prepares the numbers (pure polars), :mod:`.render` writes the page. No Dagster import:
the ``executive_dashboard`` asset and ``python -m cx_platform.dashboard`` both call :func:`build`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cx_platform.lib.dashboard.data import DashboardData, load
from cx_platform.lib.dashboard.render import OUTPUT, write_dashboard
from cx_platform.lib.lake import Lake


def build(lake: Lake, currency: str = "USD", path: Path | None = None,
          generated_at: dt.datetime | None = None) -> tuple[Path, DashboardData]:
    """Read the lake, render the page to ``path`` (default ``<lake>/reporting/executive_dashboard.html``)."""
    data = load(lake, currency)
    return write_dashboard(data, Path(path) if path else lake.root / OUTPUT, generated_at), data


__all__ = ["OUTPUT", "DashboardData", "build", "load"]
