"""Semantic CSAT and NPS class from transcript embeddings, and the status of a label row (no Dagster here).

Both are multinomial logistic regressions on the embeddings, stored as plain arrays (no pickle). The
CSAT model's expected 1-5 score is then calibrated to the rating scale with isotonic regression fitted
on out-of-fold predictions, so that a predicted 4 means "texts like this were rated 4 on average".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from cx_platform.lib.embeddings import EMBEDDED
from cx_platform.lib.language import is_english

# ---- linear models on embeddings ------------------------------------------------------------------


@dataclass
class LinearModel:
    """Softmax over ``vectors @ coef.T + intercept``; ``model_id`` names the embedding model it expects."""

    coef: np.ndarray  # (n_classes, dim), or (1, dim) for two classes as sklearn stores them
    intercept: np.ndarray
    classes: np.ndarray
    model_id: str

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors.astype(np.float64) @ self.coef.T.astype(np.float64) + self.intercept
        if logits.shape[1] == 1:  # binary: sklearn keeps only the positive class's logit
            logits = np.hstack([np.zeros_like(logits), logits])
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        return self.classes[self.proba(vectors).argmax(axis=1)]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)})
        return path

    @classmethod
    def load(cls, path: str | Path):
        with np.load(Path(path), allow_pickle=False) as data:
            values = {f.name: data[f.name] for f in dataclasses.fields(cls)}
        return cls(**{k: v.item() if v.ndim == 0 else v for k, v in values.items()})


def _logistic_regression(C: float, class_weight: str | None):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight=class_weight, max_iter=3000)


def fit_linear_model(
    vectors: np.ndarray,
    labels: np.ndarray,
    model_id: str,
    C: float = 1.0,
    class_weight: str | None = None,
) -> LinearModel:
    clf = _logistic_regression(C, class_weight).fit(vectors, labels)
    # text labels as a fixed-width string array, which numpy saves without pickle
    classes = clf.classes_.astype(str) if clf.classes_.dtype == object else clf.classes_
    return LinearModel(clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32), classes, model_id)


# ---- semantic CSAT: text -> 1..5 satisfaction ----------------------------------------------------

# class_weight balances the heavy skew of real ratings (most reviews are 5 stars), so that the expected
# score does not collapse towards the majority class; the calibration then maps it back onto the scale.
CSAT_C, CSAT_CLASS_WEIGHT = 2.0, "balanced"


@dataclass
class CsatModel(LinearModel):
    """The prediction is the expected rating under the class probabilities, calibrated by a monotone
    piecewise-linear map (``calibration_x`` -> ``calibration_y``; empty = uncalibrated)."""

    calibration_x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    calibration_y: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def expected(self, vectors: np.ndarray) -> np.ndarray:
        return (self.proba(vectors) @ self.classes.astype(np.float64)).astype(np.float32)

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        return apply_calibration(self.expected(vectors), self.calibration_x, self.calibration_y)


def fit_calibration(predicted: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic (monotone) regression of the actual rating on the predicted score, as knots for
    :func:`apply_calibration`; outside the knots the end values hold."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=float(actual.min()), y_max=float(actual.max()), out_of_bounds="clip")
    iso.fit(predicted, actual)
    return iso.X_thresholds_.astype(np.float32), iso.y_thresholds_.astype(np.float32)


def apply_calibration(predicted: np.ndarray, knots_x: np.ndarray, knots_y: np.ndarray) -> np.ndarray:
    if len(knots_x) == 0:
        return predicted.astype(np.float32)
    return np.interp(predicted, knots_x, knots_y).astype(np.float32)


def train_csat_model(vectors: np.ndarray, ratings: np.ndarray, model_id: str, folds: int = 5) -> CsatModel:
    """Logistic regression on all rows, calibrated on its out-of-fold predictions (so the calibration
    never sees a prediction made on a row's own training data)."""
    from sklearn.model_selection import cross_val_predict

    clf = _logistic_regression(CSAT_C, CSAT_CLASS_WEIGHT)
    classes = np.unique(ratings)
    out_of_fold = cross_val_predict(clf, vectors, ratings, cv=folds, method="predict_proba") @ classes
    knots_x, knots_y = fit_calibration(out_of_fold, ratings)
    base = fit_linear_model(vectors, ratings, model_id, CSAT_C, CSAT_CLASS_WEIGHT)
    return CsatModel(**dataclasses.asdict(base), calibration_x=knots_x, calibration_y=knots_y)


def csat_agreement(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr

    mae = float(np.abs(predicted - actual).mean()) if len(actual) else float("nan")
    rho = float(spearmanr(predicted, actual).statistic) if len(actual) > 2 else float("nan")
    return {"mae": round(mae, 4), "spearman": round(rho, 4), "n": int(len(actual))}


def calibration_table(predicted: np.ndarray, actual: np.ndarray) -> pl.DataFrame:
    """Per predicted star (the prediction rounded to 1..5): rows, mean predicted and mean actual rating.
    A calibrated model has mean_actual close to mean_predicted in every bucket."""
    frame = pl.DataFrame(
        {"predicted": np.asarray(predicted, dtype=np.float64), "actual": np.asarray(actual, dtype=np.float64)}
    )
    return (
        frame.with_columns(pl.col("predicted").round().clip(1, 5).cast(pl.Int8).alias("bucket"))
        .group_by("bucket")
        .agg(
            pl.len().alias("n"),
            pl.col("predicted").mean().alias("mean_predicted"),
            pl.col("actual").mean().alias("mean_actual"),
        )
        .sort("bucket")
    )


# ---- NPS class: promoter / passive / detractor from the verbatim ---------------------------------

NPS_C = 1.0


def nps_class(score: pl.Expr) -> pl.Expr:
    """The standard NPS classes of a 0-10 score: 9-10 promoter, 7-8 passive, 0-6 detractor."""
    return (
        pl.when(score >= 9)
        .then(pl.lit("promoter"))
        .when(score >= 7)
        .then(pl.lit("passive"))
        .when(score.is_not_null())
        .then(pl.lit("detractor"))
    )


def train_nps_model(vectors: np.ndarray, classes: np.ndarray, model_id: str) -> LinearModel:
    return fit_linear_model(vectors, classes, model_id, NPS_C, "balanced")


# ---- rated text: what the models learn from --------------------------------------------------------

HOLDOUT_SEED = 7
HOLDOUT_SHARE = 0.2


def read_star_reviews(path: str | Path) -> pl.DataFrame:
    """Amazon Alexa reviews: UTF-8 with BOM, tab-separated, CRLF; returns (text, rating) with text present."""
    frame = pl.read_csv(
        Path(path),
        separator="\t",
        encoding="utf8-lossy",
        quote_char='"',
        schema_overrides={"rating": pl.Int64, "verified_reviews": pl.String},
    )
    frame = frame.rename({c: c.lstrip("\ufeff") for c in frame.columns})
    return frame.select(pl.col("verified_reviews").str.strip_chars().alias("text"), pl.col("rating")).filter(
        pl.col("text").str.len_chars() > 1, pl.col("rating").is_between(1, 5)
    )


def _random_holdout(frame: pl.DataFrame) -> pl.Series:
    return pl.Series("holdout", np.random.default_rng(HOLDOUT_SEED).random(frame.height) < HOLDOUT_SHARE)


def rated_text(reviews: pl.DataFrame, interactions: pl.DataFrame) -> pl.DataFrame:
    """Rated text from star reviews (text, rating) and canonical interactions with a transcript and a
    survey answer: NPS answers (0-10 mapped onto 1-5 as round(1 + 0.4 x score): 0-1 -> 1, 2-3 -> 2,
    4-6 -> 3, 7-8 -> 4, 9-10 -> 5) and the team's own surveyed contacts (1-5 CSAT, one dataset per source).

    Columns: text, rating (1-5), nps_class (NPS answers only), dataset, holdout. The held-out rows are a
    random fifth of the reviews and of each surveyed source, and the last calendar month of NPS
    answers (a time split: the model is judged on a month it has not seen).
    """
    columns = ["text", "rating", "nps_class", "dataset", "holdout"]
    parts = [
        reviews.with_columns(
            pl.lit(None, pl.String).alias("nps_class"),
            pl.lit("star_reviews").alias("dataset"),
            _random_holdout(reviews),
        ).select(columns)
    ]
    with_text = interactions.filter(pl.col("transcript").is_not_null())
    answers = with_text.filter(pl.col("nps_score").is_not_null())
    if answers.height:
        last_month = answers["created_at"].max().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        parts.append(
            answers.select(
                pl.col("transcript").alias("text"),
                (1 + 0.4 * pl.col("nps_score").cast(pl.Float64))
                .round()
                .clip(1, 5)
                .cast(pl.Int64)
                .alias("rating"),
                nps_class(pl.col("nps_score")).alias("nps_class"),
                pl.lit("nps_verbatims").alias("dataset"),
                (pl.col("created_at") >= last_month).alias("holdout"),
            )
        )
    surveyed = with_text.filter(pl.col("csat_score").is_between(1, 5))
    for (source,), part in sorted(surveyed.partition_by("source", as_dict=True).items()):
        parts.append(
            part.select(
                pl.col("transcript").alias("text"),
                pl.col("csat_score").cast(pl.Int64).alias("rating"),
                pl.lit(None, pl.String).alias("nps_class"),
                pl.lit(source).alias("dataset"),
                _random_holdout(part),
            )
        )
    return pl.concat(parts)


# Public rated text always trains the CSAT model. A team's own surveyed source trains it too, unless its
# ratings do not follow the text at all (Spearman with the public-data model's predictions below this):
# such surveys (synthetic, or answering something else than the conversation) would only dilute the model.
# They are still evaluated and reported.
PUBLIC_DATASETS = ("star_reviews", "nps_verbatims")
MIN_SURVEY_SPEARMAN = 0.1


def survey_signal(rated: pl.DataFrame, vectors: np.ndarray, model_id: str) -> dict[str, float]:
    """Spearman between each surveyed source's ratings (all its rows) and the expected rating of a model
    trained on the public datasets' non-held-out rows."""
    from scipy.stats import spearmanr

    datasets = rated["dataset"].to_numpy()
    ratings = rated["rating"].to_numpy()
    public = np.isin(datasets, PUBLIC_DATASETS) & ~rated["holdout"].to_numpy()
    base = fit_linear_model(vectors[public], ratings[public], model_id, CSAT_C, CSAT_CLASS_WEIGHT)
    expected = CsatModel(**dataclasses.asdict(base)).expected(vectors)
    return {
        str(name): round(float(spearmanr(expected[datasets == name], ratings[datasets == name]).statistic), 4)
        for name in np.unique(datasets[~np.isin(datasets, PUBLIC_DATASETS)])
    }


def mark_training_rows(rated: pl.DataFrame, vectors: np.ndarray, model_id: str) -> tuple[pl.DataFrame, dict]:
    """``rated`` with a ``trains`` column (the dataset may train the CSAT model), and each surveyed
    source's signal (see PUBLIC_DATASETS)."""
    signal = survey_signal(rated, vectors, model_id)
    keep = [*PUBLIC_DATASETS, *(name for name, rho in signal.items() if rho >= MIN_SURVEY_SPEARMAN)]
    return rated.with_columns(pl.col("dataset").is_in(keep).alias("trains")), signal


@dataclass
class SatisfactionEvaluation:
    """Held-out scores of the CSAT and NPS-class models trained on the other rows."""

    csat: dict[str, dict[str, float]]  # dataset -> mae/spearman (calibrated and raw), n
    calibration: pl.DataFrame  # per dataset and predicted star: n, mean predicted, mean actual
    nps: dict[str, float]  # accuracy, macro_f1, majority-class baseline accuracy, n (held-out month)


def evaluate_satisfaction(rated: pl.DataFrame, vectors: np.ndarray, model_id: str) -> SatisfactionEvaluation:
    """Train on the non-held-out training rows of ``rated`` (see :func:`rated_text` and
    :func:`mark_training_rows`) and score every held-out row."""
    from sklearn.metrics import accuracy_score, f1_score

    held_out = rated["holdout"].to_numpy()
    ratings = rated["rating"].to_numpy()
    fit = ~held_out & rated["trains"].to_numpy()
    model = train_csat_model(vectors[fit], ratings[fit], model_id)
    test = rated.filter(pl.col("holdout"))
    raw, calibrated = model.expected(vectors[held_out]), model.predict(vectors[held_out])
    csat, tables = {}, []
    for dataset in test["dataset"].unique().sort().to_list():
        mask = (test["dataset"] == dataset).to_numpy()
        actual = ratings[held_out][mask]
        scores = csat_agreement(calibrated[mask], actual)
        raw_scores = csat_agreement(raw[mask], actual)
        csat[dataset] = {**scores, "mae_raw": raw_scores["mae"], "spearman_raw": raw_scores["spearman"]}
        tables.append(
            calibration_table(calibrated[mask], actual).with_columns(pl.lit(dataset).alias("dataset"))
        )

    nps = {}
    has_class = rated["nps_class"].is_not_null().to_numpy()
    train, evaluate = has_class & ~held_out, has_class & held_out
    classes = rated["nps_class"].to_numpy()
    if evaluate.any() and len(set(classes[train])) >= 2:
        predicted = train_nps_model(vectors[train], classes[train], model_id).predict(vectors[evaluate])
        actual = classes[evaluate]
        values, counts = np.unique(classes[train], return_counts=True)
        nps = {
            "accuracy": round(float(accuracy_score(actual, predicted)), 4),
            "macro_f1": round(float(f1_score(actual, predicted, average="macro")), 4),
            "majority_baseline": round(float((actual == values[counts.argmax()]).mean()), 4),
            "n": int(evaluate.sum()),
        }
    calibration = pl.concat(tables).select("dataset", pl.exclude("dataset")) if tables else pl.DataFrame()
    return SatisfactionEvaluation(csat, calibration, nps)


# ---- what a label row could be read from ------------------------------------------------------------


def label_status(frame: pl.DataFrame) -> np.ndarray:
    """Status of each interaction's labels (see schemas.INTERACTION_LABELS) from its ``transcript``, the
    embedding ``status`` (ok | truncated | empty | no_words), the ``language`` guess and ``source_reason``:
    the embedding status, unless there is no transcript (from_source_reason or no_text) or the text is
    not English (non_english: the default model is English-only, so its scores would be garbage)."""
    english = np.array(
        [language is None or is_english(language) for language in frame["language"]], dtype=bool
    )
    return np.where(
        frame["transcript"].is_null().to_numpy(),
        np.where(frame["source_reason"].is_null().to_numpy(), "no_text", "from_source_reason"),
        np.where(
            np.isin(frame["status"].to_numpy(), EMBEDDED) & ~english,
            "non_english",
            frame["status"].to_numpy(),
        ),
    )
