"""The "GNU manuals" corpus of `ember bench retrieval --set manual`: long user manuals,
as Word and PDF files, built when the benchmark runs.

The text is real and nobody in this project wrote it: the Info manuals of GNU programs
that Debian installs with the programs themselves (``/usr/share/info/grep.info.gz``…,
under the GNU Free Documentation License). It is a different kind of text from the
other three sets (Python's reference and docstrings): manuals for people at a shell,
with chapters, sections and option tables. Each manual is parsed into sections (Info's
underlined headings), paragraphs, examples and the two-column tables of Texinfo's
``@table`` (an option and what it does), then written as a ``.docx`` (Word headings,
Word tables) or a ``.pdf`` (headings set in bold, tables as grids when their rows are
short, else as a term and an indented description, as ``texi2pdf`` prints them), so
Ember's own PDF and DOCX extraction reads them. The licence appendix and the indices
are left out (the same text in every manual); a manual is cut at a section boundary
past :data:`MAX_CHARS`.

Deterministic for one set of installed manuals; other Debian releases ship other
versions, so the questions' snippets are checked against the running machine's text
(``tests/bench/test_retrieval_corpora.py``).
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ember.errors import EmberError

INFO_DIR = Path("/usr/share/info")
# Manual -> the format it is written in. Mixed on purpose: Ember reads Word headings
# and tables, and PDF pages without either.
MANUALS: dict[str, str] = {
    "bc": "pdf",
    "diffutils": "docx",
    "ed": "pdf",
    "grep": "docx",
    "gzip": "docx",
    "sed": "pdf",
    "time": "docx",
    "wget": "pdf",
}
MAX_CHARS = 60_000
_SKIPPED_NODES = re.compile(r"Index|GNU Free Documentation License|Copying", re.IGNORECASE)
_UNDERLINES = {"*": 1, "=": 2, "-": 3, ".": 4}
_NODE_HEADER = re.compile(r"^File: [^,]+,\s+Node: ([^,\n]+)")
_MENU_ENTRY = re.compile(r"^\* ")
_TERM_MAX = 60  # a table's term line is short; a paragraph line is filled to ~72


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Example:
    """Preformatted lines (a shell session, a sed script): kept as they are."""

    text: str


@dataclass
class TableItem:
    terms: list[str]
    description: list[Paragraph | Example] = field(default_factory=list)


@dataclass
class Table:
    items: list[TableItem] = field(default_factory=list)


Block = Paragraph | Example | Table


@dataclass
class Section:
    level: int  # 1 chapter, 2 section, 3 subsection, 4 subsubsection
    title: str
    blocks: list[Block] = field(default_factory=list)

    def size(self) -> int:
        return len(self.title) + sum(_block_size(b) for b in self.blocks)


@dataclass
class Manual:
    name: str
    title: str
    sections: list[Section]


def _block_size(block: Block) -> int:
    if isinstance(block, Table):
        return sum(
            sum(map(len, i.terms)) + sum(len(d.text) for d in i.description) for i in block.items
        )
    return len(block.text)


# ---------------------------------------------------------------- reading Info (pure)


def info_files(name: str, folder: Path = INFO_DIR) -> list[Path]:
    """The files of one Info manual in order: ``name.info.gz`` and its parts
    (``name.info-1.gz``…), compressed or not."""
    parts = sorted(
        folder.glob(f"{name}.info-*"), key=lambda p: int(re.sub(r"\D", "", p.name.split("-")[-1]))
    )
    main = [p for p in (folder / f"{name}.info.gz", folder / f"{name}.info") if p.is_file()]
    return main[:1] + parts


def read_info(name: str, folder: Path = INFO_DIR) -> str:
    """The text of one Info manual (all its parts, in order)."""
    files = info_files(name, folder)
    if not files:
        raise EmberError(
            f"the {name} manual is not installed ({folder}/{name}.info.gz)",
            hint="the manual set reads the GNU manuals Debian installs with grep, sed…",
        )
    return "".join(
        (gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()).decode(
            "utf-8", errors="replace"
        )
        for p in files
    )


def nodes(info: str) -> list[tuple[str, list[str]]]:
    """(node name, body lines) of every node, in order; the tag tables and the file's
    preamble are not nodes."""
    out = []
    for segment in info.split("\x1f\n"):
        lines = segment.split("\n")
        match = _NODE_HEADER.match(lines[0])
        if match:
            out.append((match.group(1).strip(), lines[1:]))
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _without_menus(lines: list[str]) -> list[str]:
    """``* Menu:`` and its entries (links to other nodes, not text) removed."""
    out: list[str] = []
    in_menu = False
    for line in lines:
        if line.startswith("* Menu:"):
            in_menu = True
            continue
        if in_menu:
            if not line.strip() or _MENU_ENTRY.match(line) or _indent(line) >= 8:
                continue
            if line.strip().startswith("---") or line.strip().startswith("—"):
                continue  # "--- The Detailed Node Listing ---" and group titles
            in_menu = False
        out.append(line)
    return out


def _heading(lines: list[str]) -> tuple[int, str, list[str]] | None:
    """The node's underlined heading (level, title) and the lines after it."""
    for i in range(len(lines) - 1):
        title, under = lines[i], lines[i + 1]
        if (
            title.strip()
            and under
            and under[0] in _UNDERLINES
            and set(under) == {under[0]}
            and abs(len(under) - len(title)) <= 2
        ):
            return _UNDERLINES[under[0]], title.strip(), lines[i + 2 :]
    return None


def _blocks_of_lines(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _unwrap(lines: Sequence[str]) -> str:
    return " ".join(line.strip() for line in lines)


def _dedent(lines: Sequence[str], by: int) -> str:
    return "\n".join(line[by:] if _indent(line) >= by else line.lstrip() for line in lines)


def _table_item(block: list[str]) -> TableItem | None:
    """A block that opens an item of a two-column table: term lines at the block's
    indent, then the description indented five more (makeinfo's ``@table``)."""
    base = _indent(block[0])
    for i, line in enumerate(block):
        if _indent(line) == base + 5 and i > 0:
            terms = block[:i]
            if all(_indent(t) == base and len(t.strip()) <= _TERM_MAX for t in terms):
                return TableItem([t.strip() for t in terms], [_description(block[i:], base + 5)])
            return None
        if _indent(line) != base:
            return None
    return None


def _description(lines: list[str], base: int) -> Paragraph | Example:
    """A paragraph of a table item's description, or an example inside it."""
    if all(_indent(line) == base for line in lines):
        return Paragraph(_unwrap(lines))
    return Example(_dedent(lines, base))


def parse_blocks(lines: list[str]) -> list[Block]:
    """A node's body as paragraphs, examples and tables.

    makeinfo indents a paragraph's first line by 3 (or 0) and fills it; an example by 5;
    a table item is its term lines followed by the description indented by 5, whose
    further paragraphs and examples stay indented until the table ends."""
    blocks: list[Block] = []
    table: Table | None = None
    for block in _blocks_of_lines(lines):
        least = min(_indent(line) for line in block)
        item = _table_item(block) if least < 5 or table is None else None
        if item is None and table is not None and least >= 5 and table.items:
            table.items[-1].description.append(_description(block, 5))
            continue
        if item is not None and least == 0:
            if table is None:
                table = Table()
                blocks.append(table)
            table.items.append(item)
            continue
        table = None
        if least >= 5:
            blocks.append(Example(_dedent(block, 5)))
        else:
            blocks.append(Paragraph(_unwrap(block)))
    return blocks


def parse_manual(name: str, info: str, max_chars: int = MAX_CHARS) -> Manual:
    """A manual from its Info text: its title (the Top node's heading), then one section
    per node with a heading, in order, cut at the first section past ``max_chars``."""
    title = name
    sections: list[Section] = []
    size = 0
    for node, lines in nodes(info):
        found = _heading(_without_menus(lines))
        if node == "Top":
            if found:
                title = found[1]
            continue
        if found is None or _SKIPPED_NODES.search(node):
            continue
        level, heading, body = found
        section = Section(level, heading, parse_blocks(body))
        if sections and size + section.size() > max_chars:
            break
        sections.append(section)
        size += section.size()
    return Manual(name, title, sections)


# ---------------------------------------------------------------- writing documents


def write_docx(manual: Manual, path: Path) -> Path:
    """The manual as a Word document: Title, Heading 1-4, paragraphs, tables."""
    import docx

    document = docx.Document()
    document.core_properties.title = f"{manual.title} manual"
    document.add_heading(manual.title, level=0)
    for section in manual.sections:
        document.add_heading(section.title, level=section.level)
        for block in section.blocks:
            if isinstance(block, Table):
                table = document.add_table(rows=0, cols=2)
                table.style = "Table Grid"
                for item in block.items:
                    left, right = table.add_row().cells
                    left.text = "\n".join(item.terms)
                    right.text = item.description[0].text
                    for more in item.description[1:]:
                        right.add_paragraph(more.text)
            else:
                document.add_paragraph(block.text)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


_PDF_REPLACEMENTS = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
_GRID_MAX = 500  # a table whose descriptions are all this short is printed as a grid


def pdf_text(text: str) -> str:
    """``text`` in the Windows-1252 repertoire of the PDF core fonts: curly quotes kept,
    other characters decomposed (é stays, ſ becomes s) or replaced by '?'."""
    out = []
    for char in text.replace("\t", "    "):
        try:
            char.encode("cp1252")
            out.append(char)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("cp1252", "ignore").decode("cp1252")
            out.append(plain or "?")
    return "".join(out)


def write_pdf(manual: Manual, path: Path) -> Path:
    """The manual as a PDF: A4, core fonts, bold headings, examples in Courier; short
    tables as grids, long ones as a bold term over an indented description."""
    try:
        from fpdf import FPDF
    except ImportError as exc:  # the bench extra: the manual set is a developer's bench
        raise EmberError(
            "writing the manual set's PDF files needs fpdf2", hint="pip install 'ember-ai[bench]'"
        ) from exc

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_title(f"{manual.title} manual")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_margins(20, 15, 20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 10, pdf_text(manual.title), new_x="LMARGIN", new_y="NEXT")
    sizes = {1: 16, 2: 13, 3: 11.5, 4: 11}
    for section in manual.sections:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", sizes[section.level])
        pdf.multi_cell(0, 7, pdf_text(section.title), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        for block in section.blocks:
            _pdf_block(pdf, block)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _pdf_block(pdf: object, block: Block) -> None:
    from fpdf import FPDF

    assert isinstance(pdf, FPDF)
    if isinstance(block, Paragraph):
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 5, pdf_text(block.text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    elif isinstance(block, Example):
        pdf.set_font("Courier", "", 9)
        pdf.set_x(pdf.l_margin + 6)
        pdf.multi_cell(0, 4.5, pdf_text(block.text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    elif all(sum(len(d.text) for d in i.description) <= _GRID_MAX for i in block.items):
        pdf.set_font("Helvetica", "", 9.5)
        with pdf.table(col_widths=(30, 70), first_row_as_headings=False) as table:
            for item in block.items:
                row = table.row()
                row.cell(pdf_text("\n".join(item.terms)))
                row.cell(pdf_text("\n\n".join(d.text for d in item.description)))
        pdf.ln(2)
    else:
        for item in block.items:
            pdf.set_font("Helvetica", "B", 10)
            pdf.multi_cell(0, 5, pdf_text("\n".join(item.terms)), new_x="LMARGIN", new_y="NEXT")
            for part in item.description:
                pdf.set_font("Courier" if isinstance(part, Example) else "Helvetica", "", 10)
                pdf.set_x(pdf.l_margin + 10)
                pdf.multi_cell(0, 5, pdf_text(part.text), new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1)
            pdf.ln(1)


# ---------------------------------------------------------------- the corpus


def manual_names() -> list[str]:
    return sorted(MANUALS)


def write_manuals(
    folder: Path, names: Sequence[str] | None = None, info_dir: Path = INFO_DIR
) -> dict[str, Path]:
    """Write the chosen manuals (default: all of :data:`MANUALS`) into ``folder`` as
    ``grep.docx``, ``sed.pdf``…; name -> path."""
    out = {}
    for name in sorted(names if names is not None else MANUALS):
        if name not in MANUALS:
            raise EmberError(f"unknown manual: {name}", hint=f"one of: {', '.join(MANUALS)}")
        manual = parse_manual(name, read_info(name, info_dir))
        target = folder / f"{name}.{MANUALS[name]}"
        out[name] = (
            write_docx(manual, target) if MANUALS[name] == "docx" else write_pdf(manual, target)
        )
    return out


def manual_texts(names: Sequence[str] | None = None) -> dict[str, str]:
    """Each manual's text as Ember's extraction reads it from the file written for it
    (what questions and hits are checked against)."""
    import tempfile

    from ember.documents.extract import extract

    with tempfile.TemporaryDirectory(prefix="ember-manuals-") as tmp:
        paths = write_manuals(Path(tmp), names)
        return {name: extract(path, path.read_bytes()).text for name, path in paths.items()}
