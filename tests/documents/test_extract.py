from __future__ import annotations

from pathlib import Path

import pytest

from ember.documents.errors import DocumentReadError, UnsupportedFileError
from ember.documents.extract import extract
from tests.documents.samples import write_docx, write_pdf


def blocks(doc: object) -> list[tuple[str, int | None, tuple[str, ...]]]:
    text = doc.text  # type: ignore[attr-defined]
    return [(text[b.start : b.end], b.page, b.headings) for b in doc.blocks]  # type: ignore[attr-defined]


def test_txt_paragraphs(tmp_path: Path) -> None:
    doc = extract(tmp_path / "a.txt", b"Hello there.\r\n\r\nSecond  para\nwith two lines.")
    assert blocks(doc) == [("Hello there.", None, ()), ("Second  para\nwith two lines.", None, ())]


def test_markdown_heading_path_and_code_fence(tmp_path: Path) -> None:
    md = b"# Title\n\nIntro.\n\n## Sub\n\n```\n# not a heading\n\nstill code\n```\n\n# Next\ntext"
    doc = extract(tmp_path / "a.md", md)
    assert doc.title == "Title"
    assert blocks(doc) == [
        ("Intro.", None, ("Title",)),
        ("```\n# not a heading\n\nstill code\n```", None, ("Title", "Sub")),
        ("text", None, ("Next",)),
    ]


def test_html_main_text_without_boilerplate(tmp_path: Path) -> None:
    html = b"""<html><head><title>Page</title><style>p{}</style></head><body>
    <nav>Home | About</nav><main><h1>Guide</h1><p>Intro <b>bold</b>
    text.</p><h2>Install</h2><ul><li>Step <p>one</p></li><li>two</li></ul></main>
    <footer>Copyright</footer><script>var x = 1;</script></body></html>"""
    doc = extract(tmp_path / "a.html", html)
    assert doc.title == "Page"
    assert blocks(doc) == [
        ("Intro bold text.", None, ("Guide",)),
        ("Step one", None, ("Guide", "Install")),
        ("two", None, ("Guide", "Install")),
    ]
    assert "Copyright" not in doc.text
    assert "Home" not in doc.text
    assert "var x" not in doc.text


def test_pdf_keeps_page_numbers(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "a.pdf", [["Alpha page text."], ["Beta (second) page."]])
    doc = extract(path, path.read_bytes())
    assert doc.pages == 2
    assert blocks(doc) == [("Alpha page text.", 1, ()), ("Beta (second) page.", 2, ())]


def test_docx_headings_and_paragraphs(tmp_path: Path) -> None:
    path = write_docx(
        tmp_path / "a.docx",
        [("Scope", ["This contract covers repairs."]), ("Fees", ["Fees are due monthly."])],
        title="Contract",
    )
    doc = extract(path, path.read_bytes())
    assert doc.title == "Contract"
    assert blocks(doc) == [
        ("This contract covers repairs.", None, ("Contract", "Scope")),
        ("Fees are due monthly.", None, ("Contract", "Fees")),
    ]


def test_broken_pdf_and_docx_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DocumentReadError, match="cannot read PDF"):
        extract(tmp_path / "x.pdf", b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(DocumentReadError, match="Word"):
        extract(tmp_path / "x.docx", b"not a zip")


def test_unsupported_type_names_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        extract(tmp_path / "x.xlsx", b"")
    assert ".xlsx" in info.value.message
    assert ".pdf" in (info.value.hint or "")


def test_a_docx_table_belongs_to_the_section_it_stands_in(tmp_path: Path) -> None:
    """Tables are read in the body's order: a table in the first section is filed under
    that section's heading, not under the document's last one."""
    import docx

    document = docx.Document()
    document.add_heading("Options", level=1)
    table = document.add_table(rows=2, cols=2)
    for r, (flag, meaning) in enumerate([("-c", "count the matching lines"), ("-v", "invert")]):
        table.cell(r, 0).text = flag
        table.cell(r, 1).text = meaning
    document.add_heading("Reporting bugs", level=1)
    document.add_paragraph("Send reports to the mailing list.")
    path = tmp_path / "manual.docx"
    document.save(str(path))
    found = {
        text.split("\n")[0]: headings
        for text, _, headings in blocks(extract(path, path.read_bytes()))
    }
    assert found["-c\tcount the matching lines"] == ("Options",)
    assert found["Send reports to the mailing list."] == ("Reporting bugs",)
