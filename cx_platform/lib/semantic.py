"""Contact reason, semantic CSAT and language guesses from transcript embeddings (no Dagster here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from cx_platform.lib.taxonomy import Taxonomy

# ---- contact reason: zero-shot by similarity to label prototypes ---------------------------------


def label_prototypes(taxonomy: Taxonomy, encode) -> np.ndarray:
    """One unit vector per label: the mean of its description and example embeddings."""
    rows = []
    for label in taxonomy.labels:
        vectors = encode(label.prototype_texts)
        mean = vectors.mean(axis=0)
        rows.append(mean / np.linalg.norm(mean))
    return np.vstack(rows).astype(np.float32)


def classify_by_prototype(vectors: np.ndarray, prototypes: np.ndarray, names: list[str]):
    """Nearest prototype by cosine similarity (vectors are unit length). Returns (labels, scores)."""
    if len(vectors) == 0:
        return [], np.zeros(0, dtype=np.float32)
    similarity = vectors @ prototypes.T
    best = similarity.argmax(axis=1)
    return [names[i] for i in best], similarity[np.arange(len(best)), best].astype(np.float32)


# ---- semantic CSAT: text -> 1..5 satisfaction ----------------------------------------------------


@dataclass
class CsatModel:
    """Multinomial logistic regression on embeddings; the prediction is the expected 1-5 score."""

    coef: np.ndarray  # (n_classes, dim)
    intercept: np.ndarray  # (n_classes,)
    classes: np.ndarray  # the ratings, e.g. [1, 2, 3, 4, 5]
    model_id: str

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        if len(vectors) == 0:
            return np.zeros(0, dtype=np.float32)
        logits = vectors @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return (probs @ self.classes.astype(np.float64)).astype(np.float32)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, coef=self.coef, intercept=self.intercept, classes=self.classes,
                 model_id=np.array(self.model_id))
        return path

    @classmethod
    def load(cls, path: str | Path) -> CsatModel:
        with np.load(Path(path), allow_pickle=False) as data:
            return cls(data["coef"], data["intercept"], data["classes"], str(data["model_id"]))


def train_csat_model(vectors: np.ndarray, ratings: np.ndarray, model_id: str) -> CsatModel:
    from sklearn.linear_model import LogisticRegression

    # class_weight balances the heavy skew of real ratings (most reviews are 5 stars), so that the
    # expected score does not collapse towards the majority class.
    clf = LogisticRegression(max_iter=2000, C=2.0, class_weight="balanced")
    clf.fit(vectors, ratings)
    return CsatModel(clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32), clf.classes_, model_id)


def csat_agreement(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr

    mae = float(np.abs(predicted - actual).mean()) if len(actual) else float("nan")
    rho = float(spearmanr(predicted, actual).statistic) if len(actual) > 2 else float("nan")
    return {"mae": round(mae, 4), "spearman": round(rho, 4), "n": int(len(actual))}


def read_star_reviews(path: str | Path) -> pl.DataFrame:
    """Amazon Alexa reviews: UTF-8 with BOM, tab-separated, CRLF; returns (text, rating) with text present."""
    frame = pl.read_csv(
        Path(path), separator="\t", encoding="utf8-lossy", quote_char='"',
        schema_overrides={"rating": pl.Int64, "verified_reviews": pl.String},
    )
    frame = frame.rename({c: c.lstrip("\ufeff") for c in frame.columns})
    return (
        frame.select(pl.col("verified_reviews").str.strip_chars().alias("text"), pl.col("rating"))
        .filter(pl.col("text").str.len_chars() > 1, pl.col("rating").is_between(1, 5))
    )


# ---- language -------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ENGLISH = frozenset(
    "the a an and or but to of in on for with is are was were be been it this that i you my me we our your "
    "have has had do does did not no can could would will at from by as so if please thanks thank they "
    "he she his her them there what when why how which who all any just get got been am".split()
)


def guess_language(text: str | None) -> str:
    """'en', 'non_en' or 'unknown' (too little text). A cheap stop-word test; the model is English-only."""
    words = [w.lower() for w in _WORD.findall(text or "")]
    if len(words) < 3:
        return "unknown"
    if sum(w.isascii() for w in words) / len(words) < 0.5:
        return "non_en"
    return "en" if sum(w in _ENGLISH for w in words) / len(words) >= 0.08 else "non_en"
