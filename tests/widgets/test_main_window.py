from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from app.tower.control_tower import ControlTower
from widgets.main_window import MainWindow


def open_window(qtbot: QtBot, tower: ControlTower, prefs: QSettings, tmp_path: Path) -> MainWindow:
    window = MainWindow(tower, prefs, tmp_path / "page", "sqlite test")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.map_ready, timeout=30_000):
        window.show()
    return window


def js(qtbot: QtBot, window: MainWindow, expression: str) -> Any:
    box: list[Any] = []
    window.map.evaluate(expression, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


def test_map_page_shows_every_vehicle_and_stop(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    counts = js(qtbot, window, "tower.counts()")
    assert counts == {"vehicles": 12, "stops": 250}
    # Offline, the tile server never answers: the map says so instead of staying blank.
    qtbot.waitUntil(
        lambda: "tiles unavailable" in js(qtbot, window, "tower.noteText()"), timeout=15_000
    )


def test_customer_names_are_shown_as_text_never_as_markup(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    hostile = {
        "id": "S-X",
        "label": "X",
        "customer": '<img src=x onerror="alert(1)">',
        "address": "<b>bold</b>",
        "lat": 45.75,
        "lon": 4.85,
        "status": "pending",
    }
    window.map.update([], [hostile])
    tooltip = js(qtbot, window, "tower.tooltipText('stop', 'S-X')")
    assert '<img src=x onerror="alert(1)">' in tooltip["text"]
    assert tooltip["images"] == 0


def test_vehicles_dock_lists_the_fleet_from_the_database(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    table = window.vehicles_dock.table.model()
    assert table.rowCount() == 12
    ids = [table.index(row, 0).data() for row in range(12)]
    assert ids == [f"V{n:02d}" for n in range(1, 13)]
    plates = {v.plate for v in demo_tower.snapshot.vehicles}
    assert table.index(0, 1).data() in plates


def test_clicking_a_vehicle_on_the_map_selects_its_row(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    with qtbot.waitSignal(window.map.vehicle_clicked, timeout=10_000) as clicked:
        window.map.call("clicked", "vehicle", "V05")
    assert clicked.args == ["V05"]
    assert window.vehicles_dock.table.currentIndex().data() == "V05"


def test_layout_and_theme_come_back_at_the_next_start(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    window.removeDockWidget(window.kpi_dock)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.kpi_dock)
    window.proposals_dock.hide()
    window.set_theme("light")
    window.close()

    again = MainWindow(demo_tower, prefs, tmp_path / "page2", "sqlite test")
    qtbot.addWidget(again)
    assert again.dockWidgetArea(again.kpi_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert again.proposals_dock.isHidden()
    assert again.theme_actions["light"].isChecked()
