"""The KPI dock's charts: bars that tell what is under the mouse and what was clicked,
and day or hour series whose points show their values on hover.

They paint with the theme's colours (``widgets.theme.chart_colours``) and repaint when
the palette changes; category labels are wrapped onto lines rather than cut.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Signal
from PySide6.QtGui import QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QWidget

from widgets.theme import chart_colours

BAR_WIDTH = 0.7
LABEL_WIDTH_PX = 78  # the room one category label needs on the axis (wrapped, 3 lines)
LINE_CHARS = 12
BAR_BRUSH = (60, 120, 190)
SERIES_PENS = ((60, 120, 190), (200, 90, 40), (60, 160, 90), (150, 80, 170))


class BarChart(pg.PlotWidget):  # type: ignore[misc]
    """Vertical bars with category labels.

    Signals:
        barClicked(str): the key of the bar clicked.
    """

    barClicked = Signal(str)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _still(self, title)
        self.keys: list[str] = []
        self.labels: list[str] = []
        self.values: list[float] = []
        self.texts: list[str] = []
        self.hover_text = ""
        self._bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=BAR_BRUSH)
        self.addItem(self._bars)
        self._tip = pg.TextItem("", anchor=(0.5, 1.0))
        self._tip.setZValue(10)
        self._tip.hide()
        self.addItem(self._tip, ignoreBounds=True)
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)
        _follow_theme(self)

    def set_bars(
        self,
        keys: Sequence[str],
        labels: Sequence[str],
        values: Sequence[float],
        texts: Sequence[str] | None = None,
    ) -> None:
        """Show one bar per key; ``texts`` are the hover labels of the values."""
        self.keys, self.labels, self.values = list(keys), list(labels), list(values)
        self.texts = list(texts) if texts is not None else [f"{v:g}" for v in values]
        xs = list(range(len(self.keys)))
        self._bars.setOpts(x=xs, height=self.values, width=BAR_WIDTH)
        self._label_bars()
        top = max(self.values, default=0.0)
        self.setXRange(-0.6, max(len(xs) - 0.4, 0.6), padding=0)
        self.setYRange(0, top * 1.15 if top > 0 else 1.0, padding=0)
        self._tip.hide()
        self.hover_text = ""

    def tick_labels(self) -> list[str]:
        """The labels the category axis shows now (tests read them)."""
        return _tick_texts(self)

    def _label_bars(self) -> None:
        """Every bar's label, whole, when the width allows; else every n-th (hovering
        names each bar anyway)."""
        room = max(1, self.width() // LABEL_WIDTH_PX)
        every = max(1, -(-len(self.labels) // room))
        ticks = [(x, wrapped(label)) for x, label in enumerate(self.labels)][::every]
        axis = self.getAxis("bottom")
        axis.setTicks([ticks])
        # pyqtgraph sizes the axis for one line of text: make room for the wrapped ones.
        lines = max((text.count("\n") + 1 for _, text in ticks), default=1)
        axis.setHeight(QFontMetrics(axis.font()).lineSpacing() * lines + 14)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Re-thin the labels for the new width."""
        super().resizeEvent(event)
        if "labels" in self.__dict__:  # pyqtgraph resizes it while it builds it
            self._label_bars()

    def changeEvent(self, event: QEvent) -> None:
        """Repaint in the new theme's colours."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            _follow_theme(self)

    def bar_scene_pos(self, key: str) -> QPointF:
        """The scene position of the middle of ``key``'s bar (tests aim with it)."""
        index = self.keys.index(key)
        view = self.getPlotItem().getViewBox()
        return view.mapViewToScene(QPointF(index, self.values[index] / 2))  # type: ignore[no-any-return]

    def index_at(self, scene_pos: QPointF) -> int | None:
        """The bar under ``scene_pos``, if any."""
        view = self.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(scene_pos):
            return None
        point = view.mapSceneToView(scene_pos)
        index: int = round(point.x())
        if not (0 <= index < len(self.keys) and abs(point.x() - index) <= BAR_WIDTH / 2):
            return None
        height = self.values[index]
        return index if height == 0 or 0 <= point.y() <= height else None

    def _moved(self, scene_pos: QPointF) -> None:
        index = self.index_at(scene_pos)
        if index is None:
            self._tip.hide()
            self.hover_text = ""
            self.setToolTip("")
            return
        self.hover_text = f"{self.labels[index]}: {self.texts[index]}"
        self._tip.setText(self.hover_text)
        self._tip.setPos(index, self.values[index])
        self._tip.show()
        self.setToolTip(self.hover_text)

    def _clicked(self, event: object) -> None:
        index = self.index_at(event.scenePos())  # type: ignore[attr-defined]
        if index is not None:
            self.barClicked.emit(self.keys[index])


class SeriesChart(pg.PlotWidget):  # type: ignore[misc]
    """Lines over categories (hours or days) with hoverable points and a legend."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _still(self, title)
        self.showGrid(y=True, alpha=0.2)
        self.addLegend(offset=(5, 5), labelTextSize="8pt")
        self.series: dict[str, list[float | None]] = {}
        _follow_theme(self)

    def tick_labels(self) -> list[str]:
        """The labels the category axis shows now (tests read them)."""
        return _tick_texts(self)

    def changeEvent(self, event: QEvent) -> None:
        """Repaint in the new theme's colours."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            _follow_theme(self)

    def set_series(
        self, labels: Sequence[str], series: dict[str, Sequence[float | None]], unit: str = ""
    ) -> None:
        """One line per entry of ``series`` over ``labels``; missing values leave gaps."""
        plot = self.getPlotItem()
        plot.clear()
        self.series = {name: list(values) for name, values in series.items()}
        step = max(1, len(labels) // 8)
        self.getAxis("bottom").setTicks(
            [[(i, wrapped(label)) for i, label in enumerate(labels) if i % step == 0]]
        )
        for n, (name, values) in enumerate(self.series.items()):
            xs = [i for i, v in enumerate(values) if v is not None]
            ys = [float(v) for v in values if v is not None]
            pen = SERIES_PENS[n % len(SERIES_PENS)]
            tips = [f"{name} {labels[i]}: {y:.1f}{unit}" for i, y in zip(xs, ys, strict=True)]
            plot.addItem(
                pg.PlotDataItem(
                    xs,
                    ys,
                    pen=pg.mkPen(pen, width=2),
                    symbol="o",
                    symbolSize=5,
                    symbolBrush=pen,
                    name=name,
                )
            )
            points = pg.ScatterPlotItem(
                xs,
                ys,
                size=9,
                brush=(0, 0, 0, 0),
                pen=None,
                hoverable=True,
                hoverBrush=pen,
                data=tips,
                tip=lambda x, y, data: str(data),
            )
            plot.addItem(points)
        self.setXRange(-0.5, max(len(labels) - 0.5, 0.5), padding=0)


def _still(plot: pg.PlotWidget, title: str) -> None:
    """A titled chart that neither pans, zooms nor offers pyqtgraph's menu."""
    plot.chart_title = title
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    # Labels at the ends may reach past the plot's edge rather than be dropped.
    plot.getAxis("bottom").setStyle(hideOverlappingLabels=False)


def _follow_theme(plot: pg.PlotWidget) -> None:
    """Paint ``plot`` in the colours of its palette (the applied theme)."""
    if "chart_title" not in plot.__dict__:  # a palette change while pyqtgraph builds it
        return
    colours = chart_colours(plot.palette())
    plot.setBackground(colours.background)
    plot.setTitle(plot.chart_title, color=colours.text, size="10pt")
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(colours.axis)
        axis.setTextPen(colours.text)
    legend = plot.getPlotItem().legend
    if legend is not None:
        legend.setLabelTextColor(colours.text)
    tip = getattr(plot, "_tip", None)
    if tip is not None:
        tip.setColor(colours.tip_text)
        tip.fill = pg.mkBrush(colours.tip_fill)


def wrapped(label: str) -> str:
    """A category label on up to three lines of whole words, never cut short."""
    return "\n".join(textwrap.wrap(label, LINE_CHARS, break_long_words=False)) or label


def _tick_texts(plot: pg.PlotWidget) -> list[str]:
    ticks = plot.getAxis("bottom")._tickLevels or [[]]  # pyqtgraph keeps them private
    return [text for _, text in ticks[0]]
