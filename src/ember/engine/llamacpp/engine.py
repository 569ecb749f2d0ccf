"""``LlamaCppEngine``: one model, one context with N slots, driven by the scheduler thread.

The asyncio side only submits jobs and reads chunks from a queue; every llama.cpp call
on the context happens in the scheduler thread (tokenization is read-only and safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import llama_cpp as ll

from ember.engine.base import Chunk, EngineInfo, GenerateRequest
from ember.engine.chat_template import render_chat
from ember.engine.llamacpp.kv_store import KVStore
from ember.engine.llamacpp.native import ModelLoadError, NativeModel
from ember.engine.llamacpp.scheduler import Job, Scheduler
from ember.engine.options import LoadOptions
from ember.errors import EmberError


class ContextLengthExceededError(EmberError):
    status = 400
    code = "context_length_exceeded"


KV_TYPES = {"f16": (ll.GGML_TYPE_F16, 2.0), "q8_0": (ll.GGML_TYPE_Q8_0, 34 / 32)}


def llama_build_id() -> str:
    """Identifies the llama.cpp build: saved KV states are only valid for the same one."""
    return f"llama-cpp-python {ll.__version__}"


class LlamaCppEngine:
    def __init__(
        self, path: Path, *, name: str, digest: str, options: LoadOptions | None = None
    ) -> None:
        self.options = options or LoadOptions()
        self.name = name
        self.path = path
        if not path.is_file():
            raise ModelLoadError(
                f"the file of {name} is missing: {path}", hint=f"`ember pull {name}`"
            )
        self.model = NativeModel(path, n_gpu_layers=self.options.n_gpu_layers)
        try:
            self._open(digest)
        except BaseException:
            self.model.close()
            raise

    def _open(self, digest: str) -> None:
        opts = self.options
        self.n_ctx = min(opts.n_ctx or min(self.model.n_ctx_train, 8192), self.model.n_ctx_train)
        self.n_threads = opts.n_threads or os.cpu_count() or 1
        params = ll.llama_context_default_params()
        params.n_ctx = self.n_ctx * opts.n_slots
        params.n_batch = opts.n_batch
        params.n_ubatch = opts.n_batch
        params.n_seq_max = opts.n_slots
        params.n_threads = self.n_threads
        params.n_threads_batch = self.n_threads
        params.kv_unified = True
        params.no_perf = True
        kv_type, _ = KV_TYPES[opts.kv_type]
        params.type_k = kv_type
        params.type_v = kv_type
        flash = True if opts.kv_type != "f16" else opts.flash_attn
        params.flash_attn_type = {None: -1, True: 1, False: 0}[flash]
        self.ctx = ll.llama_init_from_model(self.model.ptr, params)
        if not self.ctx:
            raise ModelLoadError(
                f"llama.cpp could not create a context of {params.n_ctx} tokens for {self.name}",
                hint="use a smaller context or fewer slots",
            )
        kv = (
            KVStore(opts.kv_dir, digest, llama_build_id(), opts.kv_budget_bytes)
            if opts.kv_dir is not None
            else None
        )
        self.kv_store = kv
        self.scheduler = Scheduler(
            self.model,
            self.ctx,
            n_slots=opts.n_slots,
            n_ctx=self.n_ctx,
            n_ctx_total=self.n_ctx * opts.n_slots,
            n_batch=opts.n_batch,
            prefill_chunk=opts.prefill_chunk,
            kv_store=kv,
        )
        self.template = self.model.chat_template()

    # ---------------------------------------------------------------- Engine contract

    async def generate(self, request: GenerateRequest) -> AsyncIterator[Chunk]:
        """Stream chunks; closing the iterator early cancels the job and frees its slot."""
        tokens = self._prompt_tokens(request)
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[Chunk] = asyncio.Queue()

        def emit(chunk: Chunk) -> None:
            with contextlib.suppress(RuntimeError):  # loop closed: nobody is listening
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)

        job = Job(request=request, tokens=tokens, emit=emit)
        self.scheduler.submit(job)
        try:
            while True:
                chunk = await chunks.get()
                yield chunk
                if chunk.finish_reason is not None:
                    return
        finally:
            job.cancelled = True

    def _prompt_tokens(self, request: GenerateRequest) -> list[int]:
        if request.prompt_tokens is not None:
            tokens = list(request.prompt_tokens)
        else:
            tokens = self.tokenize(
                request.prompt or "",
                add_special=request.add_special,
                parse_special=request.parse_special,
            )
        if not tokens:
            tokens = [self.model.bos] if self.model.bos >= 0 else []
        if not tokens:
            raise EmberError("the prompt is empty", hint="send some text")
        if len(tokens) >= self.n_ctx:
            raise ContextLengthExceededError(
                f"the prompt has {len(tokens)} tokens but {self.name} is loaded with a "
                f"context of {self.n_ctx} tokens",
                hint="shorten the prompt, or load the model with a larger context (--ctx)",
            )
        return tokens

    async def embed(self, texts: list[str]) -> list[list[float]]:
        raise EmberError(f"{self.name} is loaded for generation, not embeddings")

    def tokenize(
        self, text: str, *, add_special: bool = True, parse_special: bool = True
    ) -> list[int]:
        return self.model.tokenize(text, add_special=add_special, parse_special=parse_special)

    def detokenize(self, tokens: list[int]) -> str:
        return self.model.detokenize(tokens)

    def apply_chat_template(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        add_generation_prompt: bool = True,
        template: str | None = None,
    ) -> str:
        """The prompt for ``messages`` in this model's own chat format."""
        return render_chat(
            template or self.template,
            messages,
            tools=tools,
            add_generation_prompt=add_generation_prompt,
            bos_token=self.model.token_text(self.model.bos),
            eos_token=self.model.token_text(self.model.eos),
        )

    def chat_request_tokens(self, prompt: str) -> list[int]:
        """Tokenize a rendered chat prompt, without doubling a BOS the template wrote."""
        bos = self.model.token_text(self.model.bos)
        add = not (bos and prompt.startswith(bos))
        return self.tokenize(prompt, add_special=add, parse_special=True)

    def clear_cache(self) -> None:
        """Drop the KV cache of every idle slot (the next prompt is read from scratch)."""
        self.scheduler.clear_cache()

    def kv_bytes(self) -> int:
        """Bytes of KV cache this context holds (keys and values, every layer and slot)."""
        n_layer = int(ll.llama_model_n_layer(self.model.ptr))
        n_head_kv = int(ll.llama_model_n_head_kv(self.model.ptr))
        n_head = int(ll.llama_model_n_head(self.model.ptr)) or 1
        head_dim = self.model.n_embd // n_head
        per_token = 2 * n_layer * n_head_kv * head_dim * KV_TYPES[self.options.kv_type][1]
        return int(per_token * self.n_ctx * self.options.n_slots)

    def info(self) -> EngineInfo:
        return EngineInfo(
            model=self.name,
            path=str(self.path),
            n_ctx=self.n_ctx,
            n_slots=self.options.n_slots,
            n_threads=self.n_threads,
            n_vocab=self.model.n_vocab,
            embedding=False,
        )

    def close(self) -> None:
        if getattr(self, "scheduler", None) is not None:
            self.scheduler.stop()
            self.scheduler = None  # type: ignore[assignment]
        if getattr(self, "ctx", None):
            ll.llama_free(self.ctx)
            self.ctx = None
        self.model.close()
