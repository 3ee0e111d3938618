"""The KPI dock's charts: bars that tell what is under the mouse and what was clicked,
and day or hour series whose points show their values on hover."""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QWidget

BAR_WIDTH = 0.7
MAX_LABELS = 6
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
        self._tip = pg.TextItem("", color="#111", fill=(255, 255, 225, 230), anchor=(0.5, 1.0))
        self._tip.setZValue(10)
        self._tip.hide()
        self.addItem(self._tip, ignoreBounds=True)
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)

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
        axis = self.getAxis("bottom")
        # Thin the labels out when the bars are many: hovering names every bar anyway.
        every = max(1, -(-len(xs) // MAX_LABELS))
        ticks = [(x, _short(label)) for x, label in zip(xs, self.labels, strict=True)]
        axis.setTicks([ticks[::every]])
        top = max(self.values, default=0.0)
        self.setXRange(-0.6, max(len(xs) - 0.4, 0.6), padding=0)
        self.setYRange(0, top * 1.15 if top > 0 else 1.0, padding=0)
        self._tip.hide()
        self.hover_text = ""

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

    def set_series(
        self, labels: Sequence[str], series: dict[str, Sequence[float | None]], unit: str = ""
    ) -> None:
        """One line per entry of ``series`` over ``labels``; missing values leave gaps."""
        plot = self.getPlotItem()
        plot.clear()
        self.series = {name: list(values) for name, values in series.items()}
        step = max(1, len(labels) // 8)
        self.getAxis("bottom").setTicks(
            [[(i, _short(label)) for i, label in enumerate(labels) if i % step == 0]]
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
    """A titled chart on white that neither pans, zooms nor offers pyqtgraph's menu."""
    plot.setBackground("w")
    plot.setTitle(title, color="#333", size="10pt")
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()


def _short(label: str, limit: int = 12) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
