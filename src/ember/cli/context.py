"""Per-invocation CLI state: settings and the runtime, built lazily once per command."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from ember.cli.render import RichProgress
from ember.config import Settings, load_settings
from ember.models.store import ModelRecord
from ember.runtime import Runtime, build


@dataclass
class CliState:
    home: Path | None = None
    debug: bool = False
    # Settings given as command flags (ember serve --ctx …); set before settings() is read.
    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = field(default=None, repr=False)
    _runtime: Runtime | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(home=self.home, **self.overrides)
        return self._settings

    def override(self, **values: Any) -> None:
        """Flags that override settings for this command (None: not given)."""
        given = {k: v for k, v in values.items() if v is not None}
        if given and self._runtime is None:
            self.overrides.update(given)
            self._settings = None

    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = build(self.settings())
        return self._runtime

    def register_starters(self) -> list[ModelRecord]:
        """Bring installed starter-model packages into the store (once; fast afterwards)."""
        with RichProgress() as progress:
            return self.runtime().models.ensure_starter_models(progress)


def get_state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj
