"""Item text from raw fields: HTML removed, entities decoded, whitespace collapsed, fields joined.

One cleaner for every loader that reads item text written for web pages (Amazon metadata, RecBole
``.item`` files, the ``.item.json`` of LLM-recommendation repositories, a user's own CSV).
Markup is removed with the standard library's :class:`html.parser.HTMLParser` (a tolerant
tokenizer, not a regular expression): ``<b>best</b>`` -> ``best``, ``<br/>`` -> a space, the
contents of ``<script>``/``<style>`` dropped, and a tag left open at the end of a field
(``'Card <span class="a"'``, a truncated scrape) dropped with everything after its ``<``; a ``<``
that does not start a tag (``5 < 6``, ``<3``) is text and kept.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from html.parser import HTMLParser

__all__ = ["clean_text", "join_parts"]

#: what starts a tag, an end tag, a comment or a declaration for HTMLParser
_TAG_START = re.compile(r"<[A-Za-z/!?]")
_SKIP_CONTENT = ("script", "style")


class _TextOnly(HTMLParser):
    """Collects character data; every tag becomes a space; script/style bodies are skipped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.parts.append(" ")
        if tag in _SKIP_CONTENT:
            self._skip += 1

    def handle_endtag(self, tag):
        self.parts.append(" ")
        if tag in _SKIP_CONTENT and self._skip:
            self._skip -= 1

    def handle_startendtag(self, tag, attrs):
        self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)

    def text(self, source: str) -> str:
        self.feed(source)
        # what the tokenizer still holds is an unfinished construct; an open tag ('<span ...'
        # with no '>') is markup cut short, anything else ('a <3') is text
        rest = self.rawdata[self.rawdata.find("<", 0) :] if "<" in self.rawdata else ""
        if rest and _TAG_START.match(rest):
            self.rawdata = self.rawdata[: len(self.rawdata) - len(rest)]
        self.close()
        return "".join(self.parts)


def clean_text(value) -> str:
    """Plain text of one raw field.

    HTML entities are decoded (twice at most, for double-escaped ``&amp;#39;``; so escaped markup
    such as ``&lt;b&gt;`` is removed too), tags removed (see the module docstring), runs of
    whitespace collapsed to one space and the ends stripped.

    Args:
        value: str, a number, None/NaN, or a list/tuple of those (its non-empty parts joined
            with spaces, e.g. an Amazon description given as paragraphs).

    Returns:
        str, ``""`` for None, NaN, an empty list or a field that is only markup.
    """
    if value is None or (isinstance(value, float) and value != value):  # None, NaN
        return ""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value if v is not None and v != "")
    s = str(value)
    for _ in range(2):
        u = html.unescape(s)
        if u == s:
            break
        s = u
    if "<" in s:
        s = _TextOnly().text(s)
    return " ".join(s.split())


def join_parts(parts: Iterable[str], separator: str = ". ") -> str:
    """The item text: already-cleaned parts joined in the given order.

    Empty parts are skipped (no doubled separators); a part already ending in the separator's
    punctuation (``"Toy Story."`` with ``". "``) does not get it twice.

    Args:
        parts: one string per field, in the order they are joined (see :func:`clean_text`).
        separator: put between parts, e.g. ``". "``.

    Returns:
        str, ``""`` when every part is empty.
    """
    parts = [p for p in parts if p]
    punct = separator.strip()
    if punct:
        parts = [p[: -len(punct)] if p.endswith(punct) and i < len(parts) - 1 else p
                 for i, p in enumerate(parts)]  # fmt: skip
    return separator.join(parts)
