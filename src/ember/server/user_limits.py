"""ASGI middleware: each user's answers per minute and tokens per day
(``auth/quotas.py``), checked before a generation request runs, after sign-in named the
user. Refusals are 429 with ``Retry-After``, in the shape of the path's API family."""

from __future__ import annotations

import re

from ember.auth.quotas import RateLimitedError, UserLimits
from ember.auth.users import User
from ember.server.limits import GENERATION_PATHS, ASGIApp, Receive, Scope, Send, error_response

# The page's requests that start an answer.
PAGE_ANSWERS = re.compile(
    r"^/ember/api/conversations/[^/]+/messages(/[^/]+/(regenerate|edit|continue))?$"
)


def starts_an_answer(method: str, path: str) -> bool:
    return method == "POST" and (path in GENERATION_PATHS or bool(PAGE_ANSWERS.match(path)))


class UserQuotas:
    def __init__(self, app: ASGIApp, *, limits: UserLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("state", {}).get("user") if scope["type"] == "http" else None
        if isinstance(user, User) and starts_an_answer(scope["method"], scope["path"]):
            try:
                self.limits.admit(user)
            except RateLimitedError as refusal:
                await error_response(scope["path"], refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)
