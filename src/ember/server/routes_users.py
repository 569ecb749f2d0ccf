"""Managing accounts from the page (``/ember/api/users``, admins only) and a user's own
password (``/ember/api/account/password``).

The same operations as ``ember users``: add (the role, a password of at least 8
characters), list (with each user's limits and today's tokens), change role, password
and limits, remove (with their conversations, keys and documents). Admins manage
accounts; nothing here shows anyone's conversations. The last admin can neither be
removed nor stop being one. A new password ends the user's sessions; changing your own
keeps the session you changed it from. A user's cloud policy is the most their
conversations and keys may send to a cloud model (router/decision.py).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ember.auth.users import Role, User, UserError
from ember.errors import AuthenticationError, AuthorizationError
from ember.runtime import Runtime
from ember.server.routes_accounts import current_user, set_session_cookie
from ember.server.streaming import json_body, runtime_of
from ember.server.wire_common import parse_body

router = APIRouter(prefix="/ember/api")


class NewUserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: Role = "user"


class UserChangeBody(BaseModel):
    """Only the fields sent change; a limit sent as null goes back to the setting's."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    rate_limit_per_minute: int | None = Field(default=None, ge=0)
    daily_token_quota: int | None = Field(default=None, ge=0)
    cloud_policy: Literal["local-only", "ask", "auto"] | None = None


class PasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


def _admin(request: Request) -> Runtime:
    user = current_user(request)
    if user is None:
        raise AuthenticationError(
            "accounts are off", hint="`ember users add NAME` makes the first, an admin"
        )
    if not user.is_admin:
        raise AuthorizationError("managing accounts is for admins")
    return runtime_of(request)


def _view(runtime: Runtime, user: User) -> dict[str, Any]:
    return {
        **user.to_dict(),
        "rate_limit_per_minute": user.rate_limit_per_minute,
        "daily_token_quota": user.daily_token_quota,
        "cloud_policy": user.cloud_policy,
        "tokens_today": runtime.usage.used_today(user.id),
    }


@router.get("/users")
async def list_users(request: Request) -> dict[str, Any]:
    """Every account, with its limits (null: the setting's) and today's tokens."""
    runtime = _admin(request)
    settings = runtime.settings
    return {
        "users": [_view(runtime, u) for u in runtime.users.list()],
        "defaults": {
            "rate_limit_per_minute": settings.rate_limit_per_minute,
            "daily_token_quota": settings.daily_token_quota,
            "cloud_policy": settings.cloud_policy,
        },
    }


@router.post("/users", status_code=201)
async def add_user(request: Request) -> dict[str, Any]:
    runtime = _admin(request)
    body = parse_body(NewUserBody, await json_body(request))
    return _view(runtime, runtime.users.add(body.name, body.password, role=body.role))


@router.patch("/users/{user_id}")
async def change_user(user_id: str, request: Request) -> dict[str, Any]:
    runtime = _admin(request)
    body = parse_body(UserChangeBody, await json_body(request))
    users = runtime.users
    user = users.get(user_id)  # 404 when unknown
    if body.role is not None:
        user = users.set_role(user.name, body.role)
    if body.password is not None:
        user = users.set_password(user.name, body.password)
    sent = body.model_fields_set & {"rate_limit_per_minute", "daily_token_quota"}
    if sent:
        user = users.set_limits(
            user.name,
            per_minute=body.rate_limit_per_minute
            if "rate_limit_per_minute" in sent
            else user.rate_limit_per_minute,
            tokens_per_day=body.daily_token_quota
            if "daily_token_quota" in sent
            else user.daily_token_quota,
        )
    if "cloud_policy" in body.model_fields_set:
        user = users.set_cloud_policy(user.name, body.cloud_policy)
    return _view(runtime, user)


@router.delete("/users/{user_id}")
async def remove_user(user_id: str, request: Request) -> dict[str, Any]:
    """Remove an account with its conversations, keys and documents."""
    runtime = _admin(request)
    me = current_user(request)
    user = runtime.users.get(user_id)
    if me is not None and me.id == user.id:
        raise AuthorizationError("you cannot remove your own account while signed in with it")
    removed, documents = runtime.remove_user(user.name)
    return {"removed": removed.to_dict(), "documents": documents}


@router.post("/account/password")
async def change_own_password(request: Request, response: Response) -> dict[str, Any]:
    """A new password for the signed-in user, who gives the current one. Every other
    session of theirs ends; this one goes on."""
    user = current_user(request)
    if user is None:
        raise AuthenticationError("accounts are off")
    body = parse_body(PasswordBody, await json_body(request))
    runtime = runtime_of(request)
    if runtime.users.authenticate(user.name, body.current_password) is None:
        raise UserError("the current password is wrong")
    runtime.users.set_password(user.name, body.new_password)  # ends every session
    secret, session = runtime.sessions.start(user)  # so the page stays signed in
    set_session_cookie(response, request, secret)
    return {"user": user.to_dict(), "csrf": session.csrf}
