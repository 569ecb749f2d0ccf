"""``LlamaCppEngine``: one model, one context with N slots, driven by the scheduler thread.

The asyncio side only submits jobs and reads chunks from a queue; every llama.cpp call
on the context happens in the scheduler thread (tokenization is read-only and safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from ember.fit.plan import RopeScaling

log = logging.getLogger(__name__)


class ContextLengthExceededError(EmberError):
    status = 400
    code = "context_length_exceeded"


KV_TYPES = {"f16": (ll.GGML_TYPE_F16, 2.0), "q8_0": (ll.GGML_TYPE_Q8_0, 34 / 32)}
ROPE_SCALING_TYPES = {
    "linear": ll.LLAMA_ROPE_SCALING_TYPE_LINEAR,
    "yarn": ll.LLAMA_ROPE_SCALING_TYPE_YARN,
}
EXTENSION_HINT = (
    "set context_extension (EMBER_CONTEXT_EXTENSION=yarn) to go past it with RoPE scaling"
)


def context_size(wanted: int | None, trained: int, rope_scaling: RopeScaling | None) -> int:
    """Tokens per sequence: what was asked (None: the trained length, at most 8192), held
    to the trained length unless a RoPE scaling extends it."""
    n_ctx = wanted or min(trained, 8192)
    return n_ctx if rope_scaling is not None else min(n_ctx, trained)


def apply_rope_scaling(params: Any, scaling: RopeScaling, n_ctx: int, trained: int) -> None:
    """Context parameters that stretch ``trained`` positions over ``n_ctx``, as
    llama-server's ``--rope-scaling S --rope-scale n_ctx/trained --yarn-orig-ctx trained``."""
    params.rope_scaling_type = ROPE_SCALING_TYPES[scaling]
    params.rope_freq_scale = trained / n_ctx
    if scaling == "yarn":
        params.yarn_orig_ctx = trained


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

    def _size(self) -> None:
        """``n_ctx`` and the RoPE scaling that reaches it (None: within the trained
        length); a context held to the trained length is logged as a warning."""
        opts, trained = self.options, self.model.n_ctx_train
        self.n_ctx = context_size(opts.n_ctx, trained, opts.rope_scaling)
        self.rope_scaling: RopeScaling | None = opts.rope_scaling if self.n_ctx > trained else None
        if opts.n_ctx is not None and opts.n_ctx > self.n_ctx:
            log.warning(
                "%s was asked for %d tokens of context but was trained on %d; using %d (%s)",
                self.name,
                opts.n_ctx,
                trained,
                self.n_ctx,
                EXTENSION_HINT,
            )

    def _open(self, digest: str) -> None:
        opts = self.options
        self._size()
        self.n_threads = opts.n_threads or os.cpu_count() or 1
        params = ll.llama_context_default_params()
        if self.rope_scaling is not None:
            apply_rope_scaling(params, self.rope_scaling, self.n_ctx, self.model.n_ctx_train)
        params.n_ctx = self.n_ctx * opts.n_slots
        params.n_batch = opts.n_batch
        params.n_ubatch = opts.n_batch
        params.n_seq_max = opts.n_slots
        params.n_threads = self.n_threads
        params.n_threads_batch = self.n_threads
        params.kv_unified = opts.kv_unified
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
        # States computed with RoPE scaling hold other positions: only for the same scaling.
        build = llama_build_id()
        if not opts.kv_unified:
            # A state saved from one KV layout is not restored into the other.
            build += "; kv per slot"
        if self.rope_scaling is not None:
            build += f"; rope {self.rope_scaling} {self.model.n_ctx_train}->{self.n_ctx}"
        kv = (
            KVStore(opts.kv_dir, digest, build, opts.kv_budget_bytes)
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
            draft_tokens=opts.draft_tokens,
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
            at_limit = self.n_ctx >= self.model.n_ctx_train and self.rope_scaling is None
            raise ContextLengthExceededError(
                f"the prompt has {len(tokens)} tokens but {self.name} is loaded with a "
                f"context of {self.n_ctx} tokens",
                hint=(
                    f"shorten the prompt; {self.n_ctx} tokens is what {self.name} was "
                    "trained on: to go past it, set context_extension "
                    "(EMBER_CONTEXT_EXTENSION=yarn) and a larger --ctx or num_ctx"
                )
                if at_limit
                else "shorten the prompt, or load the model with a larger context (--ctx)",
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
        kv_store: KVStore | None = getattr(self, "kv_store", None)
        if kv_store is not None:
            kv_store.close()
        if getattr(self, "ctx", None):
            ll.llama_free(self.ctx)
            self.ctx = None
        self.model.close()
