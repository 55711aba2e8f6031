"""Which KPIs each source supports: a KPI is null for a source when its denominator sums to zero over
every day; the denominator column named is the reason (e.g. ``bot_contacts = 0``: no automation)."""

from __future__ import annotations

import polars as pl

from cx_platform.lib import kpi_catalog


def kpi_coverage(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per source x rate KPI of the daily tier tables: ``supported`` and, if not, ``why``."""
    rows = []
    for table, frame in tables.items():
        for kpi in (k for k in kpi_catalog.kpis_for(table) if k.is_rate):
            sums = frame.group_by("source").agg(pl.col(kpi.denominator).sum().alias("den"))
            for source, den in sums.iter_rows():
                rows.append({
                    "source": source, "tier": kpi.tier, "kpi": kpi.name, "supported": bool(den and den > 0),
                    "why": None if den and den > 0 else f"{kpi.denominator} = 0",
                })
    return pl.DataFrame(rows, schema={"source": pl.String, "tier": pl.String, "kpi": pl.String,
                                      "supported": pl.Boolean, "why": pl.String}).sort("source", "tier", "kpi")
