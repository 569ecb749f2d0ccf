"""Corpora for `ember bench retrieval` besides CPython's documentation topics.

``stdlib docstrings``: the docstrings of a fixed list of standard-library modules, one
plain-text document per module — real prose nobody in this project wrote, shipped with
every CPython, and different text from ``pydoc_data.topics`` (the first corpus), so a
search change chosen on one question set can be checked on the other.

``stdlib docstrings, held out``: the same builder over a second, disjoint list of modules
(:data:`HELDOUT_MODULES`), for a third question set written after the search settings
were chosen on the first two, by someone who had not seen their results.

Each document: the module name as a title line, the module docstring, then for every
public class and function the module defines (sorted by name) a heading line with its
qualified name and its docstring; for a class, then each public method and property it
defines itself (sorted) that has a docstring of its own. Paragraphs are separated by a
blank line. A document is cut at an entry boundary once it passes :data:`MAX_CHARS`.
Deterministic: names are sorted and nothing depends on the hash seed; but docstrings
change between Python versions, so the text is only stable for one version.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

# Modules with rich prose docstrings, spread over the library (sorted).
STDLIB_MODULES = (
    "argparse",
    "base64",
    "bisect",
    "collections",
    "configparser",
    "contextlib",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "email.message",
    "enum",
    "functools",
    "glob",
    "hashlib",
    "heapq",
    "http.client",
    "ipaddress",
    "itertools",
    "json",
    "logging",
    "pathlib",
    "pickle",
    "queue",
    "random",
    "re",
    "secrets",
    "shutil",
    "sqlite3",
    "statistics",
    "subprocess",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "traceback",
    "unittest.mock",
    "urllib.parse",
    "uuid",
    "zipfile",
)
# A second list, disjoint from the first, for the held-out set (sorted).
HELDOUT_MODULES = (
    "array",
    "ast",
    "asyncio",
    "bz2",
    "calendar",
    "cmd",
    "codecs",
    "concurrent.futures",
    "doctest",
    "fileinput",
    "ftplib",
    "http.cookiejar",
    "http.server",
    "imaplib",
    "inspect",
    "io",
    "locale",
    "lzma",
    "mailbox",
    "math",
    "mimetypes",
    "operator",
    "optparse",
    "os",
    "pdb",
    "platform",
    "shelve",
    "signal",
    "smtplib",
    "socket",
    "socketserver",
    "ssl",
    "struct",
    "time",
    "timeit",
    "urllib.request",
    "weakref",
    "xml.etree.ElementTree",
)
# Per document: a guard. On 3.11 the longest of the first list (logging) is 25 KB; of
# the held-out list, asyncio (62 KB whole) is the one document cut.
MAX_CHARS = 30_000


def _owned(module: str, obj: object) -> bool:
    """Whether ``obj`` is the module's own: defined in it, in one of its submodules (a
    package such as ``json``), or in its C accelerator (``_heapq`` for ``heapq``) —
    not something it imported from elsewhere."""
    where = getattr(obj, "__module__", None)
    return isinstance(where, str) and (
        where == module or where.startswith(module + ".") or where == "_" + module
    )


def _own_doc(obj: object) -> str:
    """The docstring ``obj`` itself has (cleaned), not one inherited from a base class."""
    doc = vars(obj).get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else ""


def _members(cls: type) -> list[tuple[str, str]]:
    """(name, docstring) of the public methods and properties ``cls`` defines itself."""
    out = []
    for name in sorted(vars(cls)):
        if name.startswith("_"):
            continue
        attr = vars(cls)[name]
        if isinstance(attr, (classmethod, staticmethod)):
            attr = attr.__func__
        if inspect.isroutine(attr) or isinstance(attr, property):
            doc = _own_doc(attr)
            if doc:
                out.append((name, doc))
    return out


def module_entries(module: ModuleType) -> list[tuple[str, str]]:
    """(heading, docstring) for the module's public classes and functions, sorted, each
    class followed by its documented methods; undocumented entries are left out."""
    name = module.__name__
    entries: list[tuple[str, str]] = []
    for attr in sorted(vars(module)):
        obj = vars(module)[attr]
        if attr.startswith("_") or not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue
        if not _owned(name, obj):
            continue
        doc = _own_doc(obj)
        members = _members(obj) if inspect.isclass(obj) else []
        if doc or members:
            entries.append((f"{name}.{attr}", doc))
        entries += [(f"{name}.{attr}.{m}", d) for m, d in members]
    return entries


def module_document(name: str, max_chars: int = MAX_CHARS) -> str:
    """One module's document: title, module docstring, then its entries, cut at the
    first entry that would take it past ``max_chars``."""
    module = importlib.import_module(name)
    parts = [name]
    if doc := _own_doc(module):
        parts.append(doc)
    size = sum(len(p) + 2 for p in parts)
    for heading, doc in module_entries(module):
        entry = f"{heading}\n\n{doc}" if doc else heading
        if size + len(entry) + 2 > max_chars:
            break
        parts.append(entry)
        size += len(entry) + 2
    return "\n\n".join(parts) + "\n"


def stdlib_docstrings_corpus(modules: tuple[str, ...] = STDLIB_MODULES) -> dict[str, str]:
    """The "stdlib docstrings" corpus of this Python: module name -> document text."""
    return {name: module_document(name) for name in sorted(modules)}


def stdlib_heldout_corpus() -> dict[str, str]:
    """The "stdlib docstrings, held out" corpus: the same builder over
    :data:`HELDOUT_MODULES`."""
    return stdlib_docstrings_corpus(HELDOUT_MODULES)
