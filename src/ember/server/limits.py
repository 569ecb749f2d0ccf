"""Request limits as one ASGI middleware: body size, bounded admission, request counts.

- A body larger than ``max_body_bytes`` is refused with 413: from ``Content-Length``
  before reading, or while reading a chunked body.
- Generation requests (chat, completions, embeddings) are admitted up to
  ``max_pending`` at once, running plus queued for a slot; beyond that the client gets
  503 with ``Retry-After`` at once instead of waiting without bound.
- Every answer is counted by route and status for ``/metrics``.

A streamed answer holds its admission until its last byte is sent (or the client goes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse

from ember.errors import EmberError
from ember.server.metrics import Metrics
from ember.server.wire_ollama_responses import error_body as ollama_error_body
from ember.server.wire_openai_responses import error_body as openai_error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GENERATION_PATHS = frozenset(
    {
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/api/chat",
        "/api/generate",
        "/api/embed",
        "/api/embeddings",
    }
)
RETRY_AFTER_S = 2


class BodyTooLargeError(EmberError):
    status = 413
    code = "request_too_large"


class ServerBusyError(EmberError):
    status = 503
    code = "server_busy"


def error_response(
    path: str, exc: EmberError, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Ollama's ``{"error": ...}`` under /api, OpenAI's error object everywhere else; an
    error that says when to try again (``retry_after_s``) gets ``Retry-After``."""
    body = ollama_error_body(exc) if path.startswith("/api/") else openai_error_body(exc)
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        headers = {"Retry-After": str(retry_after), **(headers or {})}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def route_label(path: str) -> str:
    """A bounded label for metrics: model ids in paths are folded away."""
    if path.startswith("/v1/models/"):
        return "/v1/models/{id}"
    if path.startswith(("/v1/", "/api/")) or path in ("/", "/health", "/metrics"):
        return path if len(path) <= 40 else "other"
    return "other"


class RequestLimits:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_pending: int, metrics: Metrics
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_pending = max_pending
        self.metrics = metrics
        self.pending = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._limited(scope, receive, counting_send, path)
        finally:
            self.metrics.requests.labels(route_label(path), str(status)).inc()

    async def _limited(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, receive, send, path, self._too_large(declared))
            return
        receive = self._bounded(receive)
        if scope["method"] != "POST" or path not in GENERATION_PATHS:
            await self.app(scope, receive, send)
            return
        if self.pending >= self.max_pending:
            self.metrics.rejected.inc()
            busy = ServerBusyError(
                f"the server is busy: {self.pending} requests are running or queued",
                hint=f"retry in a few seconds (max_pending_requests = {self.max_pending})",
            )
            await self._refuse(
                scope, receive, send, path, busy, {"Retry-After": str(RETRY_AFTER_S)}
            )
            return
        self.pending += 1
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.pending -= 1
            self.metrics.in_flight.dec()

    def _too_large(self, size: int) -> BodyTooLargeError:
        limit_mib = self.max_body_bytes / (1 << 20)
        return BodyTooLargeError(
            f"the request body is {size} bytes; this server accepts at most "
            f"{self.max_body_bytes} ({limit_mib:g} MiB)",
            hint="send less, or raise max_body_mb in `ember config`",
        )

    def _bounded(self, receive: Receive) -> Receive:
        """``receive`` that raises 413 once a (chunked) body outgrows the limit."""
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise self._too_large(seen)
            return message

        return bounded

    @staticmethod
    async def _refuse(
        scope: Scope,
        receive: Receive,
        send: Send,
        path: str,
        exc: EmberError,
        headers: dict[str, str] | None = None,
    ) -> None:
        await error_response(path, exc, headers)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
