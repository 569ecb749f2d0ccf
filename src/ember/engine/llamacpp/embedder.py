"""Embeddings with llama.cpp: many texts per ``llama_decode``, one sequence each.

The pooling type comes from the GGUF (mean for BERT-style models, last token for some
decoders); vectors are L2-normalised so a dot product is the cosine similarity.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from pathlib import Path

import llama_cpp as ll

from ember.engine.llamacpp.compute import compute
from ember.engine.llamacpp.engine import ContextLengthExceededError
from ember.engine.llamacpp.native import Batch, ModelLoadError, NativeModel

POOLING_BY_NAME = {"mean": 1, "cls": 2, "last": 3}


class LlamaCppEmbedder:
    def __init__(
        self,
        path: Path,
        *,
        name: str,
        n_seq: int = 16,
        n_threads: int | None = None,
        pooling: str | None = None,
        n_ctx: int | None = None,
    ) -> None:
        self.name = name
        self.model = NativeModel(path)
        # Embedding models are short (512 tokens); a chat model opened for embeddings
        # would otherwise reserve its whole trained context, batch-sized.
        self.n_ctx = min(self.model.n_ctx_train, n_ctx) if n_ctx else self.model.n_ctx_train
        self.n_seq = n_seq
        params = ll.llama_context_default_params()
        params.embeddings = True
        params.n_ctx = self.n_ctx
        params.n_batch = self.n_ctx
        params.n_ubatch = self.n_ctx
        params.n_seq_max = n_seq
        params.kv_unified = True
        params.n_threads = params.n_threads_batch = n_threads or os.cpu_count() or 1
        params.pooling_type = POOLING_BY_NAME.get(pooling or "", ll.LLAMA_POOLING_TYPE_UNSPECIFIED)
        self.ctx = ll.llama_init_from_model(self.model.ptr, params)
        if not self.ctx:
            self.model.close()
            raise ModelLoadError(f"llama.cpp could not create an embedding context for {name}")
        if ll.llama_pooling_type(self.ctx) == ll.LLAMA_POOLING_TYPE_NONE:
            ll.llama_free(self.ctx)
            self.model.close()
            raise ModelLoadError(
                f"{name} has no pooling for sentence embeddings",
                hint="use an embedding model (all-minilm, bge, nomic-embed-text)",
            )
        self._batch = Batch(self.n_ctx)
        self._lock = threading.Lock()  # one context: one batch at a time

    async def embed(self, texts: list[str], *, truncate: bool = False) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_sync, texts, truncate=truncate)

    def embed_sync(self, texts: list[str], *, truncate: bool = False) -> list[list[float]]:
        """Unit vectors for ``texts``; a text longer than the context is an error, or with
        ``truncate`` (Ollama's default) is cut to the context."""
        token_lists = [self.model.tokenize(t, add_special=True, parse_special=False) for t in texts]
        if truncate:
            token_lists = [tokens[: self.n_ctx] for tokens in token_lists]
        for tokens in token_lists:
            if len(tokens) > self.n_ctx:
                raise ContextLengthExceededError(
                    f"a text has {len(tokens)} tokens; {self.name} embeds at most {self.n_ctx}",
                    hint="split long documents into chunks before embedding",
                )
        out: list[list[float]] = []
        with self._lock:
            group: list[list[int]] = []
            for tokens in token_lists:
                if group and (
                    len(group) == self.n_seq or sum(map(len, group)) + len(tokens) > self.n_ctx
                ):
                    out.extend(self._run(group))
                    group = []
                group.append(tokens)
            if group:
                out.extend(self._run(group))
        return out

    def _run(self, group: list[list[int]]) -> list[list[float]]:
        ll.llama_memory_clear(ll.llama_get_memory(self.ctx), True)
        self._batch.clear()
        for seq, tokens in enumerate(group):
            for pos, token in enumerate(tokens):
                self._batch.add(token, pos, seq, True)
        self._batch.raw.n_tokens = self._batch.n
        run = ll.llama_encode if self.model.has_encoder else ll.llama_decode
        if compute(run, self.ctx, self._batch.raw) != 0:
            raise RuntimeError("llama.cpp failed to compute embeddings")
        vectors = []
        for seq in range(len(group)):
            ptr = ll.llama_get_embeddings_seq(self.ctx, seq)
            values = [float(ptr[i]) for i in range(self.model.n_embd)]
            norm = math.sqrt(sum(v * v for v in values)) or 1.0
            vectors.append([v / norm for v in values])
        return vectors

    def close(self) -> None:
        if self.ctx:
            self._batch.close()
            ll.llama_free(self.ctx)
            self.ctx = None
        self.model.close()
