"""Open WebUI's default recipe as `ember bench retrieval` reproduces it: the splitter's
documented behaviour on hand-made text, then the re-implementations against the real
libraries (LangChain's splitters, docx2txt, ftfy: dev dependencies) on the real corpora,
and the ranking on hand-made vectors. No model is loaded here; the CLI run in
test_retrieval_bench.py embeds with the real all-MiniLM."""

from __future__ import annotations

import io
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import docx
import docx2txt
import ftfy
import numpy as np
import pytest
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from ember.bench import openwebui_recipe as recipe
from ember.bench.manual_corpus import MANUALS, info_files, write_manuals
from ember.bench.retrieval import SETS

HEADERS = [("#" * n, f"Header {n}") for n in range(1, 7)]


@pytest.fixture(scope="module")
def corpus_texts() -> dict[str, str]:
    """Every text set's documents (pydoc topics, both docstring corpora)."""
    texts: dict[str, str] = {}
    for name in ("pydoc", "stdlib", "heldout"):
        texts |= {f"{name}/{k}": v for k, v in SETS[name].texts().items()}
    return texts


@pytest.fixture(scope="module")
def manual_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The manual set's Word and PDF files, built from the Info manuals installed here."""
    if not all(info_files(name) for name in MANUALS):
        pytest.skip("the GNU Info manuals are not installed here")
    return write_manuals(tmp_path_factory.mktemp("manuals"))


@pytest.fixture(autouse=True)
def _quiet_langchain() -> Iterator[None]:
    """LangChain logs a warning for each chunk longer than asked (a long word)."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


# ---------------------------------------------------------------- the splitter's semantics


def _paragraphs(n: int, words: int) -> str:
    return "\n\n".join(" ".join(f"p{i}w{j}" for j in range(words)) for i in range(n))


def test_chunks_are_at_most_the_size_and_paragraphs_stay_whole_when_they_fit() -> None:
    text = _paragraphs(12, 30)  # paragraphs of ~150 characters
    chunks = recipe.recursive_split(text)
    assert all(len(c) <= recipe.CHUNK_SIZE for c in chunks)
    paragraphs = text.split("\n\n")
    for chunk in chunks:  # "\n\n" comes first: a chunk is whole paragraphs
        assert all(p in paragraphs for p in chunk.split("\n\n"))
    assert len(chunks) == 3  # six paragraphs of ~150 characters fit in 1000


def test_neighbouring_chunks_overlap_by_at_most_the_overlap() -> None:
    text = " ".join(f"word{i}" for i in range(1500))  # no newline: split on spaces
    chunks = recipe.recursive_split(text)
    assert len(chunks) > 5
    assert all(len(c) <= recipe.CHUNK_SIZE for c in chunks)
    for left, right in itertools.pairwise(chunks):
        shared = next(
            (n for n in range(min(len(left), len(right)), 0, -1) if left.endswith(right[:n])), 0
        )
        assert 0 < shared <= recipe.CHUNK_OVERLAP  # the next chunk starts inside this one
    assert {w for c in chunks for w in c.split()} == set(text.split())  # nothing lost


def test_separator_priority_newline_then_space_then_characters() -> None:
    long_line = "x" * 2500  # no separator at all: cut between characters
    assert [len(c) for c in recipe.recursive_split(long_line)] == [1000, 1000, 700]
    lines = "\n".join("y" * 300 for _ in range(6))  # one paragraph: cut at newlines
    chunks = recipe.recursive_split(lines)
    assert all(set(c) <= {"y", "\n"} and len(c) <= 1000 for c in chunks)
    assert all(not c.startswith("\n") for c in chunks)  # kept separators are stripped


def test_markdown_headers_split_and_lines_are_rejoined() -> None:
    text = "intro line\n\n# Title\nsome text\n  more\ttext\n\n## Sub\nbody\n```\n# not a head\n```"
    pieces = recipe.markdown_header_split(text)
    assert pieces == [
        "intro line",
        "# Title\nsome text\nmoretext",  # lines stripped, the tab dropped (not printable)
        "## Sub\nbody\n```\n# not a head\n```",  # no heading inside fenced code
    ]
    # Paragraphs under one heading are joined: "\n\n" is gone before the 1000/100 split.
    assert recipe.markdown_header_split("one\n\ntwo\n# H\n\nunder") == [
        "one  \ntwo",
        "# H  \nunder",
    ]
    lc = MarkdownHeaderTextSplitter(headers_to_split_on=HEADERS, strip_headers=False)
    for sample in (text, "one\n\ntwo\n# H\n\nunder"):
        assert recipe.markdown_header_split(sample) == [
            d.page_content for d in lc.split_text(sample)
        ]


def test_embedded_text_and_truncation() -> None:
    assert recipe.embedded_text("a\nb\x00c\n") == "a bc "

    def count(text: str) -> int:
        return len(text.split())

    text = " ".join(str(i) for i in range(300))
    cut = recipe.truncate(text, count, limit=12)
    assert cut == " ".join(str(i) for i in range(10))  # 10 words + [CLS] + [SEP]
    assert recipe.truncate("short text", count) == "short text"


def test_rank_is_by_cosine() -> None:
    chunks = [
        recipe.RecipeChunk("a", "x"),
        recipe.RecipeChunk("b", "y"),
        recipe.RecipeChunk("c", "z"),
    ]
    vectors = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    index = recipe.RecipeIndex(chunks, vectors, truncated=0)
    assert [c.topic for c in index.rank([0, 3], depth=2)] == ["c", "b"]
    built = recipe.build_index(chunks, lambda ts: [[2.0, 0.0] for _ in ts], lambda t: 1)
    assert np.allclose(np.linalg.norm(built.vectors, axis=1), 1.0)


# ---------------------------------------------------------------- against the real libraries


def test_splitting_equals_langchain_on_the_text_corpora(corpus_texts: dict[str, str]) -> None:
    rcts = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100, add_start_index=True)
    mhs = MarkdownHeaderTextSplitter(headers_to_split_on=HEADERS, strip_headers=False)
    for name, text in corpus_texts.items():
        fixed = recipe.fix_text(text)
        pieces = [d.page_content for d in mhs.split_text(fixed)]
        assert recipe.markdown_header_split(fixed) == pieces, name
        expected = [d.page_content for d in rcts.split_documents(mhs.split_text(fixed))]
        assert recipe.split_documents([fixed]) == expected, name


def test_fix_text_equals_ftfy(corpus_texts: dict[str, str], manual_files: dict[str, Path]) -> None:
    for name, text in corpus_texts.items():
        assert recipe.fix_text(text) == ftfy.fix_text(text), name
    assert recipe.fix_text("‘a’ “b” ﬁ Ａ\r\n\x07") == ftfy.fix_text("‘a’ “b” ﬁ Ａ\r\n\x07")
    for path in manual_files.values():
        raw = recipe.pdf_pages(path.read_bytes()) if path.suffix == ".pdf" else []
        raw += [recipe.docx_text(path.read_bytes())] if path.suffix == ".docx" else []
        for text in raw:
            assert recipe.fix_text(text) == ftfy.fix_text(text), path.name


def test_docx_text_equals_docx2txt(manual_files: dict[str, Path], tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Title", level=1)
    document.add_paragraph("one\ttab")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "cell a"
    table.rows[0].cells[1].text = "cell b"
    small = tmp_path / "small.docx"
    document.save(str(small))
    for path in [small, *(p for p in manual_files.values() if p.suffix == ".docx")]:
        assert recipe.docx_text(path.read_bytes()) == docx2txt.process(str(path)), path.name
    # The table's cells where the table stands, each a paragraph.
    assert recipe.docx_text(small.read_bytes()).endswith("one\ttab\n\ncell a\n\ncell b")


def test_load_by_file_type(manual_files: dict[str, Path], tmp_path: Path) -> None:
    txt = tmp_path / "a.txt"
    txt.write_text("it’s text\n", encoding="utf-8")
    assert recipe.load(txt) == ["it's text\n"]
    pdf = manual_files["bc"]
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert len(recipe.load(pdf)) == pages  # one document per page
    chunks = recipe.chunk_files([pdf, manual_files["gzip"]])
    assert {c.topic for c in chunks} == {"bc", "gzip"}
    assert all(len(c.text) <= recipe.CHUNK_SIZE for c in chunks)
    twin = tmp_path / "twin.txt"
    twin.write_text("it’s text\n", encoding="utf-8")  # the same content: refused
    assert [c.topic for c in recipe.chunk_files([txt, twin])] == ["a"]
