"""The cloud gate: the only way a request reaches a cloud provider.

It wraps :class:`ember.chat.backends.Backends` (so the answering path above it does not
change) and, for every request:

1. decides where it goes (:func:`ember.router.decision.decide`, pure): a cloud model
   picked by name, or an escalation of a local answer when the local model reports that
   the prompt does not fit or its queue is full — under the policy in force
   (``local-only``, ``ask``, ``auto``);
2. before any byte leaves, runs the privacy guard over every message (system, history,
   tool results, retrieved passages): it blocks the request or redacts values to
   placeholders, which are put back into the reply on its way to the user;
3. writes the egress log (kinds and counts, never values; the hash of the exact body);
4. streams the provider's answer through, and when the provider fails before its first
   byte, answers locally instead with a notice (a failing provider cools down for a
   while, so the next requests do not wait for it again).

Every answer that involved a cloud decision carries it in ``ChatDone.route``: where it
was computed, why, and what was redacted (``meta.route`` in the APIs).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ember.chat.backends import Backends
from ember.chat.egress_log import EgressEntry, EgressLog, EgressStatus
from ember.chat.remote import (
    OpenAICompatBackend,
    RemoteRefusedError,
    RemoteTimeoutError,
    RemoteUnavailableError,
)
from ember.chat.types import ChatDelta, ChatDone, ChatEvent, ChatRequest, Message
from ember.config import CloudPolicy, RemoteConfig
from ember.errors import EmberError
from ember.router.decision import SIGNALS, Route, Signal, decide, effective_policy

log = logging.getLogger(__name__)
COOLDOWN_S = 60.0  # a provider that failed is skipped this long
DOCUMENTS_TOOL = "search_documents"
# Failures of the provider itself, before its first byte: the local model answers instead.
PROVIDER_DOWN = (
    RemoteUnavailableError,
    RemoteTimeoutError,
    RemoteRefusedError,
)  # its results are passages of the user's documents


class CloudRefusedError(EmberError):
    """The policy keeps this request on the machine."""

    status = 403
    code = "cloud_refused"


class CloudConfirmationError(EmberError):
    """The policy is ``ask``: the user has to say yes to this request first."""

    status = 403
    code = "cloud_confirmation_required"


class PrivacyBlockedError(EmberError):
    """The privacy guard found something that must never leave."""

    status = 403
    code = "privacy_blocked"


# ------------------------------------------------------------------ the guard's shape


class Restorer(Protocol):
    """Puts placeholders back into a streamed reply (a placeholder may arrive in pieces)."""

    def feed(self, text: str) -> str: ...

    def flush(self) -> str: ...


class Protection(Protocol):
    """What the guard made of a request's messages."""

    @property
    def messages(self) -> Sequence[Message]: ...

    @property
    def redacted(self) -> Mapping[str, int]: ...

    @property
    def blocked(self) -> Mapping[str, int]: ...

    def restore(self, text: str) -> str: ...

    def restore_json(self, text: str) -> str:
        """:meth:`restore` inside JSON text (tool-call arguments): values JSON-escaped."""
        ...

    def restorer(self) -> Restorer: ...


class PrivacyGuard(Protocol):
    def protect(self, messages: Sequence[Message]) -> Protection: ...


# ------------------------------------------------------------------ the gate


@dataclass(frozen=True)
class _Target:
    backend: OpenAICompatBackend
    model: str  # the provider's own name for it
    name: str  # NAME/MODEL


def kinds_text(counts: Mapping[str, int]) -> str:
    """``{"pii.email": 2, "secret.aws_key": 1}`` -> "2 pii.email, 1 secret.aws_key"."""
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


class CloudGate:
    def __init__(
        self,
        backends: Backends,
        *,
        guard: PrivacyGuard,
        log_: EgressLog,
        policy: CloudPolicy = "local-only",
        cloud_model: str | None = None,
        local_model: Callable[[], str] | None = None,
        local_busy: Callable[[str], bool] | None = None,
        shareable: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
        account_policy: Callable[[str], str | None] | None = None,
    ) -> None:
        self.backends = backends
        self.guard = guard
        self.log = log_
        self.policy = policy
        self.cloud_model = cloud_model
        self._local_model = local_model or (lambda: "")
        self._local_busy = local_busy or (lambda _model: False)
        self._clock = clock
        self._cooling: dict[str, float] = {}
        self.shareable = frozenset(shareable)
        # With accounts: the cloud policy an admin gave a user (None: the default's).
        self._account_policy = account_policy

    # ---------------------------------------------------------------- ChatBackend

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        return await self.backends.context_length(model, num_ctx)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        policy = self.policy_of(request)
        picked = self._cloud_target(request.model)
        if picked is not None:
            route = decide(
                policy, "picked", cloud_model=picked.name, confirmed=request.egress.confirmed
            )
            async for event in self._routed(request, route, policy, picked, fallback=True):
                yield event
            return
        signal = escalation_signal(request)
        if signal is not None:
            # The answering path above asked for the cloud model (its tool loop failed,
            # the user asked): decided here again, under the policy, like any other.
            route = self.escalation(request, signal, request.egress.escalate_detail)
            async for event in self._routed(request, route, policy, None, fallback=True):
                yield event
            return
        if self.cloud_model and self._local_busy(request.model):
            route = self._escalation(request, policy, "queue_full")
            if route.outcome != "local":
                async for event in self._routed(request, route, policy, None, fallback=True):
                    yield event
                return
        local = self.backends.stream(request)
        try:
            first = await anext(local)
        except StopAsyncIteration:
            return
        except EmberError as exc:
            if exc.code != "context_length_exceeded" or not self.cloud_model:
                raise
            route = self._escalation(request, policy, "too_long", detail=exc.message)
            if route.outcome == "local":
                raise
            async for event in self._routed(request, route, policy, None, fallback=False):
                yield event
            return
        yield first
        async for event in local:
            yield event

    # ---------------------------------------------------------------- decisions

    def _cloud_target(self, model: str) -> _Target | None:
        found = self.backends.remote_of(model)
        if found is None:
            return None
        backend, name = found
        config: RemoteConfig | None = getattr(backend, "config", None)
        if config is None or not config.cloud or not isinstance(backend, OpenAICompatBackend):
            return None
        return _Target(backend, name, model)

    def policy_of(self, request: ChatRequest) -> CloudPolicy:
        """The policy in force for ``request`` (its conversation's or key's, else the
        default; with accounts, never looser than its user's account allows)."""
        user_id = request.egress.user_id
        if user_id is None or self._account_policy is None:
            return effective_policy(self.policy, conversation=request.egress.policy)
        return effective_policy(
            self.policy,
            conversation=request.egress.policy,
            user=self._account_policy(user_id),
            accounts=True,
        )

    def escalation(self, request: ChatRequest, signal: Signal, detail: str = "") -> Route:
        """Where ``request`` would go if ``signal`` sent it to the cloud model (pure:
        nothing is sent to decide). A request for a cloud model stays where it is."""
        if self._cloud_target(request.model) is not None:
            return Route("local", "already a cloud model")
        return self._escalation(request, self.policy_of(request), signal, detail)

    def _escalation(
        self, request: ChatRequest, policy: CloudPolicy, signal: Signal, detail: str = ""
    ) -> Route:
        target = self._cloud_target(self.cloud_model or "")
        return decide(
            policy,
            signal,
            cloud_model=target.name if target is not None else None,
            confirmed=request.egress.confirmed,
            detail=detail,
        )

    async def _routed(
        self,
        request: ChatRequest,
        route: Route,
        policy: CloudPolicy,
        target: _Target | None,
        *,
        fallback: bool,
    ) -> AsyncIterator[ChatEvent]:
        if route.outcome == "refuse":
            raise CloudRefusedError(
                route.reason,
                hint="pick a local model, or allow the cloud for this conversation or key "
                "(cloud_policy ask or auto)",
            )
        if route.outcome == "ask":
            raise CloudConfirmationError(
                route.reason,
                hint="the page asks before sending; an API client confirms one request with "
                "the header X-Ember-Cloud: allow",
            )
        if route.outcome == "local":
            async for event in self.backends.stream(request):
                yield event
            return
        target = target or self._cloud_target(route.cloud_model or "")
        assert target is not None
        async for event in self._to_cloud(request, route, policy, target, fallback=fallback):
            yield event

    # ---------------------------------------------------------------- sending

    async def _to_cloud(
        self,
        request: ChatRequest,
        route: Route,
        policy: CloudPolicy,
        target: _Target,
        *,
        fallback: bool,
    ) -> AsyncIterator[ChatEvent]:
        # Scanning grows with the text (a pasted table: ~30 ms per kB): off the event loop.
        protection = await asyncio.to_thread(self.guard.protect, request.messages)
        blocked = dict(protection.blocked)
        private = private_documents(request, self.shareable)
        if private:
            blocked["documents.private"] = private
        base = EgressEntry(
            provider=target.backend.name,
            model=target.model,
            policy=policy,
            reason=route.reason,
            status="sent",
            conversation_id=request.egress.conversation_id,
            key_id=request.egress.key_id,
            user_id=request.egress.user_id,
            redacted={} if blocked else dict(protection.redacted),
            blocked=blocked,
        )
        if blocked:
            self.log.record(replace(base, status="blocked"))
            raise PrivacyBlockedError(
                f"not sent to {target.name}: the request holds {kinds_text(blocked)}"
                ", which never leave this machine",
                hint="remove them from the conversation, or pick a local model"
                + (
                    "; a collection listed in cloud_shareable_collections may be sent"
                    if private
                    else ""
                ),
            )
        outgoing = replace(
            request, model=target.model, messages=tuple(protection.messages), trim_to_fit=False
        )
        body = target.backend.body_of(outgoing)
        cooling = self._cooling.get(target.backend.name, 0.0) > self._clock()
        if cooling:
            async for event in self._fallback(
                request, route, target, "it failed a moment ago", fallback
            ):
                yield event
            return
        entry_id = self.log.record(
            replace(base, sent_bytes=len(body), body_sha256=hashlib.sha256(body).hexdigest())
        )
        meta: dict[str, Any] = {
            "target": "cloud",
            "provider": target.backend.name,
            "model": target.name,
            "reason": route.reason,
            "redacted": dict(protection.redacted),
        }
        events = target.backend.stream(outgoing, body=body)
        try:
            first = await anext(events)
        except EmberError as exc:
            self.log.finish(entry_id, status="error", error=exc.message)
            if not isinstance(exc, PROVIDER_DOWN):
                raise  # the caller's to see: a rate limit, a bad request, no such model
            self._cooling[target.backend.name] = self._clock() + COOLDOWN_S
            async for event in self._fallback(request, route, target, exc.message, fallback):
                yield event
            return
        restorer = protection.restorer()

        async def chain() -> AsyncIterator[ChatEvent]:
            yield first
            async for event in events:
                yield event

        async for event in chain():
            if isinstance(event, ChatDelta):
                text = restorer.feed(event.content)
                if text or event.logprobs:
                    yield replace(event, content=text)
            elif isinstance(event, ChatDone):
                tail = restorer.flush()
                if tail:
                    yield ChatDelta(content=tail)
                status: EgressStatus = "sent" if event.finish_reason != "error" else "incomplete"
                usage = event.usage
                self.log.finish(
                    entry_id,
                    status=status,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    cost=cost_of(
                        target.backend.config, usage.prompt_tokens, usage.completion_tokens
                    ),
                    error=event.error,
                )
                yield replace(
                    event,
                    content=protection.restore(event.content),
                    tool_calls=tuple(
                        replace(c, arguments=protection.restore_json(c.arguments))
                        for c in event.tool_calls
                    ),
                    route=meta,
                )
            else:
                yield event

    async def _fallback(
        self, request: ChatRequest, route: Route, target: _Target, why: str, allowed: bool
    ) -> AsyncIterator[ChatEvent]:
        """The provider failed before answering: the local model answers, with a notice."""
        if not allowed:
            raise RemoteUnavailableError(
                f"{target.name} is unavailable ({why}) and the prompt does not fit locally"
            )
        local = request.model if self._cloud_target(request.model) is None else ""
        local = local or self._local_model()
        if not local:
            raise RemoteUnavailableError(f"{target.name} is unavailable: {why}")
        notice = f"{target.backend.name} did not answer ({why}); answered locally by {local}"
        log.warning("cloud fallback: %s", notice)
        meta = {
            "target": "local",
            "reason": route.reason,
            "notice": notice,
            "provider": target.backend.name,
        }
        async for event in self.backends.stream(replace(request, model=local)):
            yield replace(event, route=meta) if isinstance(event, ChatDone) else event


def escalation_signal(request: ChatRequest) -> Signal | None:
    """The signal a request carries from the answering path (None: none, or unknown)."""
    wanted = request.egress.escalate
    return next((signal for signal in SIGNALS if signal == wanted), None)


def private_documents(request: ChatRequest, shareable: frozenset[str]) -> int:
    """How many pieces of the user's private documents the request carries: a grounded
    answer's collections not marked shareable, and results of the documents tool (they
    may come from any collection)."""
    collections = [c for c in request.egress.documents if c not in shareable]
    tool_results = sum(1 for m in request.messages if m.role == "tool" and m.name == DOCUMENTS_TOOL)
    return len(collections) + tool_results


def cost_of(config: RemoteConfig, prompt_tokens: int, completion_tokens: int) -> float:
    """What an answer cost at the provider's prices (per million tokens, from settings)."""
    return (prompt_tokens * config.price_in + completion_tokens * config.price_out) / 1e6
