"""API-key authentication for the server, and the check that decides which binds are allowed.

The rules (``auth`` setting, see docs/security.md):

- bound to loopback with ``auth = "auto"`` (the default): no key is needed, and any
  ``Authorization`` header is ignored, so clients configured with a dummy key work;
- bound to any other address: every request needs an active key, and ``ember serve``
  refuses to start at all until one exists (:func:`check_bind`);
- ``auth = "always"``: on loopback too, as soon as any active key exists.

Whether a key is needed is decided per request, so a key created or revoked while the
server runs takes effect at once. A key is sent as ``Authorization: Bearer <key>`` (what
the OpenAI SDKs send) or ``X-API-Key: <key>``. Everything but the open paths below needs
it: both API families, the web UI's /ember/api and /metrics. A refusal is 401 in the
shape of the path's API family (OpenAI's error object, or Ollama's ``{"error": ...}``).
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from ember.auth.keys import KeyStore
from ember.errors import AuthenticationError, EmberError
from ember.server.limits import ASGIApp, Receive, Scope, Send, error_response

AuthMode = Literal["auto", "always"]

# Paths that never need a key: liveness, the static web page, the API description, and
# the page's sign-in (which checks the key itself).
OPEN_PATHS = frozenset(
    {
        "/health",
        "/",
        "/favicon.ico",
        "/openapi.json",
        "/docs",
        "/redoc",
        "/ember/api/login",
        "/ember/api/logout",
    }
)
OPEN_PREFIXES = ("/static/", "/docs/")
# The web page signs in once and then sends its key as an HttpOnly, SameSite=Strict
# cookie. It is taken only on the page's own API paths: API clients send headers.
KEY_COOKIE = "ember_key"
COOKIE_PREFIXES = ("/ember/api/", "/api/documents")


class BindRefusedError(EmberError):
    status = 400
    code = "bind_refused"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: KeyStore | None = None) -> None:
    """Serve another address only when an API key exists: never an open port by accident."""
    if is_loopback(host) or (keys is not None and keys.has_active()):
        return
    raise BindRefusedError(
        f"refusing to bind {host}: serving other machines needs an API key, and none exists",
        hint="create one with `ember keys create` and give it to your clients "
        "(Authorization: Bearer <key>), or bind 127.0.0.1",
    )


def key_required(host: str, mode: AuthMode, keys: KeyStore) -> bool:
    """Whether requests to a server bound to ``host`` must carry a key right now."""
    if not is_loopback(host):
        return True
    return mode == "always" and keys.has_active()


def is_open_path(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def presented_key(scope: Scope) -> str | None:
    """The key in ``Authorization: Bearer …`` or ``X-API-Key``, if either is sent; on
    the page's paths also the sign-in cookie."""
    raw: list[tuple[bytes, bytes]] = scope.get("headers", [])
    cookie: str | None = None
    for name, value in raw:
        text = value.decode("latin-1").strip()
        if name == b"authorization":
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and text:
            return text
        elif name == b"cookie" and str(scope.get("path", "")).startswith(COOKIE_PREFIXES):
            cookie = cookie or _cookie_value(text, KEY_COOKIE)
    return cookie


def _cookie_value(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


class ApiKeyAuth:
    """ASGI middleware: refuses requests without a valid key when one is required."""

    def __init__(self, app: ASGIApp, *, host: str, mode: AuthMode, keys: KeyStore) -> None:
        self.app = app
        self.host = host
        self.mode = mode
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"  # CORS preflights carry no credentials
            or is_open_path(scope["path"])
            or not key_required(self.host, self.mode, self.keys)
        ):
            await self.app(scope, receive, send)
            return
        secret = presented_key(scope)
        key = self.keys.verify(secret) if secret else None
        if key is None:
            refusal = (
                AuthenticationError(
                    "invalid or revoked API key",
                    hint="`ember keys list` on the server shows the active keys",
                )
                if secret
                else AuthenticationError(
                    "this server needs an API key: send 'Authorization: Bearer <key>'",
                    hint="create one with `ember keys create` on the server",
                )
            )
            response = error_response(
                scope["path"], refusal, headers={"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = key
        await self.app(scope, receive, send)
