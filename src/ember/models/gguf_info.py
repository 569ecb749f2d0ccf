"""Read a GGUF model's metadata without loading its weights.

The header is walked by models/gguf_header.py, which skips the tokenizer's arrays
(the ``gguf`` package's reader takes ~10 s on a 150k-token vocabulary; it stays as the
fallback for layouts the walk does not read). The store still computes
:class:`ModelInfo` once per blob and keeps it in the database; ``ember show`` reads it
from there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ember.errors import NotAGGUFError

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ModelInfo:
    """What Ember needs to know about a model file to show it, fit it and load it."""

    architecture: str
    name: str | None
    parameters: int
    size_label: str | None
    file_type: str | None
    quantization: str | None
    context_length: int | None
    block_count: int | None
    embedding_length: int | None
    head_count: int | None
    head_count_kv: int | None
    key_length: int | None
    value_length: int | None
    vocab_size: int | None
    tokenizer: str | None
    chat_template: str | None
    pooling: str | None
    file_size: int
    license: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_embedding_model(self) -> bool:
        return self.architecture in {"bert", "nomic-bert", "jina-bert-v2"} or self.pooling not in (
            None,
            "none",
        )

    @property
    def is_reranker(self) -> bool:
        """A cross-encoder: it scores (question, passage) pairs, it embeds nothing."""
        return self.pooling == "rank"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def looks_like_gguf(path: Path) -> bool:
    """Cheap check of the 4-byte magic, before any expensive parse."""
    try:
        with path.open("rb") as fh:
            return fh.read(4) == GGUF_MAGIC
    except OSError:
        return False


_POOLING = {0: "none", 1: "mean", 2: "cls", 3: "last", 4: "rank"}


def read_gguf_info(path: Path) -> ModelInfo:
    """Parse the header of ``path``; raise NotAGGUFError for anything that is not a GGUF."""
    if not looks_like_gguf(path):
        raise NotAGGUFError(
            f"{path} is not a GGUF model file",
            hint="Ember runs GGUF models; convert others with llama.cpp's convert script",
        )
    # Heavy imports (numpy), only when a file is really parsed.
    from gguf.constants import GGMLQuantizationType, LlamaFileType

    try:
        fields, parameters, tensor_types, vocab_count = _read_header_parts(path)
    except (ValueError, IndexError, OSError, TypeError) as exc:
        raise NotAGGUFError(
            f"{path} is a damaged GGUF file ({exc})",
            hint="delete it and download it again",
        ) from exc

    arch = str(fields.get("general.architecture") or "unknown")

    def arch_int(key: str) -> int | None:
        value = fields.get(f"{arch}.{key}")
        return int(value) if isinstance(value, (int, float)) else None

    file_type_id = fields.get("general.file_type")
    file_type = _enum_name(LlamaFileType, file_type_id)
    quantization = _quantization_label(file_type, tensor_types, GGMLQuantizationType)
    vocab_size = arch_int("vocab_size") or vocab_count
    pooling_id = fields.get(f"{arch}.pooling_type")
    return ModelInfo(
        architecture=arch,
        name=_str_or_none(fields.get("general.name")),
        parameters=parameters,
        size_label=_str_or_none(fields.get("general.size_label")),
        file_type=file_type,
        quantization=quantization,
        context_length=arch_int("context_length"),
        block_count=arch_int("block_count"),
        embedding_length=arch_int("embedding_length"),
        head_count=arch_int("attention.head_count"),
        head_count_kv=arch_int("attention.head_count_kv") or arch_int("attention.head_count"),
        key_length=arch_int("attention.key_length"),
        value_length=arch_int("attention.value_length"),
        vocab_size=vocab_size,
        tokenizer=_str_or_none(fields.get("tokenizer.ggml.model")),
        chat_template=_str_or_none(fields.get("tokenizer.chat_template")),
        pooling=_POOLING.get(int(pooling_id)) if isinstance(pooling_id, int) else None,
        file_size=path.stat().st_size,
        license=_str_or_none(fields.get("general.license")),
    )


_HeaderParts = tuple[dict[str, Any], int, list[Any], int | None]


def _read_header_parts(path: Path) -> _HeaderParts:
    """The scalar fields, parameter count, tensor types and vocabulary size: by the fast
    walk, or the ``gguf`` package's reader for layouts the walk does not read."""
    from ember.models.gguf_header import ArrayField, UnsupportedHeader, read_header

    try:
        header = read_header(path)
    except UnsupportedHeader:
        return _read_with_gguf_reader(path)
    tokens = header.fields.get("tokenizer.ggml.tokens")
    return (
        {k: v for k, v in header.fields.items() if not isinstance(v, ArrayField)},
        sum(t.n_elements for t in header.tensors),
        [t.tensor_type for t in header.tensors],
        tokens.count if isinstance(tokens, ArrayField) else None,
    )


def _read_with_gguf_reader(path: Path) -> _HeaderParts:
    """The ``gguf`` package's full parse (slow on big vocabularies): for the GGUF layouts
    the fast walk does not read."""
    from gguf import GGUFReader

    reader = GGUFReader(path)
    fields = {name: f.contents() for name, f in reader.fields.items() if not _is_vocab(name)}
    parameters = sum(int(t.n_elements) for t in reader.tensors)
    vocab = reader.fields.get("tokenizer.ggml.tokens")
    return (
        fields,
        parameters,
        [t.tensor_type for t in reader.tensors],
        (len(vocab.data) if vocab is not None else None),
    )


def _is_vocab(name: str) -> bool:
    return name.startswith("tokenizer.ggml.") and name not in (
        "tokenizer.ggml.model",
        "tokenizer.ggml.pre",
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _enum_name(enum: Any, value: Any) -> str | None:
    if not isinstance(value, int):
        return None
    try:
        return str(enum(value).name)
    except ValueError:
        return f"UNKNOWN_{value}"


def _quantization_label(file_type: str | None, tensor_types: list[Any], qtypes: Any) -> str | None:
    """'Q4_K_M' from 'MOSTLY_Q4_K_M'; else the most common tensor type by count."""
    if file_type and file_type.startswith("MOSTLY_"):
        return file_type.removeprefix("MOSTLY_")
    if file_type == "ALL_F32":
        return "F32"
    if not tensor_types:
        return None
    counts: dict[str, int] = {}
    for t in tensor_types:
        name = str(qtypes(t).name)
        counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda k: counts[k])


def format_parameters(count: int) -> str:
    """134515008 -> '135M'; 494032768 -> '494M'; 7241732096 -> '7.2B'."""
    if count >= 1_000_000_000:
        return f"{count / 1e9:.1f}B"
    if count >= 1_000_000:
        return f"{count / 1e6:.0f}M"
    return f"{count / 1e3:.0f}K"
