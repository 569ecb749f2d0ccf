"""llama-server's opt-in ``return_progress`` through a real server with SmolLM2: a long
prompt's stream says how far the prompt has been read before the answer starts; without
the field the stream is what it always was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving

MODEL = "smollm2:135m"
pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    home = tmp_path_factory.mktemp("progress-home")
    runtime = build(load_settings(home=home, preload=False))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    with serving(runtime) as url:
        yield url
    runtime.close()


def long_text(topic: str, words: int) -> str:
    """``words`` words about ``topic``, varied enough to be read in full (several
    512-token batches)."""
    text = " ".join(f"{topic} note {i} says the {i % 7}th lamp is lit." for i in range(words))
    return " ".join(text.split()[:words])


def stream_chunks(base_url: str, path: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    chunks = []
    with httpx.stream("POST", f"{base_url}{path}", json=payload, timeout=300) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks.append(json.loads(line.removeprefix("data: ")))
    return chunks


def chat(base_url: str, text: str, **extra: Any) -> list[dict[str, Any]]:
    payload = {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"{text}\n\nWhich lamp is lit?"}],
        "max_tokens": 4,
        "temperature": 0,
        "stream": True,
        **extra,
    }
    return stream_chunks(base_url, "/v1/chat/completions", payload)


def test_chat_stream_reports_prompt_progress_before_the_answer(base_url: str) -> None:
    chunks = chat(base_url, long_text("garden", 1500), return_progress=True)
    progress = [(i, c["prompt_progress"]) for i, c in enumerate(chunks) if "prompt_progress" in c]
    assert progress, "no prompt_progress chunk for a prompt of several batches"
    first_answer = len(progress)
    assert [i for i, _ in progress] == list(range(first_answer)), "progress after the answer"
    values = [p for _, p in progress]
    assert all(set(p) == {"total", "cache", "processed", "time_ms"} for p in values)
    totals = {p["total"] for p in values}
    assert len(totals) == 1
    total = totals.pop()
    assert total > 1500
    processed = [p["processed"] for p in values]
    assert processed == sorted(processed)
    assert 0 < processed[0] < total
    assert all(p["cache"] == 0 for p in values)
    assert [p["time_ms"] for p in values] == sorted(p["time_ms"] for p in values)
    for i, _ in progress:
        assert chunks[i]["object"] == "chat.completion.chunk"
        assert chunks[i]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    # The answer itself streams as without the field: role once, on its first delta.
    answer = chunks[first_answer:]
    assert answer[0]["choices"][0]["delta"]["role"] == "assistant"
    assert isinstance(answer[0]["choices"][0]["delta"]["content"], str)
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")


def test_without_return_progress_the_stream_has_none(base_url: str) -> None:
    chunks = chat(base_url, long_text("harbour", 700))
    assert chunks
    assert not any("prompt_progress" in c for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert isinstance(chunks[0]["choices"][0]["delta"]["content"], str)


def test_legacy_completions_stream_reports_prompt_progress(base_url: str) -> None:
    payload = {
        "model": MODEL,
        "prompt": long_text("orchard", 500),
        "max_tokens": 3,
        "temperature": 0,
        "stream": True,
        "return_progress": True,
    }
    chunks = stream_chunks(base_url, "/v1/completions", payload)
    progress = [i for i, c in enumerate(chunks) if "prompt_progress" in c]
    assert progress
    assert progress == list(range(len(progress))), "progress after the answer"
    assert all(chunks[i]["choices"][0]["text"] == "" for i in progress)
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    quiet_payload = {k: v for k, v in payload.items() if k != "return_progress"}
    quiet = stream_chunks(
        base_url, "/v1/completions", {**quiet_payload, "prompt": long_text("meadow", 500)}
    )
    quiet_progress = [c for c in quiet if "prompt_progress" in c]
    assert not quiet_progress, "progress without return_progress"
