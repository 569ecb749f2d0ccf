"""Headings in a PDF, from the size of its type: a PDF has no heading styles, but its
section titles are set larger than its body text (LaTeX, Word, texi2pdf and most
generators do so). Without them a PDF's passages carried no heading path, so a search
could not weigh a section's title and a citation could not name the section.

Pure: the text runs of each page (size and text, as pypdf's text visitor reports them)
in, each page's heading lines with their level out. The body size is the size most of
the text is set in; every larger size, largest first, is a heading level. A line set in
a heading size, short and not a sentence's end, is a heading; consecutive lines of one
size are one heading wrapped over several lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

LARGER = 1.08  # a heading's type is at least this much larger than the body's
MAX_HEADING = 160  # characters: longer is a paragraph set large (a pull quote)
MAX_LEVELS = 6


@dataclass(frozen=True)
class Run:
    """One piece of text on a page and the size it is set in (points)."""

    size: float
    text: str


@dataclass(frozen=True)
class Heading:
    text: str
    level: int  # 1: the largest type in the document


def heading_sizes(pages: Sequence[Sequence[Run]]) -> dict[float, int]:
    """Each size larger than the body's with its level (1 for the largest); the body's
    size is the one most characters are set in."""
    weight: Counter[float] = Counter()
    for runs in pages:
        for run in runs:
            weight[round(run.size, 1)] += len(run.text.strip())
    if not weight:
        return {}
    body = weight.most_common(1)[0][0]
    larger = sorted((s for s in weight if s >= body * LARGER), reverse=True)
    return {size: level for level, size in enumerate(larger[:MAX_LEVELS], start=1)}


def page_headings(runs: Sequence[Run], sizes: dict[float, int]) -> list[Heading]:
    """The page's headings in reading order, wrapped lines joined."""
    found: list[Heading] = []
    last_level: int | None = None
    for run in runs:
        text = " ".join(run.text.split())
        level = sizes.get(round(run.size, 1))
        if not text:
            continue
        if level is None or len(text) > MAX_HEADING or text.endswith((".", ":")):
            last_level = None  # body text, or a sentence set large (a pull quote)
            continue
        if last_level == level and found:
            found[-1] = Heading(f"{found[-1].text} {text}", level)
        else:
            found.append(Heading(text, level))
        last_level = level
    return [h for h in found if len(h.text) <= MAX_HEADING]


def split_page(text: str, headings: Sequence[Heading]) -> list[Heading | str]:
    """The page's text as headings and the paragraphs between them, in order. A heading
    is matched line by line (a wrapped one spans several lines); text that matches no
    heading stays text, so nothing is lost when the runs and the text disagree."""
    out: list[Heading | str] = []
    queue = list(headings)
    lines: list[str] = []
    pending: list[str] = []  # the lines of a heading being matched
    rest = ""

    def flush() -> None:
        if lines:
            out.append("\n".join(lines))
            lines.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = " ".join(raw.split())
        if not line:
            flush()
            continue
        if queue:
            target = rest or queue[0].text
            if target == line or target.startswith(line + " "):
                pending.append(raw)
                rest = target[len(line) :].strip()
                if not rest:
                    flush()
                    out.append(queue.pop(0))
                    pending.clear()
                continue
        if pending:  # a partial match that did not finish: it was text after all
            lines.extend(pending)
            pending.clear()
            rest = ""
        lines.append(raw)
    lines.extend(pending)
    flush()
    return out
