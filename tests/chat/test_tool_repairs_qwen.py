"""The tool loop's repairs with the real Qwen2.5-Coder-0.5B (the scripted versions are in
test_tool_loop.py). Each repair answers a situation the model gets into by itself on
some questions; here a thin wrapper around the real backend puts it there every time
(forcing a call, or the shape of the text), and the model's own output goes through the
loop unchanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ember.chat.answering import Answer, Answerer, AnswerPlan
from ember.chat.backend import ChatBackend
from ember.chat.tool_calls import call_grammar
from ember.chat.types import ChatEvent, ChatRequest, Message
from ember.config import load_settings
from ember.engine.base import SamplingParams
from ember.runtime import Runtime, build
from ember.tools import builtin_registry
from ember.tools.registry import ToolRegistry

MODEL = "qwen2.5-coder:0.5b"
PRODUCT = 4821 * 37  # 178377


@pytest.fixture(scope="module")
def runtime(
    tmp_path_factory: pytest.TempPathFactory, link_starters: Callable[[Path], None]
) -> Iterator[Runtime]:
    home: Path = tmp_path_factory.mktemp("qwen-repairs")
    link_starters(home)
    runtime = build(load_settings(home=home, default_model=MODEL, context_length=4096))
    runtime.models.ensure_starter_models()
    yield runtime
    runtime.close()


class Steering:
    """The real backend, with each step's request changed by ``steer`` (step index, request)."""

    def __init__(
        self, inner: ChatBackend, steer: Callable[[int, ChatRequest], ChatRequest]
    ) -> None:
        self.inner = inner
        self.steer = steer
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        request = self.steer(len(self.requests), request)
        self.requests.append(request)
        async for event in self.inner.stream(request):
            yield event

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        return await self.inner.context_length(model, num_ctx)


def ask(backend: ChatBackend, question: str, registry: ToolRegistry, **plan: object) -> Answer:
    request = ChatRequest(
        model=MODEL,
        messages=(Message(role="user", content=question),),
        sampling=SamplingParams(temperature=0, seed=0),
        sampling_given=frozenset({"temperature", "seed"}),
        max_tokens=120,
    )
    answerer = Answerer(backend)
    return asyncio.run(answerer.complete(request, AnswerPlan(tools=registry, **plan)))  # type: ignore[arg-type]


def digits(text: str) -> str:
    return text.replace(",", "")


def test_after_a_forced_call_the_model_answers_from_the_result(runtime: Runtime) -> None:
    spy = Steering(runtime.chat, lambda _i, r: r)
    answer = ask(spy, "What is 4821 * 37?", builtin_registry())
    assert [call.name for call, _ in answer.calls] == ["calculator"]
    choices = [r.tool_choice for r in spy.requests]
    assert choices[:2] == ["required", "none"]
    assert set(choices[1:]) == {"none"}  # then, if need be, asked plainly
    assert str(PRODUCT) in digits(answer.done.content)


def forced(*steps: int) -> Callable[[int, ChatRequest], ChatRequest]:
    """Steps at which a call is required, while the loop itself asked for ``auto``."""
    return lambda i, r: replace(r, tool_choice="required") if i in steps else r


def test_a_repeated_call_is_not_run_again(runtime: Runtime) -> None:
    """Having the result, Qwen made to call again repeats the count_letter call: it is
    not run, and the model must answer."""
    spy = Steering(runtime.chat, forced(0, 1))
    question = "How many r's are in the word strawberry?"
    answer = ask(spy, question, builtin_registry(), route=False)
    assert [call.name for call, _ in answer.calls] == ["count_letter"], "run once"
    choices = [r.tool_choice for r in spy.requests]
    assert choices[:3] == ["required", "required", "none"]
    assert set(choices[2:]) == {"none"}  # then, if need be, asked plainly
    assert "3" in answer.done.content


def test_a_call_that_returns_its_argument_ends_the_calls(runtime: Runtime) -> None:
    """A call whose result is its own argument added nothing: the next step must answer
    (without the repair it would be free to call again)."""

    def echo(text: str) -> str:
        """Say the text back, unchanged.

        Args:
            text: The text to say.
        """
        return text

    registry = ToolRegistry()
    registry.register(echo)
    spy = Steering(runtime.chat, forced(0))
    answer = ask(spy, "Use the echo tool to say the word banana.", registry, route=False)
    assert [call.name for call, _ in answer.calls] == ["echo"]
    choices = [r.tool_choice for r in spy.requests]
    assert choices[:2] == ["required", "none"]
    assert set(choices[1:]) == {"none"}  # then, if need be, asked plainly
    assert answer.done.content.strip()


def test_a_call_written_out_as_the_answer_becomes_the_results(runtime: Runtime) -> None:
    """On the answering step the model writes a call as text (made certain here by a
    grammar on that step): the user gets the computed result, not JSON."""
    registry = builtin_registry()
    written_call = call_grammar(registry.tools(), "json")

    def steer(i: int, request: ChatRequest) -> ChatRequest:
        if i == 0:
            return request
        return replace(request, sampling=replace(request.sampling, grammar=written_call))

    spy = Steering(runtime.chat, steer)
    answer = ask(spy, "What is 4821 * 37?", registry)
    content = answer.done.content
    assert str(PRODUCT) in digits(content)
    assert not content.lstrip().startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)


def written(call: dict[str, object]) -> Callable[[int, ChatRequest], ChatRequest]:
    """The first step writes exactly ``call`` (a grammar holds it to the text of a
    mistake the model made by itself on the realistic benchmark); later steps are the
    model's own."""
    text = f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
    grammar = f"root ::= {json.dumps(text)}"

    def steer(i: int, request: ChatRequest) -> ChatRequest:
        if i:
            return request
        sampling = replace(request.sampling, grammar=grammar)
        return replace(request, tool_choice="auto", sampling=sampling)

    return steer


def test_a_word_problem_call_with_a_number_not_in_the_question_is_sampled_again(
    runtime: Runtime,
) -> None:
    """Qwen wrote ``9 / 44 * 1044`` for this question: the step is sampled again (the
    model's own samples), and the call that runs is made of the question's numbers
    unless no sample was; the answer is in words."""
    from ember.chat.computation_check import call_problem
    from ember.chat.plain_answer import not_an_answer

    question = "9 friends split a bill of $1044 equally. How much does each pay?"
    wrong = {"name": "calculator", "arguments": {"expression": "9 / 44 * 1044"}}
    spy = Steering(runtime.chat, written(wrong))
    answer = ask(spy, question, builtin_registry())
    resample = spy.requests[1]
    assert resample.tool_choice == "required"
    assert (resample.sampling.temperature, resample.sampling.seed) == (0.7, 1)
    (call, result), *_ = answer.calls
    assert call.name == "calculator"
    sampled = [r for r in spy.requests if r.sampling.temperature == 0.7]
    assert call_problem(question, call) is None or len(sampled) == 3
    assert not result.is_error
    assert not not_an_answer(answer.done.content), answer.done.content


def test_a_discount_applied_as_a_share_is_computed_as_a_discount(runtime: Runtime) -> None:
    """Qwen wrote ``469 * 0.60`` for a 60% discount: the call runs as ``469 - 60%``,
    and the answer states 187.6."""
    question = "What is the price of a $469 item after a 60% discount?"
    wrong = {"name": "calculator", "arguments": {"expression": "469 * 0.60"}}
    answer = ask(Steering(runtime.chat, written(wrong)), question, builtin_registry())
    call, result = answer.calls[0]
    assert json.loads(call.arguments) == {"expression": "469 - 60%"}
    assert result.content == "187.6"
    assert "187.6" in answer.done.content
