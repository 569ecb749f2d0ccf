"""The chat page's static files: every script the page loads is served as JavaScript (ES
modules run only then), each module it imports is there, none is left over, and a wheel
ships them all (the package data in pyproject.toml)."""

from __future__ import annotations

import re
import sys
from fnmatch import fnmatch
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ember.server import web

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)";""", re.M | re.S)


def client() -> TestClient:
    app = FastAPI()
    web.install(app)
    return TestClient(app)


def test_every_script_and_module_is_served_as_javascript() -> None:
    with client() as c:
        page = c.get("/")
        assert page.status_code == 200
        todo: list[str] = []
        modules: list[str] = []
        for attrs, body in SCRIPT.findall(page.text):
            assert not body.strip()  # the CSP forbids inline scripts
            src = re.search(r'src="([^"]+)"', attrs)
            assert src, attrs
            todo.append(src.group(1))
            if 'type="module"' in attrs:
                modules.append(src.group(1))
        assert modules == ["/static/js/main.js"]
        seen: set[str] = set()
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            response = c.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-type"].startswith("text/javascript"), url
            assert response.headers["cache-control"] == "no-cache", url  # no stale mixes
            base = url.rsplit("/", 1)[0]
            for target in IMPORT.findall(response.text):
                assert target.startswith("./"), (url, target)
                assert target.endswith(".js"), (url, target)
                todo.append(f"{base}/{target[2:]}")
    shipped = {
        "/static/" + p.relative_to(web.STATIC_DIR).as_posix() for p in web.STATIC_DIR.rglob("*.js")
    }
    assert seen == shipped  # no module missing, none left over


def test_the_package_data_ships_every_static_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["ember"]
    package = web.STATIC_DIR.parents[1]  # src/ember
    files = [p for p in web.STATIC_DIR.rglob("*") if p.is_file()]
    assert files
    for path in files:
        name = path.relative_to(package).as_posix()
        # setuptools globs per path segment: "static/*" does not reach "static/js/x.js".
        assert any(
            fnmatch(name, pattern) and name.count("/") == pattern.count("/") for pattern in patterns
        ), name
