"""Is Ember answering at this URL? The one probe every command uses (plain ``ember``,
``ember chat``, ``ember doctor``, opening the browser)."""

from __future__ import annotations

import httpx


def ember_answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when ``url``/health answers 200 with Ember's ``{"status": "ok"}``; anything
    else on that port (another program, a non-JSON page, nothing) is False."""
    try:
        response = httpx.get(f"{url}/health", timeout=timeout_s)
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(body, dict) and body.get("status") == "ok"


def server_url(host: str, port: int) -> str | None:
    """The URL of an Ember server answering on ``host:port``, if one does."""
    url = f"http://{host}:{port}"
    return url if ember_answers(url) else None
