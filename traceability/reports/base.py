"""What every report builder shares: its result, progress reporting, PDF page furniture.

Every PDF is written in the shipped font (`mes.pdf_text`), in every language. In a right-to-left
language (Arabic) the layout is mirrored: text is shaped and put in visual order, paragraphs and
cells are right-aligned, tables' columns run from the right, labels stand right of their values,
and the footer has its text on the right and the page number on the left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from xml.sax.saxutils import escape

from django.utils import formats
from django.utils.translation import gettext
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from mes.pdf_text import FONT, FONT_BOLD, BidiParagraph, register_fonts, rtl, text_width, visual

# A callback taking a percentage 0-100; builders call it now and then.
Progress = Callable[[int], None]


def no_progress(_: int) -> None:
    return None


@dataclass(frozen=True)
class Built:
    content: bytes
    filename: str
    content_type: str
    content_hash: str  # SHA-256 of the canonical JSON of the report's data


PAGE = landscape(A4)
MARGIN = 12 * mm
WIDTH = PAGE[0] - 2 * MARGIN
# Tables are cut into page-sized pieces: reportlab splits one huge table worse than linearly.
ROWS_PER_TABLE = 40

_styles = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("t", parent=_styles["Title"], fontName=FONT_BOLD, fontSize=16, spaceAfter=6, alignment=0),
    "h2": ParagraphStyle("h2", parent=_styles["Heading2"], fontName=FONT_BOLD, fontSize=12, spaceBefore=8, spaceAfter=4),
    "h3": ParagraphStyle("h3", parent=_styles["Heading3"], fontName=FONT_BOLD, fontSize=10, spaceBefore=6, spaceAfter=2),
    "body": ParagraphStyle("b", parent=_styles["BodyText"], fontName=FONT, fontSize=8, leading=10),
    "small": ParagraphStyle("s", parent=_styles["BodyText"], fontName=FONT, fontSize=7, leading=9),
    # A table's header cell that wraps (right to left, where the headings run longer).
    "th": ParagraphStyle("th", parent=_styles["BodyText"], fontName=FONT_BOLD, fontSize=7, leading=8.5),
}  # fmt: skip
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), FONT, 7),
        ("FONT", (0, 0), (-1, 0), FONT_BOLD, 7),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e8ee")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa3ad")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
)
_KEY_VALUE_COMMANDS = [
    ("FONT", (0, 0), (-1, -1), FONT, 8),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("TOPPADDING", (0, 0), (-1, -1), 1),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
]
KEY_VALUE_STYLE = TableStyle([*_KEY_VALUE_COMMANDS, ("FONT", (0, 0), (0, -1), FONT_BOLD, 8)])
# Right to left: the labels are the last (rightmost) column, and every cell is right-aligned.
_KEY_VALUE_STYLE_RTL = TableStyle(
    [*_KEY_VALUE_COMMANDS, ("FONT", (-1, 0), (-1, -1), FONT_BOLD, 8), ("ALIGN", (0, 0), (-1, -1), "RIGHT")]
)


def para(text: str, style: str = "body") -> Flowable:
    """A paragraph of plain text (not markup) in the active language's direction."""
    register_fonts()
    if rtl():
        return BidiParagraph(text, STYLES[style])
    return Paragraph(escape(text), STYLES[style])


class Visual(str):
    """A table cell's text already laid out for drawing (see `visual`), which `tables` leaves as
    it is: for a cell that arranges its own right-to-left layout, such as the trace's tree."""


def _right_aligned(style: TableStyle) -> TableStyle:
    return TableStyle([*style.getCommands(), ("ALIGN", (0, 0), (-1, -1), "RIGHT")])


def _heading(text: str, width: float) -> Flowable:
    """A right-to-left table heading: wrapped at spaces, in a smaller size where one of its words
    is wider than the column (a word cut in two reads worse than a smaller one)."""
    style = STYLES["th"]
    room = width - 12  # the cells' default padding, 6 points each side
    widest = max((text_width(word, style.fontName, style.fontSize) for word in text.split()), default=0)
    if widest <= room:
        return para(text, "th")
    size = max(4.5, style.fontSize * room / widest)
    return BidiParagraph(text, ParagraphStyle("th-fit", parent=style, fontSize=size, leading=size * 1.2))


def _cell(value, width: float):
    if isinstance(value, Flowable | Visual):
        return value
    return visual(clip(value, width))


def clip(value, width_pt: float, font_size: float = 7) -> str:
    """Cut a cell's text to what fits its column (plain strings don't wrap, and are cheap)."""
    text = "" if value is None else str(value)
    fits = max(4, int(width_pt / (font_size * 0.5)))
    return text if len(text) <= fits else text[: fits - 1] + "…"


def tables(
    header: list[str], rows: Iterable[list], widths: list[float], *, style=TABLE_STYLE
) -> Iterator[Table]:
    """Page-sized tables with fixed column widths, each repeating the header, made one at a time
    as the story reaches them (rows may be a generator). Right to left, the first column is the
    rightmost."""
    register_fonts()
    total = sum(widths)
    widths = [w * WIDTH / total for w in widths]
    mirrored = rtl()
    if mirrored:
        style = _right_aligned(style)
    rows = iter(rows)
    chunk = list(islice(rows, ROWS_PER_TABLE))
    while True:
        heading = [_heading(h, w) for h, w in zip(header, widths, strict=True)] if mirrored else header
        cells = [heading] + [[_cell(c, w) for c, w in zip(row, widths, strict=True)] for row in chunk]
        if mirrored:
            table = Table([row[::-1] for row in cells], colWidths=widths[::-1], repeatRows=1, hAlign="RIGHT")
        else:
            table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(style)
        yield table
        chunk = list(islice(rows, ROWS_PER_TABLE))
        if not chunk:
            return


def key_values(pairs: list[tuple[str, str]], widths=(45 * mm, None)) -> Table:
    """Labels in bold beside their values: left of them, or right of them right to left."""
    value_width = WIDTH - widths[0]
    if rtl():
        rows = [[para(v or "—"), visual(k)] for k, v in pairs]
        table = Table(rows, colWidths=[value_width, widths[0]], hAlign="RIGHT")
        table.setStyle(_KEY_VALUE_STYLE_RTL)
        return table
    rows = [[k, para(v or "—")] for k, v in pairs]
    table = Table(rows, colWidths=[widths[0], value_width], hAlign="LEFT")
    table.setStyle(KEY_VALUE_STYLE)
    return table


# The form XObject that holds a document's page count, drawn by every page and defined at save.
_PAGE_TOTAL_FORM = "mes_page_total"
_FOOTER_FONT = (FONT, 7)


def numbered_canvas(footer_left: str):
    """A canvas class that prints `footer_left` and 'Page x of y' on every page (mirrored right to
    left: the footer's text on the right, the page number on the left).

    The total is known only at the end. Rather than keep every page until then, each page draws
    the total from a form XObject that is defined once, when the document is saved (PDF lets a
    page refer to an object written after it): pages are finished as they are made, so a long
    report's memory does not grow with its page count."""
    register_fonts()
    mirrored = rtl()
    footer = visual(footer_left)
    page_of = gettext("Page %(page)s of ")
    total_width = pdfmetrics.stringWidth("00000", *_FOOTER_FONT)

    class NumberedCanvas(pdf_canvas.Canvas):
        def __init__(self, *args, **kwargs):
            # A page's text state starts in the shipped font too (else Helvetica is listed unused).
            kwargs["initialFontName"] = kwargs.get("initialFontName") or FONT
            super().__init__(*args, **kwargs)

        def showPage(self):
            self.saveState()
            self.setFont(*_FOOTER_FONT)
            self.setFillColor(colors.HexColor("#444444"))
            page_text = visual(page_of % {"page": self._pageNumber})
            if mirrored:  # "y" right-aligned in its slot on the left, "Page x of" right of it
                self.drawRightString(PAGE[0] - MARGIN, 7 * mm, footer)
                total_at = MARGIN + total_width
                self.drawString(total_at, 7 * mm, page_text)
            else:
                self.drawString(MARGIN, 7 * mm, footer)
                total_at = PAGE[0] - MARGIN - total_width
                self.drawRightString(total_at, 7 * mm, page_text)
            self.translate(total_at, 7 * mm)
            self.doForm(_PAGE_TOTAL_FORM)
            self.restoreState()
            super().showPage()
            if self._pageCompression:
                _compress_now(self._doc.Pages.pages[-1])

        def save(self):
            if self._code:  # a last page not yet shown
                self.showPage()
            # The form's box reaches left of its origin for the right-aligned total (it clips).
            self.beginForm(_PAGE_TOTAL_FORM, lowerx=-total_width if mirrored else 0)
            self.setFont(*_FOOTER_FONT)
            self.setFillColor(colors.HexColor("#444444"))
            total = str(self._pageNumber - 1)
            if mirrored:
                self.drawRightString(0, 0, total)
            else:
                self.drawString(0, 0, total)
            self.endForm()
            super().save()

    return NumberedCanvas


def _compress_now(page: pdfdoc.PDFPage) -> None:
    """Compress a page's content as soon as the page is finished, as reportlab would when it
    writes the document (the same filters, so the same bytes): reportlab keeps every page's
    content as text until then, several times the size compressed."""
    filters = [pdfdoc.PDFBase85Encode, pdfdoc.PDFZCompress] if rl_config.useA85 else [pdfdoc.PDFZCompress]
    content = page.stream
    for step in reversed(filters):  # the last filter listed is applied first
        content = step.encode(content)
    stream = pdfdoc.PDFStream(content=content)
    stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName(step.pdfname) for step in filters])
    stream.__Comment__ = "page stream"
    page.Contents = stream
    page.stream = None


class StreamedStory(list):
    """A story that `SimpleDocTemplate.build` consumes while a generator makes it.

    reportlab takes its flowables as a list and removes each from the front once it is placed.
    This list holds only a window of them and refills from `flowables` as the front is consumed,
    so a report of any size keeps a page or two of flowables in memory, not all of them. The
    window is wide enough for reportlab's look-ahead (keep-with-next chains)."""

    WINDOW = 64

    def __init__(self, flowables):
        super().__init__()
        self._source = iter(flowables)
        self._refill()

    def _refill(self) -> None:
        while len(self) < self.WINDOW:
            item = next(self._source, None)
            if item is None:
                return
            self.append(item)

    def __delitem__(self, index) -> None:
        super().__delitem__(index)
        self._refill()


def fmt_time(value: str | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    value = value.astimezone(UTC)  # the date as the active language writes it
    return f"{formats.date_format(value, 'SHORT_DATE_FORMAT')} {value:%H:%M:%S} UTC"
