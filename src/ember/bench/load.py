"""A load test through the page's API: many users streaming at once, some hanging up.

Each simulated user opens a conversation and sends questions one after another until
the time is up. A share of the streams is dropped after a random number of words (a
closed tab). Afterwards the stored conversations are compared with what each client
saw, once every answer has finished (an answer runs on after its stream is dropped):
- every question and answer a client saw start is stored;
- a stream that ended normally stored exactly the text it showed;
- a dropped stream's stored answer begins with the text shown before the drop;
- no request got a 5xx, and every slot is free at the end (``ember_slots_busy``; for a
  front end, its workers' requests too, from ``/ember/api/workers``).

``ember bench load`` runs it against any Ember; ``tests/server/test_load_e2e.py``
against a real server with SmolLM2.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Seen:
    """One answer as its client saw it."""

    conversation_id: str
    question_id: str | None = None
    answer_id: str | None = None
    text: str = ""
    hung_up: bool = False
    done: bool = False
    status: int = 0
    ttft_s: float | None = None


@dataclass
class LoadReport:
    users: int
    seconds: float
    answers: int = 0
    hung_up: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: int = 0
    lost: list[str] = field(default_factory=list)  # what the database lacks or contradicts
    busy_slots_after: float = 0.0
    ttft_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.server_errors == 0 and not self.lost and self.busy_slots_after == 0

    def to_dict(self) -> dict[str, Any]:
        ttft = sorted(self.ttft_s)
        return {
            "users": self.users,
            "seconds": self.seconds,
            "answers": self.answers,
            "hung_up": self.hung_up,
            "statuses": dict(self.statuses),
            "server_errors": self.server_errors,
            "lost": self.lost,
            "busy_slots_after": self.busy_slots_after,
            "ttft_p50_s": round(statistics.median(ttft), 3) if ttft else None,
            "ttft_p95_s": round(ttft[int(0.95 * (len(ttft) - 1))], 3) if ttft else None,
            "answers_per_s": round(self.answers / self.wall_s, 2) if self.wall_s else None,
            "ok": self.ok,
        }


QUESTIONS = (
    "Name a colour of the sky.",
    "Say one word about the sea.",
    "What is a cat?",
    "Tell me a short fact about trees.",
    "Say hello in one line.",
)


async def _ask(
    client: httpx.AsyncClient, seen: Seen, question: str, hang_up_after: int | None
) -> None:
    started = time.perf_counter()
    async with client.stream(
        "POST",
        f"/ember/api/conversations/{seen.conversation_id}/messages",
        json={"content": question},
    ) as response:
        seen.status = response.status_code
        if response.status_code != 200:
            await response.aread()
            return
        event = ""
        words = 0
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
                continue
            if not line.startswith("data: "):
                continue
            data = json.loads(line[6:])
            if event == "start":
                if data.get("user"):
                    seen.question_id = data["user"]["id"]
                if data.get("assistant"):
                    seen.answer_id = data["assistant"]["id"]
            elif event == "delta":
                seen.ttft_s = seen.ttft_s or time.perf_counter() - started
                seen.text += data.get("content", "")
                words += 1
                if hang_up_after is not None and words >= hang_up_after:
                    seen.hung_up = True
                    return  # the tab closes: the stream is dropped
            elif event in ("done", "error"):
                seen.done = True
                message = data.get("message") or data
                if isinstance(message, dict) and "content" in message:
                    seen.text = message["content"]


async def _user(
    client: httpx.AsyncClient,
    model: str,
    max_tokens: int,
    deadline: float,
    rng: random.Random,
    hang_up_share: float,
    seen_all: list[Seen],
) -> None:
    created = await client.post(
        "/ember/api/conversations",
        json={"model": model, "settings": {"max_tokens": max_tokens, "temperature": 0.7}},
    )
    created.raise_for_status()
    cid = created.json()["conversation"]["id"]
    while time.monotonic() < deadline:
        seen = Seen(cid)
        seen_all.append(seen)
        hang = rng.randint(1, 6) if rng.random() < hang_up_share else None
        await _ask(client, seen, rng.choice(QUESTIONS), hang)
        if seen.hung_up:
            await _wait_finished(client, cid)  # the next question follows the last answer


async def _wait_finished(client: httpx.AsyncClient, cid: str, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        messages = (await client.get(f"/ember/api/conversations/{cid}")).json()["messages"]
        if all(m["status"] != "streaming" for m in messages):
            return
        await asyncio.sleep(0.2)


def _busy_slots(metrics_text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics_text.splitlines()
        if line.startswith(("ember_slots_busy", "ember_queue_depth"))
    )


async def _workers_busy(client: httpx.AsyncClient) -> float:
    """What a front end's workers still run or hold: its requests in flight there and
    the load each reports (0 without workers, or when this caller may not see them)."""
    response = await client.get("/ember/api/workers")
    if response.status_code != 200:
        return 0.0
    workers = response.json().get("workers", [])
    return float(sum(w["in_flight"] + (w.get("load") or 0) for w in workers))


async def _settled_slots(client: httpx.AsyncClient, limit_s: float = 120) -> float:
    """Busy and queued slots once the server has finished its own work (conversation
    titles run after the first answers), its workers' included; what is left after
    ``limit_s`` is a leak."""
    deadline = time.monotonic() + limit_s
    while True:
        busy = _busy_slots((await client.get("/metrics")).text) + await _workers_busy(client)
        if busy == 0 or time.monotonic() > deadline:
            return busy
        await asyncio.sleep(0.5)


async def run_load(
    url: str,
    *,
    model: str,
    users: int = 32,
    seconds: float = 60.0,
    hang_up_share: float = 1 / 3,
    max_tokens: int = 32,
    seed: int = 0,
    headers: dict[str, str] | None = None,
) -> LoadReport:
    """Run the load and check the stored conversations against what clients saw."""
    report = LoadReport(users, seconds)
    seen_all: list[Seen] = []
    limits = httpx.Limits(max_connections=users * 2 + 8)
    began = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=url, timeout=600, limits=limits, headers=headers
    ) as client:
        deadline = time.monotonic() + seconds
        rngs = [random.Random(seed * 1000 + i) for i in range(users)]
        await asyncio.gather(
            *(
                _user(client, model, max_tokens, deadline, rng, hang_up_share, seen_all)
                for rng in rngs
            )
        )
        report.wall_s = time.perf_counter() - began
        conversations = {s.conversation_id for s in seen_all}
        for cid in conversations:
            await _wait_finished(client, cid)
        stored = {}
        for cid in conversations:
            view = (await client.get(f"/ember/api/conversations/{cid}")).json()
            stored.update({m["id"]: m for m in view["messages"]})
        report.busy_slots_after = await _settled_slots(client)
    for seen in seen_all:
        report.statuses[seen.status] += 1
        report.server_errors += seen.status >= 500
        if seen.status != 200:
            continue
        report.answers += 1
        report.hung_up += seen.hung_up
        if seen.ttft_s is not None:
            report.ttft_s.append(seen.ttft_s)
        for kind, mid in (("question", seen.question_id), ("answer", seen.answer_id)):
            if mid is None or mid not in stored:
                report.lost.append(f"{kind} {mid} of {seen.conversation_id} is not stored")
        answer = stored.get(seen.answer_id or "")
        if answer is None:
            continue
        if answer["status"] == "streaming":
            report.lost.append(f"answer {seen.answer_id} is still streaming")
        elif seen.hung_up and not answer["content"].startswith(seen.text):
            report.lost.append(f"answer {seen.answer_id} lost what its client saw")
        elif seen.done and answer["content"] != seen.text:
            report.lost.append(f"answer {seen.answer_id} differs from what its client saw")
    return report
