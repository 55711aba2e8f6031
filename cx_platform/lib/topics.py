"""Contact-driver discovery (no Dagster here): cluster a trailing window of transcript embeddings into
topics, name each topic by its most distinctive terms (class-based TF-IDF), count its contacts per day,
and flag topics that are new or growing fast in the most recent days.

Topics are discovered per source (a complaints portal and a support Twitter account have different
drivers, and when one source goes quiet the other's topics must not look "new" because their share of
all contacts jumped). They are re-discovered for every window, so a topic's id is its volume rank inside
one (window, source), not a stable key; its name and terms identify it from one day to the next.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import polars as pl

from cx_platform.lib.language import remove_masks

WINDOW_DAYS = 28  # the window a day's topics are discovered in: that day and the 27 before it
RECENT_DAYS = 7  # the recent part of the window; the days before it are the baseline
MIN_TEXTS = 10  # a window with fewer embedded transcripts gets no topics
MAX_TOPICS = 20
# Flags compare a topic's share of the recent days' contacts with its share of the baseline days', so a
# rise of the overall volume does not flag every topic. They need enough data to mean something:
MIN_TOPIC_VOLUME = 5  # recent contacts of the topic
MIN_BASELINE_TEXTS = 30  # contacts with text in the baseline days
GROWTH_FACTOR = 2.0  # growing: recent share at least twice the baseline share
NEW_GROWTH_FACTOR = 10.0  # new: no baseline contact at all, or a recent share at least 10x the baseline one
N_TERMS = 5
N_EXAMPLES = 3
# Transcript framing (speaker prefixes, greetings), function words missing from sklearn's list and
# contraction fragments ("I've" -> "ve").
EXTRA_STOP_WORDS = frozenset(
    "customer agent hi hello hey thanks thank dm pls please does did doing just got im ive dont cant "
    "ve ll re don didn doesn isn wasn won".split()
)
# @mentions name the account addressed (a brand's handle), not what the contact is about.
_MENTION = re.compile(r"@\w+")

CONTACT_TOPICS = pl.Schema(
    {
        "source": pl.String,  # topics are discovered within one source
        "topic_id": pl.Int32,  # rank by window volume within the source, 0 = largest; not stable across days
        "name": pl.String,  # the top three terms
        "terms": pl.List(pl.String),  # most distinctive terms, best first
        "volume_day": pl.Int32,  # the topic's contacts on the partition day
        "volume_recent": pl.Int32,  # ... in the last RECENT_DAYS days of the window
        "volume_baseline": pl.Int32,  # ... in the days before them
        "volume_window": pl.Int32,
        "share_recent": pl.Float64,  # volume_recent / all contacts with text in the recent days
        "share_baseline": pl.Float64,  # volume_baseline / all contacts with text in the baseline days
        "growth": pl.Float64,  # share_recent / share_baseline; null without a baseline share
        "is_new": pl.Boolean,
        "is_growing": pl.Boolean,
        "daily_volume": pl.List(pl.Int32),  # contacts per day, window_start .. business_date
        "example_ids": pl.List(pl.String),  # interactions closest to the topic's centre
        "window_start": pl.Date,
        "model_id": pl.String,
        "business_date": pl.Date,  # the window's last day: the partition key
    }
)


def choose_k(n: int) -> int:
    """Number of topics for ``n`` texts: about sqrt(n / 2), between 2 and MAX_TOPICS."""
    return max(2, min(MAX_TOPICS, round(math.sqrt(n / 2)), n))


def cluster(vectors: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(cluster of each vector, unit-length centres) by k-means on the unit vectors (spherical-ish)."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    algo = KMeans if len(vectors) <= 10_000 else MiniBatchKMeans
    model = algo(n_clusters=k, n_init=3, random_state=seed).fit(vectors)
    centres = model.cluster_centers_
    return model.labels_, centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)


def topic_terms(texts: list[str], labels: np.ndarray, k: int, n_terms: int = N_TERMS) -> list[list[str]]:
    """The most distinctive terms of each cluster by class-based TF-IDF: the texts of a cluster form
    one document; a term weighs tf(term, cluster) x log(1 + mean words per cluster / tf(term, all))."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    vectorizer = CountVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS),
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
        min_df=2 if len(texts) >= 50 else 1,
    )
    try:
        counts = vectorizer.fit_transform([_MENTION.sub(" ", remove_masks(t)) for t in texts])
    except ValueError:  # no term at all (every text is stop words)
        return [[] for _ in range(k)]
    vocabulary = vectorizer.get_feature_names_out()
    per_cluster = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel() for c in range(k)])
    words = per_cluster.sum(axis=1, keepdims=True)
    idf = np.log(1 + words.mean() / np.maximum(per_cluster.sum(axis=0), 1))
    weights = per_cluster / np.maximum(words, 1) * idf
    terms = []
    for row in weights:
        chosen: list[str] = []
        for index in np.argsort(row)[::-1]:
            term = vocabulary[index]
            if row[index] <= 0 or len(chosen) == n_terms:
                break
            # skip a term that repeats a chosen one ("credit" after "credit report", or the reverse)
            if not any(term in other or other in term for other in chosen):
                chosen.append(term)
        terms.append(chosen)
    return terms


def discover_topics_by_source(
    window: pl.DataFrame, window_end: dt.date, model_id: str, k: int | None = None
) -> pl.DataFrame:
    """:func:`discover_topics` for each source of ``window`` (which also has a ``source`` column), in
    the CONTACT_TOPICS schema, sources in name order."""
    found = [
        discover_topics(part, window_end, model_id, k).with_columns(pl.lit(source, pl.String).alias("source"))
        for (source,), part in window.sort("source").group_by("source", maintain_order=True)
    ]
    found = [f for f in found if not f.is_empty()]
    return pl.concat(found).select(CONTACT_TOPICS.names()) if found else pl.DataFrame(schema=CONTACT_TOPICS)


def discover_topics(
    window: pl.DataFrame, window_end: dt.date, model_id: str, k: int | None = None
) -> pl.DataFrame:
    """Topics of the transcripts in ``window`` (interaction_id, business_date, text, embedding; the
    WINDOW_DAYS days up to ``window_end``), one row each, in the CONTACT_TOPICS schema; ``k`` topics
    (default: choose_k)."""
    window_start = window_end - dt.timedelta(days=WINDOW_DAYS - 1)
    window = window.filter(pl.col("business_date").is_between(window_start, window_end))
    if window.height < MIN_TEXTS:
        return pl.DataFrame(schema=CONTACT_TOPICS)
    vectors = window["embedding"].to_numpy()
    k = k or choose_k(window.height)
    labels, centres = cluster(vectors, k)
    terms = topic_terms(window["text"].to_list(), labels, k)
    recent_start = window_end - dt.timedelta(days=RECENT_DAYS - 1)
    offsets = (window["business_date"] - window_start).dt.total_days().to_numpy()
    recent = window["business_date"].to_numpy() >= np.datetime64(recent_start)
    recent_total, baseline_total = int(recent.sum()), int((~recent).sum())
    ids = window["interaction_id"].to_numpy()
    rows = []
    for c in range(k):
        members = labels == c
        volume_recent, volume_baseline = int((members & recent).sum()), int((members & ~recent).sum())
        share_recent = volume_recent / recent_total if recent_total else None
        share_baseline = volume_baseline / baseline_total if baseline_total else None
        growth = share_recent / share_baseline if share_recent is not None and share_baseline else None
        flaggable = baseline_total >= MIN_BASELINE_TEXTS and volume_recent >= MIN_TOPIC_VOLUME
        is_new = flaggable and (volume_baseline == 0 or growth >= NEW_GROWTH_FACTOR)
        closest = np.argsort(-(vectors[members] @ centres[c]))[:N_EXAMPLES]
        rows.append(
            {
                "name": " / ".join(terms[c][:3]) or f"topic {c}",
                "terms": terms[c],
                "volume_day": int((members & (offsets == WINDOW_DAYS - 1)).sum()),
                "volume_recent": volume_recent,
                "volume_baseline": volume_baseline,
                "volume_window": int(members.sum()),
                "share_recent": share_recent,
                "share_baseline": share_baseline,
                "growth": growth,
                "is_new": is_new,
                "is_growing": flaggable and not is_new and growth is not None and growth >= GROWTH_FACTOR,
                "daily_volume": np.bincount(offsets[members], minlength=WINDOW_DAYS).tolist(),
                "example_ids": ids[members][closest].tolist(),
            }
        )
    topics = pl.DataFrame(rows).sort("volume_window", "name", descending=[True, False])
    return (
        topics.with_columns(
            pl.int_range(pl.len(), dtype=pl.Int32).alias("topic_id"),
            pl.lit(None, pl.String).alias("source"),  # set by discover_topics_by_source
            pl.lit(window_start).alias("window_start"),
            pl.lit(model_id).alias("model_id"),
            pl.lit(window_end).alias("business_date"),
        )
        .select(CONTACT_TOPICS.names())
        .cast(CONTACT_TOPICS)
    )
