"""Opening the chat page in the user's browser when `ember` starts (only where one can be).

On a server, over SSH or in CI there is no browser to open, and Python's webbrowser
would fall back to a text browser inside the terminal; so a browser is opened only on
macOS and Windows, or where a graphical display is set.
"""

from __future__ import annotations

import sys
import threading
import time
import webbrowser
from collections.abc import Mapping

from ember.cli.probe import ember_answers


def can_open_browser(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    if env.get("CI") or env.get("EMBER_NO_BROWSER") or env.get("SSH_CONNECTION"):
        return False
    if platform in ("darwin", "win32"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def open_when_ready(url: str, timeout_s: float = 60.0) -> threading.Thread:
    """Open ``url`` once the server there answers /health (in a background thread)."""

    def wait_then_open() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ember_answers(url):
                webbrowser.open(url)
                return
            time.sleep(0.25)

    thread = threading.Thread(target=wait_then_open, name="ember-open-browser", daemon=True)
    thread.start()
    return thread
