"""Plain text from user-supplied item text that may hold HTML (the one text cleaner of pyrec.data).

:func:`clean_text` parses with the standard library's :class:`html.parser.HTMLParser`, which
follows the HTML5 tokenizer rules: only ``<`` followed by a letter, ``/``, ``!`` or ``?`` opens
markup, so text such as ``5 < 10`` is kept. Markup that never closes (a fragment cut off inside
a tag, as in some Amazon 2018 titles) is dropped to the end of the string instead of being kept as
text. Entities are decoded by the parser (``convert_charrefs``); a second pass decodes text that
was escaped twice (``&amp;#39;``) or that held escaped markup (``&lt;b&gt;``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["clean_text"]

_SPACE = re.compile(r"\s+")
_MARKUP_OPEN = re.compile(r"<[A-Za-z/!?]")  # what HTMLParser reads as the start of markup
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?")
_SKIPPED = frozenset({"script", "style"})  # their content is code, not text


class _TextParser(HTMLParser):
    """Collects the text of a fragment; every tag becomes a space, comments and code vanish."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self._skip += 1
        self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in _SKIPPED and self._skip:
            self._skip -= 1
        self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _strip_once(s: str) -> str:
    parser = _TextParser()
    parser.feed(s)
    # What the parser could not finish is left in ``rawdata``: markup that never closes (``<a
    # href="...`` cut off) is dropped; anything else (e.g. a trailing ``&amp``) is text.
    if _MARKUP_OPEN.match(parser.rawdata):
        parser.rawdata = ""
    parser.close()
    return "".join(parser.parts)


def clean_text(s: str) -> str:
    """Plain text from a string that may contain HTML.

    Tags are removed (each becomes a space), including a tag left unclosed at the end of the
    string; ``<script>``/``<style>`` content and comments are removed; HTML entities are decoded
    (twice at most, for text escaped twice); whitespace runs become one space and the ends are
    stripped.

    Args:
        s: the text (``None`` gives ``""``).

    Returns:
        str: the plain text, ``""`` when nothing readable is left.

    Examples:
        >>> clean_text('Gift Card <span class="a-size">$25</span> &amp; more')
        'Gift Card $25 & more'
        >>> clean_text('Gift Card <a id="acr-popover" class="a-popover')
        'Gift Card'
        >>> clean_text("Tom&amp;#39;s 5 < 10")
        "Tom's 5 < 10"
    """
    if s is None:
        return ""
    text = _strip_once(str(s))
    if _ENTITY.search(text) or _MARKUP_OPEN.search(text):
        text = _strip_once(text)
    return _SPACE.sub(" ", text).strip()
