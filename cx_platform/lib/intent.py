"""Contact reason (intent) from transcript embeddings, for a configurable taxonomy (no Dagster here).

With enough labelled examples per label the reason comes from a logistic regression trained on the
embeddings of the examples (and of the label descriptions); without them it is zero-shot: the nearest
label prototype, the mean embedding of the label's description and its few examples.
``benchmarks/classification_quality.py`` measures both on real labelled data (few-shot curves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cx_platform.lib.semantic import LinearModel, fit_linear_model
from cx_platform.lib.taxonomy import Taxonomy

Encode = Callable[[list[str]], np.ndarray]

# Every label needs at least this many examples for the trained classifier; below it, nearest
# prototype does as well or better (see the few-shot curves of the quality benchmark).
MIN_EXAMPLES_PER_LABEL = 5
# Inverse regularisation of the classifier: chosen by cross-validation on BANKING77's training split
# (unit-length MiniLM vectors need weak regularisation).
CLASSIFIER_C = 16.0

ZERO_SHOT, CLASSIFIER = "zero_shot", "classifier"


def label_prototypes(taxonomy: Taxonomy, encode: Encode) -> np.ndarray:
    """One unit vector per label: the mean of its description and example embeddings."""
    rows = []
    for label in taxonomy.labels:
        mean = encode(label.prototype_texts).mean(axis=0)
        rows.append(mean / np.linalg.norm(mean))
    return np.vstack(rows).astype(np.float32)


def train_classifier(vectors: np.ndarray, labels: np.ndarray, model_id: str) -> LinearModel:
    return fit_linear_model(vectors, labels, model_id, C=CLASSIFIER_C)


@dataclass
class ContactReasonModel:
    """Either a trained classifier (score = its probability) or prototypes (score = cosine similarity)."""

    method: str  # classifier | zero_shot
    names: list[str]
    prototypes: np.ndarray | None = None
    classifier: LinearModel | None = None

    def predict(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        if len(vectors) == 0:
            return [], np.zeros(0, dtype=np.float32)
        if self.classifier is not None:
            probs = self.classifier.proba(vectors)
            best = probs.argmax(axis=1)
            return self.classifier.classes[best].tolist(), probs[np.arange(len(best)), best].astype(
                np.float32
            )
        similarity = vectors @ self.prototypes.T
        best = similarity.argmax(axis=1)
        return [self.names[i] for i in best], similarity[np.arange(len(best)), best].astype(np.float32)


def zero_shot_model(taxonomy: Taxonomy, encode: Encode) -> ContactReasonModel:
    return ContactReasonModel(ZERO_SHOT, taxonomy.names, prototypes=label_prototypes(taxonomy, encode))


def trained_model(taxonomy: Taxonomy, encode: Encode, model_id: str) -> ContactReasonModel:
    """Logistic regression on every label's description and examples."""
    texts = [text for label in taxonomy.labels for text in label.prototype_texts]
    labels = np.array([label.name for label in taxonomy.labels for _ in label.prototype_texts])
    return ContactReasonModel(
        CLASSIFIER, taxonomy.names, classifier=train_classifier(encode(texts), labels, model_id)
    )


def contact_reason_model(taxonomy: Taxonomy, encode: Encode, model_id: str) -> ContactReasonModel:
    """The trained classifier when every label has MIN_EXAMPLES_PER_LABEL examples, else zero-shot."""
    if min(len(label.examples) for label in taxonomy.labels) >= MIN_EXAMPLES_PER_LABEL:
        return trained_model(taxonomy, encode, model_id)
    return zero_shot_model(taxonomy, encode)
