"""Cross-encoder reranking with llama.cpp: a question and a passage read together.

A reranker GGUF (pooling ``rank``, e.g. ms-marco-MiniLM converted by ``ember import``)
scores a pair ``[CLS] question [SEP] passage [SEP]`` with one number: llama.cpp's rank
pooling applies the model's classifier head to the [CLS] state. Many pairs go into one
``llama_decode``, one sequence each, as the embedder does with texts.

BERT tells the two parts apart with token types (0 for the question, 1 for the
passage); llama.cpp adds type 0 to every token. So for a model with a token-type table
the pair goes in as vectors: each token's embedding plus the difference between its
type's row and row 0 (llama.cpp adds row 0 and the positions itself), which is what
the Hugging Face model computes.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import llama_cpp as ll
import numpy as np
import numpy.typing as npt

from ember.engine.llamacpp.compute import compute
from ember.engine.llamacpp.native import ModelLoadError, NativeModel

RANK_POOLING = 4  # LLAMA_POOLING_TYPE_RANK
Pair = tuple[list[int], list[int]]  # token ids, token types


class LlamaCppReranker:
    """A reranker GGUF in its own llama.cpp context; callers from any thread wait for
    one batch at a time."""

    def __init__(
        self,
        path: Path,
        *,
        name: str,
        n_threads: int | None = None,
        n_seq: int = 32,
        batch_tokens: int = 512,
    ) -> None:
        """``batch_tokens`` bounds one ``llama_decode``. Attention is computed across the
        whole batch (masked per pair), so bigger batches cost more than they save: 20
        pairs of ~270 tokens took 1.10 s in batches of 512 tokens, 1.41 s of 2,048 and
        1.71 s of 4,096 (MiniLM-L6, one thread)."""
        self.name = name
        self.model = NativeModel(path)
        arch = self.model.meta("general.architecture")
        if self.model.meta(f"{arch}.pooling_type") != str(RANK_POOLING):
            self.model.close()
            raise ModelLoadError(
                f"{name} is not a reranker (its pooling is not rank)",
                hint="import a cross-encoder such as ms-marco-MiniLM-L-6-v2 with `ember import`",
            )
        self.max_pair = min(self.model.n_ctx_train, batch_tokens)
        self.batch_tokens = batch_tokens
        self.n_seq = n_seq
        self._inputs = _TokenInputs.read(path)
        params = ll.llama_context_default_params()
        params.embeddings = True
        params.n_ctx = params.n_batch = params.n_ubatch = batch_tokens
        params.n_seq_max = n_seq
        params.kv_unified = True
        params.n_threads = params.n_threads_batch = n_threads or os.cpu_count() or 1
        params.pooling_type = RANK_POOLING
        self.ctx = ll.llama_init_from_model(self.model.ptr, params)
        if not self.ctx:
            self.model.close()
            raise ModelLoadError(f"llama.cpp could not create a reranking context for {name}")
        self._batch = ll.llama_batch_init(batch_tokens, self.model.n_embd, 1)
        self._lock = threading.Lock()  # one context: one batch at a time
        self._cls = int(ll.llama_vocab_bos(self.model.vocab))
        self._sep = int(ll.llama_vocab_sep(self.model.vocab))

    def score_sync(self, query: str, documents: Sequence[str]) -> list[float]:
        """One relevance score per document (the model's raw logit: higher is more
        relevant), in the order given. A pair longer than the model's context loses the
        end of its document (then of its question)."""
        q = self.tokenize(query)
        pairs = [self.pair(q, self.tokenize(d)) for d in documents]
        scores: list[float] = []
        with self._lock:
            group: list[Pair] = []
            size = 0
            for pair in pairs:
                if group and (len(group) == self.n_seq or size + len(pair[0]) > self.batch_tokens):
                    scores.extend(self._run(group))
                    group, size = [], 0
                group.append(pair)
                size += len(pair[0])
            if group:
                scores.extend(self._run(group))
        return scores

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` without [CLS]/[SEP] (``pair`` adds them)."""
        return self.model.tokenize(text, add_special=False, parse_special=False)

    def pair(self, query: list[int], document: list[int]) -> Pair:
        """``[CLS] query [SEP] document [SEP]`` and its token types, cut to fit."""
        room = self.max_pair - 3
        query = query[: max(room // 2, room - len(document))]
        document = document[: room - len(query)]
        ids = [self._cls, *query, self._sep, *document, self._sep]
        types = [0] * (len(query) + 2) + [1] * (len(document) + 1)
        return ids, types

    def _run(self, group: list[Pair]) -> list[float]:
        ll.llama_memory_clear(ll.llama_get_memory(self.ctx), True)
        batch = self._batch
        ids = [t for pair_ids, _ in group for t in pair_ids]
        types = [t for _, pair_types in group for t in pair_types]
        vectors = self._inputs.vectors(ids, types)
        ctypes.memmove(batch.embd, vectors.ctypes.data, vectors.nbytes)
        i = 0
        for seq, (pair_ids, _) in enumerate(group):
            for pos in range(len(pair_ids)):
                batch.pos[i] = pos
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq
                batch.logits[i] = True
                i += 1
        batch.n_tokens = i
        if compute(ll.llama_decode, self.ctx, batch) != 0:
            raise RuntimeError("llama.cpp failed to score the pairs")
        return [float(ll.llama_get_embeddings_seq(self.ctx, seq)[0]) for seq in range(len(group))]

    def close(self) -> None:
        if self.ctx:
            ll.llama_batch_free(self._batch)
            ll.llama_free(self.ctx)
            self.ctx = None
        self.model.close()


class _TokenInputs:
    """A model's input vectors as llama.cpp computes them before it adds the type-0
    row and the positions: the token's embedding, plus (type row - row 0) for types."""

    def __init__(self, tokens: npt.NDArray[np.generic], types: npt.NDArray[np.float32]) -> None:
        self.tokens = tokens  # (n_vocab, n_embd), F16 or F32 as stored
        self.type_shift = types - types[0]  # (n_types, n_embd)

    @classmethod
    def read(cls, path: Path) -> _TokenInputs:
        from gguf import GGUFReader
        from gguf.quants import dequantize

        tensors = {t.name: t for t in GGUFReader(path).tensors}

        def table(name: str) -> npt.NDArray[np.generic]:
            t = tensors[name]
            rows = dequantize(t.data, t.tensor_type) if t.tensor_type > 1 else t.data
            return np.asarray(rows).reshape(int(t.shape[1]), int(t.shape[0]))

        embd = table("token_embd.weight")
        if "token_types.weight" in tensors:
            types = table("token_types.weight").astype(np.float32)
        else:
            types = np.zeros((1, embd.shape[1]), np.float32)
        return cls(embd, types)

    def vectors(self, ids: list[int], types: list[int]) -> npt.NDArray[np.float32]:
        rows = self.tokens[ids].astype(np.float32)
        rows += self.type_shift[np.minimum(types, len(self.type_shift) - 1)]
        return np.ascontiguousarray(rows, dtype=np.float32)
