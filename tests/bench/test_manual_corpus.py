"""The "GNU manuals" corpus builder: Info parsing on a small hand-made manual (headings,
menus, paragraphs, examples, two-column tables), and the Word and PDF files it writes as
Ember's own extraction reads them. The installed manuals and the questions are checked in
test_retrieval_corpora.py."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ember.bench.manual_corpus import (
    Example,
    Paragraph,
    Table,
    info_files,
    nodes,
    parse_blocks,
    parse_manual,
    pdf_text,
    read_info,
    write_docx,
    write_manuals,
    write_pdf,
)
from ember.documents.extract import extract
from ember.errors import EmberError

INFO = """This is demo.info, produced by makeinfo.

\x1f
File: demo.info,  Node: Top,  Next: Intro,  Up: (dir)

Demo Tool
*********

This manual is for demo.

* Menu:

* Intro::                 What it is.
* Options::               Its options.

\x1f
File: demo.info,  Node: Intro,  Next: Options,  Prev: Top,  Up: Top

1 Introduction
**************

'demo' prints greetings to the standard output.  It was written
for this test.

   A second paragraph, indented as makeinfo indents them.

     $ demo --loud
     HELLO

\x1f
File: demo.info,  Node: Options,  Prev: Intro,  Up: Top

1.1 Options
===========

'-l'
'--loud'
     Print the greeting in capitals.

     The greeting is still one line.

'-q'
     Print nothing at all.

After the table.

\x1f
File: demo.info,  Node: GNU Free Documentation License,  Up: Top

Appendix A GNU Free Documentation License
*****************************************

Licence text that every manual repeats.

\x1f
Tag Table:
Node: Top\x7f1
\x1f
End Tag Table
"""


def test_nodes_and_their_bodies() -> None:
    names = [name for name, _ in nodes(INFO)]
    assert names == ["Top", "Intro", "Options", "GNU Free Documentation License"]


def test_blocks_paragraphs_examples_and_tables() -> None:
    body = dict(nodes(INFO))["Options"][4:]  # after the heading
    blocks = parse_blocks(body)
    assert isinstance(blocks[0], Table)
    first, second = blocks[0].items
    assert first.terms == ["'-l'", "'--loud'"]
    assert [d.text for d in first.description] == [
        "Print the greeting in capitals.",
        "The greeting is still one line.",
    ]
    assert second.terms == ["'-q'"]
    assert blocks[1] == Paragraph("After the table.")


def test_parse_manual_keeps_sections_drops_menus_and_the_licence() -> None:
    manual = parse_manual("demo", INFO)
    assert manual.title == "Demo Tool"
    assert [(s.level, s.title) for s in manual.sections] == [
        (1, "1 Introduction"),
        (2, "1.1 Options"),
    ]
    intro = manual.sections[0].blocks
    assert intro[0] == Paragraph(
        "'demo' prints greetings to the standard output.  It was written for this test."
    )
    assert intro[1] == Paragraph("A second paragraph, indented as makeinfo indents them.")
    assert intro[2] == Example("$ demo --loud\nHELLO")
    # Cut at a section boundary past max_chars, never inside a section.
    assert [s.title for s in parse_manual("demo", INFO, max_chars=100).sections] == [
        "1 Introduction"
    ]


def test_the_word_file_has_headings_and_a_table(tmp_path: Path) -> None:
    path = write_docx(parse_manual("demo", INFO), tmp_path / "demo.docx")
    doc = extract(path, path.read_bytes())
    assert doc.title == "Demo Tool manual"
    headings = {b.headings for b in doc.blocks}
    assert ("Demo Tool", "1 Introduction") in headings
    assert ("Demo Tool", "1 Introduction", "1.1 Options") in headings
    assert "'-l'\n'--loud'\tPrint the greeting in capitals.\nThe greeting is still" in doc.text
    assert "Licence text" not in doc.text


def test_the_pdf_has_the_text_page_by_page(tmp_path: Path) -> None:
    path = write_pdf(parse_manual("demo", INFO), tmp_path / "demo.pdf")
    doc = extract(path, path.read_bytes())
    assert doc.pages == 1
    assert doc.title == "Demo Tool manual"
    text = " ".join(doc.text.split())
    # the headings, set larger than the body, are the passages' heading path
    assert any(b.headings[-1:] == ("1.1 Options",) for b in doc.blocks), doc.blocks
    assert "1.1 Options" not in text
    assert "'demo' prints greetings to the standard output." in text
    assert "Print nothing at all." in text  # a short table: printed as a grid
    assert pdf_text("‘ſ’ → ✓") == "‘s’ ? ?"  # Windows-1252 only: the core fonts


def test_reading_info_files(tmp_path: Path) -> None:
    (tmp_path / "demo.info.gz").write_bytes(gzip.compress(b"main "))
    (tmp_path / "demo.info-2.gz").write_bytes(gzip.compress(b"two"))
    (tmp_path / "demo.info-1.gz").write_bytes(gzip.compress(b"one "))
    assert [p.name for p in info_files("demo", tmp_path)] == [
        "demo.info.gz",
        "demo.info-1.gz",
        "demo.info-2.gz",
    ]
    assert read_info("demo", tmp_path) == "main one two"
    with pytest.raises(EmberError, match="not installed"):
        read_info("nope", tmp_path)
    with pytest.raises(EmberError, match="unknown manual"):
        write_manuals(tmp_path / "out", ["nope"], info_dir=tmp_path)
