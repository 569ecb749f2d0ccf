"""The tool loop's decisions, with a scripted model (the real model runs in the e2e tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from ember.chat.answering import Answerer, AnswerPlan
from ember.chat.tool_loop import RESULT_NOTE, run_with_tools
from ember.chat.types import ChatDelta, ChatDone, ChatRequest, Message, ToolCall
from ember.engine.base import Usage
from ember.tools.registry import ToolRegistry

USAGE = Usage(1, 1, 0, 0.0, 0.0, 0.0)


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


class ScriptedChat:
    """Answers each step with the next scripted ChatDone; records the requests."""

    def __init__(self, *steps: ChatDone) -> None:
        self.steps = list(steps)
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatDelta | ChatDone]:
        self.requests.append(request)
        step = self.steps.pop(0)
        if step.content and not step.tool_calls:
            for i in range(0, len(step.content), 7):
                yield ChatDelta(content=step.content[i : i + 7])
        yield step


def call(arguments: str, id: str = "c1") -> ChatDone:
    return ChatDone("tool_calls", USAGE, (ToolCall(id=id, name="add", arguments=arguments),))


def echo(text: str) -> str:
    """Say the text back.

    Args:
        text: What to say.
    """
    return text


def run(chat: ScriptedChat, max_steps: int = 4) -> Any:
    registry = ToolRegistry()
    registry.register(add)
    registry.register(echo)
    request = ChatRequest(model="m", messages=(Message(role="user", content="1+2?"),))
    return asyncio.run(
        Answerer(chat).complete(  # type: ignore[arg-type]
            request, AnswerPlan(tools=registry, route=False, max_steps=max_steps)
        )
    )


def test_a_repeated_call_is_not_run_again_and_the_model_must_answer() -> None:
    chat = ScriptedChat(
        call('{"a": 1, "b": 2}'),
        call('{"b": 2, "a": 1}', id="c2"),  # the same call, keys in another order
        ChatDone("stop", USAGE, content="3"),
    )
    result = run(chat)
    assert [outcome.content for _, outcome in result.calls] == ["3"]
    assert result.done.content == "3"
    assert [r.tool_choice for r in chat.requests] == ["auto", "auto", "none"]
    tool_message = chat.requests[1].messages[-1]
    assert tool_message.role == "tool"
    assert tool_message.content == f"3\n{RESULT_NOTE}"


def test_a_new_call_after_a_result_still_runs() -> None:
    chat = ScriptedChat(
        call('{"a": 1, "b": 2}'),
        call('{"a": 3, "b": 4}', id="c2"),
        ChatDone("stop", USAGE, content="3 and 7"),
    )
    result = run(chat)
    assert [outcome.content for _, outcome in result.calls] == ["3", "7"]


def test_a_call_that_returns_its_own_argument_is_not_listed_and_the_model_must_answer() -> None:
    """Qwen-0.5B fed a result back: calculator('178377') after 4821 * 37 = 178377."""
    chat = ScriptedChat(
        call('{"a": 1, "b": 2}'),
        ChatDone("tool_calls", USAGE, (ToolCall(id="c2", name="echo", arguments='{"text": "3"}'),)),
        ChatDone("stop", USAGE, content='{"name": "add", "arguments": {"a": 1, "b": 2}}'),
        ChatDone("stop", USAGE, content="1 + 2 is 3."),
    )
    result = run(chat)
    assert [outcome.content for _, outcome in result.calls] == ["3", "3"]
    assert [r.tool_choice for r in chat.requests] == ["auto", "auto", "none", "none"]
    plain = chat.requests[-1]  # asked again, plainly: no tools, the useful result as a fact
    assert plain.tools == ()
    assert "the add of 1, 2 is 3" in plain.messages[-1].content
    assert "echo" not in plain.messages[-1].content  # the echo added nothing
    assert result.done.content == "1 + 2 is 3."


def test_extra_arguments_a_small_model_invents_are_dropped() -> None:
    chat = ScriptedChat(
        call('{"a": 1, "b": 2, "type": "string"}'), ChatDone("stop", USAGE, content="3")
    )
    result = run(chat)
    assert not result.calls[0][1].is_error
    assert result.calls[0][1].content == "3"


def test_the_last_step_offers_no_tools() -> None:
    chat = ScriptedChat(call('{"a": 1, "b": 2}'), ChatDone("stop", USAGE, content="3"))
    run(chat, max_steps=1)
    assert [r.tool_choice for r in chat.requests] == ["auto", "none"]


def test_a_call_written_out_twice_becomes_a_sentence_of_the_results() -> None:
    """Asked again plainly, the model writes the call once more: the answer is then the
    results in words, never the JSON or a transcript."""
    written = '{"name": "add", "arguments": {"a": 1, "b": 2}}'
    chat = ScriptedChat(
        call('{"a": 1, "b": 2}'),
        call('{"a": 1, "b": 2}', id="c2"),
        ChatDone("stop", USAGE, content=written),
        ChatDone("stop", USAGE, content=written),
    )
    registry = ToolRegistry()
    registry.register(add)
    request = ChatRequest(model="m", messages=(Message(role="user", content="1+2?"),))

    async def collect() -> list[Any]:
        return [e async for e in run_with_tools(chat, request, registry)]  # type: ignore[arg-type]

    events = asyncio.run(collect())
    shown = "".join(e.content for e in events if isinstance(e, ChatDelta))
    final = events[-1]
    assert isinstance(final, ChatDone)
    assert final.content == shown == "The add of 1, 2 is 3."


def one_step_events(chat: ScriptedChat) -> list[Any]:
    """Every event of "1+2?" answered with ``add`` and one step of calls."""
    registry = ToolRegistry()
    registry.register(add)
    request = ChatRequest(model="m", messages=(Message(role="user", content="1+2?"),))

    async def collect() -> list[Any]:
        return [e async for e in run_with_tools(chat, request, registry, max_steps=1)]  # type: ignore[arg-type]

    return asyncio.run(collect())


def test_a_normal_final_answer_streams_unchanged() -> None:
    chat = ScriptedChat(call('{"a": 1, "b": 2}'), ChatDone("stop", USAGE, content="The sum is 3."))
    events = one_step_events(chat)
    shown = "".join(e.content for e in events if isinstance(e, ChatDelta))
    assert shown == "The sum is 3."
    assert events[-1].content == "The sum is 3."


def test_an_answer_that_never_states_the_result_gets_it_added() -> None:
    """Measured with Qwen-0.5B: it explained how to work out the change until its token
    limit and never said it; the result is stated after the reply."""
    explained = "To find the sum, add the first number to the second. Therefore, th"
    chat = ScriptedChat(call('{"a": 1, "b": 2}'), ChatDone("length", USAGE, content=explained))
    events = one_step_events(chat)
    shown = "".join(e.content for e in events if isinstance(e, ChatDelta))
    assert shown.startswith(explained)
    assert shown.endswith("3.")
    assert events[-1].content == shown


def test_after_a_forced_call_succeeds_the_model_must_answer() -> None:
    """A routed question (first call required) is one computation: Qwen-0.5B, left free,
    applied the operation again to its result (84 - 38 = 46, then 46 - 38...)."""
    chat = ScriptedChat(call('{"a": 1, "b": 2}'), ChatDone("stop", USAGE, content="3"))
    registry = ToolRegistry()
    registry.register(add)
    request = ChatRequest(
        model="m", messages=(Message(role="user", content="1+2?"),), tool_choice="required"
    )
    result = asyncio.run(
        Answerer(chat).complete(request, AnswerPlan(tools=registry, route=False))  # type: ignore[arg-type]
    )
    assert result.done.content == "3"
    assert [r.tool_choice for r in chat.requests] == ["required", "none"]


def test_two_questions_in_one_message_get_a_call_each_and_one_answer() -> None:
    def count_letter(text: str, letter: str) -> int:
        """Count a letter.

        Args:
            text: The text.
            letter: The letter.
        """
        return text.count(letter)

    registry = ToolRegistry()
    registry.register(count_letter)
    registry.register(add)
    chat = ScriptedChat(
        ChatDone(
            "tool_calls",
            USAGE,
            (ToolCall(id="c1", name="count_letter", arguments='{"text": "berry", "letter": "r"}'),),
        ),
        call('{"a": 40, "b": 2}', id="c2"),
        ChatDone("stop", USAGE, content="There are 2 r's in berry, and 40 + 2 is 42."),
    )
    question = "How many r's are in the word berry? And what is 40 plus 2?"
    request = ChatRequest(model="m", messages=(Message(role="user", content=question),))
    result = asyncio.run(Answerer(chat).complete(request, AnswerPlan(tools=registry)))  # type: ignore[arg-type]
    assert [r.messages[-1].content for r in chat.requests[:2]] == [
        "How many r's are in the word berry?",
        "What is 40 plus 2?",
    ]
    assert [r.tool_choice for r in chat.requests] == ["required", "required", "none"]
    assert [outcome.content for _, outcome in result.calls] == ["2", "42"]
    facts = chat.requests[2].messages[-1].content
    assert 'the letter "r" appears 2 times in "berry"' in facts
    assert "the add of 40, 2 is 42" in facts
    assert result.done.content == "There are 2 r's in berry, and 40 + 2 is 42."


def test_a_word_problem_call_with_invented_numbers_is_sampled_again() -> None:
    """Measured with Qwen-0.5B: ``9 / 44 * 1044`` for "9 friends split $1044". The step
    is sampled again; the call made of the question's numbers runs, the other never."""
    from ember.tools.builtin.calculator import calculator

    def calculator_call(expression: str, id: str) -> ChatDone:
        arguments = f'{{"expression": "{expression}"}}'
        return ChatDone(
            "tool_calls", USAGE, (ToolCall(id=id, name="calculator", arguments=arguments),)
        )

    registry = ToolRegistry()
    registry.register(calculator)
    chat = ScriptedChat(
        calculator_call("9 / 44 * 1044", "c1"),
        calculator_call("9 * 1044", "c2"),  # the question's numbers (wrong, but honest)
        ChatDone("stop", USAGE, content="Each pays $9396."),
    )
    question = "9 friends split a bill of $1044 equally. How much does each pay?"
    request = ChatRequest(
        model="m", messages=(Message(role="user", content=question),), tool_choice="required"
    )
    result = asyncio.run(
        Answerer(chat).complete(request, AnswerPlan(tools=registry, route=False))  # type: ignore[arg-type]
    )
    assert [call.arguments for call, _ in result.calls] == ['{"expression": "9 * 1044"}']
    assert [r.tool_choice for r in chat.requests] == ["required", "required", "none"]
    resample = chat.requests[1].sampling
    assert (resample.temperature, resample.seed) == (0.7, 1)


def test_when_no_sample_does_better_the_first_call_runs() -> None:
    from ember.tools.builtin.calculator import calculator

    bad = ToolCall(id="c1", name="calculator", arguments='{"expression": "4 / 2 * 640"}')
    steps = [ChatDone("tool_calls", USAGE, (bad,)) for _ in range(4)]
    registry = ToolRegistry()
    registry.register(calculator)
    chat = ScriptedChat(*steps, ChatDone("stop", USAGE, content="Each pays $1280."))
    question = "4 friends split a bill of $640 equally. How much does each pay?"
    request = ChatRequest(
        model="m", messages=(Message(role="user", content=question),), tool_choice="required"
    )
    result = asyncio.run(
        Answerer(chat).complete(request, AnswerPlan(tools=registry, route=False))  # type: ignore[arg-type]
    )
    assert [outcome.content for _, outcome in result.calls] == ["1280"]
    assert len(chat.requests) == 5  # the first try, three samples, the answer


def test_a_calculator_call_with_nothing_to_compute_is_skipped_for_an_answer() -> None:
    """Measured with Qwen-0.5B, greedy: "What is the capital of France?" became
    ``calculator("Paris")``, an error, and 8.4 s of a hidden second step. A calculator
    call without a digit, for a question without one, does not run: the model answers
    at once, without the tools in its prompt."""
    from ember.tools.builtin.calculator import calculator

    registry = ToolRegistry()
    registry.register(calculator)
    needless = ChatDone(
        "tool_calls",
        USAGE,
        (ToolCall(id="c1", name="calculator", arguments='{"expression": "Paris"}'),),
    )
    chat = ScriptedChat(needless, ChatDone("stop", USAGE, content="It is Paris."))
    question = "What is the capital of France?"
    request = ChatRequest(model="m", messages=(Message(role="user", content=question),))
    result = asyncio.run(
        Answerer(chat).complete(request, AnswerPlan(tools=registry, route=False))  # type: ignore[arg-type]
    )
    assert result.calls == []
    assert result.done.content == "It is Paris."
    assert [r.tool_choice for r in chat.requests] == ["auto", "none"]


# ---------------------------------------------------------------- tools_failed


def broken(expression: str) -> str:
    """Compute an expression (always fails here).

    Args:
        expression: The expression.
    """
    raise ValueError("cannot evaluate that")


class RouteBy:
    """The cloud gate's escalation, scripted: answers every signal with ``outcome``."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.asked: list[tuple[str, str]] = []

    def __call__(self, request: ChatRequest, signal: str, detail: str) -> Any:
        from ember.router.decision import Route

        self.asked.append((signal, detail))
        return Route(self.outcome, f"{signal}: {detail}", "sky/big")  # type: ignore[arg-type]


def broken_call(id: str = "b1") -> ChatDone:
    return ChatDone(
        "tool_calls", USAGE, (ToolCall(id=id, name="broken", arguments='{"expression": "x"}'),)
    )


def run_failing(chat: ScriptedChat, escalation: RouteBy) -> Any:
    registry = ToolRegistry()
    registry.register(broken)
    request = ChatRequest(model="m", messages=(Message(role="user", content="what is x?"),))
    answerer = Answerer(chat, escalation=escalation)  # type: ignore[arg-type]
    return asyncio.run(answerer.complete(request, AnswerPlan(tools=registry, route=False)))


def test_when_every_call_fails_auto_asks_the_cloud_with_the_same_tools() -> None:
    chat = ScriptedChat(
        broken_call(),
        broken_call("b2"),  # the same call again: the loop makes the model answer
        # the cloud's turn (the escalated request): it answers
        ChatDone("stop", USAGE, content="x is 4"),
    )
    escalation = RouteBy("cloud")
    result = run_failing(chat, escalation)
    ((signal, detail),) = escalation.asked
    assert signal == "tools_failed"
    assert detail.startswith("broken failed: ")
    assert "cannot evaluate that" in detail
    assert result.done.content == "x is 4"
    cloud_turn = chat.requests[-1]
    assert cloud_turn.egress.escalate == "tools_failed"
    assert "cannot evaluate" in cloud_turn.egress.escalate_detail
    assert [t.name for t in cloud_turn.tools] == ["broken"]  # the same tools
    assert cloud_turn.messages == (Message(role="user", content="what is x?"),)  # afresh


def test_under_ask_the_local_answer_stands_and_offers_the_cloud() -> None:
    chat = ScriptedChat(
        broken_call(),
        broken_call("b2"),
        ChatDone("stop", USAGE, content="I could not work it out."),
    )
    result = run_failing(chat, RouteBy("ask"))
    assert result.done.content == "I could not work it out."
    assert result.done.route is not None
    assert result.done.route["target"] == "local"
    assert result.done.route["offer"]["model"] == "sky/big"
    assert all(r.egress.escalate is None for r in chat.requests)


def test_local_only_keeps_the_failed_answer_local_without_an_offer() -> None:
    chat = ScriptedChat(
        broken_call(), broken_call("b2"), ChatDone("stop", USAGE, content="No idea.")
    )
    escalation = RouteBy("local")
    result = run_failing(chat, escalation)
    assert result.done.content == "No idea."
    assert result.done.route is None
    assert len(escalation.asked) == 1  # said once


def test_a_loop_whose_call_succeeds_never_signals() -> None:
    chat = ScriptedChat(call('{"a": 1, "b": 2}'), ChatDone("stop", USAGE, content="3"))
    registry = ToolRegistry()
    registry.register(add)
    escalation = RouteBy("cloud")
    request = ChatRequest(model="m", messages=(Message(role="user", content="1+2?"),))
    answerer = Answerer(chat, escalation=escalation)  # type: ignore[arg-type]
    result = asyncio.run(answerer.complete(request, AnswerPlan(tools=registry, route=False)))
    assert result.done.content == "3"
    assert escalation.asked == []


def test_words_after_a_failed_call_wait_until_the_signal_is_said() -> None:
    """The model answers in words after its only call failed: ToolsFailed comes before
    the first of those words, so the cloud can answer instead of them."""
    chat = ScriptedChat(broken_call(), ChatDone("stop", USAGE, content="Probably 4."))
    registry = ToolRegistry()
    registry.register(broken)
    request = ChatRequest(model="m", messages=(Message(role="user", content="what is x?"),))

    async def events() -> list[Any]:
        return [e async for e in run_with_tools(chat, request, registry)]  # type: ignore[arg-type]

    seen = asyncio.run(events())
    kinds = [type(e).__name__ for e in seen]
    first_word = kinds.index("ChatDelta")
    assert kinds.index("ToolsFailed") < first_word
    assert kinds.count("ToolsFailed") == 1
    assert "".join(e.content for e in seen if isinstance(e, ChatDelta)) == "Probably 4."
