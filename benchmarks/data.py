"""The real labelled and unlabelled data the benchmarks read, from the shipped samples (data/samples)."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import polars as pl

from cx_platform.lib.settings import REPO_DIR
from cx_platform.lib.sources import cfpb, nps, tickets, twcs

SAMPLES = REPO_DIR / "data" / "samples"
ADAPTERS: dict[str, ModuleType] = {m.SOURCE: m for m in (cfpb, twcs, nps, tickets)}


def interactions(source: str) -> pl.DataFrame:
    """A source's shipped export(s) read by the product's own adapter (canonical, redacted)."""
    adapter = ADAPTERS[source]
    folder = SAMPLES / adapter.SOURCE
    files = sorted({p for pattern in adapter.FILE_PATTERNS for p in folder.glob(pattern) if p.is_file()})
    return adapter.read(files, business_tz="UTC").accepted


def humanize(label: str) -> str:
    """``card_arrival`` / ``GetQuote`` -> ``card arrival`` / ``get quote``: a label name as a description."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label).replace("_", " ").lower()


def banking77() -> pl.DataFrame:
    return pl.read_csv(SAMPLES / "banking77" / "train.csv").select("text", pl.col("category").alias("label"))


def dstc11(domain: str) -> pl.DataFrame:
    folder = {"insurance": "development", "banking": "test-banking"}[domain]
    frame = pl.read_ndjson(SAMPLES / "dstc11_intents" / folder / "test-utterances.jsonl")
    return frame.select(pl.col("utterance").alias("text"), pl.col("intent").alias("label"))


def bitext() -> pl.DataFrame:
    path = SAMPLES / "bitext_customer_service" / "Bitext_Sample_Customer_Service_Training_Dataset.csv"
    return pl.read_csv(path).select(pl.col("utterance").alias("text"), pl.col("intent").alias("label"))


def cfpb_products(min_rows: int = 20) -> pl.DataFrame:
    """Complaint narratives with the CFPB product (canonical name) as the label; products with fewer
    than ``min_rows`` narratives are left out (too few to split)."""
    frame = (
        interactions("cfpb_complaints")
        .filter(pl.col("transcript").is_not_null() & pl.col("source_reason").is_not_null())
        .select(pl.col("transcript").alias("text"), pl.col("source_reason").alias("label"))
    )
    return frame.filter(pl.len().over("label") >= min_rows)


def cfpb_issues(min_rows: int = 20) -> pl.DataFrame:
    """Complaint narratives with the CFPB issue (the finer label under the product) as the label. The
    product's canonical rows do not keep the issue, so it is read back from the same records by complaint
    id; issues with fewer than ``min_rows`` narratives are left out."""
    folder = SAMPLES / cfpb.SOURCE
    issues = {}
    for path in sorted(p for pattern in cfpb.FILE_PATTERNS for p in folder.glob(pattern) if p.is_file()):
        for _, values, _, _ in cfpb._records(path):
            if values and values.get("Complaint ID") and values.get("Issue"):
                issues[f"{cfpb.ID_PREFIX}:{values['Complaint ID']}"] = values["Issue"]
    frame = (
        interactions("cfpb_complaints")
        .filter(pl.col("transcript").is_not_null())
        .select(
            pl.col("transcript").alias("text"),
            pl.col("interaction_id").replace_strict(issues, default=None).alias("label"),
        )
        .filter(pl.col("label").is_not_null())
    )
    return frame.filter(pl.len().over("label") >= min_rows)


def twcs_topics() -> tuple[pl.DataFrame, list[str], dict[str, str]]:
    """The 200 labelled AmazonHelp inbound tweets: (text + one 0/1 column per topic, topic names, the
    topic's hypothesis sentence from the labelling paper as its description)."""
    folder = SAMPLES / "twcs" / "labeled"
    tweets = pl.read_excel(folder / "twcs-AmazonHelp-200-inbound.xlsx", engine="openpyxl")
    definitions = pl.read_excel(folder / "twcs-AmazonHelp-inbound-topics.xlsx", engine="openpyxl")
    hypotheses = dict(definitions.select("Topic", "Label").rows())
    names = [c for c in tweets.columns[tweets.columns.index("company") + 1 :]]
    frame = tweets.select("text", *[pl.col(n).fill_null(0).cast(pl.Int8) for n in names])
    return frame, names, {n: hypotheses.get(n, humanize(n)) for n in names}


def star_reviews_path() -> Path:
    return SAMPLES / "star_reviews" / "amazon_alexa.tsv"
