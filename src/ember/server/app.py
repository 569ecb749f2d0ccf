"""The HTTP server: a FastAPI app factory over a Runtime. Routes are thin adapters.

Errors are rendered in one place per API family: OpenAI's error object under /v1,
Ollama's ``{"error": ...}`` under /api, so every client sees the shape it expects.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ember import __version__
from ember.chat.service import ChatService
from ember.errors import EmberError
from ember.runtime import Runtime
from ember.server.routes_ollama import router as ollama_router
from ember.server.routes_openai import router as openai_router
from ember.server.wire_common import InvalidRequestError
from ember.server.wire_ollama_responses import error_body as ollama_error_body
from ember.server.wire_openai_responses import error_body as openai_error_body


class BindRefusedError(EmberError):
    status = 400
    code = "bind_refused"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str) -> None:
    """Ember serves loopback only until API keys exist: never an open port by accident."""
    if not is_loopback(host):
        raise BindRefusedError(
            f"refusing to bind {host}: serving other machines requires API keys, "
            "which this version does not have yet",
            hint="bind 127.0.0.1 and put an authenticating reverse proxy in front",
        )


def create_app(runtime: Runtime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.engines.close()

    app = FastAPI(title="Ember", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.chat = ChatService(runtime.engines)
    app.state.started = time.time()

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

    app.include_router(openai_router)
    app.include_router(ollama_router)
    return app


def render_error(request: Request, exc: EmberError) -> JSONResponse:
    """Ollama's ``{"error": ...}`` under /api, OpenAI's error object everywhere else."""
    if request.url.path.startswith("/api/"):
        return JSONResponse(ollama_error_body(exc), status_code=exc.status)
    return JSONResponse(openai_error_body(exc), status_code=exc.status)
