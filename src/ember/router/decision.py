"""The routing decision: local, cloud, ask first, or refuse, and why, in words.

A pure function of what is known on this machine (the policy in force, which model was
asked for, what the local backend reported), so it is unit-tested exhaustively and
costs nothing: no prompt is embedded or sent anywhere to decide, unlike routers that ask
a cloud model which model should answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ember.config import CloudPolicy

POLICIES: tuple[CloudPolicy, ...] = ("local-only", "ask", "auto")

# Why a request would go to a cloud model.
Signal = Literal["picked", "asked", "too_long", "queue_full", "tools_failed"]
SIGNALS: tuple[Signal, ...] = ("picked", "asked", "too_long", "queue_full", "tools_failed")

Outcome = Literal["local", "cloud", "ask", "refuse"]


@dataclass(frozen=True)
class Route:
    """The decision: ``outcome``, the cloud model it concerns (``NAME/MODEL``, None when
    none does) and the reason a person can read (shown with the answer)."""

    outcome: Outcome
    reason: str
    cloud_model: str | None = None

    @property
    def provider(self) -> str | None:
        return self.cloud_model.partition("/")[0] if self.cloud_model else None


def effective_policy(
    default: CloudPolicy,
    *,
    conversation: str | None = None,
    key: str | None = None,
    user: str | None = None,
    accounts: bool = False,
) -> CloudPolicy:
    """The policy in force: an API key's or a conversation's own, else the default.

    A request comes either from the page (a conversation) or from an API client (a key),
    so at most one of the two applies; an unknown value counts as ``local-only``.

    With accounts, what a user may allow is their account's policy (``user``, set by an
    admin; None: the default): a conversation or key of theirs can be stricter, never
    looser, so no user reaches the cloud beyond what the admin allowed."""
    if not accounts:
        chosen = key or conversation or default
        return chosen if chosen in POLICIES else "local-only"
    allowed = _known(user or default)
    return stricter(_known(key or conversation or allowed), allowed)


def stricter(a: CloudPolicy, b: CloudPolicy) -> CloudPolicy:
    """The one of two policies that lets less leave (local-only < ask < auto)."""
    return a if POLICIES.index(a) <= POLICIES.index(b) else b


def _known(policy: str) -> CloudPolicy:
    for known in POLICIES:
        if policy == known:
            return known
    return "local-only"


def reason_for(signal: Signal, model: str, detail: str = "") -> str:
    """Why ``model`` would answer, in words."""
    words = {
        "picked": f"{model} was picked",
        "asked": f"you asked {model}",
        "too_long": "the prompt does not fit the local context",
        "queue_full": "the local model is busy (its queue is full)",
        "tools_failed": "the local model did not manage the tools",
    }[signal]
    return f"{words} ({detail})" if detail else words


def decide(
    policy: CloudPolicy,
    signal: Signal | None,
    *,
    cloud_model: str | None,
    confirmed: bool = False,
    detail: str = "",
) -> Route:
    """Where the request goes.

    ``signal`` is why it might leave (None: nothing suggests it); ``cloud_model`` is the
    model it would go to (the one picked, or the ``cloud_model`` setting for an
    escalation; None: there is none); ``confirmed``: the user said yes to this request
    (the page's "send to the cloud" button, the API's confirmation header)."""
    if signal is None:
        return Route("local", "local")
    if cloud_model is None:
        return Route("local", f"local: {reason_for(signal, '', detail)}, and no cloud model is set")
    reason = reason_for(signal, cloud_model, detail)
    if policy == "local-only":
        if signal in ("picked", "asked"):
            return Route(
                "refuse",
                f"{cloud_model} is a cloud model and the policy is local-only: nothing leaves "
                "this machine",
                cloud_model,
            )
        return Route("local", f"local: {reason}, but the policy is local-only", cloud_model)
    if policy == "ask" and not confirmed:
        question = (
            f"{cloud_model} is a cloud model: send this request to it?"
            if signal in ("picked", "asked")
            else f"{reason}: send it to {cloud_model}?"
        )
        return Route("ask", question, cloud_model)
    return Route("cloud", reason, cloud_model)
