"""Model answers as safe HTML: Markdown (markdown-it-py), code highlighted by Pygments,
then sanitised by nh3.

Two layers of safety: raw HTML in the model's text is not interpreted by the Markdown
parser (it becomes text), and whatever HTML comes out is cleaned against an allow-list,
so an answer containing ``<script>`` or ``onerror=`` is shown, never run.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul", "div",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "div": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "td": {"style"},
    "th": {"style"},
    "ol": {"start"},
}
ALLOWED_STYLES = {"text-align"}


def _highlight(code: str, lang: str, _attrs: str) -> str:
    language = (lang or "").strip().split()[0] if lang else ""
    try:
        lexer = get_lexer_by_name(language) if language else None
    except ClassNotFound:
        lexer = None
    label = escape(language or "text")
    body = escape(code) if lexer is None else highlight(code, lexer, HtmlFormatter(nowrap=True))
    return f'<pre class="code highlight"><code class="language-{label}">{body}</code></pre>'


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "highlight": _highlight})
    md.enable(["table", "strikethrough"])
    return md


def render_markdown(text: str) -> str:
    """Safe HTML for ``text`` (a model's answer, or anything else untrusted)."""
    html = _parser().render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        filter_style_properties=ALLOWED_STYLES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


@lru_cache(maxsize=1)
def pygments_css() -> str:
    """Highlighting colours for light and dark themes (the page picks by a data attribute)."""
    light = HtmlFormatter(style="friendly").get_style_defs(":root .highlight")
    dark = HtmlFormatter(style="monokai").get_style_defs('[data-theme="dark"] .highlight')
    return f"{light}\n{dark}\n"
