"""Each theme reaches every part of the window: what a user sees is light with dark text
(light theme) or dark with light text (dark theme), even on a desktop of the other kind."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QMenu, QToolTip, QWidget
from pytestqt.qtbot import QtBot

from app.tower.control_tower import ControlTower
from tests.widgets.test_main_window import js, open_window
from widgets.main_window import MainWindow
from widgets.theme import _CLASSES, DARK, LIGHT, apply_theme, theme_palette

OTHER = {LIGHT: DARK, DARK: LIGHT}


@pytest.fixture
def desktop(qapp: QApplication) -> Iterator[None]:
    """Undo what a test's desktop and themes did to the application's palettes."""
    yield
    apply_theme(qapp, DARK)


def like_a_desktop_of(theme: str) -> None:
    """What a KDE or GNOME desktop in ``theme`` does: its platform theme gives menu bars,
    menus, headers, item views... palettes of their own."""
    for class_name in _CLASSES:
        QApplication.setPalette(theme_palette(theme), class_name)  # type: ignore[arg-type]


def lightness(colour: QColor) -> float:
    return colour.lightnessF()


def background_and_ink(image: QImage) -> tuple[float, float]:
    """The lightness of the commonest colour (the background) and of the colour farthest
    from it (the text)."""
    assert not image.isNull() and image.width() > 0
    seen: Counter[int] = Counter(
        image.pixel(x, y) for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)
    )
    background = lightness(QColor.fromRgb(seen.most_common(1)[0][0]))
    ink = max((lightness(QColor.fromRgb(c)) for c in seen), key=lambda v: abs(v - background))
    return background, ink


def assert_reads_as(theme: str, what: str, background: float, ink: float) -> None:
    if theme == LIGHT:
        assert background > 0.75 and ink < 0.35, f"{what}: {background:.2f} / {ink:.2f}"
    else:
        assert background < 0.3 and ink > 0.7, f"{what}: {background:.2f} / {ink:.2f}"


def assert_looks(theme: str, what: str, widget: QWidget) -> None:
    assert_reads_as(theme, what, *background_and_ink(widget.grab().toImage()))


def css_lightness(text: str) -> float:
    """``rgb(1, 2, 3)`` or ``rgba(1, 2, 3, 0.9)`` as a lightness."""
    r, g, b = (int(v) for v in re.findall(r"[\d.]+", text)[:3])
    return lightness(QColor(r, g, b))


def map_colours(qtbot: QtBot, window: MainWindow, selector: str) -> tuple[float, float]:
    """The page's computed background and text colour of the first ``selector``."""
    style = js(
        qtbot,
        window,
        f"(function () {{ const s = getComputedStyle(document.querySelector({selector!r}));"
        " return [s.backgroundColor, s.color]; })()",
    )
    return css_lightness(style[0]), css_lightness(style[1])


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_every_part_of_the_window_follows_the_theme(
    qtbot: QtBot,
    demo_tower: ControlTower,
    prefs: QSettings,
    tmp_path: Path,
    desktop: None,
    theme: str,
) -> None:
    like_a_desktop_of(OTHER[theme])
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    window.resize(1600, 1000)
    window.set_theme(theme)
    qtbot.wait(50)  # the palette change is delivered in the event loop's next turn

    assert_looks(theme, "menu bar", window.menuBar())
    menu = window.menuBar().actions()[1].menu()
    assert isinstance(menu, QMenu)
    assert_looks(theme, "View menu", menu)
    window.status.showMessage("Plan version 2 is live")
    assert_looks(theme, "status bar", window.statusBar())
    for dock in window.docks:
        assert_reads_as(
            theme,
            f"{dock.objectName()} title",
            lightness(dock.palette().color(dock.backgroundRole())),
            lightness(dock.palette().color(dock.foregroundRole())),
        )
    table = window.vehicles_dock.table
    assert_looks(theme, "vehicles table", table.viewport())
    assert_looks(theme, "vehicles header", table.horizontalHeader())
    assert_looks(theme, "exceptions header", window.exceptions_dock.table.horizontalHeader())
    QToolTip.showText(table.mapToGlobal(QPoint(20, 20)), "Route v4 sent at 10:02", table)
    tips = [w for w in QApplication.topLevelWidgets() if w.inherits("QTipLabel")]
    qtbot.waitUntil(lambda: any(t.isVisible() for t in tips))
    assert_looks(theme, "tooltip", next(t for t in tips if t.isVisible()))
    QToolTip.hideText()
    window.show_timeline("V01")
    assert_looks(theme, "vehicle timeline", window.timeline)
    assert_looks(theme, "keys and documentation dialog", window.show_help())
    assert_looks(theme, "telemetry dialog", window.show_telemetry())

    window.kpi_dock.show()
    window.kpi_dock.raise_()
    charts = window.kpi_dock.findChildren(pg.PlotWidget)
    assert charts
    for chart in charts:
        assert_looks(theme, f"KPI chart {chart.chart_title}", chart)

    # The map page: its background (tiles are the tile server's), Leaflet's zoom
    # buttons, attribution and scale, the offline note and the markers' tooltips.
    js(qtbot, window, "tower.vehicles.values().next().value.marker.openTooltip()")
    for selector in (
        ".leaflet-container",
        ".leaflet-control-zoom-in",
        ".leaflet-control-attribution",
        ".leaflet-control-scale-line",
        ".tower-note",
        ".leaflet-tooltip",
    ):
        background, ink = map_colours(qtbot, window, selector)
        if selector == ".leaflet-container":
            ink = 1.0 - background  # a background only: nothing is written on it
        assert_reads_as(theme, f"map {selector}", background, ink)
