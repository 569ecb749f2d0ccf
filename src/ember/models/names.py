"""Parse what a user types after `ember pull` into a typed reference (pure functions).

./model.gguf, /abs/model.gguf, ~/m.gguf    -> local file
hf.co/OWNER/REPO[:QUANT]                   -> Hugging Face repo, quantization picked
hf.co/OWNER/REPO/path/file.gguf            -> Hugging Face file
smollm2:135m                               -> catalogue entry (when the catalogue has it)
llama3.2[:TAG], user/model[:TAG]           -> Ollama registry (tag defaults to 'latest')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ember.errors import InvalidModelNameError

RefKind = Literal["local", "hf", "ollama", "package"]

HF_PREFIXES = ("hf.co/", "huggingface.co/", "https://huggingface.co/", "https://hf.co/")
_NAME_PART = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$", re.IGNORECASE)


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: which kind of source, and the parts that source needs."""

    kind: RefKind
    raw: str
    path: str | None = None  # local
    repo: str | None = None  # hf: OWNER/REPO; ollama: namespace/name
    quant: str | None = None  # hf: requested quantization
    filename: str | None = None  # hf: explicit file in the repo
    tag: str | None = None  # ollama


def normalize_name(name: str) -> str:
    """The canonical manifest name: lower case, ':latest' when no tag is given.

    Raises InvalidModelNameError for names that could not be stored or typed back.
    """
    text = name.strip()
    if not text:
        raise InvalidModelNameError("a model name cannot be empty")
    if any(c.isspace() for c in text):
        raise InvalidModelNameError(f"model name {name!r} contains whitespace")
    base, sep, tag = text.rpartition(":")
    if not sep or "/" in tag:
        base, tag = text, "latest"
    if not base or not _TAG.match(tag):
        raise InvalidModelNameError(
            f"invalid model name {name!r}",
            hint="use NAME or NAME:TAG with letters, digits, '.', '_' and '-'",
        )
    parts = base.lower().split("/")
    if not all(_NAME_PART.match(p) for p in parts):
        raise InvalidModelNameError(
            f"invalid model name {name!r}",
            hint="use NAME or NAME:TAG with letters, digits, '.', '_' and '-'",
        )
    return f"{'/'.join(parts)}:{tag.lower()}"


def is_local_path(text: str) -> bool:
    """A path-like reference: explicit directory prefix, or a file name ending in .gguf."""
    return text.startswith(("./", "../", "/", "~")) or text.lower().endswith(".gguf")


def parse_ref(text: str) -> ModelRef:
    """Classify ``text`` as a local file, a Hugging Face reference or an Ollama name."""
    raw = text.strip()
    if not raw:
        raise InvalidModelNameError("a model name cannot be empty")
    lowered = raw.lower()
    if lowered.startswith(HF_PREFIXES):
        return _parse_hf(raw)
    if is_local_path(raw):
        return ModelRef(kind="local", raw=raw, path=raw)
    name = normalize_name(raw)
    base, _, tag = name.rpartition(":")
    repo = base if "/" in base else f"library/{base}"
    return ModelRef(kind="ollama", raw=raw, repo=repo, tag=tag)


def _parse_hf(raw: str) -> ModelRef:
    rest = raw
    for prefix in HF_PREFIXES:
        if rest.lower().startswith(prefix):
            rest = rest[len(prefix) :]
            break
    parts = [p for p in rest.split("/") if p]
    if len(parts) < 2:
        raise InvalidModelNameError(
            f"invalid Hugging Face reference {raw!r}",
            hint="use hf.co/OWNER/REPO, hf.co/OWNER/REPO:Q4_K_M or hf.co/OWNER/REPO/FILE.gguf",
        )
    owner, repo_part = parts[0], parts[1]
    if len(parts) > 2:
        filename = "/".join(parts[2:])
        if not filename.lower().endswith(".gguf"):
            raise InvalidModelNameError(
                f"{raw!r} does not name a .gguf file", hint="Ember runs GGUF models"
            )
        return ModelRef(kind="hf", raw=raw, repo=f"{owner}/{repo_part}", filename=filename)
    repo_name, _, quant = repo_part.partition(":")
    return ModelRef(kind="hf", raw=raw, repo=f"{owner}/{repo_name}", quant=quant or None)


def hf_manifest_name(repo: str, quant: str | None, filename: str | None) -> str:
    """The name an HF model is stored under, as the user can type it again."""
    if filename:
        return f"hf.co/{repo.lower()}:{filename.rsplit('/', 1)[-1].removesuffix('.gguf').lower()}"
    return f"hf.co/{repo.lower()}:{(quant or 'latest').lower()}"
