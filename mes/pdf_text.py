"""Text in the app's PDFs, in every language it speaks.

reportlab's built-in fonts (Helvetica) have Latin glyphs only, and reportlab draws every string
left to right, glyph by glyph: Arabic would come out as boxes, or as unjoined letters in reverse
order. So the PDFs use one shipped font with Latin and Arabic glyphs (DejaVu Sans, `fonts/`, with
its license), for every language so that a report looks the same in each; and text of a
right-to-left language is shaped (each letter in its joined form) and put in visual order before
reportlab draws it. A paragraph that wraps is cut into lines in reading order first, and each
line reordered on its own (`BidiParagraph`): reordering a whole paragraph and then wrapping it
would put its last words on the first line.

The fonts are registered on first use, not at import (parsing them takes a noticeable fraction
of a second, which a process that never writes a PDF should not pay).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import algorithm as mirroring_bidi
from bidi import get_display
from bidi.mirror import MIRRORED
from django.utils.translation import get_language_bidi
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.fonts import addMapping
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
_FONT_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}
FONTS_DIR = Path(__file__).resolve().parent / "fonts"

# Letters of the right-to-left scripts (Hebrew, Arabic and their presentation forms).
_RTL_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
# Characters drawn mirrored in right-to-left text: brackets, quotes, comparison signs.
_PAIRED = re.compile("[" + re.escape("".join(MIRRORED)) + "]")
# The invisible marks of bidirectional text (LRM, RLM, ALM, embeddings, overrides, isolates).
_BIDI_CONTROL = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
# Either of them: a line that needs more than drawing as it is.
_NEEDS_LAYOUT = re.compile(f"{_RTL_LETTER.pattern}|{_BIDI_CONTROL.pattern}")
_BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


@cache
def register_fonts() -> tuple[str, str]:
    """Register the shipped font (regular and bold, also as a family so that `<b>` in a paragraph
    picks the bold face) once per process; the names to draw with."""
    for name, filename in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, FONTS_DIR / filename))
    for bold, italic in ((0, 0), (0, 1), (1, 0), (1, 1)):
        addMapping(FONT, bold, italic, FONT_BOLD if bold else FONT)
    return FONT, FONT_BOLD


def rtl() -> bool:
    """Whether the active language is written right to left (the document is laid out mirrored)."""
    return get_language_bidi()


def visual(text: str, *, right_to_left: bool = False) -> str:
    """One line of text as reportlab must draw it: text with right-to-left letters shaped and in
    visual (left-to-right drawing) order, as a right-to-left line; any other text as it is.

    A line holding any Arabic or Hebrew letter is taken as a right-to-left sentence (codes and
    numbers in it keep their own order); a line without any (a lot code, a hash, a date) is left
    to right whatever the document's language, unless `right_to_left` says it is laid out right
    to left all the same (an indented tree, say).

    Text with nothing to do (most of a report's cells: codes, numbers, dates, and every line of
    a left-to-right language) is returned after one search and is not remembered: a big report
    would otherwise keep thousands of its cells alive in the cache below."""
    if not text or not (right_to_left or _NEEDS_LAYOUT.search(text)):
        return text
    return _laid_out(text, right_to_left)


@lru_cache(maxsize=16384)
def _laid_out(text: str, right_to_left: bool) -> str:
    if right_to_left or _RTL_LETTER.search(text):
        text = _reorder(_shape(text))
    # The marks that steer the order (Django's Arabic date format has them) have done their work:
    # drawn, they would be boxes.
    return text.translate(_BIDI_CONTROLS) if _BIDI_CONTROL.search(text) else text


# Reports repeat the same words and headings thousands of times, and the reshaper reads its
# settings anew on every call: remembered, shaping costs next to nothing.
_shape = lru_cache(maxsize=16384)(arabic_reshaper.reshape)


def _reorder(text: str) -> str:
    """A right-to-left line in drawing order. python-bidi's fast implementation leaves paired
    characters such as brackets as they are, so "(SHA-256)" in an Arabic line would be drawn
    ")SHA-256("; its original, slower one mirrors them as the algorithm says (rule L4), and
    takes the (few) lines that have any."""
    if _PAIRED.search(text):
        return mirroring_bidi.get_display(text, base_dir="R")
    return get_display(text, base_dir="R")


def text_width(text: str, font_name: str, font_size: float) -> float:
    """The width of `text` as drawn (shaped, if it is right to left)."""
    shaped = _shape(text) if _RTL_LETTER.search(text) else text
    return pdfmetrics.stringWidth(shaped, font_name, font_size)


def _pieces(word: str, font_name: str, font_size: float, width: float) -> list[str]:
    """A word wider than a line, cut into pieces that fit, from its first letter (reportlab would
    cut the drawn, reordered word, and so put the end of a right-to-left word first)."""
    pieces, piece = [], ""
    for char in word:
        if piece and text_width(piece + char, font_name, font_size) > width:
            pieces.append(piece)
            piece = ""
        piece += char
    return [*pieces, piece]


def wrap_lines(text: str, font_name: str, font_size: float, width: float) -> list[str]:
    """`text` cut into lines no wider than `width`, in reading order (greedy, at spaces; a word
    wider than a line is cut). Widths are measured on the shaped text, which is what is drawn."""
    lines: list[str] = []
    space = pdfmetrics.stringWidth(" ", font_name, font_size)
    for paragraph in text.split("\n"):
        words = []
        for word in paragraph.split():
            word_width = text_width(word, font_name, font_size)
            if word_width > width:
                words += [
                    (p, text_width(p, font_name, font_size))
                    for p in _pieces(word, font_name, font_size, width)
                ]
            else:
                words.append((word, word_width))
        current: list[str] = []
        used = 0.0
        for word, word_width in words:
            if current and used + space + word_width > width:
                lines.append(" ".join(current))
                current, used = [], 0.0
            used += (space if current else 0.0) + word_width
            current.append(word)
        lines.append(" ".join(current))
    return lines


class BidiParagraph(Flowable):
    """A paragraph of plain text in a right-to-left document: wrapped in reading order, each line
    shaped and reordered (`visual`), right-aligned. It lays itself out as a reportlab `Paragraph`
    of those lines, made anew when the width it is given changes."""

    def __init__(self, text: str, style: ParagraphStyle):
        super().__init__()
        self.text = text
        self.style = ParagraphStyle(f"{style.name}-rtl", parent=style, alignment=TA_RIGHT, splitLongWords=0)
        self._laid_out: tuple[float, Paragraph] | None = None

    def _paragraph(self, avail_width: float) -> Paragraph:
        if self._laid_out is None or self._laid_out[0] != avail_width:
            style = self.style
            width = avail_width - style.leftIndent - style.rightIndent
            lines = wrap_lines(self.text, style.fontName, style.fontSize, width)
            markup = "<br/>".join(escape(visual(line)) for line in lines)
            self._laid_out = (avail_width, Paragraph(markup, style))
        return self._laid_out[1]

    def wrap(self, availWidth, availHeight):
        self.width, self.height = self._paragraph(availWidth).wrap(availWidth, availHeight)
        return self.width, self.height

    def split(self, availWidth, availHeight):
        return self._paragraph(availWidth).split(availWidth, availHeight)

    def draw(self):
        self._laid_out[1].drawOn(self.canv, 0, 0)

    def getSpaceBefore(self):
        return self.style.spaceBefore

    def getSpaceAfter(self):
        return self.style.spaceAfter
