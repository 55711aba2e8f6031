"""Message-level timing rules for sources that export conversations as events (chat, messaging).

* Bot and automatic replies never count as a first response: only a human agent's reply does.
* A reopened conversation does not inherit the waiting time of its first life: each life (from the
  conversation's start, then from each ``reopen`` event) is timed from its own start to the first human
  reply after it.
"""

from __future__ import annotations

import polars as pl

MESSAGES = pl.Schema(
    {
        "interaction_id": pl.String,
        "seq": pl.Int32,
        "sent_at": pl.Datetime("us", "UTC"),
        "author_role": pl.String,  # customer | agent | bot | system
        "event": pl.String,  # message | reopen | close
    }
)
HUMAN_ROLES = ("agent",)


def response_times_by_life(messages: pl.DataFrame) -> pl.DataFrame:
    """One row per conversation life: ``interaction_id``, ``life`` (0 = first), ``started_at``,
    ``first_human_response_at`` and ``frt_seconds`` (null when no human ever answered that life)."""
    ordered = messages.sort("interaction_id", "seq").with_columns(
        (pl.col("event") == "reopen").cast(pl.Int32).cum_sum().over("interaction_id").alias("life")
    )
    human_reply = (pl.col("author_role").is_in(HUMAN_ROLES)) & (pl.col("event") == "message")
    return (
        ordered.group_by("interaction_id", "life", maintain_order=True)
        .agg(
            pl.col("sent_at").first().alias("started_at"),
            pl.col("sent_at").filter(human_reply).first().alias("first_human_response_at"),
        )
        .with_columns(
            ((pl.col("first_human_response_at") - pl.col("started_at")).dt.total_microseconds() / 1e6)
            .alias("frt_seconds")
        )
    )


def first_human_response(messages: pl.DataFrame) -> pl.DataFrame:
    """``interaction_id`` -> ``first_response_at`` of the first life (what the interactions table holds)."""
    return (
        response_times_by_life(messages)
        .filter(pl.col("life") == 0)
        .select("interaction_id", pl.col("first_human_response_at").alias("first_response_at"))
    )
