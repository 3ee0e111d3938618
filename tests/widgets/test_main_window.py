from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from app.domain.model import TelemetryFix
from app.foundation.settings import MapSettings, Settings
from app.storage.telemetry_repository import store_telemetry
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


def store_fixes(tower: ControlTower, fixes: list[TelemetryFix]) -> None:
    with tower.sessions.begin() as session:
        store_telemetry(session, fixes, [], {}, [])


def trail_shown(qtbot: QtBot, window: MainWindow, expected: list[list[float]]) -> None:
    """Wait until the map's trail is ``expected`` (the stored part is read off the GUI thread)."""
    qtbot.waitUntil(lambda: js(qtbot, window, "tower.trailLatLngs()") == expected, timeout=10_000)


def test_clicking_a_vehicle_on_the_map_selects_its_row(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    now = demo_tower.clock.now()
    store_fixes(
        demo_tower,
        [
            TelemetryFix("V05", now - 120, 45.751, 4.851, speed_kmh=25.0),
            TelemetryFix("V05", now - 60, 45.752, 4.852, speed_kmh=25.0),
            TelemetryFix("V05", now - 10, 45.753, 4.853, speed_kmh=25.0),
        ],
    )
    demo_tower.start()  # the live state comes back from the database
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    window.vehicles_dock.table.selectRow(1)
    assert js(qtbot, window, "tower.selectedVehicle()") == "V02"

    with qtbot.waitSignal(window.map.vehicle_clicked, timeout=10_000) as clicked:
        window.map.call("clicked", "vehicle", "V05")
    assert clicked.args == ["V05"]
    assert window.vehicles_dock.table.currentIndex().data() == "V05"
    # Selected on the map too, not only in the table: highlighted, with its trail, and
    # its timeline beside the map.
    assert js(qtbot, window, "tower.selectedVehicle()") == "V05"
    trail_shown(qtbot, window, [[45.751, 4.851], [45.752, 4.852], [45.753, 4.853]])
    assert window.timeline.vehicle_id == "V05"
    assert "V05" in window.timeline_dock.windowTitle()


# Overrides the fixture the tower is built from: a trail of 10 minutes.
@pytest.mark.parametrize(
    "offline_settings",
    [Settings(map=MapSettings(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png", trail_minutes=10))],
)
def test_the_trail_shows_the_last_minutes_from_storage_and_survives_a_new_plan(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    now = demo_tower.clock.now()
    store_fixes(
        demo_tower,
        [
            TelemetryFix("V03", now - 15 * 60, 45.70, 4.80),  # older than 10 min before the last
            TelemetryFix("V03", now - 8 * 60, 45.71, 4.81),
            TelemetryFix("V03", now - 4 * 60, 45.72, 4.82),
            TelemetryFix("V03", now - 20, 45.76, 4.86),
        ],
    )
    demo_tower.start()
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    # Positions from before the window opened: the page never saw them itself.
    window.vehicles_dock.table.selectRow(2)
    trail_shown(qtbot, window, [[45.71, 4.81], [45.72, 4.82], [45.76, 4.86]])

    # An accepted re-plan redraws routes, stops and vans: the trail stays.
    window.redraw_plan()
    assert js(qtbot, window, "tower.selectedVehicle()") == "V03"
    assert js(qtbot, window, "tower.trailLatLngs()") == [
        [45.71, 4.81],
        [45.72, 4.82],
        [45.76, 4.86],
    ]


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
