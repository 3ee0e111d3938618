"""Dark (control-room) and light themes, via the Fusion style and a palette.

Widgets that paint their own colours (the KPI charts) read them from the palette
through ``chart_colours``, so they follow whichever theme is applied, and again when it
changes (Qt sends them a palette change).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

DARK = "dark"
LIGHT = "light"


def apply_theme(app: QApplication, name: str) -> None:
    """Switch the whole application to the ``dark`` or ``light`` theme."""
    app.setStyle("Fusion")
    if name == LIGHT:
        app.setPalette(app.style().standardPalette())
        return
    palette = QPalette()
    base, window, text = QColor(24, 27, 31), QColor(34, 38, 43), QColor(222, 226, 230)
    palette.setColor(QPalette.ColorRole.Window, window)
    palette.setColor(QPalette.ColorRole.WindowText, text)
    palette.setColor(QPalette.ColorRole.Base, base)
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor(30, 34, 38))
    palette.setColor(QPalette.ColorRole.ToolTipBase, window)
    palette.setColor(QPalette.ColorRole.ToolTipText, text)
    palette.setColor(QPalette.ColorRole.Text, text)
    palette.setColor(QPalette.ColorRole.Button, window)
    palette.setColor(QPalette.ColorRole.ButtonText, text)
    palette.setColor(QPalette.ColorRole.BrightText, QColor(255, 85, 85))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(38, 110, 190))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    palette.setColor(QPalette.ColorRole.Link, QColor(90, 160, 240))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 125, 130))
    app.setPalette(palette)


@dataclass(frozen=True)
class ChartColours:
    """What a chart paints with: its background, text and axes, grid and hover tip."""

    background: QColor
    text: QColor
    axis: QColor
    tip_fill: QColor
    tip_text: QColor


def chart_colours(palette: QPalette) -> ChartColours:
    """The chart colours of ``palette``: the view's base, its text, axes half-way between."""
    background = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.WindowText)
    axis = QColor(
        (background.red() + 2 * text.red()) // 3,
        (background.green() + 2 * text.green()) // 3,
        (background.blue() + 2 * text.blue()) // 3,
    )
    return ChartColours(
        background,
        text,
        axis,
        palette.color(QPalette.ColorRole.ToolTipBase),
        palette.color(QPalette.ColorRole.ToolTipText),
    )
