"""Admin -> Vehicles in the real window on a running tower: a van added in the form is in
the vehicles panel and on the map at once, and its phone's next fix (through the embedded
broker) counts for it; a bad form is refused with the import's messages; an edit shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.storage.exception_repository import audit_log
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.control_tower import ControlTower
from tests.widgets.cells import cell
from widgets.admin_vehicles import VehiclesPage
from widgets.main_window import MainWindow

NEW_VAN = {
    "id": "V13",
    "plate": "GH-413-KL",
    "capacity_kg": "900",
    "shift_start": "07:30",
    "shift_end": "17:00",
    "device": "bob/phone",
    "driver": "Bob Martin",
}


def vehicles_page(
    qtbot: QtBot, tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> tuple[MainWindow, VehiclesPage]:
    window = MainWindow(tower, prefs, tmp_path / "page", "sqlite test")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.map_ready, timeout=30_000):
        window.show()
    dialog = window.show_admin()
    page = dialog.vehicles
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        dialog.tabs.setCurrentWidget(page)
    return window, page


def fill(page: VehiclesPage, texts: dict[str, str]) -> None:
    for key, text in texts.items():
        page.fields[key].setText(text)


def js(qtbot: QtBot, window: MainWindow, expression: str) -> Any:
    box: list[Any] = []
    window.map.evaluate(expression, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


def test_a_van_added_is_in_the_panel_and_on_the_map_and_its_phones_fixes_count(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    tower = demo_tower
    tower.start()
    window, page = vehicles_page(qtbot, tower, prefs, tmp_path)
    page.new_button.click()
    fill(page, NEW_VAN)
    page.depot.setCurrentText(tower.depot.id)
    with qtbot.waitSignals([page.saved, page.loaded], timeout=10_000):
        page.save_button.click()
    assert page.status.text().startswith("V13 saved (depot_id, plate,")
    rows = [cell(page.table, r, 0) for r in range(page.table.rowCount())]
    assert cell(page.table, rows.index("V13"), 4) == "Bob Martin"
    # The running window has the van: a row in the vehicles panel, a marker on the map.
    model = window.vehicles_dock.model
    row = model.row_of("V13")
    assert row is not None
    assert js(qtbot, window, "tower.counts().vehicles") == len(tower.snapshot.vehicles) == 13

    assert tower.feed.client is not None and tower.feed.client.wait_connected(10)
    host, port = tower.feed.broker_address
    phone = MqttPublisher(Endpoint(host, port), client_id="bob-phone")
    phone.connect()
    fix = {"_type": "location", "lat": 45.7655, "lon": 4.8402, "tst": int(tower.clock.now())}
    phone.publish("owntracks/bob/phone", json.dumps(fix))

    def counted() -> bool:  # the window's own timer drains the feed
        live = tower.feed.fleet.vehicle("V13")
        return live is not None and live.last_fix is not None and live.last_fix.lat == 45.7655

    qtbot.waitUntil(counted, timeout=10_000)
    assert tower.feed.fleet.unknown_devices == []
    phone.close()
    [entry] = audit_log(tower.sessions)
    assert (entry["action"], entry["subject"]) == ("vehicle_added", "vehicle V13")


def test_a_bad_van_is_refused_and_an_edit_shows_in_the_panel(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    tower = demo_tower
    window, page = vehicles_page(qtbot, tower, prefs, tmp_path)
    other = tower.snapshot.vehicles[1]
    page.new_button.click()
    fill(page, NEW_VAN | {"device": other.device_id, "shift_end": "06:00"})
    page.depot.setCurrentText("D9")
    page.save_button.click()
    qtbot.waitUntil(lambda: page.errors.text() != "", timeout=10_000)
    assert page.errors.text().splitlines() == [
        "Not saved:",
        "Depot: unknown depot 'D9' (import the depots first)",
        "Shift ends: 06:00 is not after shift_start 07:30",
    ]
    # Once the row reads, the tracker is checked against the other vans'.
    page.depot.setCurrentText(tower.depot.id)
    page.fields["shift_end"].setText("17:00")
    page.save_button.click()
    tracker_taken = f"Tracker id: device {other.device_id!r} is vehicle {other.id}'s"
    qtbot.waitUntil(lambda: tracker_taken in page.errors.text(), timeout=10_000)
    assert audit_log(tower.sessions) == []

    first = tower.snapshot.vehicles[0]
    page.table.selectRow(0)
    assert page.fields["id"].text() == first.id and page.fields["id"].isReadOnly()
    page.fields["plate"].setText("NEW-01")
    with qtbot.waitSignals([page.saved, page.loaded], timeout=10_000):
        page.save_button.click()
    assert page.status.text() == f"{first.id} saved (plate)."
    model = window.vehicles_dock.model
    row = model.row_of(first.id)
    assert row is not None
    texts = [model.index(row, c).data() for c in range(model.columnCount())]
    assert "NEW-01" in texts
