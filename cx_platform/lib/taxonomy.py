"""Contact-reason taxonomy: labels with descriptions, examples, and the funnel's lead rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Label:
    name: str
    description: str
    examples: tuple[str, ...] = ()
    sales: bool = False

    @property
    def prototype_texts(self) -> list[str]:
        return [f"{self.name.replace('_', ' ')}: {self.description}", *self.examples]


@dataclass(frozen=True)
class Qualification:
    min_handle_seconds: float = 60
    min_messages: int = 2


@dataclass(frozen=True)
class Taxonomy:
    labels: tuple[Label, ...]
    qualification: Qualification

    @property
    def names(self) -> list[str]:
        return [label.name for label in self.labels]

    @property
    def sales_labels(self) -> list[str]:
        return [label.name for label in self.labels if label.sales]


def load_taxonomy(path: str | Path) -> Taxonomy:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not raw.get("labels"):
        raise ValueError(f"{path}: a taxonomy needs a non-empty 'labels' mapping")
    labels = []
    for name, spec in raw["labels"].items():
        if not isinstance(spec, dict) or not str(spec.get("description", "")).strip():
            raise ValueError(f"{path}: label {name!r} needs a description")
        labels.append(
            Label(
                name=str(name),
                description=str(spec["description"]).strip(),
                examples=tuple(str(e) for e in spec.get("examples") or ()),
                sales=bool(spec.get("sales", False)),
            )
        )
    return Taxonomy(labels=tuple(labels), qualification=Qualification(**(raw.get("qualification") or {})))
