"""Right-to-left text made ready for reportlab: shaped, in drawing order, wrapped in reading order."""

from __future__ import annotations

import io
import unicodedata

from pypdf import PdfReader
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas

from mes.pdf_text import FONT, BidiParagraph, register_fonts, text_width, visual, wrap_lines

# "The production record shows a normal run with no exceptions in any operation."
SENTENCE = ["سجل", "الإنتاج", "يظهر", "تشغيلا", "عاديا", "بلا", "استثناءات", "في", "أي", "عملية"]


def _letters(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def test_arabic_is_shaped_and_put_in_drawing_order():
    drawn = visual("صفحة 3 من")  # "Page 3 of"

    assert drawn != "صفحة 3 من" and all("\ufe70" <= c <= "\ufeff" for c in drawn if c not in " 3")
    # Drawn left to right, the line's last word comes first; the number keeps its own order.
    assert _letters(drawn) == "نم 3 ةحفص"
    assert _letters(visual("الدفعة LOT-12 جاهزة")) == "ةزهاج LOT-12 ةعفدلا"
    # Brackets in a right-to-left line are drawn mirrored, so that they still enclose.
    assert _letters(visual("تجزئة السجل (SHA-256)")) == "(SHA-256) لجسلا ةئزجت"
    assert _letters(visual("انظر (أعلاه)")) == "(هلاعأ) رظنا"


def test_text_without_right_to_left_letters_is_left_as_it_is_but_for_direction_marks():
    assert visual("LOT-1 (serial)") == "LOT-1 (serial)"
    assert visual("sha256 0a1b") == "sha256 0a1b"
    # Django's Arabic date format steers its order with right-to-left marks; drawn they would be boxes.
    assert visual("02\u200f/03\u200f/2026 06:30 UTC") == "02/03/2026 06:30 UTC"
    assert "\u200f" not in visual("في 02\u200f/03\u200f/2026")
    # A tree laid out right to left on purpose: its indent goes to the right.
    assert visual("    ┘ SUB-1", right_to_left=True) == "SUB-1 ┘    "


def test_a_right_to_left_paragraph_is_wrapped_in_reading_order_and_fits():
    register_fonts()
    words = SENTENCE
    lines = wrap_lines(" ".join(words), FONT, 8, 60)

    assert len(lines) > 2
    assert " ".join(lines).split() == words  # nothing lost, nothing reordered
    assert all(text_width(line, FONT, 8) <= 60 for line in lines)
    # A word wider than the line is cut from its first letter, not from the end it is drawn at.
    pieces = wrap_lines("الاستثناءات", FONT, 8, 20)
    assert len(pieces) > 1 and "".join(pieces) == "الاستثناءات"


def test_a_bidi_paragraph_draws_its_first_words_on_its_first_line():
    register_fonts()
    words = SENTENCE
    paragraph = BidiParagraph(" ".join(words), ParagraphStyle("p", fontName=FONT, fontSize=8, leading=10))
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(200, 200))
    _, height = paragraph.wrap(70, 200)
    paragraph.drawOn(canvas, 10, 190 - height)
    canvas.save()

    assert height > 20  # wrapped onto several lines
    first_line = PdfReader(io.BytesIO(out.getvalue())).pages[0].extract_text().splitlines()[0]
    assert _letters(first_line).split()[0] in (words[0], words[0][::-1])
    assert words[-1] not in _letters(first_line) and words[-1][::-1] not in _letters(first_line)


def test_reportlab_runs_its_c_functions_not_their_python_stand_ins():
    """Installed with the project (rl-accel): without them every report draws a third slower."""
    import types

    from reportlab.lib import rl_accel

    for name in ("fp_str", "asciiBase85Encode", "escapePDF", "instanceStringWidthTTF"):
        assert isinstance(getattr(rl_accel, name), types.BuiltinFunctionType), name
