"""What both wire formats share: request-error reporting and tool-argument conversion (pure).

Both APIs answer a malformed body with HTTP 400 and a message that names the offending
field, so pydantic's validation errors are translated here, once, into
:class:`InvalidRequestError` with an OpenAI-style ``param`` path (``messages[0].role``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ember.errors import EmberError

ModelT = TypeVar("ModelT", bound=BaseModel)


class InvalidRequestError(EmberError):
    """A request body the API cannot accept. ``param`` names the field, when one is to blame.

    ``code`` follows OpenAI's vocabulary (``invalid_value``, ``invalid_type``,
    ``missing_required_parameter``, ``unsupported_value``) so OpenAI clients can branch on it.
    """

    status = 400
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.param = param
        if code is not None:
            self.code = code


class ToolArgumentsError(EmberError):
    """The model wrote tool-call arguments that are not a JSON object (Ollama needs one)."""

    status = 500
    code = "invalid_tool_arguments"


def param_path(loc: Sequence[int | str]) -> str:
    """``("messages", 0, "role")`` -> ``messages[0].role``: how OpenAI names a field."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


_CODES = {
    "missing": "missing_required_parameter",
    "literal_error": "invalid_value",
    "value_error": "invalid_value",
    "greater_than_equal": "invalid_value",
    "less_than_equal": "invalid_value",
    "greater_than": "invalid_value",
    "less_than": "invalid_value",
    "too_short": "invalid_value",
}


def parse_body(model: type[ModelT], body: object) -> ModelT:
    """Validate a decoded JSON body, turning the first problem into a 400 that names its field.

    Accepts an already-parsed model too, so callers can pass either what FastAPI gave them
    or the raw dict.
    """
    if isinstance(body, model):
        return body
    if not isinstance(body, Mapping):
        raise InvalidRequestError(
            f"the request body must be a JSON object, not {type(body).__name__}",
            code="invalid_type",
        )
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _from_validation(exc) from None


def _from_validation(exc: ValidationError) -> InvalidRequestError:
    first = exc.errors(include_url=False)[0]
    param = param_path(first["loc"]) or None
    kind = first["type"]
    msg = str(first["msg"])
    if msg.startswith("Value error, "):  # our own validators' ValueErrors
        msg = msg[len("Value error, ") :]
    if kind == "missing":
        text = f"missing required parameter '{param}'"
    elif param:
        text = f"invalid value for '{param}': {msg}"
    else:
        text = msg
    is_type = kind.endswith(("_type", "_parsing")) or kind == "int_from_float"
    code = _CODES.get(kind, "invalid_type" if is_type else "invalid_value")
    return InvalidRequestError(text, param=param, code=code)


def arguments_to_text(arguments: object, *, param: str) -> str:
    """Tool-call arguments as JSON text (Ember's form), from a JSON object or JSON text.

    OpenAI sends text, Ollama an object; some clients send the other. Text must parse as
    JSON so the chat template renders a well-formed call back to the model.
    """
    if isinstance(arguments, str):
        if not arguments.strip():
            return "{}"
        try:
            json.loads(arguments)
        except ValueError:
            raise InvalidRequestError(
                f"invalid value for '{param}': tool-call arguments must be valid JSON",
                param=param,
                code="invalid_value",
            ) from None
        return arguments
    if arguments is None:
        return "{}"
    if isinstance(arguments, Mapping):
        return json.dumps(arguments, ensure_ascii=False)
    raise InvalidRequestError(
        f"invalid value for '{param}': tool-call arguments must be a JSON object or JSON text",
        param=param,
        code="invalid_type",
    )


def arguments_to_object(arguments: str, *, name: str) -> dict[str, Any]:
    """JSON text -> the object Ollama's ``function.arguments`` carries."""
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ToolArgumentsError(
            f"the model's arguments for tool {name!r} are not a JSON object: {arguments[:200]!r}",
            hint="retry the request, or use a model with better tool-calling support",
        )
    return value


def with_hint(exc: EmberError) -> str:
    """The message a client shows: API clients print one string, so the hint rides along."""
    return f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message


def shorten(vector: Sequence[float], dimensions: int | None) -> list[float]:
    """``dimensions`` (OpenAI's and Ollama's): keep the first N and re-normalise
    (Matryoshka-style), as both APIs do for models trained that way."""
    if dimensions is None or dimensions >= len(vector):
        return list(vector)
    head = list(vector[:dimensions])
    norm = math.sqrt(sum(x * x for x in head))
    return [x / norm for x in head] if norm > 0 else head
