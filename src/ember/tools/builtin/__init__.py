"""Ember's built-in tools and the registry that holds them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ember.tools.builtin.calculator import calculator
from ember.tools.builtin.code import CodeLimits, make_run_python
from ember.tools.builtin.dates import add_days, days_between, make_today, weekday
from ember.tools.builtin.documents import DocumentSearch, make_search_documents
from ember.tools.builtin.text import TEXT_TOOLS
from ember.tools.builtin.units import convert_units
from ember.tools.registry import ToolRegistry


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def builtin_registry(
    *,
    code: bool = False,
    documents: DocumentSearch | None = None,
    code_limits: CodeLimits | None = None,
    clock: Callable[[], dt.datetime] = _now,
) -> ToolRegistry:
    """The built-in tools: calculator, text, dates, units; ``run_python`` only when
    ``code`` is true (it runs model-written code); ``search_documents`` when a document
    library is given."""
    registry = ToolRegistry()
    # The number tools first: measured with Qwen2.5-Coder-0.5B, with convert_units last
    # (after the counting tools) it answered "How many inches is 223 centimeters?" by
    # counting letters.
    registry.register(calculator)
    registry.register(convert_units)
    registry.register(make_today(clock), name="today")
    registry.register(days_between)
    registry.register(add_days)
    registry.register(weekday)
    for func in TEXT_TOOLS:
        registry.register(func)
    if code:
        registry.register(make_run_python(code_limits), name="run_python")
    if documents is not None:
        registry.register(make_search_documents(documents), name="search_documents")
    return registry


__all__ = ["CodeLimits", "builtin_registry"]
