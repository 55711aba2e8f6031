"""Enrichment: embeddings of every transcript, text-to-satisfaction and NPS-class models, per-interaction
labels (contact reason, semantic CSAT, sentiment, NPS class, language) and the contact topics of a
trailing window."""

import datetime as dt
import time

import dagster as dg
import numpy as np
import polars as pl

from cx_platform.defs.ingestion.assets import staging_assets
from cx_platform.defs.partitions import daily_partitions, partition_days
from cx_platform.defs.resources import EmbeddingModelResource, LakeResource, LandingResource
from cx_platform.lib import schemas, topics
from cx_platform.lib.embeddings import EMBEDDED, embed_texts
from cx_platform.lib.intent import contact_reason_model
from cx_platform.lib.lake import Lake, day_range
from cx_platform.lib.language import guess_language
from cx_platform.lib.semantic import (
    CsatModel,
    LinearModel,
    evaluate_satisfaction,
    label_status,
    mark_training_rows,
    rated_text,
    read_star_reviews,
    train_csat_model,
    train_nps_model,
)

CSAT_MODEL_FILE = "models/semantic_csat.npz"
NPS_MODEL_FILE = "models/nps_class.npz"
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
    """One row per interaction that has a transcript: its sentence-embedding vector (unit length; default
    model all-MiniLM-L6-v2), text hash, length in model tokens, truncation flag and status (``ok``,
    ``truncated``: embedded from its first max_seq_length tokens, ``empty``, ``no_words``: emoji, digits
    or punctuation only; the last two get a zero vector). Identical normalized texts are embedded once
    and vectors are reused across runs and backfills from a cache keyed by (text hash, model id)."""
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
    totals = {"rows": 0, "cache_hits": 0, "encoded": 0}
    statuses: dict[str, int] = {}
    started = time.perf_counter()
    written: set[dt.date] = set()
    schema = schemas.TRANSCRIPT_EMBEDDINGS
    for chunk in _day_chunks(per_day):
        part = texts.filter(pl.col("business_date").is_in(chunk))
        batch = embed_texts(part["transcript"].to_list(), embedder, cache)
        schema = schemas.transcript_embeddings_schema(batch.vectors.shape[1])
        frame = part.select("interaction_id", "business_date").with_columns(
            pl.Series("text_hash", batch.hashes),
            pl.lit(embedder.model_id).alias("model_id"),
            pl.Series("n_tokens", batch.n_tokens, dtype=pl.Int32),
            pl.Series("truncated", batch.truncated),
            pl.Series("status", batch.status),
            pl.Series("embedding", batch.vectors, dtype=schema["embedding"]),
        )
        store.write_partitions("transcript_embeddings", chunk, frame, schema)
        written.update(chunk)
        totals["rows"] += frame.height
        totals["cache_hits"] += batch.cache_hits
        totals["encoded"] += batch.encoded
        for status in batch.status:
            statuses[status] = statuses.get(status, 0) + 1
        context.log.info(f"embedded {totals['rows']}/{texts.height} transcripts ({chunk[0]}..{chunk[-1]})")
    empty_days = [d for d in days if d not in written]
    store.write_partitions("transcript_embeddings", empty_days, schemas.empty(schema), schema)
    elapsed = time.perf_counter() - started
    return dg.MaterializeResult(
        metadata={
            **totals,
            "rows_by_status": dict(sorted(statuses.items())),
            "model_id": embedder.model_id,
            "seconds": round(elapsed, 1),
            "transcripts_per_second": round(totals["rows"] / elapsed, 1) if elapsed > 0 else None,
            "path": dg.MetadataValue.path(str(store.table_dir("transcript_embeddings"))),
        }
    )


def _markdown(frame: pl.DataFrame) -> dg.MetadataValue:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.rows()]
    return dg.MetadataValue.md("\n".join(lines))


def _surveyed_interactions(store: Lake) -> pl.DataFrame:
    """Staged interactions with a transcript and a survey answer (NPS 0-10 or CSAT 1-5), every source."""
    paths = [store.table_path(f"staging/{a.key.path[-1]}") for a in staging_assets]
    return pl.concat(
        [
            pl.scan_parquet(path)
            .filter(
                pl.col("transcript").is_not_null()
                & (pl.col("nps_score").is_not_null() | pl.col("csat_score").is_not_null())
            )
            .collect()
            for path in paths
            if path.exists()
        ]
    )


@dg.asset(group_name="enrichment", kinds={"scikitlearn"}, deps=[a.key for a in staging_assets])
def semantic_csat_model(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    landing: LandingResource,
    embedding_model: EmbeddingModelResource,
) -> dg.MaterializeResult:
    """Text -> satisfaction models on embeddings of real rated text: Amazon Alexa reviews (1-5 stars),
    NPS verbatims (0-10) and the team's own surveyed contacts (any staged source with a transcript and
    a 1-5 CSAT answer, e.g. the support tickets).

    * semantic CSAT (1-5): logistic regression, calibrated to the rating scale by isotonic regression on
      its out-of-fold predictions;
    * NPS class (promoter / passive / detractor) from the NPS verbatims.

    A surveyed source trains the CSAT model only when its ratings follow the text at all (Spearman >= 0.1
    with a model trained on the public data); otherwise it is only evaluated (the synthetic tickets).

    Both are first evaluated on held-out rows (a random fifth of reviews and surveyed contacts, the last
    month of NPS answers): MAE and Spearman per dataset, before and after calibration, a calibration
    table (mean actual rating per predicted star) and the NPS-class accuracy; then refitted on all their
    training rows."""
    store = lake.lake
    reviews = read_star_reviews(f"{landing.root}/star_reviews/amazon_alexa.tsv")
    rated = rated_text(reviews, _surveyed_interactions(store))
    embedder = embedding_model.embedder()
    batch = embed_texts(rated["text"].to_list(), embedder, embedding_model.cache(store))
    usable = batch.embedded
    rated, vectors = rated.filter(pl.Series(usable)), batch.vectors[usable]
    rated, signal = mark_training_rows(rated, vectors, embedder.model_id)

    evaluation = evaluate_satisfaction(rated, vectors, embedder.model_id)
    trains = rated["trains"].to_numpy()
    model = train_csat_model(vectors[trains], rated["rating"].to_numpy()[trains], embedder.model_id)
    path = model.save(store.root / CSAT_MODEL_FILE)
    nps_rows = rated["nps_class"].is_not_null().to_numpy()
    nps_path = store.root / NPS_MODEL_FILE
    if rated.filter(pl.Series(nps_rows))["nps_class"].n_unique() >= 2:
        train_nps_model(vectors[nps_rows], rated["nps_class"].to_numpy()[nps_rows], embedder.model_id).save(
            nps_path
        )
    else:
        nps_path.unlink(missing_ok=True)  # never leave a model trained on other data behind
    context.log.info(
        f"semantic CSAT on {trains.sum()} of {rated.height} rated texts; held-out {evaluation.csat}; "
        f"NPS {evaluation.nps}"
    )
    return dg.MaterializeResult(
        metadata={
            "training_rows": int(trains.sum()),
            "rated_rows_by_dataset": dict(rated.group_by("dataset").len().sort("dataset").rows()),
            # a surveyed source trains the model only if its ratings follow the text (Spearman >= 0.1)
            "survey_signal_spearman": signal,
            "surveyed_sources_used_for_training": sorted(
                set(rated.filter(pl.col("trains"))["dataset"]) & set(signal)
            ),
            "skipped_rows_without_words": int((~usable).sum()),
            **{
                f"heldout_{name}_{k}": v
                for name, scores in evaluation.csat.items()
                for k, v in scores.items()
            },
            **{f"heldout_nps_class_{k}": v for k, v in evaluation.nps.items()},
            "calibration_table": _markdown(evaluation.calibration.with_columns(pl.col(pl.Float64).round(2))),
            "embedding_model_id": embedder.model_id,
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="enrichment",
    kinds={"scikitlearn", "parquet"},
    deps=["interactions", "transcript_embeddings", "semantic_csat_model"],
)
def interaction_labels(
    context: dg.AssetExecutionContext, lake: LakeResource, embedding_model: EmbeddingModelResource
) -> dg.MaterializeResult:
    """One row per interaction (100%), with a status saying what could be read from it. Transcripts in
    English (status ``ok`` or ``truncated``) get a contact reason from the configured taxonomy (a
    classifier trained on the taxonomy's examples when every label has enough of them, else zero-shot
    by nearest label prototype), a calibrated semantic CSAT (1-5), sentiment (-1..1) and a predicted NPS
    class. Non-English, empty and word-less transcripts are flagged (``non_english``, ``empty``,
    ``no_words``) and get no score. Interactions without a transcript are classified from the source's
    own reason label when it has one (``from_source_reason``), else get ``no_text``. Every row records
    the embedding model, the text's length in tokens, truncation and a language guess."""
    store = lake.lake
    days = partition_days(context)
    embedder = embedding_model.embedder()
    base = (
        store.scan_days("interactions", days, schemas.INTERACTIONS)
        .select("interaction_id", "source", "transcript", "source_reason", "business_date")
        .collect()
    )
    embedded = (
        store.scan_days(
            "transcript_embeddings", days, schemas.transcript_embeddings_schema(embedder.dimension)
        )
        .select("interaction_id", "model_id", "embedding", "status", "n_tokens", "truncated")
        .collect()
    )
    stale = embedded.filter(pl.col("model_id") != embedder.model_id).height
    if stale:
        raise dg.Failure(
            f"{stale} embeddings are not from {embedder.model_id}: re-materialize transcript_embeddings"
        )
    frame = base.join(embedded.drop("model_id"), on="interaction_id", how="left")
    missing = frame.filter(pl.col("transcript").is_not_null() & pl.col("status").is_null()).height
    if missing:
        raise dg.Failure(f"{missing} transcripts have no embedding: materialize transcript_embeddings first")
    frame = frame.with_columns(
        pl.Series(
            "language",
            [guess_language(t) if t is not None else None for t in frame["transcript"]],
            dtype=pl.String,
        )
    )
    frame = frame.with_columns(pl.Series("label_status", label_status(frame), dtype=pl.String))

    cache = embedding_model.cache(store)
    csat_model = CsatModel.load(store.root / CSAT_MODEL_FILE)
    if csat_model.model_id != embedder.model_id:
        raise dg.Failure(
            f"the CSAT model expects {csat_model.model_id} vectors: re-materialize semantic_csat_model"
        )
    nps_path = store.root / NPS_MODEL_FILE
    nps_model = LinearModel.load(nps_path) if nps_path.exists() else None
    taxonomy = embedding_model.taxonomy()
    reasons = contact_reason_model(
        taxonomy, lambda t: embed_texts(t, embedder, cache).vectors, embedder.model_id
    )

    status = frame["label_status"].to_numpy()
    scored = np.isin(status, EMBEDDED)
    vectors = np.zeros((frame.height, embedder.dimension), dtype=np.float32)
    if scored.any():
        vectors[scored] = frame.filter(pl.Series(scored))["embedding"].to_numpy()
    from_reason = status == "from_source_reason"
    if from_reason.any():
        reason_batch = embed_texts(
            frame.filter(pl.Series(from_reason))["source_reason"].to_list(), embedder, cache
        )
        vectors[from_reason] = reason_batch.vectors
        from_reason[from_reason] = reason_batch.embedded
    labelled = scored | from_reason

    contact_reason = np.full(frame.height, None, dtype=object)
    reason_score = np.full(frame.height, np.nan, dtype=np.float32)
    contact_reason[labelled], reason_score[labelled] = reasons.predict(vectors[labelled])
    csat = np.full(frame.height, np.nan, dtype=np.float32)
    csat[scored] = csat_model.predict(vectors[scored])
    nps_class = np.full(frame.height, None, dtype=object)
    if nps_model is not None and scored.any():
        nps_class[scored] = nps_model.predict(vectors[scored])

    reason_series = pl.Series("contact_reason", contact_reason, dtype=pl.String)
    labels = (
        frame.select(
            "interaction_id",
            "source",
            "business_date",
            "language",
            "n_tokens",
            "truncated",
            pl.col("label_status").alias("status"),
        )
        .with_columns(
            reason_series,
            pl.Series("contact_reason_score", reason_score).fill_nan(None),
            pl.when(pl.Series(labelled)).then(pl.lit(reasons.method)).alias("contact_reason_method"),
            reason_series.is_in(taxonomy.sales_labels).alias("is_sales"),
            pl.Series("semantic_csat", csat).fill_nan(None),
            pl.Series("nps_class", nps_class, dtype=pl.String),
            pl.lit(embedder.model_id).alias("model_id"),
        )
        .with_columns(((pl.col("semantic_csat") - 3) / 2).alias("sentiment"))
    )
    store.write_partitions("interaction_labels", days, labels, schemas.INTERACTION_LABELS)
    mix = dict(labels.group_by("contact_reason").len().sort("len", descending=True).head(8).rows())
    return dg.MaterializeResult(
        metadata={
            "rows": labels.height,
            "rows_by_status": dict(labels.group_by("status").len().sort("status").rows()),
            "contact_reason_method": reasons.method,
            "languages": dict(
                labels.drop_nulls("language").group_by("language").len().sort("len", descending=True).rows()
            ),
            "semantic_csat_mean": float(np.nanmean(csat)) if scored.any() else None,
            "top_contact_reasons": {str(k): v for k, v in mix.items()},
            "model_id": embedder.model_id,
            "path": dg.MetadataValue.path(str(store.table_dir("interaction_labels"))),
        }
    )


# Topics of day D are discovered in the window D-27..D: the dependency says so, so lineage and staleness
# show it (days before the first partition simply do not exist).
TOPIC_WINDOW_MAPPING = dg.TimeWindowPartitionMapping(
    start_offset=-(topics.WINDOW_DAYS - 1), end_offset=0, allow_nonexistent_upstream_partitions=True
)


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="enrichment",
    kinds={"scikitlearn", "parquet"},
    deps=[
        dg.AssetDep("interactions", partition_mapping=TOPIC_WINDOW_MAPPING),
        dg.AssetDep("transcript_embeddings", partition_mapping=TOPIC_WINDOW_MAPPING),
    ],
)
def contact_topics(
    context: dg.AssetExecutionContext, lake: LakeResource, embedding_model: EmbeddingModelResource
) -> dg.MaterializeResult:
    """Contact drivers: for each day with transcripts and each source, the source's embedded transcripts
    of the 28 days up to it are clustered (k-means, about sqrt(n/2) topics, at most 20), each topic is named by its most
    distinctive terms (class-based TF-IDF), its contacts are counted per day of the window, and it is
    flagged ``is_growing`` when its share of the last 7 days' contacts is at least twice its share of
    the 21 days before, ``is_new`` when it had no contact before or at least 10 times the share, given
    at least 5 recent contacts of the topic and 30 baseline contacts in all. Topic ids are volume ranks
    within a day's window, not stable keys: the name and terms identify a topic from day to day."""
    store = lake.lake
    days = partition_days(context)
    embedder = embedding_model.embedder()
    lookback = day_range(days[0] - dt.timedelta(days=topics.WINDOW_DAYS - 1), days[-1])
    texts = store.scan_days("interactions", lookback, schemas.INTERACTIONS).select(
        "interaction_id", "source", pl.col("transcript").alias("text")
    )
    window = (
        store.scan_days(
            "transcript_embeddings", lookback, schemas.transcript_embeddings_schema(embedder.dimension)
        )
        .filter(pl.col("status").is_in(EMBEDDED) & (pl.col("model_id") == embedder.model_id))
        .select("interaction_id", "business_date", "embedding")
        .join(texts, on="interaction_id", how="inner")
        .collect()
    )
    with_text = set(window["business_date"].unique().to_list())
    found = [
        topics.discover_topics_by_source(window, day, embedder.model_id) for day in days if day in with_text
    ]
    frame = pl.concat(found) if found else pl.DataFrame(schema=topics.CONTACT_TOPICS)
    store.write_partitions("contact_topics", days, frame, topics.CONTACT_TOPICS)
    latest = frame.filter(pl.col("business_date") == pl.col("business_date").max())
    return dg.MaterializeResult(
        metadata={
            "rows": frame.height,
            "days_with_topics": frame["business_date"].n_unique(),
            "new_topics": frame["is_new"].sum(),
            "growing_topics": frame["is_growing"].sum(),
            "latest_day_topics": latest.select("source", "name", "volume_window", "is_new", "is_growing")
            .rows()[:20],
            "path": dg.MetadataValue.path(str(store.table_dir("contact_topics"))),
        }
    )
