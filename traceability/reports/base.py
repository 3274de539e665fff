"""What every report builder shares: its result, progress reporting, PDF page furniture."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from xml.sax.saxutils import escape

from django.utils import formats
from django.utils.translation import gettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import Paragraph, Table, TableStyle

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
    "title": ParagraphStyle("t", parent=_styles["Title"], fontSize=16, spaceAfter=6, alignment=0),
    "h2": ParagraphStyle("h2", parent=_styles["Heading2"], fontSize=12, spaceBefore=8, spaceAfter=4),
    "h3": ParagraphStyle("h3", parent=_styles["Heading3"], fontSize=10, spaceBefore=6, spaceAfter=2),
    "body": ParagraphStyle("b", parent=_styles["BodyText"], fontSize=8, leading=10),
    "small": ParagraphStyle("s", parent=_styles["BodyText"], fontSize=7, leading=9),
}
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e8ee")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa3ad")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
)
KEY_VALUE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
        ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
)


def para(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(text), STYLES[style])


def clip(value, width_pt: float, font_size: float = 7) -> str:
    """Cut a cell's text to what fits its column (plain strings don't wrap, and are cheap)."""
    text = "" if value is None else str(value)
    fits = max(4, int(width_pt / (font_size * 0.5)))
    return text if len(text) <= fits else text[: fits - 1] + "…"


def tables(
    header: list[str], rows: Iterable[list], widths: list[float], *, style=TABLE_STYLE
) -> Iterator[Table]:
    """Page-sized tables with fixed column widths, each repeating the header, made one at a time
    as the story reaches them (rows may be a generator)."""
    total = sum(widths)
    widths = [w * WIDTH / total for w in widths]
    rows = iter(rows)
    chunk = list(islice(rows, ROWS_PER_TABLE))
    while True:
        cells = [header] + [
            [c if isinstance(c, Paragraph) else clip(c, w) for c, w in zip(row, widths, strict=True)]
            for row in chunk
        ]
        table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(style)
        yield table
        chunk = list(islice(rows, ROWS_PER_TABLE))
        if not chunk:
            return


def key_values(pairs: list[tuple[str, str]], widths=(45 * mm, None)) -> Table:
    value_width = WIDTH - widths[0]
    rows = [[k, para(v or "—")] for k, v in pairs]
    table = Table(rows, colWidths=[widths[0], value_width], hAlign="LEFT")
    table.setStyle(KEY_VALUE_STYLE)
    return table


# The form XObject that holds a document's page count, drawn by every page and defined at save.
_PAGE_TOTAL_FORM = "mes_page_total"
_FOOTER_FONT = ("Helvetica", 7)


def numbered_canvas(footer_left: str):
    """A canvas class that prints `footer_left` and 'Page x of y' on every page.

    The total is known only at the end. Rather than keep every page until then, each page draws
    the total from a form XObject that is defined once, when the document is saved (PDF lets a
    page refer to an object written after it): pages are finished as they are made, so a long
    report's memory does not grow with its page count."""

    class NumberedCanvas(pdf_canvas.Canvas):
        def showPage(self):
            self.saveState()
            self.setFont(*_FOOTER_FONT)
            self.setFillColor(colors.HexColor("#444444"))
            self.drawString(MARGIN, 7 * mm, footer_left)
            total_at = PAGE[0] - MARGIN - self.stringWidth("00000", *_FOOTER_FONT)
            self.drawRightString(total_at, 7 * mm, gettext("Page %(page)s of ") % {"page": self._pageNumber})
            self.translate(total_at, 7 * mm)
            self.doForm(_PAGE_TOTAL_FORM)
            self.restoreState()
            super().showPage()

        def save(self):
            if self._code:  # a last page not yet shown
                self.showPage()
            self.beginForm(_PAGE_TOTAL_FORM)
            self.setFont(*_FOOTER_FONT)
            self.setFillColor(colors.HexColor("#444444"))
            self.drawString(0, 0, str(self._pageNumber - 1))
            self.endForm()
            super().save()

    return NumberedCanvas


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
