"""Where anomaly alerts go (no Dagster import): a JSON-lines log, and a webhook when one is configured.

The log is also the sink's own record of what it has sent: an alert whose key (KPI, segment, day) is
already in it is not sent again, however often the anomalies of that day are recomputed or the sensor
re-reads them. That is what keeps a backfill or a re-run from turning into an alert storm.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def alert_key(alert: Mapping[str, Any]) -> str:
    return f"{alert['business_date']}|{alert['kpi']}|{alert['segment']}"


class AlertLog:
    """Append-only JSON lines, one alert per line, each with its ``key``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def sent_keys(self) -> set[str]:
        if not self.path.exists():
            return set()
        keys = set()
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    keys.add(json.loads(line)["key"])
        return keys

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def append(self, alerts: Iterable[Mapping[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for alert in alerts:
                handle.write(json.dumps(dict(alert), default=str, sort_keys=True) + "\n")


def new_alerts(alerts: Iterable[Mapping[str, Any]], already_sent: set[str]) -> list[dict]:
    """The alerts not sent before, each once, with its ``key`` added."""
    out, seen = [], set(already_sent)
    for alert in alerts:
        key = alert_key(alert)
        if key not in seen:
            seen.add(key)
            out.append({"key": key, **alert})
    return out


def post_json(url: str, payload: Mapping[str, Any], timeout_seconds: float) -> int:
    """POST ``payload`` as JSON; returns the HTTP status (raises on a network or HTTP error)."""
    request = urllib.request.Request(
        url, data=json.dumps(dict(payload), default=str).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310 (configured URL)
        return response.status
