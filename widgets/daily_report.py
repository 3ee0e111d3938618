"""The daily report as pages: tiles, charts and the worst late stops, painted with QPainter.

The same painting goes to a PDF file (QPdfWriter) and to a printer (QPrinter), so what
is printed is what is exported. Pages are laid out in points on A4 (595 x 842).
"""

from __future__ import annotations

import errno
import itertools
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QWidget

from app.domain.kpi_report import KpiReport, Tile, has_data, headline_tiles, trend_text
from app.domain.reasons import reason_words
from app.foundation.time_text import TimeText
from widgets.kpi_chart_page import FIRST_HOUR, LAST_HOUR
from widgets.kpi_tiles import trend_colour

PAGE_W, PAGE_H = 595.0, 842.0
MARGIN = 36.0
INK = QColor(30, 30, 30)
GREY = QColor(110, 110, 110)
BAR = QColor(60, 120, 190)
WRAP_TOP = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop) | int(
    Qt.TextFlag.TextWordWrap
)
WRAP_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter) | int(
    Qt.TextFlag.TextWordWrap
)
LINE_COLOURS = (QColor(60, 120, 190), QColor(200, 90, 40))


def write_pdf(report: KpiReport, path: Path, times: TimeText) -> None:
    """Write the daily report of ``report`` to ``path`` as an A4 PDF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Point)
    writer.setResolution(144)
    writer.setTitle(report_title(report))
    writer.setCreator("Control tower")
    paint_report(writer, report, times)


def print_report(report: KpiReport, times: TimeText, parent: QWidget | None = None) -> bool:
    """Ask for a printer with the system dialog and print; False when cancelled."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print the daily report")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    paint_report(printer, report, times)
    return True


def report_title(report: KpiReport) -> str:
    """ "KPI report 2025-03-30, Depot 1" (or a range, or all depots)."""
    q = report.query
    days = str(q.first) if q.first == q.last else f"{q.first} – {q.last}"
    depot = report.directory.name("depot", q.depot_id) if q.depot_id else "all depots"
    driver = f", driver {report.directory.label('driver', q.driver_id)}" if q.driver_id else ""
    return f"KPI report {days}, {depot}{driver}"


def paint_report(device: QPagedPaintDevice, report: KpiReport, times: TimeText) -> None:
    """Paint both pages of the report on ``device`` (a PDF writer or a printer)."""
    painter = QPainter(device)
    if not painter.isActive():
        # Qt tells of an unwritable file only by an inactive painter: say so, as open() would.
        raise OSError(errno.EIO, "the report could not be painted (is the file writable?)")
    try:
        _page_transform(painter, device)
        _page_one(painter, report, times)
        device.newPage()
        _page_transform(painter, device)
        _page_two(painter, report, times)
    finally:
        painter.end()


def _page_transform(painter: QPainter, device: QPagedPaintDevice) -> None:
    """Draw in A4 points whatever the device's resolution."""
    painter.resetTransform()
    scale = min(device.width() / PAGE_W, device.height() / PAGE_H)
    painter.scale(scale, scale)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)


def _font(painter: QPainter, size: float, bold: bool = False) -> None:
    font = QFont("Sans Serif")
    font.setPixelSize(max(1, round(size)))
    font.setBold(bold)
    painter.setFont(font)


def _text(
    painter: QPainter,
    rect: QRectF,
    text: str,
    size: float = 9,
    bold: bool = False,
    colour: QColor = INK,
    align: int = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
) -> None:
    _font(painter, size, bold)
    painter.setPen(colour)
    painter.drawText(rect, align, text)


def _page_one(painter: QPainter, report: KpiReport, times: TimeText) -> None:
    width = PAGE_W - 2 * MARGIN
    _text(painter, QRectF(MARGIN, MARGIN, width, 22), report_title(report), 16, True)
    stamp = times.date_hm(report.generated_at)
    q = report.query
    first, last = q.previous
    before = str(first) if first == last else f"{first} – {last}"
    if has_data(report.previous):
        compared = f"Trends compare with {before}."
    else:
        compared = f"No data on {before} to compare with."
    subtitle = f"Generated {stamp}. {compared}"
    _text(painter, QRectF(MARGIN, MARGIN + 22, width, 14), subtitle, 8, colour=GREY)
    y = _tiles(painter, headline_tiles(report), MARGIN + 44)
    half = (width - 12) / 2
    chart_h = 165.0
    s = report.current
    reasons = [
        (reason_words(code) or code, n)
        for code, n in sorted(s.failed_by_reason.items(), key=lambda kv: -kv[1])
    ]
    _bars(painter, QRectF(MARGIN, y, half, chart_h), "Failed attempts by reason", reasons)
    rules = sorted(s.exceptions_by_rule.items(), key=lambda kv: -kv[1])
    _bars(painter, QRectF(MARGIN + half + 12, y, half, chart_h), "Exceptions by rule", rules)
    y += chart_h + 12
    drivers = [
        (report.directory.label("driver", key), (g.on_time_rate or 0.0) * 100)
        for key, g in report.groups["driver"].items()
        if g.served
    ]
    drivers.sort(key=lambda kv: kv[1])
    # The whole width, so that each driver's name and id fit under their bar.
    _bars(
        painter,
        QRectF(MARGIN, y, width, chart_h),
        "On-time % by driver (lowest 12)",
        drivers[:12],
        "{:.0f}",
    )
    y += chart_h + 12
    begun = {h.hour: float(h.served) for h in report.hourly}
    hours = [(f"{hour:02d}", begun.get(hour)) for hour in range(FIRST_HOUR, LAST_HOUR + 1)]
    rest = PAGE_H - MARGIN - y
    _bars(
        painter,
        QRectF(MARGIN, y, half, rest),
        f"Stops delivered per hour, {report.hourly_day}",
        hours,
    )
    days = [iso[5:] for iso, _ in report.daily]
    series = {
        "On time %": [_pct(d.on_time_rate) for _, d in report.daily],
        "First attempt %": [_pct(d.first_attempt_rate) for _, d in report.daily],
    }
    _lines(painter, QRectF(MARGIN + half + 12, y, half, rest), "Last days", days, series)


def _pct(rate: float | None) -> float | None:
    return None if rate is None else rate * 100


def _tiles(painter: QPainter, tiles: Sequence[Tile], top: float) -> float:
    columns, gap, height = 4, 6.0, 48.0
    width = (PAGE_W - 2 * MARGIN - gap * (columns - 1)) / columns
    for n, tile in enumerate(tiles):
        x = MARGIN + (n % columns) * (width + gap)
        y = top + (n // columns) * (height + gap)
        painter.setPen(QPen(QColor(200, 200, 200), 0.8))
        painter.setBrush(QColor(247, 248, 250))
        painter.drawRoundedRect(QRectF(x, y, width, height), 4, 4)
        _text(painter, QRectF(x + 6, y + 3, width - 12, 11), tile.label, 7.5, colour=GREY)
        _text(painter, QRectF(x + 6, y + 14, width - 12, 18), tile.text, 13, True)
        _text(
            painter,
            QRectF(x + 6, y + 32, width - 12, 12),
            trend_text(tile),
            7,
            colour=QColor(trend_colour(tile)),
        )
    rows = (len(tiles) + columns - 1) // columns
    return top + rows * (height + gap) + 6


def _frame(painter: QPainter, rect: QRectF, title: str) -> QRectF:
    _text(painter, QRectF(rect.left(), rect.top(), rect.width(), 14), title, 9, True)
    painter.setPen(QPen(QColor(210, 210, 210), 0.6))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    # Below the plot: room for a category label on three lines.
    plot = QRectF(rect.left() + 28, rect.top() + 18, rect.width() - 32, rect.height() - 46)
    painter.drawLine(plot.bottomLeft(), plot.bottomRight())
    painter.drawLine(plot.bottomLeft(), plot.topLeft())
    return plot


def _bars(
    painter: QPainter,
    rect: QRectF,
    title: str,
    items: Sequence[tuple[str, float | None]],
    value_format: str = "{:g}",
) -> None:
    """Bars of ``items``; a None value (an hour to come) keeps its label and no bar."""
    plot = _frame(painter, rect, title)
    known = [v for _, v in items if v is not None]
    if not known:
        _text(painter, plot, "no data", 8, colour=GREY, align=int(Qt.AlignmentFlag.AlignCenter))
        return
    top = max(known) or 1.0
    _text(
        painter,
        QRectF(rect.left(), plot.top() - 5, 26, 10),
        value_format.format(top),
        6.5,
        colour=GREY,
        align=int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
    )
    step = plot.width() / len(items)
    for n, (label, value) in enumerate(items):
        x = plot.left() + n * step + step * 0.15
        if value is not None:
            h = plot.height() * (value / top) * 0.92
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(BAR)
            painter.drawRect(QRectF(x, plot.bottom() - h, step * 0.7, h))
            _text(
                painter,
                QRectF(x - step * 0.15, plot.bottom() - h - 10, step, 9),
                value_format.format(value),
                6.5,
                align=int(Qt.AlignmentFlag.AlignCenter),
            )
        _text(
            painter,
            QRectF(plot.left() + n * step, plot.bottom() + 2, step, 26),
            label.replace("_", " "),
            6,
            colour=GREY,
            align=WRAP_TOP,
        )


def _lines(
    painter: QPainter,
    rect: QRectF,
    title: str,
    labels: Sequence[str],
    series: dict[str, list[float | None]],
) -> None:
    plot = _frame(painter, rect, title)
    values = [v for vs in series.values() for v in vs if v is not None]
    if not values or not labels:
        _text(painter, plot, "no data", 8, colour=GREY, align=int(Qt.AlignmentFlag.AlignCenter))
        return
    low, high = min(values), max(values)
    low, high = (low - 1, high + 1) if high - low < 1 else (low, high)
    step = plot.width() / max(len(labels) - 1, 1)

    def point(i: int, v: float) -> QPointF:
        return QPointF(
            plot.left() + i * step, plot.bottom() - (v - low) / (high - low) * plot.height()
        )

    for label_y, v in ((plot.top(), high), (plot.bottom(), low)):
        _text(
            painter,
            QRectF(rect.left(), label_y - 5, 26, 10),
            f"{v:.0f}",
            6.5,
            colour=GREY,
            align=int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
        )
    every = max(1, -(-len(labels) * 32 // int(plot.width())))  # a label needs ~30 pt
    for i, label in enumerate(labels):
        if i % every == 0:
            _text(
                painter,
                QRectF(plot.left() + i * step - 15, plot.bottom() + 2, 30, 10),
                label,
                6,
                colour=GREY,
                align=int(Qt.AlignmentFlag.AlignCenter),
            )
    for n, (name, vs) in enumerate(series.items()):
        colour = LINE_COLOURS[n % len(LINE_COLOURS)]
        painter.setPen(QPen(colour, 1.5))
        points = [point(i, v) for i, v in enumerate(vs) if v is not None]
        for a, b in itertools.pairwise(points):
            painter.drawLine(a, b)
        painter.setBrush(colour)
        for p in points:
            painter.drawEllipse(p, 1.8, 1.8)
        _text(
            painter, QRectF(plot.right() - 90, plot.top() + n * 11, 90, 10), name, 7, colour=colour
        )


def _page_two(painter: QPainter, report: KpiReport, times: TimeText) -> None:
    width = PAGE_W - 2 * MARGIN
    _text(painter, QRectF(MARGIN, MARGIN, width, 20), "The ten latest stops", 14, True)
    columns = (
        ("Stop", 120.0),
        ("Vehicle", 70.0),
        ("Day", 60.0),
        ("Late", 50.0),
        ("Exceptions", 0.0),
    )
    y = MARGIN + 28
    x = MARGIN
    for name, w in columns:
        _text(painter, QRectF(x, y, w or width - (x - MARGIN), 14), name, 8, True)
        x += w
    y += 16
    d = report.directory
    if not report.worst_late:
        _text(painter, QRectF(MARGIN, y, width, 14), "No stop was late.", 9, colour=GREY)
    for late in report.worst_late:
        s = late.stop
        exceptions = (
            "; ".join(
                f"{e.rule.replace('_', ' ')} {times.hm(e.raised_at)} ({e.state})"
                for e in late.exceptions
            )
            or "none raised"
        )
        cells = (
            s.order_id,
            d.name("vehicle", s.vehicle_id),
            s.day,
            f"{late.minutes_late:.0f} min",
            exceptions,
        )
        x = MARGIN
        painter.setPen(QPen(QColor(225, 225, 225), 0.5))
        painter.drawLine(QPointF(MARGIN, y + 22), QPointF(MARGIN + width, y + 22))
        for (_, w), value in zip(columns, cells, strict=True):
            _text(
                painter,
                QRectF(x, y, (w or width - (x - MARGIN)) - 4, 22),
                value,
                7.5,
                align=WRAP_LEFT,
            )
            x += w
        y += 24
