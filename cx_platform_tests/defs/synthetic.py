"""Small hand-made inputs for the operations tests: ticket exports in the real export format, and lake
partitions written directly, so the tests run the Dagster layer without the embedding model."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl

from cx_platform.defs.ingestion.assets import INTERACTION_SOURCES
from cx_platform.defs.resources import (
    AlertSinkResource,
    BusinessConfigResource,
    LakeResource,
    LandingResource,
)
from cx_platform.lib import schemas
from cx_platform.lib.lake import Lake
from cx_platform.lib.sources import tickets

TICKET_HEADER = [
    "Ticket ID", "Customer Name", "Customer Email", "Customer Age", "Customer Gender", "Product Purchased",
    "Date of Purchase", "Ticket Type", "Ticket Subject", "Ticket Description", "Ticket Status", "Resolution",
    "Ticket Priority", "Ticket Channel", "First Response Time", "Time to Resolution",
    "Customer Satisfaction Rating",
]
MODEL_BOUND = {dg.AssetKey(k) for k in ("transcript_embeddings", "interaction_labels", "contact_topics")}


def ticket(ticket_id: int, day: dt.date, email: str | None = None, kind: str = "Billing inquiry",
           rating: int = 4, hour: int = 10) -> dict:
    """A closed ticket first answered at ``hour`` on ``day`` and resolved two hours later."""
    opened = dt.datetime.combine(day, dt.time(hour))
    return {
        "Ticket ID": str(ticket_id), "Customer Name": "A Customer",
        "Customer Email": email or f"customer{ticket_id}@example.com", "Customer Age": "40",
        "Customer Gender": "Other", "Product Purchased": "Dell XPS", "Date of Purchase": "2021-01-01",
        "Ticket Type": kind, "Ticket Subject": "Payment issue",
        "Ticket Description": "I was charged twice for my {product_purchased}.", "Ticket Status": "Closed",
        "Resolution": "Refunded.", "Ticket Priority": "High", "Ticket Channel": "Email",
        "First Response Time": f"{opened:%Y-%m-%d %H:%M:%S}",
        "Time to Resolution": f"{opened + dt.timedelta(hours=2):%Y-%m-%d %H:%M:%S}",
        "Customer Satisfaction Rating": f"{rating}.0",
    }


def write_tickets(landing: Path, name: str, rows: list[dict]) -> Path:
    path = landing / tickets.SOURCE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TICKET_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def stage_other_sources_empty(lake: Lake) -> None:
    """``interactions`` reads every staged source: the ones a test does not use are staged empty."""
    for adapter in INTERACTION_SOURCES:
        if adapter is not tickets and not lake.table_path(f"staging/{adapter.SOURCE}").exists():
            empty = schemas.empty(schemas.INTERACTIONS)
            lake.write_table(f"staging/{adapter.SOURCE}", empty, schemas.INTERACTIONS)


def resources(lake_dir: Path, landing_dir: Path | None = None, alert_log: Path | None = None) -> dict:
    out = {"lake": LakeResource(root=str(lake_dir)), "business_config": BusinessConfigResource()}
    if landing_dir is not None:
        out["landing"] = LandingResource(root=str(landing_dir))
    if alert_log is not None:
        out["alert_sink"] = AlertSinkResource(log_path=str(alert_log), max_age_days=0)
    return out


def range_tags(start: dt.date, end: dt.date) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat()}


def contact_frames(days: list[dt.date], satisfied_share: dict[tuple[dt.date, str, str], float] | None = None,
                   per_cell: int = 30) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Interactions (contacts with a survey rating) and their labels for one source, channels phone
    and chat x contact reasons billing and delivery, ``per_cell`` contacts each per day, 80% satisfied
    (give or take one contact, varying by day) unless ``satisfied_share[(day, channel, reason)]`` says
    otherwise."""
    satisfied_share = satisfied_share or {}
    rows, labels = [], []
    for n, day in enumerate(days):
        for c, channel in enumerate(("phone", "chat")):
            for r, reason in enumerate(("billing", "delivery")):
                share = satisfied_share.get((day, channel, reason))
                if share is None:
                    satisfied = round(0.8 * per_cell) + (n + c + r) % 3 - 1  # steady, give or take one
                else:
                    satisfied = round(share * per_cell)
                for i in range(per_cell):
                    iid = f"synthetic:{day}:{channel}:{reason}:{i}"
                    created = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC) + dt.timedelta(minutes=i)
                    rows.append({
                        "interaction_id": iid, "source": "synthetic", "kind": "contact", "brand": "acme",
                        "channel": channel, "customer_id": f"c{i}", "created_at": created,
                        "first_response_at": created + dt.timedelta(minutes=5), "status": "resolved",
                        "resolved": True, "handle_seconds": 300.0, "csat_score": 5 if i < satisfied else 2,
                        "business_date": day,
                    })
                    labels.append({"interaction_id": iid, "source": "synthetic", "contact_reason": reason,
                                   "is_sales": False, "status": "no_text", "business_date": day})
    return (schemas.conform(pl.DataFrame(rows), schemas.INTERACTIONS),
            schemas.conform(pl.DataFrame(labels), schemas.INTERACTION_LABELS))
