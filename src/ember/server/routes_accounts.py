"""Accounts on the page's API (``/ember/api``): signing in and out, the session, and a
user's own API keys.

Signing in checks the name and password (argon2, ``auth/users.py``), slowed after a few
failures per name and per address (``auth/throttle.py``: 429 with ``Retry-After``), and
starts a new session each time: the old cookie's session, if any, ends (no session
fixation). The session cookie is HttpOnly and SameSite=Strict; the CSRF token returned
here goes back in ``X-CSRF-Token`` on every change (``server/auth.py`` checks it).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ember.auth.keys import CLOUD_POLICIES, ApiKey
from ember.auth.quotas import RateLimitedError
from ember.auth.sessions import SESSION_COOKIE, Session
from ember.auth.users import User
from ember.errors import AuthenticationError, EmberError
from ember.server.auth import KEY_COOKIE
from ember.server.streaming import json_body, runtime_of
from ember.server.wire_common import parse_body

router = APIRouter(prefix="/ember/api")
COOKIE_DAYS = 30


class SignInTooOftenError(RateLimitedError):
    code = "too_many_sign_ins"


class SignInBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class KeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=100)
    cloud_policy: str | None = None


def current_user(request: Request) -> User | None:
    """The signed-in user (None: accounts are off)."""
    user: User | None = getattr(request.state, "user", None)
    return user


def owner_of(request: Request) -> str | None:
    """The signed-in user's id: whose objects the request sees (None: accounts are off,
    and every object is visible)."""
    user = current_user(request)
    return user.id if user is not None else None


def _client(request: Request) -> str:
    return f"addr:{request.client.host if request.client else '?'}"


@router.post("/signin")
async def sign_in(request: Request) -> Response:
    body = parse_body(SignInBody, await json_body(request))
    runtime = runtime_of(request)
    name_key, address = f"name:{body.name.strip().lower()}", _client(request)
    wait = runtime.sign_ins.wait_s(name_key, address)
    if wait > 0:
        raise SignInTooOftenError(
            f"too many failed sign-ins: try again in {math.ceil(wait)} s",
            retry_after_s=math.ceil(wait),
            hint="an admin can set a new password with `ember users passwd NAME`",
        )
    user = runtime.users.authenticate(body.name, body.password)
    if user is None:
        runtime.sign_ins.failed(name_key, address)
        raise AuthenticationError("wrong name or password")
    runtime.sign_ins.succeeded(name_key)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        runtime.sessions.end(old)  # a session id planted before sign-in is worth nothing
    secret, session = runtime.sessions.start(user)
    response = JSONResponse(_session_view(session))
    set_session_cookie(response, request, secret)
    return response


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    """The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other
    site sends it), Secure over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=COOKIE_DAYS * 86400,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        runtime_of(request).sessions.end(secret)
    response = JSONResponse({"signed_in": False})
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", path="/")
    response.delete_cookie(KEY_COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/session")
async def session_state(request: Request) -> dict[str, Any]:
    """What the page needs to know at start: whether accounts are on, who is signed in
    (with the CSRF token for changes), or whether it signed in with a key."""
    runtime = runtime_of(request)
    accounts = runtime.users.any()
    secret = request.cookies.get(SESSION_COOKIE)
    session = runtime.sessions.resolve(secret) if secret and accounts else None
    if session is not None:
        return {"accounts": True, **_session_view(session)}
    return {"accounts": accounts, "signed_in": KEY_COOKIE in request.cookies}


def _session_view(session: Session) -> dict[str, Any]:
    return {"signed_in": True, "user": session.user.to_dict(), "csrf": session.csrf}


# ---------------------------------------------------------------- a user's own keys


def _signed_in(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise AuthenticationError(
            "keys belong to users, and accounts are off",
            hint="`ember keys create` on the server makes a key; `ember users add` turns "
            "accounts on",
        )
    return user


@router.get("/keys")
async def list_keys(request: Request) -> dict[str, Any]:
    """The signed-in user's API keys (never their secrets)."""
    user = _signed_in(request)
    keys = runtime_of(request).keys.list(user_id=user.id)
    return {"keys": [_key_view(k) for k in keys]}


@router.post("/keys", status_code=201)
async def create_key(request: Request) -> dict[str, Any]:
    """A new key for the signed-in user; its secret is in this answer only."""
    user = _signed_in(request)
    body = parse_body(KeyBody, await json_body(request) or {})
    if body.cloud_policy is not None and body.cloud_policy not in CLOUD_POLICIES:
        raise EmberError(f"cloud_policy must be one of {', '.join(CLOUD_POLICIES)}")
    key, secret = runtime_of(request).keys.create(
        body.name, cloud_policy=body.cloud_policy, user_id=user.id
    )
    return {**_key_view(key), "key": secret}


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, request: Request) -> dict[str, Any]:
    """Revoke one of the signed-in user's keys (another user's is a 404)."""
    user = _signed_in(request)
    return _key_view(runtime_of(request).keys.revoke(key_id, user_id=user.id))


def _key_view(key: ApiKey) -> dict[str, Any]:
    return {k: v for k, v in asdict(key).items() if k != "user_id"}
