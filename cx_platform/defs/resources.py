"""Resources: where the lake and the landing files are, and the embedding model. One place decides."""

from __future__ import annotations

from functools import cache

import dagster as dg

from cx_platform.lib.embeddings import DEFAULT_MODEL, Embedder, EmbeddingCache
from cx_platform.lib.lake import Lake
from cx_platform.lib.economics import Economics, load_economics
from cx_platform.lib.settings import (
    default_economics_path,
    default_lake_dir,
    default_landing_dir,
    default_taxonomy_path,
)
from cx_platform.lib.taxonomy import Taxonomy, load_taxonomy


class LakeResource(dg.ConfigurableResource):
    """Root of the local Parquet lake (``CX_LAKE_DIR``)."""

    root: str

    @property
    def lake(self) -> Lake:
        return Lake(self.root)


class LandingResource(dg.ConfigurableResource):
    """Folder with one sub-folder per source holding the original export files (``CX_LANDING_DIR``)."""

    root: str


@cache
def _embedder(model: str, batch_size: int, use_bf16: bool) -> Embedder:
    # One model per process, whatever the number of assets and runs that ask for it.
    return Embedder(model, batch_size, use_bf16)


class EmbeddingModelResource(dg.ConfigurableResource):
    """Sentence-transformers model (name or local path; default: the MiniLM shipped on PyPI), run offline.
    bf16 is used only where the CPU supports it (checked at load); the model id records the precision."""

    model: str = DEFAULT_MODEL
    batch_size: int = 64
    use_bf16: bool = True
    taxonomy_path: str = ""

    def embedder(self) -> Embedder:
        return _embedder(self.model, self.batch_size, self.use_bf16)

    def cache(self, lake: Lake) -> EmbeddingCache:
        return EmbeddingCache(lake.root / "_cache" / "embeddings")

    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.taxonomy_path or default_taxonomy_path())


class BusinessConfigResource(dg.ConfigurableResource):
    """The files a team supplies: contact-reason taxonomy (with the lead rules) and economics (unit
    costs, SLA targets, thresholds, spend). Empty paths mean the packaged examples / env defaults."""

    taxonomy_path: str = ""
    economics_path: str = ""

    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.taxonomy_path or default_taxonomy_path())

    def economics(self) -> Economics:
        return load_economics(self.economics_path or default_economics_path())


def default_resources() -> dict:
    return {
        "lake": LakeResource(root=default_lake_dir()),
        "landing": LandingResource(root=default_landing_dir()),
        "embedding_model": EmbeddingModelResource(),
        "business_config": BusinessConfigResource(),
    }
