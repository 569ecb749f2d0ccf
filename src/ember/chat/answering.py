"""The one answering path: request -> the model's stored defaults -> question routing
-> grounding in documents -> tool loop -> backend.

Every front end asks :class:`Answerer` and nothing else runs the tool loop or routing:
the OpenAI and Ollama routes (:meth:`Answerer.for_api`), the web chat and ``ember chat``
(through :class:`ember.chat.assistant.Assistant`, which stores what happens),
``ember run`` and ``ember bench quality``. What differs between them is only the
:class:`AnswerPlan`: which of Ember's tools run, and which documents ground the answer.
Built once by the runtime; later work (cloud escalation, workers) plugs in behind the
backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ember.chat.backend import ChatBackend
from ember.chat.document_sources import DocumentSources
from ember.chat.grounding import NOT_FOUND, Source, with_sources
from ember.chat.model_defaults import NO_DEFAULTS, ModelDefaults, with_model_defaults
from ember.chat.tool_loop import (
    DEFAULT_MAX_STEPS,
    RESULT_NOTE,
    ToolCallResult,
    ToolOutcome,
    ToolRunner,
    ToolsFailed,
    ToolStep,
    run_with_tools,
)
from ember.chat.tool_routing import routed, tool_parts
from ember.chat.types import ChatDelta, ChatDone, ChatProgress, ChatRequest, ToolCall
from ember.engine.base import Usage
from ember.errors import EmberError
from ember.router.decision import Route, Signal


@dataclass(frozen=True)
class AnswerPlan:
    """What Ember adds to the model's own words for one answer."""

    tools: ToolRunner | None = None  # Ember runs these tools' calls (the tool loop)
    route: bool = True  # a question small models get wrong starts with a required call
    collections: Sequence[str] = ()  # answer from these document collections
    max_steps: int = DEFAULT_MAX_STEPS
    result_note: str | None = RESULT_NOTE
    # The answer's length when neither the request nor the model's stored parameters
    # set one (Ember's own chat: its answers outlive the page, so each must end).
    default_max_tokens: int | None = None


@dataclass(frozen=True)
class Grounded:
    """The sources found for a grounded answer (before its text), and how they were found."""

    sources: list[Source]
    retrieval: dict[str, Any]


AnswerEvent = ChatDelta | ChatDone | ChatProgress | ToolStep | ToolCallResult | Grounded


@dataclass
class Answer:
    """A whole answer (non-streaming callers): the final event, the calls on the way."""

    done: ChatDone
    calls: list[tuple[ToolCall, ToolOutcome]] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)


def grounded_request(request: ChatRequest, found: Sequence[Source]) -> ChatRequest:
    """``request`` answered from ``found``: the sources quoted with the question, their
    collections named for the cloud gate (private unless shareable)."""
    grounded = replace(
        request,
        messages=tuple(with_sources(request.messages, list(found))),
        egress=replace(request.egress, documents=tuple(sorted({s.collection for s in found}))),
    )
    if "temperature" not in request.sampling_given:
        # Faithful to the sources: measured, at the default temperature Qwen-0.5B turned
        # "27 days" into "37 days".
        grounded = replace(grounded, sampling=replace(grounded.sampling, temperature=0.0))
    return grounded


DefaultsFor = Callable[[str], ModelDefaults]
# Where a request would go if a signal sent it to the cloud model (the cloud gate's).
Escalation = Callable[[ChatRequest, Signal, str], Route]


class Answerer:
    def __init__(
        self,
        backend: ChatBackend,
        *,
        defaults_for: DefaultsFor | None = None,
        sources: DocumentSources | None = None,
        api_tools: ToolRunner | None = None,
        escalation: Escalation | None = None,
    ) -> None:
        self.backend = backend
        self._escalation = escalation
        self._defaults_for = defaults_for or (lambda _model: NO_DEFAULTS)
        self.sources = sources
        self.api_tools = api_tools

    def prepared(self, request: ChatRequest) -> ChatRequest:
        """``request`` with its model's stored system prompt and parameters."""
        return with_model_defaults(request, self._defaults_for(request.model))

    async def answer(
        self, request: ChatRequest, plan: AnswerPlan | None = None
    ) -> AsyncIterator[AnswerEvent]:
        """The answer's events: deltas, tool steps and results, then one ChatDone; a
        grounded answer first says what it found (:class:`Grounded`)."""
        plan = plan or AnswerPlan()
        request = self.prepared(request)
        if request.max_tokens is None and plan.default_max_tokens is not None:
            request = replace(request, max_tokens=plan.default_max_tokens)
        if plan.collections and self.sources is not None:
            async for event in self._grounded(self.sources, request, list(plan.collections)):
                yield event
            return
        if plan.tools is None:
            async for chat_event in self.backend.stream(request):
                yield chat_event
            return
        async for tool_event in self._with_tools(request, plan.tools, plan):
            yield tool_event

    async def _with_tools(
        self, request: ChatRequest, tools: ToolRunner, plan: AnswerPlan
    ) -> AsyncIterator[AnswerEvent]:
        """The tool loop. When it fails (no call gave a result) and the policy allows,
        the cloud model answers instead, with the same tools (``tools_failed``); under
        ``ask`` the local answer stands and offers the cloud (``meta.route.offer``)."""
        names = {t.name for t in tools.tools()}
        first = routed(request, names) if plan.route else request
        loop = run_with_tools(
            self.backend,
            first,
            tools,
            max_steps=plan.max_steps,
            result_note=plan.result_note,
            parts=tool_parts(request) if plan.route and first.tool_choice != "auto" else (),
        )
        offer: dict[str, str] | None = None
        try:
            async for event in loop:
                if not isinstance(event, ToolsFailed):
                    if isinstance(event, ChatDone) and offer is not None and event.route is None:
                        event = replace(event, route={"target": "local", "offer": offer})
                    yield event
                    continue
                route = self._route_of(request, event.reason)
                if route is not None and route.outcome == "ask" and route.cloud_model:
                    offer = {"model": route.cloud_model, "reason": route.reason}
                if route is None or route.outcome != "cloud":
                    continue
                await loop.aclose()
                escalated = replace(
                    request,
                    egress=replace(
                        request.egress, escalate="tools_failed", escalate_detail=event.reason
                    ),
                )
                async for cloud_event in run_with_tools(
                    self.backend,
                    escalated,
                    tools,
                    max_steps=plan.max_steps,
                    result_note=plan.result_note,
                ):
                    if not isinstance(cloud_event, ToolsFailed):
                        yield cloud_event
                return
        finally:
            await loop.aclose()

    def _route_of(self, request: ChatRequest, why: str) -> Route | None:
        if self._escalation is None or request.egress.escalate is not None:
            return None  # no cloud gate, or already on its way to the cloud
        return self._escalation(request, "tools_failed", why)

    async def _grounded(
        self, sources: DocumentSources, request: ChatRequest, collections: list[str]
    ) -> AsyncIterator[AnswerEvent]:
        """Answered from the sources found, without tools (a small model does not wander
        off them); when nothing relevant is found the answer is :data:`NOT_FOUND`,
        without the model."""
        found, retrieval = await sources.find(request, collections)
        yield Grounded(found, retrieval)
        if not found:
            yield ChatDelta(content=NOT_FOUND)
            yield ChatDone("stop", Usage(0, 0, 0, 0.0, 0.0, 0.0), content=NOT_FOUND)
            return
        async for event in self.backend.stream(grounded_request(request, found)):
            yield event

    async def complete(self, request: ChatRequest, plan: AnswerPlan | None = None) -> Answer:
        """The final answer with every call made and every source read."""
        calls: list[tuple[ToolCall, ToolOutcome]] = []
        sources: list[Source] = []
        done: ChatDone | None = None
        async for event in self.answer(request, plan):  # to its end (see complete())
            if isinstance(event, ToolCallResult):
                calls.append((event.call, event.result))
            elif isinstance(event, Grounded):
                sources = event.sources
            elif isinstance(event, ChatDone):
                done = event
        if done is None:
            raise EmberError("the generation ended without a result")
        return Answer(done=done, calls=calls, sources=sources)

    def api_plan(self, request: ChatRequest) -> AnswerPlan:
        """The OpenAI and Ollama APIs' plan. With the ``api_tools`` setting on, a request
        that brings no tools of its own (and wants plain text) gets Ember's tools, run
        here; otherwise the request goes to the model as sent."""
        use_tools = (
            self.api_tools is not None
            and not request.tools
            and request.tool_choice != "none"
            and request.response_format.type == "text"
            and request.n == 1
        )
        return AnswerPlan(tools=self.api_tools if use_tools else None)

    async def for_api(self, request: ChatRequest) -> AsyncIterator[ChatDelta | ChatDone]:
        """What an API caller sees of the answer: the text and the final event (the calls
        Ember ran itself stay inside)."""
        async for event in self.answer(request, self.api_plan(request)):
            if isinstance(event, ChatDelta | ChatDone):
                yield event

    async def for_api_stream(
        self, request: ChatRequest
    ) -> AsyncIterator[ChatDelta | ChatDone | ChatProgress]:
        """:meth:`for_api` with how far the prompt has been read, for a request that asks
        (``progress``: the OpenAI stream's ``return_progress``)."""
        async for event in self.answer(request, self.api_plan(request)):
            if isinstance(event, ChatDelta | ChatDone | ChatProgress):
                yield event
