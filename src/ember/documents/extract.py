"""Text extraction: each file type becomes one text plus blocks that remember where they
are (character offsets, page, heading path). Pure over bytes/paths; no database."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ember.documents.errors import DocumentReadError, UnsupportedFileError
from ember.documents.pdf_headings import Heading, Run, heading_sizes, page_headings, split_page


@dataclass(frozen=True)
class Block:
    """A paragraph-like unit of a document: ``text[start:end]`` of the extracted text."""

    start: int
    end: int
    page: int | None = None
    headings: tuple[str, ...] = ()


@dataclass
class Extracted:
    text: str
    blocks: list[Block]
    kind: str
    title: str | None = None
    pages: int | None = None


@dataclass
class _Builder:
    """Appends blocks to one text, separated by blank lines, recording their offsets."""

    kind: str
    parts: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    length: int = 0

    def add(self, text: str, *, page: int | None = None, headings: tuple[str, ...] = ()) -> None:
        text = text.strip()
        if not text:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        self.parts.append(text)
        self.blocks.append(Block(self.length, self.length + len(text), page, headings))
        self.length += len(text)

    def build(self, title: str | None = None, pages: int | None = None) -> Extracted:
        return Extracted("".join(self.parts), self.blocks, self.kind, title, pages)


_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def paragraphs(text: str) -> list[str]:
    return [p for p in _PARAGRAPHS.split(text.replace("\r\n", "\n")) if p.strip()]


def extract_txt(data: bytes) -> Extracted:
    builder = _Builder("txt")
    for para in paragraphs(_decode(data)):
        builder.add(para)
    return builder.build()


def extract_md(data: bytes) -> Extracted:
    """Headings (``#`` … ``######``) open sections; fenced code stays one block."""
    builder = _Builder("md")
    stack: list[tuple[int, str]] = []
    title: str | None = None
    current: list[str] = []
    fence = False

    def flush() -> None:
        builder.add("\n".join(current), headings=tuple(h for _, h in stack))
        current.clear()

    for line in _decode(data).replace("\r\n", "\n").split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            current.append(line)
            continue
        heading = None if fence else _MD_HEADING.match(line)
        if heading:
            flush()
            level, name = len(heading.group(1)), heading.group(2)
            stack = [(lv, h) for lv, h in stack if lv < level] + [(level, name)]
            title = title or name
        elif not fence and not line.strip():
            flush()
        else:
            current.append(line)
    flush()
    return builder.build(title)


_HTML_BLOCKS = {"p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "figcaption"}
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_HTML_SKIP = "script, style, noscript, nav, header, footer, aside, form, svg, template"


def extract_html(data: bytes) -> Extracted:
    """The main text of a page: boilerplate (nav, header, footer, aside, scripts) removed,
    headings and paragraph-level elements kept in order (``<main>``/``<article>`` when
    the page has one)."""
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(_decode(data))
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else None
    for node in tree.css(_HTML_SKIP):
        node.decompose()
    root = tree.css_first("main") or tree.css_first("article") or tree.body
    builder = _Builder("html")
    if root is None:
        return builder.build(title)
    stack: list[tuple[int, str]] = []
    wanted = _HTML_BLOCKS | set(_HTML_HEADINGS)
    for node in root.traverse(include_text=False):
        tag = node.tag or ""
        if tag not in wanted or _inside(node, wanted, root):
            continue
        text = node.text(deep=True, separator="" if tag == "pre" else " ", strip=tag != "pre")
        text = text if tag == "pre" else re.sub(r"\s+", " ", text)
        if tag in _HTML_HEADINGS:
            level = _HTML_HEADINGS[tag]
            stack = [(lv, h) for lv, h in stack if lv < level] + [(level, text.strip())]
            title = title or text.strip()
        else:
            builder.add(text, headings=tuple(h for _, h in stack))
    return builder.build(title)


def _inside(node: object, tags: set[str], root: object) -> bool:
    parent = getattr(node, "parent", None)
    while parent is not None and parent is not root:
        if getattr(parent, "tag", None) in tags:
            return True
        parent = getattr(parent, "parent", None)
    return False


def extract_pdf(data: bytes) -> Extracted:
    """Text page by page (1-based page numbers kept); paragraphs split on blank lines;
    the lines set in larger type are the heading path (documents/pdf_headings.py)."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    builder = _Builder("pdf")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        count = len(reader.pages)
        texts: list[str] = []
        runs: list[list[Run]] = []
        for page in reader.pages:
            page_runs: list[Run] = []
            texts.append(page.extract_text(visitor_text=_collect_runs(page_runs)) or "")
            runs.append(page_runs)
        meta = reader.metadata
        title = str(meta.title) if meta and meta.title else None
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentReadError(f"cannot read PDF: {exc}") from exc
    sizes = heading_sizes(runs)
    stack: list[tuple[int, str]] = []
    for number, (text, page_runs) in enumerate(zip(texts, runs, strict=True), start=1):
        for part in split_page(text, page_headings(page_runs, sizes)):
            if isinstance(part, Heading):
                stack = [(lv, h) for lv, h in stack if lv < part.level] + [(part.level, part.text)]
                continue
            for para in paragraphs(part):
                builder.add(para, page=number, headings=tuple(h for _, h in stack))
    return builder.build(title, count)


def _collect_runs(into: list[Run]) -> Callable[..., None]:
    """pypdf's text visitor: each shown text with its size on the page (the font size
    scaled by the text and page matrices' vertical factors)."""

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            into.append(Run(float(size) * abs(tm[3] or 1.0) * abs(cm[3] or 1.0), text))

    return visit


def extract_docx(data: bytes) -> Extracted:
    """Paragraphs with Word's heading styles (Title, Heading 1…9) as the heading path;
    table rows as tab-separated lines, in the body's own order, so a table belongs to the
    section it stands in (read after every paragraph, as before, each table was filed
    under the document's last heading)."""
    import io
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentReadError(f"cannot read Word document: {exc}") from exc
    builder = _Builder("docx")
    stack: list[tuple[int, str]] = []
    title: str | None = document.core_properties.title or None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = ["\t".join(cell.text.strip() for cell in row.cells) for row in block.rows]
            builder.add("\n".join(rows), headings=tuple(h for _, h in stack))
            continue
        style = block.style.name if block.style is not None else ""
        level = 0 if style == "Title" else _heading_level(style or "")
        if level is not None and block.text.strip():
            stack = [(lv, h) for lv, h in stack if lv < level] + [(level, block.text.strip())]
            title = title or block.text.strip()
        else:
            builder.add(block.text, headings=tuple(h for _, h in stack))
    return builder.build(title)


def _heading_level(style: str) -> int | None:
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else None


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


EXTRACTORS: dict[str, Callable[[bytes], Extracted]] = {
    ".txt": extract_txt,
    ".text": extract_txt,
    ".md": extract_md,
    ".markdown": extract_md,
    ".html": extract_html,
    ".htm": extract_html,
    ".pdf": extract_pdf,
    ".docx": extract_docx,
}


def supported(path: Path) -> bool:
    return path.suffix.lower() in EXTRACTORS


def extract(path: Path, data: bytes) -> Extracted:
    extractor = EXTRACTORS.get(path.suffix.lower())
    if extractor is None:
        raise UnsupportedFileError(
            f"{path.name}: {path.suffix or 'no extension'} files are not supported",
            hint="supported: " + ", ".join(sorted(EXTRACTORS)),
        )
    return extractor(data)
