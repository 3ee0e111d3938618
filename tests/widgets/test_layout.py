"""The window's layout: what a first start (or Reset layout) shows, and what a reset keeps."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QTreeView
from pytestqt.qtbot import QtBot

from app.tower.control_tower import ControlTower
from tests.widgets.test_main_window import js, open_window
from widgets.main_window import MainWindow


def page_width(qtbot: QtBot, window: MainWindow) -> int:
    return int(js(qtbot, window, "tower.map.getSize().x"))


def page_size(qtbot: QtBot, window: MainWindow) -> tuple[int, int]:
    size = js(qtbot, window, "tower.map.getSize()")
    return int(size["x"]), int(size["y"])


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
    tall_before = window.map.height()
    window.reset_layout()
    assert all(d.isVisible() and not d.isFloating() for d in window.docks)
    assert window.dockWidgetArea(window.vehicles_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.map.height() < tall_before  # the docks took their room back
    qtbot.waitUntil(lambda: page_size(qtbot, window) == window.map.size().toTuple())
    view = js(qtbot, window, "tower.view()")
    assert view["zoom"] == 16
    assert abs(view["lat"] - 45.77) < 1e-4 and abs(view["lon"] - 4.85) < 1e-4


def header_of(view: QAbstractItemView) -> QHeaderView:
    return view.horizontalHeader() if isinstance(view, QTableView) else view.header()  # type: ignore[attr-defined]


def cut_columns(view: QAbstractItemView) -> list[str]:
    """The columns of ``view`` not wholly in sight: outside its viewport, of no width, or
    narrower than their heading."""
    header = header_of(view)
    width = view.viewport().width()
    metrics = header.fontMetrics()
    cut = []
    for section in range(header.count()):
        if header.isSectionHidden(section):
            continue
        title = str(header.model().headerData(section, Qt.Orientation.Horizontal))
        left, size = header.sectionViewportPosition(section), header.sectionSize(section)
        if left < 0 or left + size > width or size < metrics.horizontalAdvance(title):
            cut.append(f"{title} ({left}+{size} of {width})")
    return cut


@pytest.mark.parametrize("size", [(1600, 1000), (1920, 1080)])
def test_the_first_start_layout_shows_every_column_of_every_table(
    qtbot: QtBot,
    demo_tower: ControlTower,
    prefs: QSettings,
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    window = MainWindow(demo_tower, prefs, tmp_path / "page", "sqlite test")
    qtbot.addWidget(window)
    window.resize(*size)
    with qtbot.waitSignal(window.map_ready, timeout=30_000):
        window.show()
    assert window.map.width() >= size[0] // 2 and window.map.height() >= size[1] // 2
    seen = 0
    for dock in window.docks:
        dock.raise_()  # a tab's dock is read once its tab is picked
        views = [*dock.findChildren(QTableView), *dock.findChildren(QTreeView)]
        for view in views:
            if not view.isVisible() or header_of(view).count() == 0:
                continue
            viewport = view.viewport()
            qtbot.waitUntil(lambda: viewport.width() > 0)  # noqa: B023 (waited for here)
            assert cut_columns(view) == [], f"{dock.objectName()}/{view.objectName()}"
            seen += 1
    assert seen >= 4  # vehicles, exceptions, a proposal's diff, an order's timeline
    # The vehicles' cells are whole too: each column as wide as what it holds.
    table = window.vehicles_dock.table
    for column in range(table.model().columnCount()):
        assert table.columnWidth(column) >= table.sizeHintForColumn(column)
