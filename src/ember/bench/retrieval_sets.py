"""The question sets of `ember bench retrieval`: which corpus each asks, how its
documents are made and written, and which set ``--set`` or a questions file names.

A set's texts are its documents as the scorer reads them (for a set of Word and PDF
files, what Ember's extraction reads in them); :meth:`QuestionSet.write` puts the
documents to be ingested in a folder (plain ``.txt`` files, or the set's own files).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ember.bench.manual_corpus import manual_texts, write_manuals
from ember.bench.retrieval_corpora import stdlib_docstrings_corpus, stdlib_heldout_corpus
from ember.errors import EmberError


def pick(
    texts: Mapping[str, str], names: Sequence[str] | None = None, what: str = "topics"
) -> dict[str, str]:
    """``texts`` sorted by name, all or the ``names`` given (an unknown name is an error)."""
    if names is None:
        return dict(sorted(texts.items()))
    unknown = sorted(set(names) - set(texts))
    if unknown:
        raise EmberError(f"unknown {what}: {', '.join(unknown)}")
    return {name: texts[name] for name in sorted(set(names))}


def corpus(names: Sequence[str] | None = None) -> dict[str, str]:
    """CPython's documentation topics (name -> text), all or the ``names`` given."""
    from pydoc_data.topics import topics

    return pick(topics, names, "pydoc topics")


@dataclass(frozen=True)
class QuestionSet:
    """A corpus and the questions written against it."""

    name: str  # what ``--set`` takes
    corpus: str  # the "corpus" field of its questions file
    questions: str  # its questions file, in bench/retrieval/
    documents: str  # what its documents are, for the report's first line
    description: str  # the report's "corpus" ({python}: version, {count}: documents)
    # Each document's text as the scorer sees it: for a set of files, what Ember's
    # extraction reads in them.
    texts: Callable[[], dict[str, str]]
    # A set whose documents are files (Word, PDF) writes them: (folder, names) -> paths.
    # None: each text is written as a .txt.
    files: Callable[[Path, Sequence[str]], dict[str, Path]] | None = None
    held_out: str | None = None  # why its results may not choose settings

    def corpus_texts(self, names: Sequence[str] | None = None) -> dict[str, str]:
        return pick(self.texts(), names, f"{self.name} topics")

    def write(self, texts: Mapping[str, str], folder: Path) -> list[Path]:
        """The corpus as files in ``folder``, to be ingested."""
        if self.files is None:
            return write_corpus(texts, folder)
        return list(self.files(folder, list(texts)).values())


SETS = {
    "pydoc": QuestionSet(
        "pydoc",
        "pydoc-topics",
        "questions.json",
        "CPython doc topics",
        "pydoc_data.topics of CPython {python}, one .txt per topic",
        corpus,
    ),
    "stdlib": QuestionSet(
        "stdlib",
        "stdlib-docstrings",
        "questions-stdlib.json",
        "standard-library modules' docstrings",
        "docstrings of {count} standard-library modules of CPython {python}, one .txt "
        "per module (ember.bench.retrieval_corpora)",
        stdlib_docstrings_corpus,
    ),
    "heldout": QuestionSet(
        "heldout",
        "stdlib-docstrings-heldout",
        "questions-heldout.json",
        "held-out standard-library modules' docstrings",
        "docstrings of {count} other standard-library modules of CPython {python}, held out, "
        "one .txt per module (ember.bench.retrieval_corpora)",
        stdlib_heldout_corpus,
        held_out="written after the fusion was chosen on the pydoc and stdlib sets",
    ),
    "manual": QuestionSet(
        "manual",
        "gnu-manuals",
        "questions-manual.json",
        "GNU manuals (Word and PDF)",
        "the Info manuals of {count} GNU programs installed here, written as .docx and "
        ".pdf and read by Ember's extraction (ember.bench.manual_corpus)",
        manual_texts,
        write_manuals,
        held_out="written before any tuning; never used for tuning",
    ),
}
DEFAULT_SET = "pydoc"


def choose_set(name: str | None, declared: str | None = None) -> QuestionSet:
    """The question set named by ``--set``, else the one a questions file declares in its
    "corpus" field, else the default; a file written for another corpus is an error."""
    if name is not None and name not in SETS:
        raise EmberError(f"unknown question set {name!r}", hint=f"use one of: {', '.join(SETS)}")
    by_corpus = {s.corpus: s for s in SETS.values()}
    if name is None:
        return by_corpus.get(declared or "", SETS[DEFAULT_SET])
    chosen = SETS[name]
    if declared is not None and declared != chosen.corpus:
        raise EmberError(
            f"the questions file is for the {declared!r} corpus, not {chosen.corpus!r}",
            hint="leave out --questions, or pass the questions file of that set",
        )
    return chosen


def questions_corpus(path: Path) -> str | None:
    """The corpus a questions file says it was written for (its "corpus" field)."""
    corpus_id = json.loads(path.read_text(encoding="utf-8")).get("corpus")
    return corpus_id if isinstance(corpus_id, str) else None


def write_corpus(texts: Mapping[str, str], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = folder / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
