"""Dark (control-room) and light themes, via the Fusion style and a palette.

Widgets that paint their own colours (the KPI charts) read them from the palette
through ``chart_colours``, so they follow whichever theme is applied, and again when it
changes (Qt sends them a palette change).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QToolTip

DARK = "dark"
LIGHT = "light"

Role = QPalette.ColorRole
# (window, base, alternate base, text, mid-tone text) of each theme.
_COLOURS = {
    DARK: ((34, 38, 43), (24, 27, 31), (30, 34, 38), (222, 226, 230), (140, 146, 152)),
    LIGHT: ((239, 239, 239), (255, 255, 255), (246, 246, 246), (20, 20, 20), (110, 110, 110)),
}
_LINK = {DARK: QColor(90, 160, 240), LIGHT: QColor(0, 90, 190)}
# The classes a platform theme may give palettes of their own (Qt reads them off a KDE or
# GNOME desktop: a dark one gives its menu bar, menus, labels, headers and item views dark
# ones): each is set too, or those widgets keep the desktop's colours whatever the
# application's palette says.
_CLASSES = (
    "QMenuBar",
    "QMenu",
    "QStatusBar",
    "QDockWidget",
    "QLabel",
    "QMessageBoxLabel",
    "QHeaderView",
    "QAbstractItemView",
    "QLineEdit",
    "QTextEdit",
    "QTextControl",
    "QComboBox",
    "QAbstractButton",
    "QToolButton",
    "QCheckBox",
    "QRadioButton",
    "QTabBar",
    "QGroupBox",
)


def theme_palette(name: str) -> QPalette:
    """The whole palette of the ``dark`` or ``light`` theme: every role set, so nothing
    is left to the desktop's colour scheme."""
    window, base, alternate, text, muted = (QColor(*c) for c in _COLOURS[name])
    p = QPalette()
    for role, colour in (
        (Role.Window, window),
        (Role.WindowText, text),
        (Role.Base, base),
        (Role.AlternateBase, alternate),
        (Role.ToolTipBase, base),
        (Role.ToolTipText, text),
        (Role.PlaceholderText, muted),
        (Role.Text, text),
        (Role.Button, window),
        (Role.ButtonText, text),
        (Role.BrightText, QColor(255, 85, 85)),
        (Role.Highlight, QColor(38, 110, 190)),
        (Role.HighlightedText, QColor(255, 255, 255)),
        (Role.Link, _LINK[name]),
        (Role.LinkVisited, _LINK[name]),
        (Role.Light, window.lighter(150)),
        (Role.Midlight, window.lighter(115)),
        (Role.Mid, muted),
        (Role.Dark, window.darker(160)),
        (Role.Shadow, QColor(0, 0, 0)),
    ):
        p.setColor(role, colour)
    for role in (Role.Text, Role.ButtonText, Role.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, muted)
    return p


def apply_theme(app: QApplication, name: str) -> None:
    """Switch the whole application to the ``dark`` or ``light`` theme."""
    app.setStyle("Fusion")
    scheme = Qt.ColorScheme.Light if name == LIGHT else Qt.ColorScheme.Dark
    app.styleHints().setColorScheme(scheme)  # what the desktop is told, and web pages
    set_palette(app, theme_palette(name))


def set_palette(app: QApplication, palette: QPalette) -> None:
    """Give ``palette`` to the application, the classes a desktop paints on its own, and
    tooltips."""
    app.setPalette(palette)
    for class_name in _CLASSES:
        # PySide6 takes the class name as str, whatever its stub says.
        QApplication.setPalette(palette, class_name)  # type: ignore[arg-type]
    QToolTip.setPalette(palette)


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
