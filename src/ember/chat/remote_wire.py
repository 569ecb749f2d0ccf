"""Ember's chat types to an OpenAI-compatible server's wire and back (pure functions).

The other direction of ``server/wire_openai.py``: a :class:`ChatRequest` becomes the JSON
body of ``POST /v1/chat/completions``, and the server's streamed chunks are folded into
Ember's events by :class:`StreamAssembler` (tool-call fragments joined by index, usage
from the final chunk, logprobs as :class:`TokenLogprob`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ember.chat.types import ChatDelta, ChatDone, ChatRequest, Message, ToolCall, ToolChoice
from ember.engine.base import TokenLogprob, Usage

# OpenAI's finish reasons in Ember's terms (content_filter and the like end as "stop").
_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls"}


def chat_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The JSON body asking ``model`` (the remote's own name for it) for ``request``."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [_message(m) for m in request.messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    sampling = request.sampling
    given = request.sampling_given
    # Only what the caller chose travels: the remote keeps its own defaults otherwise.
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed"):
        if name in given:
            body[name] = getattr(sampling, name)
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)
    if request.tools and request.tool_choice != "none":
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in request.tools
        ]
        body["tool_choice"] = _tool_choice(request.tool_choice)
        if not request.parallel_tool_calls:
            body["parallel_tool_calls"] = False
    fmt = request.response_format
    if fmt.type == "json_object":
        body["response_format"] = {"type": "json_object"}
    elif fmt.type == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": fmt.schema or {}},
        }
    if request.logprobs is not None:
        body["logprobs"] = True
        if request.logprobs:
            body["top_logprobs"] = request.logprobs
    return body


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    if message.name and message.role == "tool":
        out["name"] = message.name
    return out


def _tool_choice(choice: ToolChoice) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def model_ids(listing: Any) -> list[str]:
    """The model ids of a ``GET /v1/models`` answer (malformed entries skipped)."""
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        return []
    return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")]


def error_message(body: Any, fallback: str) -> str:
    """The message of an OpenAI (or Ollama) error body, else ``fallback``."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        if body.get("detail"):
            return str(body["detail"])
    return fallback


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class StreamAssembler:
    """Folds ``chat.completion.chunk`` objects into deltas and one final :class:`ChatDone`."""

    where: str
    text: str = ""
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    completion_pieces: int = 0

    def feed(self, chunk: Any) -> ChatDelta | None:
        """One parsed chunk; the delta to show, if it carries text or logprobs."""
        if not isinstance(chunk, dict):
            return None
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return None
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        delta: dict[str, Any] = choice["delta"] if isinstance(choice.get("delta"), dict) else {}
        for piece in delta.get("tool_calls") or ():
            self._add_call(piece)
        content = delta.get("content")
        logprobs = _logprobs(choice.get("logprobs"))
        if not (isinstance(content, str) and content) and not logprobs:
            return None
        text = content if isinstance(content, str) else ""
        self.text += text
        self.completion_pieces += 1
        return ChatDelta(content=text, logprobs=logprobs)

    def _add_call(self, piece: Any) -> None:
        if not isinstance(piece, dict):
            return
        index = piece.get("index", len(self.calls))
        call = self.calls.setdefault(int(index) if isinstance(index, int) else 0, _PartialCall())
        if piece.get("id"):
            call.id = str(piece["id"])
        function: dict[str, Any] = (
            piece["function"] if isinstance(piece.get("function"), dict) else {}
        )
        if function.get("name"):
            call.name += str(function["name"])
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call.arguments += arguments
        elif isinstance(arguments, dict):  # servers that send the object whole
            call.arguments += json.dumps(arguments)

    def done(self, *, ttft_s: float, decode_s: float, error: str | None = None) -> ChatDone:
        """The answer's end. ``error``: the stream broke off (what came is kept)."""
        calls = tuple(
            ToolCall(id=c.id or f"call_{i}", name=c.name, arguments=c.arguments or "{}")
            for i, c in sorted(self.calls.items())
            if c.name
        )
        if error is not None:
            reason: Any = "error"
        elif calls:
            reason = "tool_calls"
        else:
            reason = _FINISH.get(self.finish_reason or "stop", "stop")
        usage = self.usage or {}
        prompt = _count(usage.get("prompt_tokens"))
        completion = _count(usage.get("completion_tokens")) or self.completion_pieces
        details = usage.get("prompt_tokens_details")
        cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
        return ChatDone(
            finish_reason=reason,
            usage=Usage(
                prompt_tokens=prompt,
                completion_tokens=completion,
                cached_tokens=cached,
                ttft_s=ttft_s,
                prompt_tps=0.0,
                decode_tps=(completion - 1) / decode_s if decode_s > 0 and completion > 1 else 0.0,
            ),
            tool_calls=calls,
            content=self.text,
            error=error,
            where=self.where,
        )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _logprobs(value: Any) -> tuple[TokenLogprob, ...]:
    content = value.get("content") if isinstance(value, dict) else None
    if not isinstance(content, list):
        return ()
    out = []
    for item in content:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            continue
        top = [
            (str(t["token"]), float(t["logprob"]))
            for t in item.get("top_logprobs") or ()
            if isinstance(t, dict) and "token" in t and "logprob" in t
        ]
        raw = item.get("bytes")
        out.append(
            TokenLogprob(
                token=item["token"],
                logprob=float(item.get("logprob", 0.0)),
                bytes=list(raw) if isinstance(raw, list) else list(item["token"].encode()),
                top=top,
            )
        )
    return tuple(out)
