"""Contact reason, semantic CSAT, calibration, NPS class, language and label status.

The classifier and CSAT tests embed small slices of the shipped real data with the real model."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from cx_platform.lib import intent
from cx_platform.lib.embeddings import Embedder, embed_texts
from cx_platform.lib.language import guess_language, has_words, is_english
from cx_platform.lib.semantic import (
    CsatModel,
    LinearModel,
    apply_calibration,
    calibration_table,
    csat_agreement,
    fit_calibration,
    label_status,
    rated_text,
    read_star_reviews,
    train_csat_model,
)
from cx_platform.lib.taxonomy import Label, Qualification, Taxonomy
from cx_platform_tests.conftest import SAMPLES

INTENTS = ["card_arrival", "exchange_rate", "lost_or_stolen_card", "top_up_failed"]


@pytest.fixture(scope="module")
def encode():
    embedder = Embedder()
    return lambda texts: embed_texts(texts, embedder, None).vectors


@pytest.fixture(scope="module")
def banking77_slice() -> tuple[Taxonomy, pl.DataFrame]:
    """Four real BANKING77 intents: six examples each for the taxonomy, the next six held out."""
    rows = pl.read_csv(SAMPLES / "banking77" / "train.csv").filter(pl.col("category").is_in(INTENTS))
    rows = rows.with_columns(pl.int_range(pl.len()).over("category").alias("n")).filter(pl.col("n") < 12)
    labels = tuple(
        Label(
            name,
            name.replace("_", " "),
            tuple(rows.filter((pl.col("category") == name) & (pl.col("n") < 6))["text"]),
        )
        for name in INTENTS
    )
    return Taxonomy(labels, Qualification()), rows.filter(pl.col("n") >= 6)


# ---- contact reason ------------------------------------------------------------------------------


def test_enough_examples_train_a_classifier_on_real_intents(banking77_slice, encode):
    taxonomy, held_out = banking77_slice
    model = intent.contact_reason_model(taxonomy, encode, "test-model")
    assert model.method == intent.CLASSIFIER
    predicted, scores = model.predict(encode(held_out["text"].to_list()))
    accuracy = np.mean(np.array(predicted) == held_out["category"].to_numpy())
    assert accuracy >= 0.8
    assert ((scores > 0) & (scores <= 1)).all()  # probabilities


def test_few_examples_classify_zero_shot_by_prototype(banking77_slice, encode):
    taxonomy, held_out = banking77_slice
    few = Taxonomy(
        tuple(Label(label.name, label.description, label.examples[:2]) for label in taxonomy.labels),
        Qualification(),
    )
    model = intent.contact_reason_model(few, encode, "test-model")
    assert model.method == intent.ZERO_SHOT
    predicted, scores = model.predict(encode(held_out["text"].to_list()))
    assert np.mean(np.array(predicted) == held_out["category"].to_numpy()) >= 0.6
    assert ((scores >= -1) & (scores <= 1)).all()  # cosine similarities
    assert model.predict(np.zeros((0, 384), dtype=np.float32))[0] == []


# ---- semantic CSAT and calibration -------------------------------------------------------------------


def test_calibration_is_the_isotonic_fit_of_actual_on_predicted():
    # (2 -> 3) and (3 -> 2) violate monotonicity and are pooled to 2.5
    knots_x, knots_y = fit_calibration(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0]))
    calibrated = apply_calibration(np.array([0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 9.0]), knots_x, knots_y)
    assert calibrated.tolist() == pytest.approx([1.0, 1.0, 1.75, 2.5, 2.5, 2.5, 3.25, 4.0, 4.0])
    assert apply_calibration(np.array([3.3]), np.zeros(0), np.zeros(0)).tolist() == pytest.approx([3.3])


def test_calibration_table_buckets_by_predicted_star():
    table = calibration_table(np.array([1.2, 1.4, 4.6, 4.4, 3.0]), np.array([1, 2, 5, 4, 3]))
    assert table.rows() == [
        (1, 2, pytest.approx(1.3), 1.5),
        (3, 1, 3.0, 3.0),
        (4, 1, pytest.approx(4.4), 4.0),
        (5, 1, pytest.approx(4.6), 5.0),
    ]
    assert csat_agreement(np.array([1.0, 2.0, 4.0]), np.array([1, 3, 5])) == {
        "mae": 0.6667,
        "spearman": 1.0,
        "n": 3,
    }


def test_csat_model_on_real_star_reviews_is_calibrated_and_round_trips(encode, tmp_path):
    reviews = read_star_reviews(SAMPLES / "star_reviews" / "amazon_alexa.tsv")
    sample = reviews.filter(pl.int_range(pl.len()).over("rating") < 12)  # 12 real reviews per star
    vectors, ratings = encode(sample["text"].to_list()), sample["rating"].to_numpy()
    model = train_csat_model(vectors, ratings, "test-model", folds=3)
    predicted = model.predict(vectors)
    assert predicted.min() >= 1 and predicted.max() <= 5
    assert np.diff(model.calibration_y).min() >= 0  # monotone map
    assert csat_agreement(predicted, ratings)["spearman"] > 0.5
    loaded = CsatModel.load(model.save(tmp_path / "csat.npz"))
    assert loaded.model_id == "test-model"
    assert np.allclose(loaded.predict(vectors), predicted)


def test_linear_model_with_text_classes_and_two_classes_round_trips(tmp_path):
    binary = LinearModel(np.array([[2.0, 0.0]]), np.array([0.0]), np.array(["detractor", "promoter"]), "m")
    loaded = LinearModel.load(binary.save(tmp_path / "nps.npz"))
    probs = loaded.proba(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    assert probs[0, 1] == pytest.approx(1 / (1 + np.exp(-2))) and probs.sum(axis=1) == pytest.approx([1, 1])
    assert loaded.predict(np.array([[1.0, 0.0], [-1.0, 0.0]])).tolist() == ["promoter", "detractor"]


def test_rated_text_maps_nps_and_holds_out_the_last_month():
    at = [
        dt.datetime(2018, m, d, tzinfo=dt.timezone.utc) for m, d in [(2, 1), (3, 5), (3, 31), (4, 2), (4, 30)]
    ]
    interactions = pl.DataFrame(
        {
            "source": ["nps_verbatims"] * 5 + ["tickets"] * 2,
            "transcript": ["awful", "poor", "fine", "good", "great", "slow reply", None],
            "nps_score": [0, 3, 6, 8, 10, None, None],
            "csat_score": [None] * 5 + [2, 5],
            "created_at": at + at[:2],
        },
        schema_overrides={"nps_score": pl.Int8, "csat_score": pl.Int8},
    )
    reviews = pl.DataFrame({"text": ["love it"], "rating": [5]})
    rated = rated_text(reviews, interactions)
    nps = rated.filter(pl.col("dataset") == "nps_verbatims")
    assert nps["rating"].to_list() == [1, 2, 3, 4, 5]
    assert nps["nps_class"].to_list() == ["detractor", "detractor", "detractor", "passive", "promoter"]
    assert nps["holdout"].to_list() == [False, False, False, True, True]  # April 2018
    tickets = rated.filter(pl.col("dataset") == "tickets")
    assert tickets["rating"].to_list() == [2]  # the survey answer without text is not rated text
    assert rated.filter(pl.col("dataset") == "star_reviews").height == 1


# ---- language and label status --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Good service", "en"),
        ("Refund not received yet", "en"),
        ("customer: @116216 buenas tardes. Intento comprar por play store y me rechaza las compras", "es"),
        ("Warum ist es mir nicht möglich per Bankeinzug zu bezahlen? Ich habe es versucht", "de"),
        ("bonjour a partir de combien de temps après la creation de mon compte", "fr"),
        ("amazonのfireTVstickが見れない😢", "ja"),
        ("😀🎉", "und"),
        ("", "und"),
    ],
)
def test_guess_language(text, language):
    assert guess_language(text) == language


def test_words_and_english():
    assert not has_words("👍👍 10/10 !!") and has_words("ok 👍")
    assert is_english("en") and is_english("und") and not is_english("es")


def test_label_status_for_every_kind_of_input():
    frame = pl.DataFrame(
        {
            "transcript": ["fine", "long text", "hola que tal", "", "😀", None, None],
            "status": ["ok", "truncated", "ok", "empty", "no_words", None, None],
            "language": ["en", "en", "es", "und", "und", None, None],
            "source_reason": [None, None, None, None, None, "billing", None],
        }
    )
    assert label_status(frame).tolist() == [
        "ok",
        "truncated",
        "non_english",
        "empty",
        "no_words",
        "from_source_reason",
        "no_text",
    ]
