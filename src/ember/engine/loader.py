"""Turn an installed model into a running engine (the one place a ModelRecord is loaded)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from ember.config import Settings, kv_root
from ember.engine.llamacpp import LlamaCppEngine
from ember.engine.llamacpp.embedder import LlamaCppEmbedder
from ember.engine.llamacpp.native import ModelLoadError
from ember.engine.options import LoadOptions
from ember.engine.pool import Closable, EnginePool
from ember.fit.options import pool_budget
from ember.fit.plan import LoadPlan, fit
from ember.hardware import Machine, probe_machine
from ember.models.store import ModelRecord, ModelStore

log = logging.getLogger(__name__)


def plan_for(record: ModelRecord, settings: Settings, machine: Machine | None = None) -> LoadPlan:
    """The fit plan for ``record`` here, with the settings' overrides (--ctx, --threads…)."""
    if record.info is None:
        raise ModelLoadError(
            f"{record.name} has no readable GGUF metadata", hint=f"`ember pull {record.name}`"
        )
    return fit(
        machine or probe_machine(settings.home),
        record.info,
        name=record.name,
        want_ctx=settings.context_length,
        want_slots=settings.parallel,
        want_threads=settings.threads,
        want_gpu_layers=settings.gpu_layers,
        extension=settings.context_extension,
    )


def load_options(plan: LoadPlan) -> LoadOptions:
    """The engine options the plan chose (the engine clamps n_ctx to the trained length
    unless the plan extends it with a RoPE scaling)."""
    return LoadOptions(
        n_ctx=plan.n_ctx,
        rope_scaling=plan.rope_scaling,
        n_slots=plan.n_slots,
        n_threads=plan.n_threads,
        n_gpu_layers=plan.n_gpu_layers,
        kv_type=plan.kv_type,
        flash_attn=True if plan.flash_attn else LoadOptions.flash_attn,
    )


def planned_options(record: ModelRecord, settings: Settings) -> LoadOptions:
    """LoadOptions from the fit plan; a plan that does not fit is refused with its reason."""
    plan = plan_for(record, settings)
    if not plan.fits:
        raise ModelLoadError(
            f"{record.name} {plan.reason}",
            hint="`ember fit` lists models that fit; a smaller --ctx may help",
        )
    return load_options(plan)


def open_engine(
    record: ModelRecord, settings: Settings, options: LoadOptions | None = None
) -> LlamaCppEngine:
    """Load ``record`` for generation (with the fit plan unless ``options`` are given);
    conversation KV states live under ``kv_dir`` (EMBER_HOME/kv by default)."""
    opts = options or planned_options(record, settings)
    if opts.kv_dir is None:
        opts = replace(opts, kv_dir=kv_root(settings))
    if settings.draft_tokens and not opts.draft_tokens:
        opts = replace(opts, draft_tokens=settings.draft_tokens)
    return LlamaCppEngine(record.path, name=record.name, digest=record.digest, options=opts)


EMBEDDING_SUFFIX = "#embedding"
CHAT_MODEL_EMBEDDING_CTX = 4096


def embedding_key(name: str) -> str:
    """The pool key of a chat model opened for embeddings (a second, embedding context)."""
    return name + EMBEDDING_SUFFIX


CONTEXT_MARK = "#ctx="


def context_key(name: str, n_ctx: int | None) -> str:
    """The pool key of a chat model loaded with a context size a request asked for
    (Ollama's ``num_ctx``): another instance, as Ollama reloads the model for it."""
    return f"{name}{CONTEXT_MARK}{n_ctx}" if n_ctx else name


def model_name(key: str) -> str:
    """The model name behind a pool key."""
    return key.partition("#")[0]


def requested_context(key: str) -> int | None:
    """The context size a pool key asks for, if any."""
    _, mark, value = key.partition(CONTEXT_MARK)
    return int(value) if mark else None


def key_dir(key: str) -> str:
    """A folder name for a pool key."""
    return key.rpartition("#")[2].replace("=", "-")


def open_generator(
    record: ModelRecord, settings: Settings, options: LoadOptions
) -> tuple[Closable, int]:
    engine = open_engine(record, settings, options)
    return engine, record.size + engine.kv_bytes()


def open_any(
    record: ModelRecord, settings: Settings, *, for_embedding: bool = False
) -> tuple[Closable, int]:
    """An embedder for embedding models (or a chat model opened ``for_embedding``, with
    mean pooling as Ollama does), a generator otherwise; with the bytes it holds."""
    if record.info is not None and record.info.is_embedding_model:
        return LlamaCppEmbedder(
            record.path, name=record.name, pooling=record.info.pooling
        ), record.size
    if for_embedding:
        return LlamaCppEmbedder(
            record.path,
            name=record.name,
            pooling="mean",
            n_seq=4,
            n_ctx=CHAT_MODEL_EMBEDDING_CTX,
        ), record.size
    engine = open_engine(record, settings)
    return engine, record.size + engine.kv_bytes()


def clamped_context(record: ModelRecord, n_ctx: int | None, settings: Settings) -> str | None:
    """What to tell a user whose context is held to the model's trained length (asked
    for more, no ``context_extension``); None when nothing is held back."""
    info = record.info
    trained = info.context_length if info is not None else None
    if n_ctx is None or trained is None or n_ctx <= trained or settings.context_extension != "none":
        return None
    if info is not None and info.is_embedding_model:
        return None
    return (
        f"{record.name} was asked for a context of {n_ctx:,} tokens but was trained on "
        f"{trained:,}; it is loaded with {trained:,}. Set context_extension "
        "(EMBER_CONTEXT_EXTENSION=yarn, or linear) to go past the trained length with "
        "RoPE scaling"
    )


def make_pool(store: ModelStore, settings: Settings, machine: Machine | None = None) -> EnginePool:
    """The runtime's pool, with the memory budget fit computes for this machine. A
    context held to the trained length is logged as a warning, once per model and size."""
    warned: set[tuple[str, int | None]] = set()

    def warn_if_clamped(record: ModelRecord, n_ctx: int | None) -> None:
        message = clamped_context(record, n_ctx, settings)
        if message is not None and (record.name, n_ctx) not in warned:
            warned.add((record.name, n_ctx))
            log.warning("%s", message)

    async def opener(key: str) -> tuple[Closable, int]:
        record = store.get(model_name(key))
        for_embedding = key.endswith(EMBEDDING_SUFFIX)
        n_ctx = requested_context(key)
        if not for_embedding:
            warn_if_clamped(record, n_ctx or settings.context_length)
        if n_ctx is None or for_embedding or (record.info and record.info.is_embedding_model):
            return await asyncio.to_thread(open_any, record, settings, for_embedding=for_embedding)
        # Its own folder of saved prompt states: two instances of one model must not
        # trim each other's files.
        wanted = settings.model_copy(update={"context_length": n_ctx})
        options = replace(planned_options(record, wanted), kv_dir=kv_root(settings) / key_dir(key))
        return await asyncio.to_thread(open_generator, record, wanted, options)

    return EnginePool(opener, memory_budget=pool_budget(machine or probe_machine(settings.home)))
