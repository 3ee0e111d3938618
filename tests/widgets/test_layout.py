"""The window's layout: what a first start (or Reset layout) shows, and what a reset keeps."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from app.tower.control_tower import ControlTower
from tests.widgets.test_main_window import js, open_window
from widgets.main_window import MainWindow


def page_width(qtbot: QtBot, window: MainWindow) -> int:
    return int(js(qtbot, window, "tower.map.getSize().x"))


def test_reset_layout_puts_the_docks_back_and_the_map_keeps_its_view(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    window.resize(1600, 1000)
    window.vehicles_dock.setFloating(True)
    window.timeline_dock.setFloating(True)
    window.exceptions_dock.hide()
    qtbot.waitUntil(lambda: page_width(qtbot, window) == window.map.width())
    # The dispatcher zooms in on a street, then resets the docks.
    window.map.focus(45.77, 4.85, 16)
    qtbot.waitUntil(lambda: window.map.viewport is not None and window.map.viewport.zoom == 16)
    narrow_before = window.map.width()
    window.reset_layout()
    assert all(d.isVisible() and not d.isFloating() for d in window.docks)
    assert window.dockWidgetArea(window.vehicles_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert window.map.width() < narrow_before  # the docks took their room back
    qtbot.waitUntil(lambda: page_width(qtbot, window) == window.map.width())
    view = js(qtbot, window, "tower.view()")
    assert view["zoom"] == 16
    assert abs(view["lat"] - 45.77) < 1e-4 and abs(view["lon"] - 4.85) < 1e-4
