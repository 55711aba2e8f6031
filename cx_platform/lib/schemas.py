"""Declared schemas of every lake table.

Every partition of a table is written with exactly this schema, even when it holds no rows, so that
readers (polars, DuckDB, Spark) never see drift between partitions. Timestamps are UTC microseconds.
"""

from __future__ import annotations

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

CHANNELS = ("chat", "email", "phone", "social", "web", "sms", "other")
# kind separates what counts as a customer contact from survey answers and ghost records.
KINDS = ("contact", "survey", "ghost")

INTERACTIONS = pl.Schema(
    {
        "interaction_id": pl.String,  # unique, source-prefixed
        "source": pl.String,
        "kind": pl.String,  # contact | survey | ghost
        "brand": pl.String,
        "channel": pl.String,
        "customer_id": pl.String,  # pseudonymous key; null when the source cannot identify the customer
        "agent_id": pl.String,
        "queue": pl.String,
        "source_reason": pl.String,  # the source's own contact-reason label, when it has one
        "created_at": UTC_TS,
        "first_response_at": UTC_TS,
        "resolved_at": UTC_TS,
        "status": pl.String,  # resolved | open | pending | abandoned | ...
        "resolved": pl.Boolean,
        "handled_by_bot": pl.Boolean,
        "handed_off_to_human": pl.Boolean,
        "answered": pl.Boolean,  # voice: reached an agent
        "abandoned": pl.Boolean,
        "wait_seconds": pl.Float64,
        "handle_seconds": pl.Float64,
        "reopened": pl.Boolean,  # null where the source cannot tell
        "escalated": pl.Boolean,
        "transferred": pl.Boolean,  # moved to another queue or channel (e.g. a tweet answered "please DM us")
        "responded_in_time": pl.Boolean,  # the source's own SLA verdict, where it reports one
        "csat_score": pl.Int8,  # 1-5 survey answer
        "nps_score": pl.Int8,  # 0-10 survey answer
        "n_messages": pl.Int32,
        "transcript": pl.String,  # PII-redacted text, turns joined in order
        "quality_flags": pl.String,  # comma-separated flags (e.g. resolved_before_first_response)
        "source_file": pl.String,
        "source_record": pl.Int64,  # 1-based record number in source_file (first record of a thread)
        "business_date": pl.Date,  # local business date of created_at: the partition key
    }
)

QUARANTINE = pl.Schema(
    {
        "source": pl.String,
        "source_file": pl.String,
        "source_record": pl.Int64,
        "reason": pl.String,
        "raw": pl.String,  # the offending record, redacted, truncated to 2,000 characters
    }
)

CUSTOMERS = pl.Schema(
    {
        "customer_id": pl.String,
        "source": pl.String,
        "tenure_months": pl.Int32,
        "contract": pl.String,
        "payment_method": pl.String,
        "internet_service": pl.String,
        "monthly_revenue": pl.Float64,
        "total_revenue": pl.Float64,
        "churned": pl.Boolean,
        "acquisition_channel": pl.String,
        "source_file": pl.String,
        "source_record": pl.Int64,
    }
)

EMBEDDING_DIM = 384  # all-MiniLM-L6-v2; another model writes vectors of its own width


def transcript_embeddings_schema(dim: int = EMBEDDING_DIM) -> pl.Schema:
    return pl.Schema(
        {
            "interaction_id": pl.String,
            "text_hash": pl.String,  # blake2b of the whitespace-normalized text
            "model_id": pl.String,  # model name @ precision
            "n_tokens": pl.Int32,  # full length in model tokens (0 when not embedded)
            "truncated": pl.Boolean,  # longer than the model's max_seq_length: embedded from its head
            "status": pl.String,  # ok | truncated (both embedded) | empty | no_words (zero vector)
            "embedding": pl.Array(pl.Float32, dim),  # unit length
            "business_date": pl.Date,
        }
    )


TRANSCRIPT_EMBEDDINGS = transcript_embeddings_schema()

INTERACTION_LABELS = pl.Schema(
    {
        "interaction_id": pl.String,
        "source": pl.String,
        "contact_reason": pl.String,
        # classifier: its probability; zero_shot: cosine similarity to the winning label prototype
        "contact_reason_score": pl.Float32,
        "contact_reason_method": pl.String,  # classifier | zero_shot (null without a reason)
        "is_sales": pl.Boolean,
        "semantic_csat": pl.Float32,  # predicted 1-5, calibrated to the rating scale
        "sentiment": pl.Float32,  # -1..1, (semantic_csat - 3) / 2
        "nps_class": pl.String,  # predicted promoter | passive | detractor
        "language": pl.String,  # ISO 639-1 guess (und: no words); null without a transcript
        "n_tokens": pl.Int32,  # transcript length in model tokens; null without a transcript
        "truncated": pl.Boolean,  # scored from the first max_seq_length tokens only
        # ok | truncated: scored from the transcript; non_english: flagged, not scored (English-only
        # model); empty | no_words: nothing to score; from_source_reason: no transcript, reason from the
        # source's own label; no_text: neither
        "status": pl.String,
        "model_id": pl.String,  # the embedding model (name @ precision) every score comes from
        "business_date": pl.Date,
    }
)


def empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Select and cast ``df`` to ``schema``: missing columns become nulls, extra columns are an error."""
    extra = set(df.columns) - set(schema.names())
    if extra:
        raise ValueError(f"columns not in the declared schema: {sorted(extra)}")
    return df.select(
        [
            (pl.col(name) if name in df.columns else pl.lit(None)).cast(dtype, strict=True).alias(name)
            for name, dtype in schema.items()
        ]
    )
