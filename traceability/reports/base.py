"""What every report builder shares: its result, progress reporting, PDF page furniture."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

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


def tables(header: list[str], rows: list[list], widths: list[float], *, style=TABLE_STYLE) -> list[Table]:
    """Page-sized tables with fixed column widths, each repeating the header."""
    total = sum(widths)
    widths = [w * WIDTH / total for w in widths]
    out = []
    for start in range(0, max(len(rows), 1), ROWS_PER_TABLE):
        chunk = rows[start : start + ROWS_PER_TABLE]
        cells = [header] + [
            [c if isinstance(c, Paragraph) else clip(c, w) for c, w in zip(row, widths, strict=True)]
            for row in chunk
        ]
        table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(style)
        out.append(table)
    return out


def key_values(pairs: list[tuple[str, str]], widths=(45 * mm, None)) -> Table:
    value_width = WIDTH - widths[0]
    rows = [[k, para(v or "—")] for k, v in pairs]
    table = Table(rows, colWidths=[widths[0], value_width], hAlign="LEFT")
    table.setStyle(KEY_VALUE_STYLE)
    return table


def numbered_canvas(footer_left: str):
    """A canvas class that prints 'page x of y' on every page (the total is known only at the
    end, so each page's drawing is kept until then) and `footer_left`."""

    class NumberedCanvas(pdf_canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont("Helvetica", 7)
                self.setFillColor(colors.HexColor("#444444"))
                self.drawString(MARGIN, 7 * mm, footer_left)
                self.drawRightString(PAGE[0] - MARGIN, 7 * mm, f"Page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def fmt_time(value: str | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
