"""The web chat page: static files shipped in the package, served by the same process.

No Node toolchain: the page is plain HTML, CSS and JavaScript; Markdown is rendered and
sanitised on the server (``server/markdown.py``).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ember.server.markdown import pygments_css

STATIC_DIR = Path(__file__).parent / "static"

# The page's script is ES modules, which browsers run only when served as JavaScript;
# the MIME table comes from the system (on Windows, the registry, where .js may be
# text/plain), so say it here.
mimetypes.add_type("text/javascript", ".js")

# The page loads nothing from elsewhere and runs only its own script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class RevalidatedStaticFiles(StaticFiles):
    """Static files the browser checks again on each load (a cheap 304 when unchanged):
    after an upgrade, the page's fourteen modules must not mix old and new versions."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def install(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "index.html",
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
        )

    @app.get("/static/pygments.css", include_in_schema=False)
    async def highlight_css() -> Response:
        return Response(pygments_css(), media_type="text/css")

    app.mount("/static", RevalidatedStaticFiles(directory=STATIC_DIR), name="static")
