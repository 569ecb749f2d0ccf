"""Tools the model can call: a registry of typed Python functions, the built-ins, MCP servers.

A tool is a typed function; its JSON schema comes from its signature and docstring
(:mod:`ember.tools.registry`). The built-ins (:func:`builtin_registry`) give exact answers
where small models guess: arithmetic, text counts, dates, units, and (off by default)
running Python in a sandboxed subprocess. Tools of stdio MCP servers join a registry
through :mod:`ember.tools.mcp`.
"""

from ember.tools.builtin import builtin_registry
from ember.tools.registry import ToolError, ToolRegistry, ToolResult

__all__ = ["ToolError", "ToolRegistry", "ToolResult", "builtin_registry"]
