"""Contact-driver discovery: topic count, c-TF-IDF names, daily volumes and new/growing flags."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from cx_platform.lib import topics

END = dt.date(2017, 11, 30)
# Three contact drivers with their own wording and their own direction in embedding space.
DRIVERS = {
    "refund": ("I want a refund, the refund for my return is missing", 0),
    "delivery": ("my package delivery is late, where is the package", 1),
    "password": ("password reset does not work, locked out of login", 2),
}


def _window(volumes: dict[str, tuple[int, int]]) -> pl.DataFrame:
    """Transcripts per driver: (baseline contacts spread over days 0-20, recent contacts over days 21-27)."""
    rng = np.random.default_rng(0)
    rows = []
    for name, (baseline, recent) in volumes.items():
        text, axis = DRIVERS[name]
        days = [i % 21 for i in range(baseline)] + [21 + i % 7 for i in range(recent)]
        for i, day in enumerate(days):
            vector = np.eye(8)[axis] + rng.normal(0, 0.05, 8)
            rows.append(
                {
                    "interaction_id": f"{name}-{i}",
                    "business_date": END - dt.timedelta(days=27 - day),
                    "text": f"{text} (#{i})",
                    "embedding": (vector / np.linalg.norm(vector)).astype(np.float32),
                }
            )
    return pl.DataFrame(rows).with_columns(pl.col("embedding").list.to_array(8))


def test_number_of_topics():
    assert [topics.choose_k(n) for n in (3, 10, 200, 800, 100_000)] == [2, 2, 10, 20, 20]


def test_topic_terms_are_the_distinctive_words_of_each_cluster():
    texts = ["refund please, my refund is late", "where is my refund", "package late", "my package is lost"]
    terms = topics.topic_terms(texts, np.array([0, 0, 1, 1]), 2)
    assert terms[0][0] == "refund" and terms[1][0] == "package"
    assert "late" not in terms[0][:1] and "please" not in terms[0]  # shared and stop words rank low / out


def test_new_and_growing_topics_are_flagged_against_their_baseline_share():
    # baseline: refund 40, delivery 10 (50 contacts); recent: refund 14, delivery 20, password 8 (42)
    window = _window({"refund": (40, 14), "delivery": (10, 20), "password": (0, 8)})
    outside = window.head(1).with_columns(
        pl.lit(END - dt.timedelta(days=40)).alias("business_date"), pl.lit("old").alias("interaction_id")
    )
    found = topics.discover_topics(pl.concat([window, outside]), END, "m", k=3)
    assert found.schema == topics.CONTACT_TOPICS
    # every topic is one driver: its examples come from that driver only
    by_driver = {}
    for row in found.iter_rows(named=True):
        drivers = {i.split("-")[0] for i in row["example_ids"]}
        assert len(drivers) == 1
        by_driver[drivers.pop()] = row
    refund, delivery, password = by_driver["refund"], by_driver["delivery"], by_driver["password"]
    assert (refund["terms"][0], delivery["terms"][0]) == ("refund", "package")
    assert all(word in DRIVERS["password"][0] for term in password["terms"] for word in term.split())

    assert (refund["topic_id"], refund["volume_window"], refund["volume_baseline"]) == (
        0,
        54,
        40,
    )  # "old" is out
    assert not refund["is_new"] and not refund["is_growing"]  # share fell from 0.8 to 0.33
    assert delivery["growth"] == (20 / 42) / (10 / 50) and delivery["is_growing"] and not delivery["is_new"]
    assert password["volume_baseline"] == 0 and password["is_new"] and password["growth"] is None

    for row in found.iter_rows(named=True):
        assert (
            len(row["daily_volume"]) == topics.WINDOW_DAYS
            and sum(row["daily_volume"]) == row["volume_window"]
        )
        assert row["volume_day"] == row["daily_volume"][-1]
        assert row["window_start"] == END - dt.timedelta(days=27) and row["business_date"] == END


def test_topics_are_discovered_per_source_so_a_quiet_source_does_not_flag_another():
    # tickets: 200 refund contacts, all in the baseline days, none recent (the source went quiet);
    # tweets: delivery and password, 30 baseline + 10 recent each (steady)
    tickets = _window({"refund": (200, 0)}).with_columns(pl.lit("tickets").alias("source"))
    tweets = _window({"delivery": (30, 10), "password": (30, 10)}).with_columns(pl.lit("tweets").alias("source"))
    window = pl.concat([tickets, tweets])
    # pooled, delivery's share jumps from 30/260 = 0.115 to 10/20 = 0.5 (x4.3): a false "growing" topic
    pooled = topics.discover_topics(window.drop("source"), END, "m", k=3)
    assert pooled.filter(pl.col("name").str.contains("package"))["is_growing"].item()
    # per source, delivery keeps its share of the tweets: 30/60 = 10/20 = 0.5 (x1.0), nothing flagged
    found = topics.discover_topics_by_source(window, END, "m", k=2)
    assert found.schema == topics.CONTACT_TOPICS
    assert found.group_by("source").len().sort("source").rows() == [("tickets", 2), ("tweets", 2)]
    tweet_topics = found.filter(pl.col("source") == "tweets")
    assert tweet_topics["growth"].to_list() == [1.0, 1.0]
    assert not found["is_new"].any() and not found["is_growing"].any()
    assert found.filter(pl.col("source") == "tickets")["volume_recent"].sum() == 0


def test_no_flags_without_enough_baseline():
    found = topics.discover_topics(_window({"refund": (10, 20), "password": (0, 10)}), END, "m", k=2)
    assert found.height == 2 and not found["is_new"].any() and not found["is_growing"].any()


def test_too_few_texts_give_no_topics():
    found = topics.discover_topics(_window({"refund": (3, 3)}), END, "m")
    assert found.is_empty() and found.schema == topics.CONTACT_TOPICS
