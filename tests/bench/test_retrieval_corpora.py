"""The retrieval benchmark's question sets: the "stdlib docstrings" corpus builder (and
its held-out module list), every questions file against the text of the running Python,
the --set wiring, and runs of the benchmark on a few modules with a bag-of-words stand-in
for the embedding model (no model is loaded anywhere in this file)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ember.bench.retrieval import (
    SETS,
    answer_topics,
    choose_set,
    load_questions,
    normalise,
    questions_corpus,
    render_text,
    run,
)
from ember.bench.retrieval_corpora import (
    HELDOUT_MODULES,
    MAX_CHARS,
    STDLIB_MODULES,
    module_document,
    module_entries,
    stdlib_docstrings_corpus,
    stdlib_heldout_corpus,
)
from ember.cli.app import app
from ember.documents.library import DocumentLibrary
from ember.errors import EmberError
from ember.storage import Database

BENCH = Path(__file__).parents[2] / "bench" / "retrieval"
# The snippets were copied from CPython 3.11's text; docstrings change between versions.
WRITTEN_ON = (3, 11)


# ---------------------------------------------------------------- the corpus builder


def _fake_module() -> types.ModuleType:
    module = types.ModuleType("fakemod", "The module docstring.")

    def f() -> None:
        """Doc of f."""

    def undocumented() -> None:
        pass

    class C:
        """Doc of C."""

        def method(self) -> None:
            """Doc of method."""

        def _private(self) -> None:
            """Not public."""

        def bare(self) -> None:
            pass

        @property
        def prop(self) -> int:
            """Doc of prop."""
            return 1

        @classmethod
        def make(cls) -> None:
            """Doc of make."""

    class Child(C):  # no docstring of its own: C's is not repeated
        pass

    for name, obj in {"f": f, "undocumented": undocumented, "C": C, "Child": Child}.items():
        obj.__module__ = "fakemod"
        setattr(module, name, obj)
    vars(module).update(_hidden=f, join=os.path.join)  # private; imported from elsewhere
    return module


def test_module_entries_are_own_public_documented_and_sorted() -> None:
    assert module_entries(_fake_module()) == [
        ("fakemod.C", "Doc of C."),
        ("fakemod.C.make", "Doc of make."),
        ("fakemod.C.method", "Doc of method."),
        ("fakemod.C.prop", "Doc of prop."),
        ("fakemod.f", "Doc of f."),
    ]


def test_module_document_layout_and_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fakemod", _fake_module())
    text = module_document("fakemod")
    assert text.startswith("fakemod\n\nThe module docstring.\n\nfakemod.C\n\nDoc of C.\n\n")
    assert text.endswith("fakemod.f\n\nDoc of f.\n")
    # Cut at an entry boundary, never inside one.
    short = module_document("fakemod", max_chars=60)
    assert len(short) <= 60
    assert short == "fakemod\n\nThe module docstring.\n\nfakemod.C\n\nDoc of C.\n"


def test_stdlib_corpus_is_deterministic_and_sized() -> None:
    texts = stdlib_docstrings_corpus()
    assert list(texts) == sorted(STDLIB_MODULES) == list(STDLIB_MODULES)
    assert len(texts) >= 30
    assert texts == stdlib_docstrings_corpus()
    for name, text in texts.items():
        assert text.splitlines()[0] == name  # the title line
        assert len(text) <= MAX_CHARS
    total = sum(len(t) for t in texts.values())
    assert 250_000 < total < 800_000, total  # the pydoc topics: about 465 KB
    if sys.version_info[:2] == WRITTEN_ON:
        assert 300_000 < total < 700_000, total


def test_heldout_corpus_is_other_modules_deterministic_and_sized() -> None:
    assert not set(HELDOUT_MODULES) & set(STDLIB_MODULES)
    texts = stdlib_heldout_corpus()
    assert list(texts) == sorted(HELDOUT_MODULES) == list(HELDOUT_MODULES)
    assert len(texts) >= 30
    assert texts == stdlib_heldout_corpus()
    for name, text in texts.items():
        assert text.splitlines()[0] == name
        assert len(text) <= MAX_CHARS
    total = sum(len(t) for t in texts.values())
    assert 250_000 < total < 800_000, total
    if sys.version_info[:2] == WRITTEN_ON:
        assert 300_000 < total < 500_000, total


# ---------------------------------------------------------------- the question sets


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_snippet_is_in_its_topic_on_this_python(name: str) -> None:
    """Strict on the Python the snippets were copied from; elsewhere at least 90% must
    still be found (docstrings and doc topics are edited between versions)."""
    qset = SETS[name]
    path = BENCH / qset.questions
    assert questions_corpus(path) == qset.corpus
    questions = load_questions(path)
    texts = qset.texts()
    missing = [q.id for q in questions if q.topic not in answer_topics(q, texts)]
    if sys.version_info[:2] == WRITTEN_ON:
        assert missing == []
    else:
        assert len(missing) <= 0.1 * len(questions), missing


DOCSTRING_SETS = [("stdlib", STDLIB_MODULES), ("heldout", HELDOUT_MODULES)]


@pytest.mark.parametrize(("name", "modules"), DOCSTRING_SETS)
def test_docstring_questions_are_paraphrases_spread_over_modules(
    name: str, modules: tuple[str, ...]
) -> None:
    questions = load_questions(BENCH / SETS[name].questions)
    assert len(questions) == 60
    assert len({q.id for q in questions}) == len(questions)
    topics = {q.topic for q in questions}
    assert topics <= set(modules)
    assert len(topics) >= 25
    for q in questions:
        assert 4 <= len(q.snippet.split()) <= 12, q.id
        assert normalise(q.snippet).lower() not in q.question.lower(), q.id


@pytest.mark.skipif(sys.version_info[:2] != WRITTEN_ON, reason="snippets are from 3.11")
@pytest.mark.parametrize("name", [name for name, _ in DOCSTRING_SETS])
def test_docstring_snippets_are_in_one_module_only(name: str) -> None:
    texts = SETS[name].texts()
    for q in load_questions(BENCH / SETS[name].questions):
        assert answer_topics(q, texts) == {q.topic}, q.id


def test_the_question_sets_do_not_share_questions() -> None:
    ids = [q.id for qset in SETS.values() for q in load_questions(BENCH / qset.questions)]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------- choosing a set


def test_choose_set() -> None:
    assert choose_set(None).name == "pydoc"
    assert choose_set(None, "stdlib-docstrings").name == "stdlib"
    assert choose_set(None, "something-else").name == "pydoc"
    assert choose_set("stdlib").name == "stdlib"
    assert choose_set("stdlib", "stdlib-docstrings").name == "stdlib"
    assert choose_set(None, "stdlib-docstrings-heldout").name == "heldout"
    assert choose_set("heldout", "stdlib-docstrings-heldout").name == "heldout"
    with pytest.raises(EmberError, match="not 'stdlib-docstrings-heldout'"):
        choose_set("heldout", "stdlib-docstrings")
    with pytest.raises(EmberError, match="not 'stdlib-docstrings'"):
        choose_set("stdlib", "pydoc-topics")
    with pytest.raises(EmberError, match="unknown question set"):
        choose_set("nope")


def test_corpus_texts_pick_documents() -> None:
    texts = SETS["stdlib"].corpus_texts(["heapq", "bisect"])
    assert list(texts) == ["bisect", "heapq"]
    with pytest.raises(EmberError, match="unknown stdlib topics: nope"):
        SETS["stdlib"].corpus_texts(["nope"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "nope"], "unknown question set"),
        (["--set", "stdlib", "--questions", str(BENCH / "questions.json")], "pydoc-topics"),
        (["--set", "stdlib", "-t", "nope"], "unknown stdlib topics"),
        (["--set", "heldout", "--questions", str(BENCH / "questions-stdlib.json")], "stdlib-"),
        (["--set", "heldout", "-t", "json"], "unknown heldout topics: json"),
    ],
)
def test_cli_rejects_a_bad_set_before_loading_a_model(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["bench", "retrieval", *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, EmberError)
    assert message in str(result.exception)


# ---------------------------------------------------------------- a run, no model


class BagOfWords:
    """A stand-in embedder: hashed word counts, unit length; tokens = words and marks."""

    name = "bag-of-words"

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            v = [0.0] * 64
            for word in re.findall(r"\w+", text.lower()):
                v[int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
            norm = math.sqrt(sum(x * x for x in v)) or 1.0
            vectors.append([x / norm for x in v])
        return vectors

    def close(self) -> None:
        pass


def test_run_on_the_stdlib_set_names_it(tmp_path: Path) -> None:
    qset = SETS["stdlib"]
    texts = qset.corpus_texts(["bisect", "heapq", "secrets"])
    questions = load_questions(BENCH / qset.questions)
    db = Database(tmp_path / "bench.db")
    library = DocumentLibrary(db, BagOfWords)
    try:
        data = run(library, texts, questions, tmp_path / "docs", question_set=qset)
    finally:
        library.close()
        db.close()
    assert data["set"] == "stdlib"
    assert "docstrings of 3 standard-library modules" in data["corpus"]
    assert data["questions"] == 4  # the questions about these three modules
    assert data["ingest"]["documents"] == 3
    assert data["unanswerable"] == []
    assert json.loads(json.dumps(data)) == data
    text = render_text(data)
    assert text.startswith("ember bench retrieval, set stdlib — 4 questions, 3 standard-library")


def test_run_on_the_heldout_set_names_it(tmp_path: Path) -> None:
    qset = SETS["heldout"]
    texts = qset.corpus_texts(["bz2", "lzma", "shelve"])
    questions = load_questions(BENCH / qset.questions)
    db = Database(tmp_path / "bench.db")
    library = DocumentLibrary(db, BagOfWords)
    try:
        data = run(library, texts, questions, tmp_path / "docs", question_set=qset)
    finally:
        library.close()
        db.close()
    assert data["set"] == "heldout"
    assert "docstrings of 3 other standard-library modules" in data["corpus"]
    assert data["questions"] == 4  # the questions about these three modules
    assert data["ingest"]["documents"] == 3
    assert data["unanswerable"] == []
    text = render_text(data)
    assert text.startswith("ember bench retrieval, set heldout — 4 questions, 3 held-out")
