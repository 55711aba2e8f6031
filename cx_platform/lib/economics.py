"""Unit costs, SLA targets, thresholds and spend that a team supplies as small config files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import yaml

SPEND_SCHEMA = pl.Schema({"date": pl.Date, "category": pl.String, "amount": pl.Float64, "currency": pl.String})
SPEND_CATEGORIES = ("marketing", "support_labor", "tooling", "automation")


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    start: dt.time = dt.time(9)
    end: dt.time = dt.time(17)

    def seconds_between(self, start: dt.datetime, end: dt.datetime) -> float | None:
        """Seconds of ``[start, end)`` that fall inside business hours; null when end < start."""
        if start is None or end is None or end < start:
            return None
        zone = ZoneInfo(self.timezone)
        start, end = start.astimezone(zone), end.astimezone(zone)
        total = 0.0
        day = start.date()
        while day <= end.date():
            if day.weekday() in self.weekdays:
                # combine in the zone so days when clocks change have their true length
                open_at = dt.datetime.combine(day, self.start, zone)
                close_at = dt.datetime.combine(day, self.end, zone)
                lo, hi = max(open_at, start), min(close_at, end)
                if hi > lo:
                    total += (hi.astimezone(dt.UTC) - lo.astimezone(dt.UTC)).total_seconds()
            day += dt.timedelta(days=1)
        return total


@dataclass(frozen=True)
class Economics:
    currency: str = "USD"
    human_cost_per_contact: dict[str, float] = field(default_factory=dict)
    automation_cost_per_contact: float = 0.0
    gross_margin: float = 0.7
    sla_targets_seconds: dict[str, float] = field(default_factory=dict)
    short_abandon_seconds: float = 5.0
    acquisition_window_months: int = 1
    business_hours: BusinessHours | None = None
    spend: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SPEND_SCHEMA))

    def marketing_spend(self, months: int | None = None) -> float:
        """Marketing spend of the last ``months`` months present in the spend file."""
        months = self.acquisition_window_months if months is None else months
        marketing = self.spend.filter(pl.col("category") == "marketing")
        if marketing.is_empty():
            return 0.0
        last = marketing["date"].max()
        first = (last.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
        return float(marketing.filter(pl.col("date") >= first)["amount"].sum())


def read_spend(path: str | Path) -> pl.DataFrame:
    frame = pl.read_csv(Path(path), schema=SPEND_SCHEMA, try_parse_dates=True)
    unknown = set(frame["category"].unique()) - set(SPEND_CATEGORIES)
    if unknown:
        raise ValueError(f"{path}: unknown spend categories {sorted(unknown)}; expected {SPEND_CATEGORIES}")
    if frame["amount"].lt(0).any() or frame["amount"].is_null().any():
        raise ValueError(f"{path}: spend amounts must be present and non-negative")
    return frame


def load_economics(path: str | Path) -> Economics:
    path = Path(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    hours = raw.get("business_hours")
    spend_file = raw.get("spend_file")
    return Economics(
        currency=raw.get("currency", "USD"),
        human_cost_per_contact={k: float(v) for k, v in (raw.get("human_cost_per_contact") or {}).items()},
        automation_cost_per_contact=float(raw.get("automation_cost_per_contact", 0.0)),
        gross_margin=float(raw.get("gross_margin", 0.7)),
        sla_targets_seconds={k: float(v) for k, v in (raw.get("sla_targets_seconds") or {}).items()},
        short_abandon_seconds=float(raw.get("short_abandon_seconds", 5)),
        acquisition_window_months=int(raw.get("acquisition_window_months", 1)),
        business_hours=BusinessHours(
            timezone=hours.get("timezone", "UTC"),
            weekdays=tuple(hours.get("weekdays", (0, 1, 2, 3, 4))),
            start=dt.time.fromisoformat(hours.get("start", "09:00")),
            end=dt.time.fromisoformat(hours.get("end", "17:00")),
        )
        if hours
        else None,
        spend=read_spend(path.parent / spend_file) if spend_file else pl.DataFrame(schema=SPEND_SCHEMA),
    )
