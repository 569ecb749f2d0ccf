"""Output constraints as GBNF (pure): JSON mode and JSON Schema via llama-cpp-python's converter."""

from __future__ import annotations

import json

from ember.chat.types import ResponseFormat
from ember.errors import EmberError


class InvalidSchemaError(EmberError):
    status = 400
    code = "invalid_json_schema"


def grammar_for(response_format: ResponseFormat) -> str | None:
    """GBNF that forces the answer to parse as JSON (matching the schema when one is given)."""
    if response_format.type == "text":
        return None
    from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

    if response_format.type == "json_object" or not response_format.schema:
        return str(JSON_GBNF)
    try:
        return str(json_schema_to_gbnf(json.dumps(response_format.schema)))
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InvalidSchemaError(
            f"the JSON schema cannot be turned into a grammar: {exc}",
            hint="use standard JSON Schema keywords (type, properties, required, items, enum)",
        ) from exc
