"""Headline tiles: a KPI's value this period, the previous period's, and a trend arrow."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from app.domain.kpi_report import Tile, trend_text

GOOD = "#2e7d32"
BAD = "#c62828"
NEUTRAL = "#555555"


def trend_colour(tile: Tile) -> str:
    """Green when the KPI moved the good way, red the bad way, grey otherwise."""
    if tile.good is None:
        return NEUTRAL
    return GOOD if tile.good else BAD


class KpiTile(QFrame):
    """One headline tile."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("KpiTile")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(0)
        self.title = QLabel(self)
        self.value = QLabel(self)
        self.value.setStyleSheet("font-size: 16pt; font-weight: 600;")
        self.trend = QLabel(self)
        self.detail = QLabel(self)
        # The theme's muted text: a fixed grey is unreadable on the dark theme.
        self.detail.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.trend.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        for label in (self.title, self.value, self.trend, self.detail):
            layout.addWidget(label)

    def show_tile(self, tile: Tile) -> None:
        """Display ``tile``."""
        self.title.setText(tile.label)
        self.value.setText(tile.text)
        self.trend.setText(trend_text(tile))
        # Green or red on either theme; no colour of its own when there is no trend.
        self.trend.setStyleSheet("" if tile.good is None else f"color: {trend_colour(tile)};")
        self.detail.setText(tile.detail)
        before = tile.previous_text or "no data"
        self.setToolTip(f"{tile.label}: {tile.text} (previous period {before})")


class TileGrid(QWidget):
    """The headline tiles in a grid, addressable by KPI key."""

    def __init__(self, columns: int = 7, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._columns = columns
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.tiles: dict[str, KpiTile] = {}

    def show_tiles(self, tiles: Sequence[Tile]) -> None:
        """Show ``tiles`` (created on first use, updated in place after)."""
        for n, tile in enumerate(tiles):
            widget = self.tiles.get(tile.key)
            if widget is None:
                widget = KpiTile(self)
                self.tiles[tile.key] = widget
                self._layout.addWidget(widget, n // self._columns, n % self._columns)
            widget.show_tile(tile)
