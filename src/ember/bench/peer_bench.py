"""`ember bench engine --peer URL`: Ember beside another OpenAI-compatible server.

Why (issue 18): "as fast as llama-server" must be a command anyone can repeat, not a
table in an issue. This talks to both servers only through ``/v1/chat/completions`` —
the way every client sees them — with the same requests, interleaved (Ember, peer,
peer, Ember, Ember, peer…: who goes first alternates) so a machine that gets busier or
quieter mid-run touches both alike, and reports the median of ``runs`` rounds. It
starts and builds nothing itself: the user points it at a running peer (llama-server,
vLLM, Ollama, another Ember), ideally serving the same file with the same threads and
slots.

Each round, for each server:

1. **decode**: a story streamed at temperature 0; tokens/s after the first token
   (counted from the stream's ``usage``: one piece may carry several tokens);
2. **chat**: an eight-turn conversation with answers of ``answer_tokens``; time to
   first token per turn, turn 8 over turn 1 (prefix reuse keeps it near 1), and turn
   8 itself (what the user waits for: the ratio also moves with turn 1);
3. **long prompt**: that conversation's final "summarise everything" request (about
   1.5k tokens) sent twice — warm (the second) — then cold, with the system prompt's
   first character changed so no cached prefix matches;
4. **single answer**: one non-streamed answer of ``long_tokens`` at temperature 0.7
   after the chat (so other slots hold cached tokens): completion tokens / wall time;
5. **four at once**: four such answers concurrently: their tokens / wall time;
6. **gap**: a story streaming while a cold long prompt is sent: the longest wait
   between two of the story's tokens while that prompt is read;
7. **copy**: answers that copy their input (bench/copy_tasks.py: a passage quoted
   back, a function rewritten with one name changed) streamed at temperature 0, where
   speculative decoding pays: each server with its own setting (Ember drafts where
   they measure faster; start llama-server with ``--spec-type ngram-simple`` to
   compare like with like).
"""

from __future__ import annotations

import itertools
import json
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from ember.bench.copy_tasks import COPY_TASKS

STORY = "Write a long story about a lighthouse keeper and the ships she saved."
TOPICS = (
    "the history of lighthouses",
    "how a Fresnel lens works",
    "the life of a keeper's family",
    "famous shipwrecks on rocky coasts",
    "how foghorns were used",
    "automation of lighthouses",
    "the tallest lighthouses in the world",
    "how to visit a lighthouse today",
)
SYSTEM = "You are a helpful assistant who writes detailed, accurate answers."


@dataclass(frozen=True)
class Target:
    """One server to measure: its label in the report, its base URL, the model's name
    there, and the API key it needs (if any)."""

    label: str
    base_url: str
    model: str
    api_key: str | None = None


@dataclass(frozen=True)
class Sizes:
    """How big the requests are (the tests shrink them)."""

    story_tokens: int = 160
    answer_tokens: int = 150
    turns: int = 8
    long_tokens: int = 128
    concurrent: int = 4
    copy_tokens: int = 400  # of each copy-heavy answer (most of the quote, half the edit)


@dataclass
class Streamed:
    """One streamed answer, as the client saw it."""

    ttft_s: float
    tokens: int
    decode_tps: float
    text: str
    arrivals: list[float] = field(default_factory=list)  # perf_counter of each token


@dataclass
class Round:
    """One round's numbers for one server."""

    decode_tps: float
    ttft_turns_s: list[float]
    long_prompt_warm_s: float
    long_prompt_cold_s: float
    single_tps: float
    concurrent_tps: float
    longest_gap_s: float
    copy_tps: dict[str, float] = field(default_factory=dict)  # copy task -> decode tok/s

    @property
    def turn_ratio(self) -> float:
        return self.ttft_turns_s[-1] / self.ttft_turns_s[0] if self.ttft_turns_s[0] else 0.0


class Client:
    """The OpenAI chat API of one target."""

    def __init__(self, target: Target, timeout: float = 600.0) -> None:
        self.target = target
        headers = {"Authorization": f"Bearer {target.api_key}"} if target.api_key else {}
        # A new connection per request: llama-server closes one after a stream, and a
        # reused, closed connection fails the next request. Both servers pay the same.
        self.http = httpx.Client(
            base_url=target.base_url.rstrip("/"),
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self.http.close()

    def _body(
        self, messages: list[dict[str, str]], max_tokens: int, temperature: float
    ) -> dict[str, Any]:
        return {
            "model": self.target.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": 1,
        }

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int, temperature: float = 0.0
    ) -> Streamed:
        try:
            return self._stream(messages, max_tokens, temperature)
        except httpx.RemoteProtocolError:  # closed before answering (seen under load): once
            return self._stream(messages, max_tokens, temperature)

    def _stream(
        self, messages: list[dict[str, str]], max_tokens: int, temperature: float
    ) -> Streamed:
        body = {
            **self._body(messages, max_tokens, temperature),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        start = time.perf_counter()
        arrivals: list[float] = []
        text = ""
        tokens = 0
        with self.http.stream("POST", "/v1/chat/completions", json=body) as response:
            _check(response)
            for data in _sse_data(response.iter_lines()):
                tokens = int((data.get("usage") or {}).get("completion_tokens") or tokens)
                for choice in data.get("choices") or ():
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        arrivals.append(time.perf_counter())
                        text += piece
        if not arrivals:
            raise BenchError(f"{self.target.label} streamed no text")
        return Streamed(
            ttft_s=arrivals[0] - start,
            tokens=tokens or len(arrivals),
            decode_tps=stream_rate(arrivals, tokens),
            text=text,
            arrivals=arrivals,
        )

    def complete(
        self, messages: list[dict[str, str]], max_tokens: int, temperature: float
    ) -> tuple[int, float]:
        """A non-streamed answer: its completion tokens and the wall time it took."""
        start = time.perf_counter()
        body = self._body(messages, max_tokens, temperature)
        try:
            response = self.http.post("/v1/chat/completions", json=body)
        except httpx.RemoteProtocolError:  # closed before answering (seen under load): once
            start = time.perf_counter()
            response = self.http.post("/v1/chat/completions", json=body)
        _check(response)
        usage = response.json().get("usage") or {}
        return int(usage.get("completion_tokens") or 0), time.perf_counter() - start


class BenchError(RuntimeError):
    pass


def stream_rate(arrivals: list[float], tokens: int = 0) -> float:
    """Tokens per second after the first, which comes alone (the prompt's last step).
    A server may send several tokens in one piece (a confirmed draft): with the
    answer's token count (``usage``) every token is counted, else one per piece."""
    span = arrivals[-1] - arrivals[0] if arrivals else 0.0
    if span <= 0:
        return 0.0
    return (max(tokens, len(arrivals)) - 1) / span


def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        response.read()
        raise BenchError(
            f"{response.request.url} answered {response.status_code}: {response.text[:300]}"
        )


def _sse_data(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data:"):
            payload = line[5:].strip()
            if payload and payload != "[DONE]":
                yield json.loads(payload)


def first_model(base_url: str, api_key: str | None = None) -> str:
    """The first model a server lists at ``/v1/models`` (a llama-server serves one)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = httpx.get(f"{base_url.rstrip('/')}/v1/models", headers=headers, timeout=30)
    _check(response)
    models = response.json().get("data") or []
    if not models:
        raise BenchError(f"{base_url} lists no models")
    return str(models[0]["id"])


def measure_round(client: Client, sizes: Sizes, round_no: int, run_id: str = "") -> Round:
    """One round of every measurement against one server. ``run_id`` keeps this run's
    prompts apart from an earlier run's, which a server may still hold cached."""
    decode = client.stream([{"role": "user", "content": STORY}], sizes.story_tokens)

    # A system prompt of its own per round, so one round's cache does not serve the next.
    system = f"{SYSTEM} (run {run_id}, round {round_no})"
    messages = [{"role": "system", "content": system}]
    ttfts = []
    for topic in TOPICS[: sizes.turns]:
        messages.append({"role": "user", "content": f"Tell me about {topic}."})
        answer = client.stream(messages, sizes.answer_tokens)
        ttfts.append(answer.ttft_s)
        messages.append({"role": "assistant", "content": answer.text})
    summary = [*messages, {"role": "user", "content": "Summarise everything we discussed."}]
    client.stream(summary, 1)
    warm = client.stream(summary, 1).ttft_s
    cold_summary = [{"role": "system", "content": _first_changed(system, "X")}, *summary[1:]]
    cold = client.stream(cold_summary, 1).ttft_s

    story = [{"role": "user", "content": f"{STORY} Make it number {round_no} of {run_id}."}]
    tokens, wall = client.complete(story, sizes.long_tokens, 0.7)
    single = tokens / wall if wall > 0 else 0.0
    concurrent = _concurrent(client, story, sizes)
    gap = _gap_during_prefill(
        client, sizes, [{"role": "system", "content": "Z" + system[1:]}, *summary[1:]]
    )
    copy = {
        task.name: client.stream(
            [{"role": "user", "content": task.prompt}], sizes.copy_tokens
        ).decode_tps
        for task in COPY_TASKS
    }
    return Round(
        decode_tps=decode.decode_tps,
        ttft_turns_s=ttfts,
        long_prompt_warm_s=warm,
        long_prompt_cold_s=cold,
        single_tps=single,
        concurrent_tps=concurrent,
        longest_gap_s=gap,
        copy_tps=copy,
    )


def _first_changed(text: str, letter: str) -> str:
    """``text`` with another first character, so no cached prefix matches it."""
    assert text[0] != letter
    return letter + text[1:]


def _concurrent(client: Client, story: list[dict[str, str]], sizes: Sizes) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(sizes.concurrent) as pool:
        done = list(
            pool.map(
                lambda i: client.complete(
                    [{"role": "user", "content": f"{story[0]['content']} Version {i}."}],
                    sizes.long_tokens,
                    0.7,
                ),
                range(sizes.concurrent),
            )
        )
    wall = time.perf_counter() - start
    return sum(tokens for tokens, _ in done) / wall if wall > 0 else 0.0


def _gap_during_prefill(client: Client, sizes: Sizes, long_prompt: list[dict[str, str]]) -> float:
    """The longest wait between two tokens of a streaming story while another request's
    long prompt is read."""
    with ThreadPoolExecutor(2) as pool:
        story = pool.submit(
            client.stream, [{"role": "user", "content": STORY}], sizes.story_tokens * 2
        )
        time.sleep(0.5)  # let the story start streaming
        started = time.perf_counter()
        pool.submit(client.stream, long_prompt, 1).result()
        ended = time.perf_counter()
        arrivals = story.result().arrivals
    during = [t for t in arrivals if started <= t <= ended]
    before = [t for t in arrivals if t < started][-1:]
    after = [t for t in arrivals if t > ended][:1]
    times = before + during + after
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


ROWS: tuple[tuple[str, str, Callable[[Round], float], bool], ...] = (
    # key, label, value, higher is better
    ("decode_tps", "streamed decode (tok/s)", lambda r: r.decode_tps, True),
    ("long_prompt_cold_s", "~1.5k-token prompt, cold (s)", lambda r: r.long_prompt_cold_s, False),
    ("long_prompt_warm_s", "same prompt, warm (s)", lambda r: r.long_prompt_warm_s, False),
    ("turn_ratio", "TTFT turn 8 / turn 1", lambda r: r.turn_ratio, False),
    ("ttft_last_turn_s", "TTFT at turn 8 (s)", lambda r: r.ttft_turns_s[-1], False),
    ("single_tps", "one answer after the chat (tok/s)", lambda r: r.single_tps, True),
    ("concurrent_tps", "4 at once, aggregate (tok/s)", lambda r: r.concurrent_tps, True),
    ("longest_gap_s", "longest token gap during a prefill (s)", lambda r: r.longest_gap_s, False),
    ("copy_quote_tps", "copy: quote a passage (tok/s)", lambda r: r.copy_tps["quote"], True),
    ("copy_edit_tps", "copy: rewrite a function (tok/s)", lambda r: r.copy_tps["edit"], True),
)


def run_peer_bench(
    targets: list[Target],
    *,
    runs: int = 3,
    sizes: Sizes | None = None,
    on_round: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Every measurement against every target, interleaved, ``runs`` rounds; the report
    has each round's numbers and the medians, and Ember's value over the peer's
    ("speedup": above 1 is Ember ahead, whichever way the row is better)."""
    sizes = sizes or Sizes()
    run_id = secrets.token_hex(4)
    clients = [Client(t) for t in targets]
    rounds: dict[str, list[Round]] = {t.label: [] for t in targets}
    try:
        for round_no in range(1, runs + 1):
            # Who goes first alternates: a machine that warms up or slows down over the
            # run then favours neither.
            for client in clients if round_no % 2 else clients[::-1]:
                if on_round is not None:
                    on_round(client.target.label, round_no)
                rounds[client.target.label].append(measure_round(client, sizes, round_no, run_id))
    finally:
        for client in clients:
            client.close()
    medians = {
        label: {key: statistics.median(value(r) for r in rs) for key, _, value, _ in ROWS}
        for label, rs in rounds.items()
    }
    report: dict[str, Any] = {
        "targets": [asdict(t) | {"api_key": None} for t in targets],
        "runs": runs,
        "sizes": asdict(sizes),
        "rounds": {label: [asdict(r) for r in rs] for label, rs in rounds.items()},
        "medians": medians,
    }
    if len(targets) == 2:
        first, second = targets[0].label, targets[1].label
        report["speedup"] = {
            key: _speedup(medians[first][key], medians[second][key], higher)
            for key, _, _, higher in ROWS
        }
    return report


def _speedup(ours: float, theirs: float, higher_is_better: bool) -> float | None:
    if ours <= 0 or theirs <= 0:
        return None
    return ours / theirs if higher_is_better else theirs / ours
