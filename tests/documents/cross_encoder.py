"""A real BERT cross-encoder for the tests, and the Hugging Face computation to check it.

No package on the index ships a cross-encoder reranker, so the tests make one: the
packaged all-MiniLM-L6-v2 weights (with their pooler) under a seeded classifier head,
laid out as a Hugging Face ``BertForSequenceClassification`` folder. Its scores mean
nothing about relevance; what the tests check is that the converter and llama.cpp
compute exactly what the Hugging Face model computes (numpy below, token types
included), so a trained cross-encoder converted the same way scores as it should.
"""

from __future__ import annotations

import json
import shutil
from math import erf
from pathlib import Path

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]


def make_cross_encoder(minilm: Path, out: Path, seed: int = 19) -> Path:
    """A BertForSequenceClassification folder at ``out`` from the all-MiniLM folder."""
    from safetensors.numpy import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(minilm / name, out / name)
    config = json.loads((minilm / "config.json").read_text())
    config.update(
        architectures=["BertForSequenceClassification"],
        id2label={"0": "LABEL_0"},
        label2id={"LABEL_0": 0},
    )
    (out / "config.json").write_text(json.dumps(config, indent=2))
    weights = {f"bert.{k}": v for k, v in load_file(str(minilm / "model.safetensors")).items()}
    rng = np.random.default_rng(seed)
    weights["classifier.weight"] = rng.normal(0, 0.5, (1, config["hidden_size"])).astype(np.float32)
    weights["classifier.bias"] = np.asarray([0.1], np.float32)
    save_file(weights, str(out / "model.safetensors"))
    return out


def reference_scores(folder: Path, query: str, passages: list[str]) -> list[float]:
    """What transformers' BertForSequenceClassification returns for each pair: the
    encoder over ``[CLS] q [SEP] p [SEP]`` with token types, pooler, classifier."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    w = {
        k.removeprefix("bert."): v for k, v in load_file(str(folder / "model.safetensors")).items()
    }
    cfg = json.loads((folder / "config.json").read_text())
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    scores = []
    for passage in passages:
        enc = tok.encode(query, passage)
        x = _encoder(w, cfg, enc.ids, enc.type_ids)
        pooled = np.tanh(x[0] @ w["pooler.dense.weight"].T + w["pooler.dense.bias"])
        scores.append(float(pooled @ w["classifier.weight"][0] + w["classifier.bias"][0]))
    return scores


def _encoder(w: dict[str, Array], cfg: dict[str, int], ids: list[int], types: list[int]) -> Array:
    heads, n = cfg["num_attention_heads"], len(ids)
    gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))))

    def norm(x: Array, p: str) -> Array:
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[p + ".weight"] + w[p + ".bias"]

    def lin(x: Array, p: str) -> Array:
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][types]
    )
    x = norm(x, "embeddings.LayerNorm")
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (
            lin(x, p + f"attention.self.{m}").reshape(n, heads, -1).transpose(1, 0, 2)
            for m in ("query", "key", "value")
        )
        s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
        s = np.exp(s - s.max(-1, keepdims=True))
        a = ((s / s.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(n, -1)
        x = norm(x + lin(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        x = norm(
            x + lin(gelu(lin(x, p + "intermediate.dense")), p + "output.dense"),
            p + "output.LayerNorm",
        )
    return x
