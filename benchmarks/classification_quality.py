"""Quality of the semantic layer on real labelled data, through the product's own code paths.

    .venv/bin/python -m benchmarks.classification_quality [--folds 5] [--seeds 3]

1. Contact reason (single label): BANKING77 (77 intents), DSTC11 insurance (22) and banking (18), Bitext
   (27 intents), CFPB complaint narratives -> product and -> issue. Each label becomes a taxonomy label (its name as
   the description; the examples drawn from the training part) and goes through ``lib/intent.py``:
   zero-shot (descriptions only, every row scored), few-shot with 5 and 10 examples per label (a
   stratified 80/20 split, examples sampled from the 80%, mean over seeds) and all examples (stratified
   k-fold cross-validation), each with the nearest-prototype and the trained-classifier method.
   Accuracy and macro-F1.
2. The shipped taxonomy (config/taxonomy.yaml), zero-shot, on CFPB narratives whose product maps onto
   one of its labels.
3. TWCS AmazonHelp tweets, multi-label (14 topics, 200 tweets): zero-shot ranking by the labelling
   paper's hypothesis sentences and one-vs-rest logistic regression (k-fold, out-of-fold predictions).
4. Semantic CSAT and NPS class (``lib/semantic.py``): held-out MAE / Spearman per dataset before and after
   calibration, the calibration table, NPS-class accuracy on the held-out month; as the pipeline trains
   (a surveyed source without signal is evaluated only) and with every surveyed source forced in.
5. Topic discovery (``lib/topics.py``): k-means clusters against the gold intents (NMI, ARI).

Embeddings are cached under artifacts/benchmark_cache (the first run embeds ~30k texts: tens of minutes
on 2 CPU cores; later runs only train and score).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import (
    accuracy_score,
    adjusted_rand_score,
    f1_score,
    label_ranking_average_precision_score,
    normalized_mutual_info_score,
)
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from benchmarks import data
from cx_platform.lib import intent, topics
from cx_platform.lib.embeddings import Embedder, EmbeddingCache, embed_texts
from cx_platform.lib.semantic import (
    MIN_SURVEY_SPEARMAN,
    evaluate_satisfaction,
    fit_linear_model,
    mark_training_rows,
    rated_text,
    read_star_reviews,
)
from cx_platform.lib.settings import REPO_DIR, default_taxonomy_path
from cx_platform.lib.taxonomy import Label, Qualification, Taxonomy, load_taxonomy

SHOTS = (5, 10)
# CFPB products that map onto a label of the shipped taxonomy (credit cards are left out: billing or
# banking, the taxonomy does not say).
CFPB_TO_SHIPPED = {
    "Credit reporting": "credit_reporting",
    "Debt collection": "debt_collection",
    "Payday loan, title loan, or personal loan": "loans_mortgage",
    "Mortgage": "loans_mortgage",
    "Student loan": "loans_mortgage",
    "Vehicle loan or lease": "loans_mortgage",
    "Checking or savings account": "banking_services",
    "Money transfer, virtual currency, or money service": "banking_services",
}


class Vectors:
    """Embeds through the product's path (embed_texts with its cache) and remembers every vector."""

    def __init__(self, cache_dir: Path):
        self.embedder = Embedder()
        self.cache = EmbeddingCache(cache_dir)
        self.known: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self.known))
        if todo:
            self.known.update(zip(todo, embed_texts(todo, self.embedder, self.cache).vectors, strict=True))
        return np.vstack([self.known[t] for t in texts]) if texts else np.zeros((0, self.embedder.dimension))


def _taxonomy(names: list[str], descriptions: dict[str, str], examples: dict[str, list[str]]) -> Taxonomy:
    labels = tuple(Label(n, descriptions[n], tuple(examples.get(n, ()))) for n in names)
    return Taxonomy(labels=labels, qualification=Qualification())


def _scores(actual, predicted) -> dict[str, float]:
    """Accuracy and macro-F1 over the gold labels (a prediction outside them counts as an error)."""
    return {
        "accuracy": accuracy_score(actual, predicted),
        "macro_f1": f1_score(actual, predicted, labels=sorted(set(actual)), average="macro"),
    }


def _fit_predict(method: str, taxonomy: Taxonomy, encode: Vectors, vectors: np.ndarray) -> list[str]:
    model = (
        intent.trained_model(taxonomy, encode, encode.embedder.model_id)
        if method == intent.CLASSIFIER
        else intent.zero_shot_model(taxonomy, encode)
    )
    return model.predict(vectors)[0]


def _examples(
    texts: np.ndarray, labels: np.ndarray, k: int | None, rng: np.random.Generator
) -> dict[str, list[str]]:
    out = {}
    for label in np.unique(labels):
        pool = texts[labels == label]
        out[str(label)] = (
            pool.tolist() if k is None else rng.choice(pool, min(k, len(pool)), replace=False).tolist()
        )
    return out


def single_label(name: str, frame: pl.DataFrame, encode: Vectors, folds: int, seeds: int) -> list[dict]:
    texts, labels = frame["text"].to_numpy(), frame["label"].to_numpy()
    names = sorted(set(labels.tolist()))
    descriptions = {n: data.humanize(n) for n in names}
    vectors = encode(texts.tolist())
    base = {"dataset": name, "rows": len(texts), "labels": len(names)}
    rows = [
        {
            **base,
            "examples_per_label": "0 (zero-shot)",
            "method": intent.ZERO_SHOT,
            "evaluated_on": "all rows",
            **_scores(
                labels, _fit_predict(intent.ZERO_SHOT, _taxonomy(names, descriptions, {}), encode, vectors)
            ),
        }
    ]

    train, test = train_test_split(np.arange(len(texts)), test_size=0.2, stratify=labels, random_state=0)
    for k in SHOTS:
        for method in (intent.ZERO_SHOT, intent.CLASSIFIER):
            runs = []
            for seed in range(seeds):
                examples = _examples(texts[train], labels[train], k, np.random.default_rng(seed))
                predicted = _fit_predict(
                    method, _taxonomy(names, descriptions, examples), encode, vectors[test]
                )
                runs.append(_scores(labels[test], predicted))
            rows.append(
                {
                    **base,
                    "examples_per_label": str(k),
                    "method": _method_name(method),
                    "evaluated_on": f"20% split, mean of {seeds} draws",
                    **{m: float(np.mean([r[m] for r in runs])) for m in ("accuracy", "macro_f1")},
                }
            )

    splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, labels))
    for method in (intent.ZERO_SHOT, intent.CLASSIFIER):
        runs = []
        for fit, held in splits:
            examples = _examples(texts[fit], labels[fit], None, np.random.default_rng(0))
            predicted = _fit_predict(method, _taxonomy(names, descriptions, examples), encode, vectors[held])
            runs.append(_scores(labels[held], predicted))
        rows.append(
            {
                **base,
                "examples_per_label": "all",
                "method": _method_name(method),
                "evaluated_on": f"{folds}-fold CV",
                **{m: float(np.mean([r[m] for r in runs])) for m in ("accuracy", "macro_f1")},
            }
        )
    return rows


def _method_name(method: str) -> str:
    return "prototype" if method == intent.ZERO_SHOT else method


def shipped_taxonomy_on_cfpb(encode: Vectors) -> dict:
    frame = data.cfpb_products().filter(pl.col("label").is_in(list(CFPB_TO_SHIPPED)))
    taxonomy = load_taxonomy(default_taxonomy_path())
    model = intent.contact_reason_model(taxonomy, encode, encode.embedder.model_id)
    predicted = model.predict(encode(frame["text"].to_list()))[0]
    actual = frame["label"].replace_strict(CFPB_TO_SHIPPED).to_list()
    return {
        "rows": frame.height,
        "method": model.method,
        "taxonomy_labels": len(taxonomy.labels),
        **_scores(actual, predicted),
    }


def twcs_multilabel(encode: Vectors, folds: int) -> list[dict]:
    frame, names, descriptions = data.twcs_topics()
    vectors = encode(frame["text"].to_list())
    gold = frame.select(names).to_numpy()
    evaluated = [i for i in range(len(names)) if gold[:, i].sum() >= folds]
    gold, names = gold[:, evaluated], [names[i] for i in evaluated]
    labelled = gold.sum(axis=1) > 0

    def metrics(scores: np.ndarray, predicted: np.ndarray | None) -> dict:
        top1 = scores[labelled].argmax(axis=1)
        out = {
            "lrap": label_ranking_average_precision_score(gold[labelled], scores[labelled]),
            "top1_precision": float(gold[labelled][np.arange(labelled.sum()), top1].mean()),
        }
        if predicted is not None:
            out |= {
                "micro_f1": f1_score(gold, predicted, average="micro", zero_division=0),
                "macro_f1": f1_score(gold, predicted, average="macro", zero_division=0),
                "subset_accuracy": accuracy_score(gold, predicted),
            }
        return out

    prototypes = intent.label_prototypes(_taxonomy(names, descriptions, {}), encode)
    rows = [{"method": "zero-shot (hypothesis prototypes)", **metrics(vectors @ prototypes.T, None)}]
    out_of_fold = np.zeros(gold.shape)
    for fit, held in KFold(folds, shuffle=True, random_state=0).split(vectors):
        for j in range(len(names)):
            if gold[fit, j].min() == gold[fit, j].max():  # no positive in this fold's training part
                continue
            model = fit_linear_model(
                vectors[fit], gold[fit, j], "", C=intent.CLASSIFIER_C, class_weight="balanced"
            )
            out_of_fold[held, j] = model.proba(vectors[held])[:, 1]
    rows.append(
        {
            "method": f"one-vs-rest logistic regression ({folds}-fold)",
            **metrics(out_of_fold, (out_of_fold >= 0.5).astype(int)),
        }
    )
    return [
        {"tweets": len(vectors), "with_a_topic": int(labelled.sum()), "topics": len(names), **r} for r in rows
    ]


def satisfaction(encode: Vectors) -> None:
    reviews = read_star_reviews(data.star_reviews_path())
    surveyed = pl.concat([data.interactions("nps_verbatims"), data.interactions("customer_support_tickets")])
    rated = rated_text(reviews, surveyed)
    batch = embed_texts(rated["text"].to_list(), encode.embedder, encode.cache)
    rated, vectors = rated.filter(pl.Series(batch.embedded)), batch.vectors[batch.embedded]
    model_id = encode.embedder.model_id
    gated, signal = mark_training_rows(rated, vectors, model_id)
    print(
        f"\n-- semantic CSAT: {rated.height} rated texts "
        f"{dict(rated.group_by('dataset').len().sort('dataset').rows())}"
        f"\nsurveyed sources' signal (Spearman with a model trained on public data; trains if >= "
        f"{MIN_SURVEY_SPEARMAN}): {signal}"
    )
    for title, frame in [
        ("as the pipeline trains (surveyed sources without signal are evaluated only)", gated),
        ("every surveyed source forced into training", rated.with_columns(pl.lit(True).alias("trains"))),
    ]:
        evaluation = evaluate_satisfaction(frame, vectors, model_id)
        print(f"\n{title}: held-out MAE / Spearman, calibrated and raw")
        _print(pl.DataFrame([{"dataset": k, **v} for k, v in evaluation.csat.items()]))
        print("calibration on held-out rows (predicted star = calibrated prediction rounded):")
        _print(evaluation.calibration)
        nps = evaluation.nps
        print(
            f"NPS class (promoter/passive/detractor) on the held-out month: accuracy {nps['accuracy']:.3f}, "
            f"macro-F1 {nps['macro_f1']:.3f}, majority-class baseline {nps['majority_baseline']:.3f}, "
            f"n={nps['n']}"
        )


def topic_discovery(datasets: dict[str, pl.DataFrame], encode: Vectors) -> list[dict]:
    rows = []
    for name, frame in datasets.items():
        vectors, labels = encode(frame["text"].to_list()), frame["label"].to_numpy()
        for rule, k in [
            ("gold number of intents", len(set(labels))),
            ("choose_k (as contact_topics)", topics.choose_k(len(labels))),
        ]:
            clusters, _ = topics.cluster(vectors, k)
            rows.append(
                {
                    "dataset": name,
                    "rows": len(labels),
                    "k": k,
                    "k_rule": rule,
                    "nmi": normalized_mutual_info_score(labels, clusters),
                    "ari": adjusted_rand_score(labels, clusters),
                }
            )
    return rows


def _print(frame: pl.DataFrame) -> None:
    with pl.Config(
        tbl_rows=200,
        tbl_cols=20,
        tbl_width_chars=200,
        fmt_str_lengths=60,
        float_precision=3,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        print(frame)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3, help="few-shot draws per setting")
    parser.add_argument("--cache", type=Path, default=REPO_DIR / "artifacts" / "benchmark_cache")
    args = parser.parse_args()
    started = time.perf_counter()
    encode = Vectors(args.cache)
    print(
        f"embedding model {encode.embedder.model_id}; classifier C={intent.CLASSIFIER_C}; the product trains "
        f"the classifier when every label has >= {intent.MIN_EXAMPLES_PER_LABEL} examples, "
        "else uses prototypes"
    )

    datasets = {
        "banking77": data.banking77(),
        "dstc11_insurance": data.dstc11("insurance"),
        "dstc11_banking": data.dstc11("banking"),
        "bitext": data.bitext(),
        "cfpb_product": data.cfpb_products(),
        "cfpb_issue": data.cfpb_issues(),
    }
    rows = []
    for name, frame in datasets.items():
        rows += single_label(name, frame, encode, args.folds, args.seeds)
        print(f"  {name} done ({time.perf_counter() - started:.0f} s)", flush=True)
    print("\n-- contact reason: single-label intent datasets")
    _print(pl.DataFrame(rows))

    print("\n-- the shipped taxonomy (config/taxonomy.yaml) on CFPB narratives mapped onto its labels")
    _print(pl.DataFrame([shipped_taxonomy_on_cfpb(encode)]))

    print(
        "\n-- TWCS AmazonHelp inbound tweets, multi-label topics (topics with at least one positive per fold)"
    )
    _print(pl.DataFrame(twcs_multilabel(encode, args.folds)))

    satisfaction(encode)

    print("\n-- topic discovery: k-means clusters vs gold intents")
    _print(
        pl.DataFrame(
            topic_discovery(
                {k: datasets[k] for k in ("dstc11_insurance", "dstc11_banking", "banking77")}, encode
            )
        )
    )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
