"""One van's day as a Gantt-like strip: each stop's window, planned and predicted times.

Painted with QPainter from plain ``TimelineStop`` values, so it needs no tower: one row per
stop, time along the x axis. The window is a band, the planned time a hollow tick, the
predicted (or actual) arrival a filled dot, red when it falls after the window; a line
marks "now". Labels come from outside and are drawn as text.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.foundation.days import OperatingDay, clock_floor, whole_hours
from app.foundation.time_text import TimeText
from app.tower.views import TimelineEntryView
from widgets.theme import chart_colours

# The strip draws the tower's timeline rows as they are.
TimelineStop = TimelineEntryView


_ROW = 24
_LEFT = 170
_TOP = 30
_MIN_POINT_SIZE = 10.0  # the strip's text is read at a glance across the desk
_LABEL_GAP = 12  # pixels at least between two hour labels
_LABEL_STEPS = (1, 2, 3, 4, 6, 12)  # label every n-th hour when one an hour would touch
# Mid-tones that read on the dark and the light theme's base alike; text, grid and the
# plan's ticks take the theme's own colours.
_WINDOW = QColor(120, 170, 230, 110)
_ON_TIME = QColor(40, 150, 70)
_LATE = QColor(210, 50, 40)
_DONE = QColor(130, 130, 130)


class VehicleTimeline(QWidget):
    """The strip of one vehicle; call ``set_stops`` whenever its ETAs change."""

    def __init__(self, times: TimeText, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("VehicleTimeline")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(_TOP + _ROW)
        font = self.font()
        font.setPointSizeF(max(font.pointSizeF(), _MIN_POINT_SIZE))
        self.setFont(font)
        self._times = times
        self._vehicle_id = ""
        self._stops: list[TimelineStop] = []
        self._now: float | None = None
        self._span = (0.0, 1.0)
        self._hours: list[float] = []  # the local whole hours of the span

    # -- public -----------------------------------------------------------------------

    def set_stops(
        self, vehicle_id: str, stops: Sequence[TimelineStop], now: float | None = None
    ) -> None:
        """Show ``stops`` (in route order) of ``vehicle_id``; ``now`` draws a time line."""
        self._vehicle_id = vehicle_id
        self._stops = list(stops)
        self._now = now
        times = [now] if now is not None else []
        for s in self._stops:
            times += [
                t
                for t in (s.window_start, s.window_end, s.planned, s.predicted, s.actual)
                if t is not None
            ]
        if times:
            # Whole half hours of the depot's clock at both ends.
            zone = self._times.timezone
            start = clock_floor(min(times), 1800, zone)
            end = clock_floor(max(times), 1800, zone) + 1800
            self._span = (start, end)
            self._hours = whole_hours(start, end, zone)
        self.setMinimumHeight(_TOP + _ROW * max(1, len(self._stops)) + 8)
        self.updateGeometry()
        self.update()

    def stop_count(self) -> int:
        """How many stops the strip shows."""
        return len(self._stops)

    @property
    def vehicle_id(self) -> str:
        """The vehicle shown."""
        return self._vehicle_id

    def late_stops(self) -> list[str]:
        """Ids of the stops drawn as late."""
        return [s.stop_id for s in self._stops if s.late]

    def sizeHint(self) -> QSize:
        """Wide enough for a day, tall enough for every row."""
        return QSize(720, _TOP + _ROW * max(1, len(self._stops)) + 8)

    # -- painting ---------------------------------------------------------------------

    def _x(self, ts: float) -> float:
        start, end = self._span
        width = max(1.0, self.width() - _LEFT - 12)
        return _LEFT + (ts - start) / (end - start) * width

    def hour_labels(self) -> list[tuple[float, str]]:
        """The hour lines' moments and the labels drawn on them: the depot's whole
        hours, every n-th labelled where one an hour would not fit side by side."""
        labels = [(h, self._times.hm(h)) for h in self._hours]
        if len(labels) < 2:
            return labels
        metrics = self.fontMetrics()
        widest = max(metrics.horizontalAdvance(text) for _, text in labels) + _LABEL_GAP
        hour_px = self._x(labels[1][0]) - self._x(labels[0][0])
        step = next((n for n in _LABEL_STEPS if n * hour_px >= widest), _LABEL_STEPS[-1])
        day = OperatingDay.at(labels[0][0], self._times.timezone)
        return [(h, text) for h, text in labels if day.local_hour(h) % step == 0]

    def paintEvent(self, _event: QPaintEvent) -> None:
        """Hours across, one row per stop."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        colours = chart_colours(palette)
        painter.fillRect(self.rect(), colours.background)
        text = colours.text
        painter.setPen(text)
        title = f"{self._vehicle_id}  ({len(self._stops)} stops)" if self._vehicle_id else ""
        head = QRectF(4, 2, _LEFT - 8, _TOP - 6)
        painter.drawText(head, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        start, end = self._span
        grid = QPen(colours.axis)
        grid.setStyle(Qt.PenStyle.DotLine)
        bottom = _TOP + _ROW * len(self._stops)
        painter.setPen(grid)
        for hour in self._hours:
            x = self._x(hour)
            painter.drawLine(QPointF(x, _TOP - 4), QPointF(x, bottom))
        painter.setPen(text)
        right = self.width() - 2
        for hour, label in self.hour_labels():
            width = self.fontMetrics().horizontalAdvance(label)
            # Centred on its line, kept inside the strip at the right end.
            left = min(self._x(hour) - width / 2, right - width)
            box = QRectF(left, 2, width + 1, _TOP - 6)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        for row, stop in enumerate(self._stops):
            self._paint_row(painter, row, stop, text)
        if self._now is not None and start <= self._now <= end:
            x = self._x(self._now)
            painter.setPen(QPen(_LATE, 1.5, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(x, _TOP - 6), QPointF(x, bottom))
        painter.end()

    def _paint_row(self, painter: QPainter, row: int, s: TimelineStop, text: QColor) -> None:
        top = _TOP + row * _ROW
        mid = top + _ROW / 2
        painter.setPen(text)
        label = self.fontMetrics().elidedText(s.label, Qt.TextElideMode.ElideRight, _LEFT - 12)
        painter.drawText(
            QRectF(4, top, _LEFT - 8, _ROW),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            label,
        )
        if s.window_start is not None and s.window_end is not None:
            x0, x1 = self._x(s.window_start), self._x(s.window_end)
            painter.fillRect(QRectF(x0, top + 4, max(2.0, x1 - x0), _ROW - 8), _WINDOW)
        px = self._x(s.planned)
        painter.setPen(QPen(text, 2))  # the plan's tick in the text's colour: always seen
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawLine(QPointF(px, top + 3), QPointF(px, top + _ROW - 3))
        when = s.actual if s.actual is not None else s.predicted
        if when is None:
            return
        colour = _LATE if s.late else (_DONE if s.actual is not None else _ON_TIME)
        x = self._x(when)
        painter.setPen(QPen(colour, 1.5))
        painter.drawLine(QPointF(px, mid), QPointF(x, mid))  # how far from the plan
        painter.setBrush(colour)
        painter.drawEllipse(QPointF(x, mid), 5, 5)
