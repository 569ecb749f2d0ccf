"""Convert a BERT-family Hugging Face folder (safetensors + vocab + config) into a GGUF.

What llama.cpp's ``bert`` architecture expects, written with the ``gguf`` package:
tensors under llama.cpp's names (``token_embd``, ``blk.N.attn_q`` …), the WordPiece
vocabulary in its "phantom space" form (a word start is marked ``▁``, a continuation
loses its ``##``, ``[CLS]``-style specials stay as they are), the token-type table,
mean pooling and the layer-norm epsilon. Only uncased WordPiece models are accepted:
llama.cpp's WordPiece tokenizer lowercases everything.

A ``BertForSequenceClassification`` folder with one output (a cross-encoder reranker
such as ms-marco-MiniLM) becomes a reranker: pooling ``rank``, its pooler (dense + tanh
over [CLS]) as llama.cpp's ``cls`` tensors and its classifier as ``cls.output``, which
is exactly what llama.cpp's rank pooling computes. llama.cpp's own converter drops the
pooler of BERT models, so its scores differ from the Hugging Face model's.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ember.errors import EmberError

if TYPE_CHECKING:
    from ember.models.store import ModelRecord, ModelStore

POOLING = {"mean": 1, "cls": 2, "rank": 4}
_SKIP_SUFFIXES = ("position_ids", "pooler.dense.weight", "pooler.dense.bias")
# A reranker keeps its pooler and classifier, under llama.cpp's rank-pooling names.
_RERANK_HEAD = {"pooler.dense": "cls", "classifier": "cls.output"}
_HEAD_NAMES = tuple(f"{n}.weight" for n in _RERANK_HEAD.values())  # kept F32: the score
RERANK_ARCHITECTURE = "BertForSequenceClassification"


class ConversionError(EmberError):
    """The folder is not a BERT-family model this converter can turn into a GGUF."""

    status = 400
    code = "conversion_failed"


@dataclass(frozen=True)
class BertFolder:
    """What the converter read from a Hugging Face folder."""

    path: Path
    config: dict[str, Any]
    vocab: list[str]
    special: dict[str, int]
    pooling: str
    weights: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_reranker(self) -> bool:
        return self.pooling == "rank"


def phantom(token: str) -> str:
    """A WordPiece token in llama.cpp's form: ``##ing`` -> ``ing``, ``cat`` -> ``▁cat``."""
    if token.startswith("[") and token.endswith("]"):
        return token
    if token.startswith("##"):
        return token[2:]
    return "\u2581" + token


def find_model_dir(path: Path) -> Path:
    """The folder holding config.json: ``path`` itself or a ``model`` folder inside it
    (model packages keep their files there)."""
    for candidate in (path, path / "model"):
        if (candidate / "config.json").is_file():
            return candidate
    raise ConversionError(
        f"{path} has no config.json",
        hint="give a Hugging Face model folder (config.json, model.safetensors, vocab.txt)",
    )


def read_folder(path: Path) -> BertFolder:
    """Read and check config, vocabulary, special tokens and pooling of a model folder."""
    root = find_model_dir(path.expanduser().resolve())
    config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert":
        raise ConversionError(
            f"{root} is a {config.get('model_type')!r} model; only BERT models convert here",
            hint="convert other architectures with llama.cpp's convert_hf_to_gguf.py",
        )
    weights = root / "model.safetensors"
    if not weights.is_file():
        raise ConversionError(f"{root} has no model.safetensors", hint="only safetensors load")
    tok_config = _json_or_empty(root / "tokenizer_config.json")
    if tok_config.get("do_lower_case") is False:
        raise ConversionError(
            f"{root} has a cased vocabulary; llama.cpp's WordPiece tokenizer lowercases",
            hint="use an uncased BERT model (all-MiniLM, bge, e5)",
        )
    vocab = _read_vocab(root)
    special = {}
    for key, default in (
        ("unk", "[UNK]"),
        ("sep", "[SEP]"),
        ("pad", "[PAD]"),
        ("cls", "[CLS]"),
        ("mask", "[MASK]"),
    ):
        token = tok_config.get(f"{key}_token", default)
        if isinstance(token, dict):
            token = token.get("content", default)
        if token in vocab:
            special[key] = vocab.index(token)
    if "cls" not in special or "sep" not in special:
        raise ConversionError(f"{root}: the vocabulary has no [CLS]/[SEP] tokens")
    pooling = "rank" if RERANK_ARCHITECTURE in config.get("architectures", []) else _pooling(root)
    return BertFolder(root, config, vocab, special, pooling, weights)


def _json_or_empty(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _read_vocab(root: Path) -> list[str]:
    vocab_txt = root / "vocab.txt"
    if vocab_txt.is_file():
        return vocab_txt.read_text(encoding="utf-8").splitlines()
    model = _json_or_empty(root / "tokenizer.json").get("model", {})
    if model.get("type") == "WordPiece":
        by_id = {int(i): tok for tok, i in model["vocab"].items()}
        return [by_id[i] for i in range(len(by_id))]
    raise ConversionError(f"{root} has no WordPiece vocabulary (vocab.txt or tokenizer.json)")


def _pooling(root: Path) -> str:
    """Mean pooling unless the sentence-transformers pooling config says CLS."""
    for candidate in sorted(root.glob("*_Pooling/config.json")):
        cfg = _json_or_empty(candidate)
        if cfg.get("pooling_mode_cls_token"):
            return "cls"
    return "mean"


def convert(path: Path, out: Path, *, f16: bool = True) -> BertFolder:
    """Write ``out`` (a GGUF) from the BERT folder at ``path``; return what was read."""
    import gguf
    from safetensors import safe_open

    folder = read_folder(path)
    cfg = folder.config
    n_layer = int(cfg["num_hidden_layers"])
    writer = gguf.GGUFWriter(str(out), "bert")
    writer.add_name(folder.name)
    writer.add_context_length(int(cfg.get("max_position_embeddings", 512)))
    writer.add_embedding_length(int(cfg["hidden_size"]))
    writer.add_feed_forward_length(int(cfg["intermediate_size"]))
    writer.add_block_count(n_layer)
    writer.add_head_count(int(cfg["num_attention_heads"]))
    writer.add_layer_norm_eps(float(cfg.get("layer_norm_eps", 1e-12)))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType(POOLING[folder.pooling]))
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([phantom(t) for t in folder.vocab])
    control = set(folder.special.values())
    writer.add_token_types(
        [
            gguf.TokenType.CONTROL if i in control else gguf.TokenType.NORMAL
            for i in range(len(folder.vocab))
        ]
    )
    writer.add_token_type_count(int(cfg.get("type_vocab_size", 2)))
    special = folder.special  # as the gguf package's SpecialVocab reads a BERT folder
    writer.add_bos_token_id(special["cls"])
    writer.add_eos_token_id(special["sep"])
    writer.add_sep_token_id(special["sep"])
    for key, add in (
        ("unk", writer.add_unk_token_id),
        ("pad", writer.add_pad_token_id),
        ("mask", writer.add_mask_token_id),
    ):
        if key in special:
            add(special[key])
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)
    if folder.is_reranker:
        # llama-server then builds a pair as [CLS] q [SEP] p [SEP], as BERT was trained.
        writer.add_add_sep_token(False)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layer)
    with safe_open(str(folder.weights), "np") as weights:
        if folder.is_reranker:
            writer.add_classifier_output_labels(_classifier_labels(folder, weights))
        for hf_name in weights.keys():  # noqa: SIM118  (safe_open is not a mapping)
            name = _tensor_name(folder, names, hf_name)
            if name is None:
                continue
            data = weights.get_tensor(hf_name).astype(np.float32)
            if f16 and data.ndim == 2 and name not in ("token_types.weight", *_HEAD_NAMES):
                data = data.astype(np.float16)
            writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return folder


def _tensor_name(folder: BertFolder, names: Any, hf_name: str) -> str | None:
    """llama.cpp's name for a Hugging Face tensor; None for one it does not use."""
    short = hf_name.removeprefix("bert.")
    if folder.is_reranker:
        for prefix, target in _RERANK_HEAD.items():
            if short in (f"{prefix}.weight", f"{prefix}.bias"):
                return target + short.removeprefix(prefix)
    if hf_name.endswith(_SKIP_SUFFIXES):
        return None
    name = names.get_name(short, try_suffixes=(".weight", ".bias"))
    if name is None:
        raise ConversionError(f"{folder.path}: unexpected tensor {hf_name}")
    return str(name)


def _classifier_labels(folder: BertFolder, weights: Any) -> list[str]:
    """The reranker's one output label; a classifier with several outputs is refused
    (llama.cpp's rank pooling scores a pair with one number)."""
    if "classifier.weight" not in weights.keys():  # noqa: SIM118
        raise ConversionError(f"{folder.path}: a sequence classifier without classifier.weight")
    outputs = int(weights.get_slice("classifier.weight").get_shape()[0])
    if outputs != 1:
        raise ConversionError(
            f"{folder.path}: the classifier has {outputs} outputs; a reranker has one",
            hint="use a BERT cross-encoder reranker (ms-marco-MiniLM, ms-marco-TinyBERT)",
        )
    labels = folder.config.get("id2label") or {"0": "score"}
    return [str(labels.get("0", labels.get(0, "score")))]


def import_folder(
    store: ModelStore, path: Path, *, name: str | None = None, f16: bool = True
) -> ModelRecord:
    """Convert the folder at ``path`` and register the GGUF in ``store`` as ``name``
    (default: the folder's name, e.g. ``all-minilm-l6-v2``)."""
    from ember.models.names import normalize_name
    from ember.models.progress import NullProgress
    from ember.models.sources.base import Fetched

    folder = read_folder(path)
    target = normalize_name(name or _default_name(folder))
    store.blobs.partial_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.blobs.partial_dir) as tmp:
        out = Path(tmp) / "model.gguf"
        convert(folder.path, out, f16=f16)
        digest, final = store.blobs.import_file(out)
    fetched = Fetched(
        digest=digest, path=final, size=final.stat().st_size, source_ref=str(folder.path)
    )
    # ModelStore has no public "register this blob" yet; pull() would record a temp path.
    return store._register(target, "import", fetched, NullProgress())


def _default_name(folder: BertFolder) -> str:
    base = folder.path.parent.name if folder.path.name == "model" else folder.path.name
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in base.lower())
    for prefix in ("gt-", "gt_"):
        cleaned = cleaned.removeprefix(prefix)
    return cleaned.replace("_", "-").strip("-._") or "embedding-model"
