"""Render the executive dashboard as one self-contained HTML file (no network: CSS, script and data are
inline, charts are SVG drawn by the inline script from the data prepared in :mod:`.data`).

The page carries the period rows (numerators and denominators per period x source x brand x channel),
so the reader can filter by period, date range and segment offline; the script only sums rows and
divides by the catalog's formula, the same way :func:`.data.aggregate` does.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import uuid
from pathlib import Path

import jinja2
import polars as pl

from cx_platform.lib import kpi_catalog
from cx_platform.lib.dashboard import data as prep
from cx_platform.lib.kpi_catalog import CATALOG, SEGMENTS, TIERS

TEMPLATES = Path(__file__).parent / "templates"
OUTPUT = Path("reporting") / "executive_dashboard.html"
TITLE = "Customer experience: executive dashboard"
TIER_TITLES = {
    "funnel": ("Funnel", "Demand that could become revenue: sales-intent contacts and how many a person "
               "engaged."),
    "operating": ("Operating", "How contacts are handled: speed, resolution at first contact, automation, "
                  "service level."),
    "performance": ("Performance", "What customers feel and what service costs, and the customer base it "
                    "serves."),
}
# The trend chart of each tier opens on this KPI.
DEFAULT_TREND = {"funnel": "leads", "operating": "fcr_rate", "performance": "csat_rate"}


def kpi_meta() -> list[dict]:
    return [
        {
            "name": k.name, "tier": k.tier, "title": k.title, "definition": k.definition,
            "formula": k.formula, "unit": k.unit, "better": k.higher_is_better, "activity": k.activity,
            "headline": k.headline,
            "table": k.table, "numerator": k.numerator, "denominator": k.denominator, "scale": k.scale,
            "additive": k.additive, "null_rule": k.null_rule, "note": i,
        }
        for i, k in enumerate(CATALOG, 1)
    ]


def payload(data: prep.DashboardData, generated_at: dt.datetime) -> dict:
    """Everything the page script needs, as compact column lists (strings dictionary-encoded)."""
    dims = {
        dim: data.daily.group_by(dim).agg(pl.col("contacts").sum() if "contacts" in data.daily.columns
                                          else pl.len().alias("contacts"))
        .sort(["contacts", dim], descending=[True, False])[dim].to_list()
        for dim in SEGMENTS
    }
    reasons = sorted(data.reasons["contact_reason"].unique().to_list())
    periods = {
        g: sorted(set(data.rows[g]["period_start"]) | set(data.reason_rows[g]["period_start"]))
        for g in prep.GRANULARITIES
    }
    rows, reason_rows = {}, {}
    for g in prep.GRANULARITIES:
        index = {p: i for i, p in enumerate(periods[g])}
        rows[g] = _columns(data.rows[g], index, dims,
                           [*prep.carried_columns(), prep.SEGMENT_DAYS, prep.COMPLETE])
        reason_rows[g] = _columns(data.reason_rows[g], index, {**dims, "contact_reason": reasons},
                                  list(prep.REASON_COUNTS))
        rows[g]["periods"] = reason_rows[g]["periods"] = [p.isoformat() for p in periods[g]]
    base = data.customer_base
    return {
        "meta": {
            "title": TITLE, "generated_at": generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            "lake": data.lake_root, "currency": data.currency,
            "first_date": _iso(data.first_date), "last_date": _iso(data.last_date),
            "fcr_window_days": data.fcr_window_days, "spark_points": prep.SPARK_POINTS,
            "emerging_min_contacts": prep.EMERGING_MIN_CONTACTS,
            "emerging_min_share_points": prep.EMERGING_MIN_SHARE_POINTS,
            "unlabelled": prep.UNLABELLED, "default_trend": DEFAULT_TREND,
        },
        "kpis": kpi_meta(),
        "absent": sorted(data.absent),
        "dims": dims,
        "reasons": reasons,
        "rows": rows,
        "reason_rows": reason_rows,
        "customer_base": None if base is None else {
            "sources": sorted(base["source"].unique().to_list()),
            "total": prep.customer_base_totals(base),
            "by_source": {s: prep.customer_base_totals(base, s) for s in base["source"].unique().to_list()},
        },
        "anomalies": None if data.anomalies is None else [
            {**{k: _compact(v) for k, v in row.items()}, "date": _iso(row["date"]),
             "filters": prep.parse_segment(row["segment"])}
            for row in data.anomalies.iter_rows(named=True)
        ],
        "topics": None if data.topics is None else [
            {**{k: _compact(v) for k, v in row.items()}, "date": _iso(row["date"])}
            for row in data.topics.iter_rows(named=True)
        ],
    }


def render_html(data: prep.DashboardData, generated_at: dt.datetime | None = None) -> str:
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    body = payload(data, generated_at)
    tiers = [
        {
            "name": tier, "title": TIER_TITLES[tier][0], "blurb": TIER_TITLES[tier][1],
            "activity": [k for k in prep.headline_kpis(tier) if k.activity],
            "outcomes": [k for k in prep.headline_kpis(tier) if not k.activity],
            "snapshot": [k for k in kpi_catalog.kpis_for(prep.SNAPSHOT_TABLE)
                         if k.headline and k.tier == tier],
            "trend_kpis": sorted((k for k in prep.daily_kpis() if k.tier == tier),
                                 key=lambda k: not k.headline),
        }
        for tier in TIERS
    ]
    notes = {k.name: i for i, k in enumerate(CATALOG, 1)}
    return env.get_template("dashboard.html.j2").render(
        title=TITLE, meta=body["meta"], tiers=tiers, catalog=CATALOG, catalog_by_name=kpi_catalog.BY_NAME,
        notes=notes, dims=body["dims"],
        granularities=list(prep.GRANULARITIES), better={True: "higher is better", False: "lower is better",
                                                         None: "activity: no good direction"},
        css=(TEMPLATES / "dashboard.css").read_text(encoding="utf-8"),
        script=(TEMPLATES / "dashboard.js").read_text(encoding="utf-8"),
        data_json=_script_json(body),
    )


def write_dashboard(data: prep.DashboardData, path: Path, generated_at: dt.datetime | None = None) -> Path:
    """Render and replace ``path`` atomically (a reader never sees half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(render_html(data, generated_at), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# ---- helpers -----------------------------------------------------------------------------------------


def _columns(frame: pl.DataFrame, periods: dict, dims: dict[str, list[str]], values: list[str]) -> dict:
    """Column lists: ``p`` and each dimension as indexes, each value column as numbers (null kept)."""
    out: dict = {"p": [periods[p] for p in frame["period_start"].to_list()]}
    for dim, names in dims.items():
        index = {name: i for i, name in enumerate(names)}
        out[dim] = [index[v] for v in frame[dim].to_list()]
    out["cols"] = {c: [_compact(v) for v in frame[c].to_list()] for c in values if c in frame.columns}
    return out


def _compact(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() else round(value, 4)
    return value


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _script_json(body: dict) -> str:
    """JSON safe inside a <script> element (no ``</script>``, no HTML comment openers)."""
    text = json.dumps(body, separators=(",", ":"), default=str, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
