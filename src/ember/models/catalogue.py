"""The curated catalogue (catalogue.toml): which mainstream models exist and where to get them."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from ember.errors import EmberError
from ember.models.names import normalize_name


@dataclass(frozen=True)
class PackagePart:
    distribution: str
    path: str


@dataclass(frozen=True)
class PackageSpec:
    """A model shipped in packages of the Python package index, possibly split in parts."""

    quant: str
    sha256: str
    parts: tuple[PackagePart, ...]


@dataclass(frozen=True)
class ModelShape:
    """A transformer's size as its GGUF header states it, for planning before a download."""

    layers: int
    embedding: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    family: str
    kind: str  # chat | embedding
    parameters: int
    context: int
    license: str
    quants: tuple[str, ...]
    default_quant: str
    hf: str | None
    ollama: str | None
    description: str
    package: PackageSpec | None
    bits_per_weight: float
    shape: ModelShape | None = None

    def estimated_size(self, quant: str | None = None) -> int:
        """Bytes, estimated from parameters x bits per weight (confirmed at the source later)."""
        return int(self.parameters * self.bits_for(quant or self.default_quant) / 8)

    def bits_for(self, quant: str) -> float:
        return _bits_table().get(quant.upper(), self.bits_per_weight)

    @property
    def hf_ref(self) -> str | None:
        return f"hf.co/{self.hf}:{self.default_quant}" if self.hf else None


@lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    text = resources.files("ember.models").joinpath("catalogue.toml").read_text("utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    return data


def _bits_table() -> dict[str, float]:
    return {k.upper(): float(v) for k, v in _raw().get("bits_per_weight", {}).items()}


@lru_cache(maxsize=1)
def load_catalogue() -> tuple[CatalogueEntry, ...]:
    bits = _bits_table()
    entries = []
    for item in _raw().get("model", []):
        package = item.get("package")
        spec = (
            PackageSpec(
                quant=package["quant"],
                sha256=package["sha256"],
                parts=tuple(PackagePart(d, p) for d, p in package["parts"]),
            )
            if package
            else None
        )
        entries.append(
            CatalogueEntry(
                name=normalize_name(item["name"]),
                family=item["family"],
                kind=item.get("kind", "chat"),
                parameters=int(item["parameters"]),
                context=int(item["context"]),
                license=item.get("license", "unknown"),
                quants=tuple(item.get("quants", [])),
                default_quant=item["default_quant"],
                hf=item.get("hf"),
                ollama=item.get("ollama"),
                description=item.get("description", ""),
                package=spec,
                bits_per_weight=bits.get(item["default_quant"].upper(), 5.0),
                shape=ModelShape(**{k: int(v) for k, v in item["shape"].items()})
                if "shape" in item
                else None,
            )
        )
    return tuple(entries)


def find_entry(name: str) -> CatalogueEntry | None:
    """The catalogue entry for a name as the user typed it, or None."""
    try:
        wanted = normalize_name(name)
    except EmberError:
        return None
    return next((e for e in load_catalogue() if e.name == wanted), None)
