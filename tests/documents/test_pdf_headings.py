"""Headings of a PDF from its type sizes: the pure steps, and a real PDF written with
fpdf2 (bold, larger section titles over body text, a title wrapped over two lines)
read back by Ember's extraction."""

from __future__ import annotations

from pathlib import Path

from ember.documents.extract import extract_pdf
from ember.documents.library import EMBED_VERSION, DocumentLibrary, text_version
from ember.documents.pdf_headings import (
    Heading,
    Run,
    heading_sizes,
    page_headings,
    split_page,
)

BODY = "Some body text that runs on for a while and ends with a period."


def test_every_size_larger_than_the_body_is_a_level_largest_first() -> None:
    pages = [
        [Run(20, "Title"), Run(10, BODY), Run(16, "1 Start"), Run(10, BODY), Run(9, "code")],
        [Run(13, "1.1 Detail"), Run(10, BODY * 3)],
    ]
    assert heading_sizes(pages) == {20.0: 1, 16.0: 2, 13.0: 3}
    assert heading_sizes([]) == {}


def test_wrapped_heading_lines_join_and_sentences_set_large_are_not_headings() -> None:
    sizes = {16.0: 1, 13.0: 2}
    runs = [
        Run(16, "2 A heading long enough"),
        Run(16, "to wrap"),
        Run(10, BODY),
        Run(13, "A pull quote set large ends like a sentence."),
        Run(13, "2.1 Next"),
    ]
    assert page_headings(runs, sizes) == [
        Heading("2 A heading long enough to wrap", 1),
        Heading("2.1 Next", 2),
    ]


def test_a_page_splits_into_headings_and_the_text_between() -> None:
    text = "2 A heading long enough\nto wrap\nFirst line.\nSecond line.\n\n2.1 Next\nMore."
    headings = [Heading("2 A heading long enough to wrap", 1), Heading("2.1 Next", 2)]
    assert split_page(text, headings) == [
        headings[0],
        "First line.\nSecond line.",
        headings[1],
        "More.",
    ]
    # a heading the text does not show: the text is kept whole, nothing is lost
    assert split_page("Only text.\nMore text.", [Heading("Missing", 1)]) == [
        "Only text.\nMore text."
    ]
    # a partial match that does not finish stays text
    assert split_page("2 A heading\nbut not.", [Heading("2 A heading long", 1)]) == [
        "2 A heading\nbut not."
    ]


def write_garden_pdf(path: Path) -> Path:
    """A title over two sections, in larger bold type, over body text."""
    from fpdf import FPDF  # a dev dependency

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 10, "Garden handbook", new_x="LMARGIN", new_y="NEXT")
    for section, words in (
        ("1 Tomatoes", "Tomatoes like the warm wall."),
        ("2 Beans", "Beans climb."),
    ):
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 8, section, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 5, (words + " ") * 12, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    pdf.output(str(path))
    return path


def test_a_real_pdf_gives_its_passages_their_section_path(tmp_path: Path) -> None:
    path = write_garden_pdf(tmp_path / "garden.pdf")
    extracted = extract_pdf(path.read_bytes())
    by_heading = {b.headings: extracted.text[b.start : b.end] for b in extracted.blocks}
    assert set(by_heading) == {
        ("Garden handbook", "1 Tomatoes"),
        ("Garden handbook", "2 Beans"),
    }
    assert "warm wall" in by_heading[("Garden handbook", "1 Tomatoes")]
    assert "Beans climb" in by_heading[("Garden handbook", "2 Beans")]
    assert all(b.page == 1 for b in extracted.blocks)


def test_a_pdf_read_by_the_older_extraction_is_read_again(
    tmp_path: Path, library: DocumentLibrary
) -> None:
    """A PDF stored before headings were read is stale (its text version is behind its
    kind's), and re-indexing reads the file again: its passages get their headings."""
    path = write_garden_pdf(tmp_path / "garden.pdf")
    library.add([path])
    with library.db.transaction() as tx:  # as the extraction before headings stored it
        tx.execute("UPDATE documents SET embed_version = ?", (EMBED_VERSION,))
        tx.execute("UPDATE doc_chunks SET heading = ''")
    [stale] = library.stale()
    assert stale.kind == "pdf"
    [result] = library.reindex([stale])
    assert result.status == "updated"
    assert library.stale() == []
    assert {d.embed_version for d in library.documents()} == {text_version("pdf")}
    headings = {r["heading"] for r in library.db.query("SELECT heading FROM doc_chunks")}
    assert "Garden handbook > 1 Tomatoes" in headings
    assert text_version("md") == EMBED_VERSION  # other kinds are not read again
