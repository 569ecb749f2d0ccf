"""The chat page's ES modules (static/js/) import one another in one direction only: no
ring of imports (a module importing, through others, itself). Read from the files'
import lines, no browser needed. The calls that go up the layers go through hooks.js,
which main.js fills in: every hook is pointed at a function there."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

JS = Path(__file__).resolve().parents[2] / "src" / "ember" / "server" / "static" / "js"

# `import "./x.js"`, `import {a, b} from "./x.js"` (over several lines too), `import * as
# x from …`, and `export {a} from "./x.js"` / `export * from …`: the static edges.
SIDE_EFFECT = re.compile(r"""^[ \t]*import\s*["'](\.{1,2}/[^"']+)["']""", re.M)
FROM = re.compile(r"""^[ \t]*(?:import|export)\b[^;"'`]*?\bfrom\s*["'](\.{1,2}/[^"']+)["']""", re.M)
COMMENT = re.compile(r"/\*.*?\*/|^[ \t]*//[^\n]*", re.M | re.S)


def imports_of(text: str) -> list[str]:
    """The relative module specifiers a module's text imports, in order of appearance."""
    text = COMMENT.sub("", text)
    found = [(m.start(), m.group(1)) for m in SIDE_EFFECT.finditer(text)]
    found += [(m.start(), m.group(1)) for m in FROM.finditer(text)]
    return [spec for _, spec in sorted(found)]


def module_graph(folder: Path) -> dict[str, list[str]]:
    """Each module (path relative to `folder`) and the modules it imports."""
    graph: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.js")):
        name = path.relative_to(folder).as_posix()
        base = posixpath.dirname(name)
        targets = [
            posixpath.normpath(posixpath.join(base, s)) for s in imports_of(path.read_text())
        ]
        graph[name] = list(dict.fromkeys(targets))
    return graph


def cycles_of(graph: dict[str, list[str]]) -> list[list[str]]:
    """One cycle (a → … → a) for every back edge a depth-first walk meets."""
    cycles: list[list[str]] = []
    done: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> None:
        stack.append(node)
        for target in graph.get(node, []):
            if target in stack:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in done:
                visit(target)
        stack.pop()
        done.add(node)

    for node in graph:
        if node not in done:
            visit(node)
    return cycles


def test_the_parser_reads_every_form_of_import() -> None:
    text = """// import { no } from "./commented.js";
import { a } from "./a.js";
import {
  b,
  c,
} from './b.js';
import * as d from "./d.js";
import "./side.js";
export { e } from "../up/e.js";
export const path = "./not-an-import.js";
import { elsewhere } from "https://example.com/x.js";
"""
    assert imports_of(text) == ["./a.js", "./b.js", "./d.js", "./side.js", "../up/e.js"]


def test_the_cycle_finder_names_the_ring() -> None:
    graph = {"a.js": ["b.js"], "b.js": ["c.js"], "c.js": ["a.js", "d.js"], "d.js": []}
    assert cycles_of(graph) == [["a.js", "b.js", "c.js", "a.js"]]
    assert cycles_of({"a.js": ["b.js"], "b.js": [], "c.js": ["a.js", "b.js"]}) == []


def test_every_import_is_a_module_of_the_page() -> None:
    graph = module_graph(JS)
    assert len(graph["main.js"]) >= 5, "main.js imports the page's modules: the parser broke"
    missing = [
        f"{m} imports {t}" for m, targets in graph.items() for t in targets if t not in graph
    ]
    assert not missing, missing


def test_no_module_imports_itself_through_others() -> None:
    cycles = cycles_of(module_graph(JS))
    assert not cycles, (
        "import cycles in static/js/ (break with hooks.js or move the function down):\n"
        + "\n".join(" -> ".join(cycle) for cycle in cycles)
    )


def test_main_points_every_hook_at_a_function() -> None:
    hooks_js = (JS / "hooks.js").read_text()
    body = re.search(r"Object\.seal\(\{(.*?)\}\)", hooks_js, re.S)
    assert body, "hooks.js seals one object of hooks"
    declared = set(re.findall(r"^\s*(\w+):", COMMENT.sub("", body.group(1)), re.M))
    wiring = re.search(r"Object\.assign\(hooks, \{(.*?)\}\)", (JS / "main.js").read_text(), re.S)
    assert wiring, "main.js fills in the hooks with Object.assign(hooks, {…})"
    assigned = set(re.findall(r"\w+", wiring.group(1)))
    assert declared, "no hooks read from hooks.js: the parser broke"
    assert assigned == declared
