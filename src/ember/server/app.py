"""The HTTP server: a FastAPI app factory over a Runtime. Routes are thin adapters.

Errors are rendered in one place per API family: OpenAI's error object under /v1,
Ollama's ``{"error": ...}`` under /api, so every client sees the shape it expects.
API keys and the bind check live in server/auth.py.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from ember import __version__
from ember.chat.assistant import ReplyEvent
from ember.chat.conversations import ConversationStore
from ember.chat.live_answers import LiveAnswers
from ember.documents.library import DocumentLibrary
from ember.errors import EmberError
from ember.runtime import Runtime, knows_tools, make_assistant
from ember.server import openapi, web
from ember.server.auth import ApiKeyAuth, BindRefusedError, check_bind, is_loopback
from ember.server.limits import RequestLimits, error_response
from ember.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ember.server.metrics import Metrics
from ember.server.routes_accounts import router as accounts_router
from ember.server.routes_documents import router as documents_router
from ember.server.routes_ollama import router as ollama_router
from ember.server.routes_ollama_models import router as ollama_models_router
from ember.server.routes_openai import router as openai_router
from ember.server.routes_ui import router as ui_router
from ember.server.routes_users import router as users_router
from ember.server.user_limits import UserQuotas
from ember.server.wire_common import InvalidRequestError

__all__ = ["BindRefusedError", "check_bind", "create_app", "is_loopback", "render_error"]

log = logging.getLogger(__name__)


def reindex_stale_documents(library: DocumentLibrary, stop: threading.Event) -> None:
    """Re-embed, in the background, documents embedded by another model or an older
    version of the embedded text (searches meanwhile use the vectors there are)."""
    if not library.documents():
        return  # nothing to check: do not load the embedding model
    try:
        stale = library.stale()
        if stale:
            log.info("re-embedding %d documents (embedding model or text changed)", len(stale))
            results = library.reindex(stale, stop=stop)
            failed = [r for r in results if r.status == "failed"]
            for r in failed:
                log.warning("could not re-embed %s: %s", r.path, r.detail)
    except EmberError as exc:
        log.warning("documents were not re-embedded: %s", exc)


async def _preload(runtime: Runtime) -> None:
    """The default model loaded, and the start of a new conversation computed, while
    nobody waits (``preload``). A model that is not installed, or a remote, is left
    alone: the first message reports it as usual."""
    name = runtime.settings.default_model
    if runtime.backends.remote_of(name) is not None:
        return
    try:
        model = runtime.models.get(name).name
        tools = runtime.toolbox.for_settings({}, model_knows_tools=knows_tools(runtime, model))
        shared = await runtime.chat.warm(model, tools.tools() if tools is not None else ())
        log.info("preloaded %s; the shared start of a conversation: %d tokens", model, shared)
    except EmberError as exc:
        log.info("not preloaded (%s): %s", name, exc)


def create_app(runtime: Runtime, *, host: str | None = None) -> FastAPI:
    """The app for a server bound to ``host`` (default: the ``host`` setting), which
    decides whether requests need an API key (see server/auth.py)."""
    conversations = ConversationStore(runtime.db)
    settings = runtime.settings
    toolbox = runtime.toolbox

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        conversations.recover_interrupted()  # answers cut off when a server last died
        await toolbox.start()
        stop_reindex = threading.Event()
        reindexing = threading.Thread(
            target=reindex_stale_documents,
            args=(runtime.documents, stop_reindex),
            name="ember-reindex",
            daemon=True,
        )
        reindexing.start()
        warming = asyncio.create_task(_preload(runtime)) if settings.preload else None
        pool = runtime.backends.pool
        # The workers' models and what they know (tools) before the first question.
        meeting = asyncio.create_task(pool.refresh()) if pool is not None else None
        yield
        for task in (warming, meeting):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if pool is not None:
            await pool.aclose()
        await live_answers.close()
        stop_reindex.set()
        await toolbox.aclose()
        await asyncio.to_thread(reindexing.join)
        runtime.engines.close()

    app = FastAPI(title="Ember", version=__version__, lifespan=lifespan)
    metrics = Metrics(runtime.engines)
    app.state.runtime = runtime
    app.state.metrics = metrics
    runtime.usage_observers.append(metrics.observe)
    app.state.chat = runtime.chat
    app.state.answerer = runtime.answerer
    app.state.assistant = make_assistant(runtime, conversations)
    live_answers: LiveAnswers[ReplyEvent] = LiveAnswers()
    app.state.live_answers = live_answers
    app.state.started = time.time()
    # Innermost: after sign-in named the user, each user's answers and tokens.
    app.add_middleware(UserQuotas, limits=runtime.limits)
    # Added first, so it runs inside the limits (its 401s are counted) and inside CORS
    # (preflights pass, and refusals carry CORS headers a browser can read).
    app.add_middleware(
        ApiKeyAuth,
        host=host or settings.host,
        mode=settings.auth,
        keys=runtime.keys,
        users=runtime.users,
        sessions=runtime.sessions,
    )
    app.add_middleware(
        RequestLimits,
        max_body_bytes=int(settings.max_body_mb * (1 << 20)),
        max_pending=settings.max_pending_requests,
        metrics=metrics,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
            max_age=600,
        )

    @app.exception_handler(EmberError)
    async def ember_error(request: Request, exc: EmberError) -> JSONResponse:
        return render_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"msg": "invalid request", "loc": ()}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        return render_error(request, InvalidRequestError(message))

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {"status": "ok", "version": __version__}

    @app.get("/metrics")
    async def metrics_text() -> Response:
        """Prometheus text format: requests, tokens, TTFT, tokens/s, queue, slots."""
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    app.include_router(openai_router)
    app.include_router(ollama_router)
    app.include_router(ollama_models_router)
    app.include_router(documents_router)
    app.include_router(accounts_router)
    app.include_router(users_router)
    app.include_router(ui_router)
    web.install(app)
    openapi.install(app)
    return app


def render_error(request: Request, exc: EmberError) -> JSONResponse:
    """Ollama's ``{"error": ...}`` under /api, OpenAI's error object everywhere else."""
    return error_response(request.url.path, exc)
