"""Enrichment: MiniLM embeddings of every transcript, a text-to-satisfaction model, and per-interaction
labels (contact reason, semantic CSAT, sentiment, language)."""

import datetime as dt
import time

import dagster as dg
import numpy as np
import polars as pl

from cx_platform.defs.partitions import daily_partitions, partition_days
from cx_platform.defs.ingestion.assets import source_files
from cx_platform.defs.resources import EmbeddingModelResource, LakeResource, LandingResource
from cx_platform.lib import schemas
from cx_platform.lib.embeddings import embed_texts
from cx_platform.lib.sources import nps
from cx_platform.lib.semantic import (
    CsatModel,
    classify_by_prototype,
    csat_agreement,
    guess_language,
    label_prototypes,
    read_star_reviews,
    train_csat_model,
)

CSAT_MODEL_FILE = "models/semantic_csat.npz"
# Days are embedded in chunks of about this many texts: big enough batches, bounded memory, visible progress.
CHUNK_TEXTS = 1024


def _day_chunks(counts: dict[dt.date, int]) -> list[list[dt.date]]:
    chunks, current, size = [], [], 0
    for day, n in sorted(counts.items()):
        if current and size + n > CHUNK_TEXTS:
            chunks.append(current)
            current, size = [], 0
        current.append(day)
        size += n
    return chunks + ([current] if current else [])


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="enrichment",
    kinds={"pytorch", "parquet"},
    deps=["interactions"],
)
def transcript_embeddings(
    context: dg.AssetExecutionContext, lake: LakeResource, embedding_model: EmbeddingModelResource
) -> dg.MaterializeResult:
    """One row per interaction that has a transcript: its 384-d all-MiniLM-L6-v2 vector (unit length),
    text hash, token count and truncation flag. Identical normalized texts are embedded once and vectors
    are reused across runs and backfills from a cache keyed by (text hash, model id)."""
    store = lake.lake
    days = partition_days(context)
    texts = (
        store.scan_days("interactions", days, schemas.INTERACTIONS)
        .filter(pl.col("transcript").is_not_null())
        .select("interaction_id", "transcript", "business_date")
        .collect()
    )
    embedder = embedding_model.embedder()
    cache = embedding_model.cache(store)
    per_day = dict(texts.group_by("business_date").len().rows())
    totals = {"rows": 0, "cache_hits": 0, "encoded": 0, "truncated": 0, "empty": 0}
    started = time.perf_counter()
    written: set[dt.date] = set()
    for chunk in _day_chunks(per_day):
        part = texts.filter(pl.col("business_date").is_in(chunk))
        batch = embed_texts(part["transcript"].to_list(), embedder, cache)
        frame = part.select("interaction_id", "business_date").with_columns(
            pl.Series("text_hash", batch.hashes),
            pl.lit(embedder.model_id).alias("model_id"),
            pl.Series("n_tokens", batch.n_tokens, dtype=pl.Int32),
            pl.Series("truncated", batch.truncated),
            pl.Series("status", batch.status),
            pl.Series("embedding", batch.vectors, dtype=pl.Array(pl.Float32, schemas.EMBEDDING_DIM)),
        )
        store.write_partitions("transcript_embeddings", chunk, frame, schemas.TRANSCRIPT_EMBEDDINGS)
        written.update(chunk)
        totals["rows"] += frame.height
        totals["cache_hits"] += batch.cache_hits
        totals["encoded"] += batch.encoded
        totals["truncated"] += sum(batch.truncated)
        totals["empty"] += batch.status.count("empty")
        context.log.info(f"embedded {totals['rows']}/{texts.height} transcripts ({chunk[0]}..{chunk[-1]})")
    empty_days = [d for d in days if d not in written]
    store.write_partitions("transcript_embeddings", empty_days, schemas.empty(schemas.TRANSCRIPT_EMBEDDINGS),
                           schemas.TRANSCRIPT_EMBEDDINGS)
    elapsed = time.perf_counter() - started
    return dg.MaterializeResult(
        metadata={
            **totals,
            "model_id": embedder.model_id,
            "seconds": round(elapsed, 1),
            "transcripts_per_second": round(totals["rows"] / elapsed, 1) if elapsed > 0 else None,
            "path": dg.MetadataValue.path(str(store.table_dir("transcript_embeddings"))),
        }
    )


def _rated_text(landing_root: str) -> pl.DataFrame:
    """Real rated text: Amazon Alexa reviews (1-5 stars) and NPS verbatims (0-10 mapped onto 1-5 as
    round(1 + 0.4 x score): 0-1 -> 1, 2-3 -> 2, 4-6 -> 3, 7-8 -> 4, 9-10 -> 5). ``holdout`` marks the
    evaluation rows: a random fifth of the reviews and the last month of NPS answers (a time split)."""
    reviews = read_star_reviews(f"{landing_root}/star_reviews/amazon_alexa.tsv")
    reviews = reviews.with_columns(
        pl.lit("star_reviews").alias("dataset"),
        pl.Series("holdout", np.random.default_rng(7).random(reviews.height) < 0.2),
    )
    answers = nps.read(source_files(landing_root, nps)).accepted.filter(
        pl.col("transcript").is_not_null() & pl.col("nps_score").is_not_null()
    )
    last_month = answers["created_at"].max().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    verbatims = answers.select(
        pl.col("transcript").alias("text"),
        (1 + 0.4 * pl.col("nps_score").cast(pl.Float64)).round().clip(1, 5).cast(pl.Int64).alias("rating"),
        pl.lit("nps_verbatims").alias("dataset"),
        (pl.col("created_at") >= last_month).alias("holdout"),
    )
    return pl.concat([reviews.select(verbatims.columns), verbatims])


@dg.asset(group_name="enrichment", kinds={"scikitlearn"})
def semantic_csat_model(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    landing: LandingResource,
    embedding_model: EmbeddingModelResource,
) -> dg.MaterializeResult:
    """Text -> satisfaction (1-5) model: logistic regression on MiniLM embeddings of real rated text
    (Amazon Alexa reviews and NPS verbatims), evaluated on held-out rows (MAE, Spearman) per dataset,
    then refitted on everything."""
    rated = _rated_text(landing.root)
    embedder = embedding_model.embedder()
    vectors = embed_texts(rated["text"].to_list(), embedder, embedding_model.cache(lake.lake)).vectors
    ratings = rated["rating"].to_numpy()
    held_out = rated["holdout"].to_numpy()
    predicted = train_csat_model(vectors[~held_out], ratings[~held_out], embedder.model_id).predict(
        vectors[held_out]
    )
    evaluation = {}
    for dataset in rated["dataset"].unique().sort().to_list():
        mask = rated.filter(pl.col("holdout"))["dataset"].to_numpy() == dataset
        evaluation[dataset] = csat_agreement(predicted[mask], ratings[held_out][mask])
    model = train_csat_model(vectors, ratings, embedder.model_id)
    path = model.save(lake.lake.root / CSAT_MODEL_FILE)
    context.log.info(f"semantic CSAT model on {len(ratings)} rated texts; held-out {evaluation}")
    return dg.MaterializeResult(
        metadata={
            "training_rows": len(ratings),
            "training_rows_by_dataset": dict(rated.group_by("dataset").len().sort("dataset").rows()),
            **{f"heldout_{name}_{k}": v for name, scores in evaluation.items() for k, v in scores.items()},
            "embedding_model_id": embedder.model_id,
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="enrichment",
    kinds={"polars", "parquet"},
    deps=["interactions", "transcript_embeddings", "semantic_csat_model"],
)
def interaction_labels(
    context: dg.AssetExecutionContext, lake: LakeResource, embedding_model: EmbeddingModelResource
) -> dg.MaterializeResult:
    """One row per interaction (100%): contact reason from the configured taxonomy (nearest label
    prototype), semantic CSAT (1-5) and sentiment (-1..1) for interactions with text, and a language guess.
    Interactions without text are classified from the source's own reason label when it has one
    (status ``from_source_reason``), else get status ``no_text``."""
    store = lake.lake
    days = partition_days(context)
    base = store.scan_days("interactions", days, schemas.INTERACTIONS).select(
        "interaction_id", "source", "transcript", "source_reason", "business_date"
    ).collect()
    vectors_df = store.scan_days(
        "transcript_embeddings", days, schemas.TRANSCRIPT_EMBEDDINGS
    ).select("interaction_id", "embedding", "status").collect()
    frame = base.join(vectors_df, on="interaction_id", how="left")

    embedder = embedding_model.embedder()
    cache = embedding_model.cache(store)
    taxonomy = embedding_model.taxonomy()
    prototypes = label_prototypes(taxonomy, lambda t: embed_texts(t, embedder, cache).vectors)
    csat_model = CsatModel.load(store.root / CSAT_MODEL_FILE)

    has_text = (frame["status"] == "ok").fill_null(False).to_numpy()
    vectors = np.zeros((frame.height, schemas.EMBEDDING_DIM), dtype=np.float32)
    if has_text.any():
        vectors[has_text] = frame.filter(pl.Series(has_text))["embedding"].to_numpy()
    use_reason = ~has_text & frame["source_reason"].is_not_null().to_numpy()
    if use_reason.any():
        reasons = frame.filter(pl.Series(use_reason))["source_reason"].to_list()
        vectors[use_reason] = embed_texts(reasons, embedder, cache).vectors

    labelled = has_text | use_reason
    reason, score = classify_by_prototype(vectors[labelled], prototypes, taxonomy.names)
    contact_reason = np.full(frame.height, None, dtype=object)
    reason_score = np.full(frame.height, np.nan, dtype=np.float32)
    contact_reason[labelled], reason_score[labelled] = reason, score
    csat = np.full(frame.height, np.nan, dtype=np.float32)
    csat[has_text] = csat_model.predict(vectors[has_text])

    status = np.where(has_text, "ok", np.where(use_reason, "from_source_reason", "no_text"))
    status = np.where(frame["status"].fill_null("") == "empty", "empty", status)
    labels = frame.select("interaction_id", "source", "business_date").with_columns(
        pl.Series("contact_reason", contact_reason, dtype=pl.String),
        pl.Series("contact_reason_score", reason_score).fill_nan(None),
        pl.Series("contact_reason", contact_reason, dtype=pl.String).is_in(taxonomy.sales_labels).alias("is_sales"),
        pl.Series("semantic_csat", csat).fill_nan(None),
        pl.Series("language", [guess_language(t) for t in frame["transcript"].to_list()]),
        pl.Series("status", status),
        pl.lit(f"{embedder.model_id}+{csat_model.model_id}").alias("model_id"),
    ).with_columns(((pl.col("semantic_csat") - 3) / 2).alias("sentiment"))
    store.write_partitions("interaction_labels", days, labels, schemas.INTERACTION_LABELS)
    mix = dict(labels.group_by("contact_reason").len().sort("len", descending=True).head(8).rows())
    return dg.MaterializeResult(
        metadata={
            "rows": labels.height,
            "with_text": int(has_text.sum()),
            "from_source_reason": int(use_reason.sum()),
            "semantic_csat_mean": float(np.nanmean(csat)) if has_text.any() else None,
            "top_contact_reasons": {str(k): v for k, v in mix.items()},
            "path": dg.MetadataValue.path(str(store.table_dir("interaction_labels"))),
        }
    )
