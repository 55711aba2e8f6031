"""Resources: where the lake and the landing files are, and the embedding model. One place decides."""

from __future__ import annotations

import os
from functools import cache

import dagster as dg

from cx_platform.lib.alerts import AlertLog, new_alerts, post_json
from cx_platform.lib.embeddings import DEFAULT_MODEL, Embedder, EmbeddingCache
from cx_platform.lib.lake import Lake
from cx_platform.lib.economics import Economics, load_economics
from cx_platform.lib.settings import (
    default_economics_path,
    default_lake_dir,
    default_landing_dir,
    default_taxonomy_path,
)
from cx_platform.lib.taxonomy import Taxonomy, load_taxonomy


class LakeResource(dg.ConfigurableResource):
    """Root of the local Parquet lake (``CX_LAKE_DIR``)."""

    root: str

    @property
    def lake(self) -> Lake:
        return Lake(self.root)


class LandingResource(dg.ConfigurableResource):
    """Folder with one sub-folder per source holding the original export files (``CX_LANDING_DIR``)."""

    root: str


@cache
def _embedder(model: str, batch_size: int, use_bf16: bool) -> Embedder:
    # One model per process, whatever the number of assets and runs that ask for it.
    return Embedder(model, batch_size, use_bf16)


class EmbeddingModelResource(dg.ConfigurableResource):
    """Sentence-transformers model (name or local path; default: the MiniLM shipped on PyPI), run offline.
    bf16 is used only where the CPU supports it (checked at load); the model id records the precision."""

    model: str = DEFAULT_MODEL
    batch_size: int = 64
    use_bf16: bool = True
    taxonomy_path: str = ""

    def embedder(self) -> Embedder:
        return _embedder(self.model, self.batch_size, self.use_bf16)

    def cache(self, lake: Lake) -> EmbeddingCache:
        return EmbeddingCache(lake.root / "_cache" / "embeddings")

    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.taxonomy_path or default_taxonomy_path())


class BusinessConfigResource(dg.ConfigurableResource):
    """The files a team supplies: contact-reason taxonomy (with the lead rules) and economics (unit
    costs, SLA targets, thresholds, spend). Empty paths mean the packaged examples / env defaults."""

    taxonomy_path: str = ""
    economics_path: str = ""

    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.taxonomy_path or default_taxonomy_path())

    def economics(self) -> Economics:
        return load_economics(self.economics_path or default_economics_path())


WEBHOOK_ENV = "CX_ALERT_WEBHOOK_URL"


class AlertSinkResource(dg.ConfigurableResource):
    """Where anomaly alerts go: appended as JSON lines to ``log_path`` (``CX_ALERT_LOG``, default
    ``<lake>/_alerts/anomaly_alerts.jsonl``), and POSTed to ``webhook_url`` when one is set
    (``CX_ALERT_WEBHOOK_URL``, read through ``EnvVar`` so the UI never shows it). The log is the sink's
    own record: an alert already in it (same KPI, segment and day) is never sent twice. Only anomalies of
    business days at most ``max_age_days`` old are sent (``CX_ALERT_MAX_AGE_DAYS``; 0 = any age): a
    backfill of last year finds last year's anomalies, and they belong in the table, not in a pager."""

    log_path: str
    webhook_url: str = ""
    timeout_seconds: float = 10.0
    max_age_days: int = 7

    def send(self, alerts: list[dict]) -> list[dict]:
        """Send the alerts not sent before; returns those sent. The webhook gets them before they are
        logged, so a failed POST is retried on the next evaluation rather than lost."""
        log = AlertLog(self.log_path)
        fresh = new_alerts(alerts, log.sent_keys())
        if fresh and self.webhook_url:
            post_json(self.webhook_url, {"alerts": fresh}, self.timeout_seconds)
        log.append(fresh)
        return fresh


def alert_sink(lake_root: str) -> AlertSinkResource:
    webhook = dg.EnvVar(WEBHOOK_ENV) if os.environ.get(WEBHOOK_ENV) else ""
    return AlertSinkResource(
        log_path=os.environ.get("CX_ALERT_LOG", f"{lake_root}/_alerts/anomaly_alerts.jsonl"),
        webhook_url=webhook,
        max_age_days=int(os.environ.get("CX_ALERT_MAX_AGE_DAYS", "7")),
    )


def default_resources() -> dict:
    return {
        "lake": LakeResource(root=default_lake_dir()),
        "landing": LandingResource(root=default_landing_dir()),
        "embedding_model": EmbeddingModelResource(),
        "business_config": BusinessConfigResource(),
        "alert_sink": alert_sink(default_lake_dir()),
    }
