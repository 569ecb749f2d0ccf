"""API-key authentication for the server, and the check that decides which binds are allowed.

The rules (``auth`` setting, see docs/security.md):

- bound to loopback with ``auth = "auto"`` (the default): no key is needed, and any
  ``Authorization`` header is ignored, so clients configured with a dummy key work;
- bound to any other address: every request needs an active key, and ``ember serve``
  refuses to start at all until one exists (:func:`check_bind`);
- ``auth = "always"``: on loopback too, as soon as any active key exists;
- accounts on (``ember users add`` made a user): on any bind, every request needs a
  user's session (the page's sign-in cookie, with ``X-CSRF-Token`` on every change) or
  an API key that belongs to a user. The user is ``request.state.user``; every object
  the page's API hands out belongs to one user, and another's is a 404.

Whether a key is needed is decided per request, so a key created or revoked while the
server runs takes effect at once. A key is sent as ``Authorization: Bearer <key>`` (what
the OpenAI SDKs send) or ``X-API-Key: <key>``. Everything but the open paths below needs
it: both API families, the web UI's /ember/api and /metrics. A refusal is 401 in the
shape of the path's API family (OpenAI's error object, or Ollama's ``{"error": ...}``).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Literal

from ember.auth.keys import ApiKey, KeyStore
from ember.auth.sessions import SESSION_COOKIE, Session, SessionStore
from ember.auth.users import UserStore
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
        "/ember/api/signin",
        "/ember/api/signout",
        "/ember/api/session",
    }
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = b"x-csrf-token"
OPEN_PREFIXES = ("/static/", "/docs/")
# The web page signs in once and then sends its key as an HttpOnly, SameSite=Strict
# cookie. It is taken only on the page's own API paths: API clients send headers.
KEY_COOKIE = "ember_key"
COOKIE_PREFIXES = ("/ember/api/", "/api/documents")


class BindRefusedError(EmberError):
    status = 400
    code = "bind_refused"


class CsrfError(EmberError):
    status = 403
    code = "csrf_failed"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: KeyStore | None = None, users: UserStore | None = None) -> None:
    """Serve another address only when accounts or an API key exist: never an open port
    by accident."""
    if is_loopback(host) or (keys is not None and keys.has_active()):
        return
    if users is not None and users.any():
        return
    raise BindRefusedError(
        f"refusing to bind {host}: serving other machines needs accounts or an API key, "
        "and there are none",
        hint="add the first (admin) account with `ember users add NAME`, or create a key "
        "with `ember keys create` for your clients (Authorization: Bearer <key>), "
        "or bind 127.0.0.1",
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
    for name, value in raw:
        text = value.decode("latin-1").strip()
        if name == b"authorization":
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and text:
            return text
    return cookie_of(scope, KEY_COOKIE)


def cookie_of(scope: Scope, name: str) -> str | None:
    """The cookie ``name`` sent with the request, on the page's paths only."""
    if not str(scope.get("path", "")).startswith(COOKIE_PREFIXES):
        return None
    for header, value in scope.get("headers", []):
        if header == b"cookie":
            found = _cookie_value(value.decode("latin-1"), name)
            if found:
                return found
    return None


def _header(scope: Scope, name: bytes) -> str:
    for header, value in scope.get("headers", []):
        if header == name:
            return str(value.decode("latin-1")).strip()
    return ""


def _cookie_value(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


class ApiKeyAuth:
    """ASGI middleware: refuses requests without valid credentials when they are needed
    (a key; with accounts on, a user's session or key), and names the user."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        mode: AuthMode,
        keys: KeyStore,
        users: UserStore | None = None,
        sessions: SessionStore | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.mode = mode
        self.keys = keys
        self.users = users
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"  # CORS preflights carry no credentials
            or is_open_path(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        accounts = self.users is not None and self.users.any()
        if not accounts and not key_required(self.host, self.mode, self.keys):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        try:
            session = self._session(scope) if accounts else None
            if session is not None:
                state["user"], state["session"] = session.user, session
            else:
                key = self._key(scope, accounts)
                state["api_key"] = key
                if accounts and self.users is not None and key.user_id is not None:
                    state["user"] = self.users.get(key.user_id)
        except EmberError as refusal:
            headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
            response = error_response(scope["path"], refusal, headers=headers)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _session(self, scope: Scope) -> Session | None:
        """The user's session from the page's cookie; a change must carry its CSRF token."""
        secret = cookie_of(scope, SESSION_COOKIE)
        if secret is None or self.sessions is None:
            return None
        session = self.sessions.resolve(secret)
        if session is None:
            return None
        if scope["method"] in UNSAFE_METHODS and not hmac.compare_digest(
            _header(scope, CSRF_HEADER), session.csrf
        ):
            raise CsrfError(
                "this change was not sent by Ember's page (the CSRF token is missing or wrong)",
                hint="reload the page",
            )
        return session

    def _key(self, scope: Scope, accounts: bool) -> ApiKey:
        secret = presented_key(scope)
        key = self.keys.verify(secret) if secret else None
        if key is None and secret:
            raise AuthenticationError(
                "invalid or revoked API key",
                hint="`ember keys list` on the server shows the active keys",
            )
        if key is None:
            raise AuthenticationError(
                "sign in, or send 'Authorization: Bearer <key>'"
                if accounts
                else "this server needs an API key: send 'Authorization: Bearer <key>'",
                hint="a user makes a key with `ember keys create --user NAME`"
                if accounts
                else "create one with `ember keys create` on the server",
            )
        if accounts and key.user_id is None:
            raise AuthenticationError(
                "this API key belongs to no user",
                hint="make keys for users with `ember keys create --user NAME`",
            )
        return key
