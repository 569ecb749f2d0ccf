"""OpenAI wire format <-> Ember (pure): request bodies to :class:`ChatRequest` and engine
requests, and (re-exported from :mod:`ember.server.wire_openai_responses`) Ember's results
back to OpenAI's response and stream shapes, so routes import one module per API.

The bodies themselves are in :mod:`ember.server.wire_openai_models`. Cross-field rules the
models cannot express (a named tool_choice must name a tool; top_logprobs needs logprobs)
are checked here, still as 400s naming the field.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Literal

from ember.chat.types import ChatRequest, Message, ResponseFormat, Tool, ToolCall, ToolChoice
from ember.engine.base import GenerateRequest
from ember.server.wire_common import InvalidRequestError, arguments_to_text, parse_body
from ember.server.wire_openai_models import (
    LEGACY_COMPLETION_MAX_TOKENS,
    ChatCompletionRequest,
    ChatMessageIn,
    CompletionRequest,
    ContentPart,
    EmbeddingRequest,
    ResponseFormatIn,
)
from ember.server.wire_openai_responses import (
    chat_chunk,
    chat_chunks,
    chat_completion,
    completion_choice,
    completion_chunk,
    completion_finish_reason,
    completion_progress_chunk,
    completion_response,
    embeddings_response,
    error_body,
    finish_reason,
    model_list,
    model_object,
    progress_chunk,
    prompt_progress,
    tool_calls_chunk,
    usage_chunk,
    usage_dict,
)

__all__ = [
    "ChatCompletionRequest",
    "CompletionRequest",
    "EmbeddingRequest",
    "InvalidRequestError",
    "chat_chunk",
    "chat_chunks",
    "chat_completion",
    "completion_choice",
    "completion_chunk",
    "completion_finish_reason",
    "completion_progress_chunk",
    "completion_response",
    "embedding_inputs",
    "embeddings_response",
    "error_body",
    "finish_reason",
    "model_list",
    "model_object",
    "parse_body",
    "progress_chunk",
    "prompt_progress",
    "to_chat_request",
    "to_generate_requests",
    "tool_calls_chunk",
    "usage_chunk",
    "usage_dict",
]

# ---------------------------------------------------------------- chat conversion


def to_chat_request(body: ChatCompletionRequest | Mapping[str, Any]) -> ChatRequest:
    """An OpenAI chat body -> :class:`ChatRequest`; any problem is a 400 naming its field."""
    req = parse_body(ChatCompletionRequest, body)
    tools = _tools(req)
    if req.top_logprobs is not None and not req.logprobs:
        raise InvalidRequestError(
            "top_logprobs requires logprobs to be true",
            param="top_logprobs",
            code="invalid_value",
        )
    return ChatRequest(
        model=req.model,
        messages=_messages(req.messages),
        sampling=req.sampling(),
        sampling_given=frozenset(req.sampling_options()),
        max_tokens=(
            req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
        ),
        stop=req.stops(),
        stream=bool(req.stream),
        tools=tools,
        tool_choice=_tool_choice(req, tools),
        parallel_tool_calls=req.parallel_tool_calls is not False,
        response_format=_response_format(req.response_format),
        logprobs=(req.top_logprobs or 0) if req.logprobs else None,
        n=req.n or 1,
        progress=req.progress,
    )


def _tools(req: ChatCompletionRequest) -> tuple[Tool, ...]:
    defs = [t.function for t in req.tools] if req.tools else list(req.functions or ())
    return tuple(
        Tool(name=f.name, description=f.description or "", parameters=f.parameters or {})
        for f in defs
    )


def _tool_choice(req: ChatCompletionRequest, tools: tuple[Tool, ...]) -> ToolChoice:
    choice = req.tool_choice or req.function_call
    param = "tool_choice" if req.tool_choice else "function_call"
    if choice is None or choice.mode == "auto":
        return "auto"
    if choice.mode == "none":
        return "none"
    if not tools:
        raise InvalidRequestError(
            f"{param} is only allowed when tools are given", param=param, code="invalid_value"
        )
    if choice.mode == "required":
        return "required"
    names = [t.name for t in tools]
    if choice.name not in names:
        raise InvalidRequestError(
            f"{param} names function {choice.name!r}, which is not among the tools "
            f"({', '.join(names)})",
            param=param,
            code="invalid_value",
        )
    return choice.name


def _response_format(fmt: ResponseFormatIn | None) -> ResponseFormat:
    if fmt is None or fmt.type == "text":
        return ResponseFormat()
    if fmt.type == "json_object":
        return ResponseFormat(type="json_object")
    if fmt.json_schema is None:
        raise InvalidRequestError(
            "response_format of type 'json_schema' needs a json_schema object",
            param="response_format.json_schema",
            code="missing_required_parameter",
        )
    return ResponseFormat(type="json_schema", schema=fmt.json_schema.schema_)


_ROLES: dict[str, Literal["system", "user", "assistant", "tool"]] = {
    "system": "system",
    "developer": "system",  # o1-era name for the system prompt
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",  # the deprecated single-function result
}


def _messages(messages: list[ChatMessageIn]) -> tuple[Message, ...]:
    out: list[Message] = []
    call_names: dict[str, str] = {}  # tool_call_id -> function name, for tool results
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        text, images = _content(msg.content, where)
        calls: tuple[ToolCall, ...] = ()
        name = msg.name
        if msg.role == "assistant":
            calls = tuple(
                ToolCall(
                    id=tc.id or f"call_{i}_{j}",
                    name=tc.function.name,
                    arguments=arguments_to_text(
                        tc.function.arguments, param=f"{where}.tool_calls[{j}].function.arguments"
                    ),
                )
                for j, tc in enumerate(msg.tool_calls or ())
            )
            if msg.function_call and not calls:
                fc = msg.function_call
                args = arguments_to_text(fc.arguments, param=f"{where}.function_call.arguments")
                calls = (ToolCall(id=f"call_{i}_0", name=fc.name, arguments=args),)
            call_names.update((c.id, c.name) for c in calls)
        elif msg.role == "tool" and not name and msg.tool_call_id:
            name = call_names.get(msg.tool_call_id)  # templates that print the tool's name
        out.append(
            Message(
                role=_ROLES[msg.role],
                content=text,
                tool_calls=calls,
                tool_call_id=msg.tool_call_id if msg.role == "tool" else None,
                name=name,
                images=images,
            )
        )
    return tuple(out)


def _content(parts: list[ContentPart] | None, where: str) -> tuple[str, tuple[str, ...]]:
    texts: list[str] = []
    images: list[str] = []
    for j, part in enumerate(parts or ()):
        param = f"{where}.content[{j}]"
        if part.type == "text":
            if part.text is None:
                raise InvalidRequestError(
                    f"missing required parameter '{param}.text'",
                    param=f"{param}.text",
                    code="missing_required_parameter",
                )
            texts.append(part.text)
        elif part.type == "image_url":
            if part.image_url is None:
                raise InvalidRequestError(
                    f"missing required parameter '{param}.image_url'",
                    param=f"{param}.image_url",
                    code="missing_required_parameter",
                )
            images.append(_image(part.image_url.url, f"{param}.image_url.url"))
        elif part.type == "refusal":
            continue  # an assistant's earlier refusal: nothing for the template to show
        else:
            raise InvalidRequestError(
                f"content parts of type {part.type!r} are not supported (use text or image_url)",
                param=f"{param}.type",
                code="unsupported_value",
            )
    return "\n".join(texts), tuple(images)


def _image(url: str, param: str) -> str:
    """A data: URL -> its base64 payload. Remote URLs would need I/O this layer must not do."""
    if not url.startswith("data:"):
        raise InvalidRequestError(
            "image URLs must be inline data: URLs (base64); Ember does not fetch remote images",
            param=param,
            code="invalid_value",
            hint="send data:image/png;base64,... instead of an http(s) link",
        )
    header, _, payload = url.partition(",")
    if not header.endswith(";base64") or not payload:
        raise InvalidRequestError(
            "image data URLs must be base64 encoded (data:image/png;base64,...)",
            param=param,
            code="invalid_value",
        )
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError(
            "the image's base64 data is not valid", param=param, code="invalid_value"
        ) from None
    return payload


# ------------------------------------------------------- legacy completions, embeddings


def to_generate_requests(body: CompletionRequest | Mapping[str, Any]) -> list[GenerateRequest]:
    """A legacy completions body -> one engine request per choice (prompt x n, OpenAI's order).

    The prompt goes to the engine as written, no chat template: that is what this endpoint
    means. ``echo`` is the route's business (it prepends the prompt to the text).
    """
    req = parse_body(CompletionRequest, body)
    n = req.n or 1
    if req.suffix:
        raise InvalidRequestError(
            "suffix (fill-in-the-middle) is not supported",
            param="suffix",
            code="unsupported_value",
        )
    if req.best_of is not None and req.best_of > n:
        raise InvalidRequestError(
            "best_of greater than n is not supported", param="best_of", code="unsupported_value"
        )
    common: dict[str, Any] = {
        "max_tokens": LEGACY_COMPLETION_MAX_TOKENS if req.max_tokens is None else req.max_tokens,
        "stop": req.stops(),
        "sampling": req.sampling(),
        "logprobs": req.logprobs,
        "progress": req.progress,
    }
    out: list[GenerateRequest] = []
    for prompt in req.prompt:
        for _ in range(n):
            if isinstance(prompt, str):
                out.append(GenerateRequest(prompt=prompt, **common))
            else:
                out.append(GenerateRequest(prompt_tokens=list(prompt), **common))
    return out


def embedding_inputs(body: EmbeddingRequest | Mapping[str, Any]) -> list[str]:
    """The texts to embed, in order (``input`` as a string or a list of strings)."""
    return list(parse_body(EmbeddingRequest, body).input)
