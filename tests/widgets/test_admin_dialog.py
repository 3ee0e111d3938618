"""The Admin workspace on a real tower: a tracker assigned through the dialog counts for
its van at the next fix through the embedded broker; an import is previewed, refused with
errors, and written with the preview's counts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.foundation.time_text import TimeText
from app.storage.exception_repository import audit_log
from app.storage.fleet_repository import load_fleet
from app.storage.orm import DepotRow, VehicleRow
from app.storage.telemetry_repository import fleet_report
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.admin import AdminDesk
from app.tower.control_tower import ControlTower
from tests.widgets.cells import cell
from widgets.admin_dialog import AdminDialog

DEVICE = "alice/phone"


@pytest.fixture
def desk(demo_tower: ControlTower) -> Iterator[AdminDesk]:
    desk = AdminDesk(demo_tower)
    yield desk
    desk.close()


def open_admin(qtbot: QtBot, desk: AdminDesk) -> AdminDialog:
    dialog = AdminDialog(desk, TimeText(desk.tower.settings.depot.timezone))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def location(lat: float, lon: float, ts: float) -> str:
    return json.dumps({"_type": "location", "lat": lat, "lon": lon, "tst": int(ts)})


def test_an_unknown_tracker_assigned_in_two_clicks_counts_for_the_van_at_its_next_fix(
    qtbot: QtBot, demo_tower: ControlTower, desk: AdminDesk
) -> None:
    tower = demo_tower
    tower.start()
    host, port = tower.feed.broker_address
    phone = MqttPublisher(Endpoint(host, port), client_id="alice-phone")
    phone.connect()
    assert tower.feed.client is not None and tower.feed.client.wait_connected(10)
    topic = f"owntracks/{DEVICE}"
    fleet = tower.feed.fleet

    def heard_of_the_phone() -> bool:
        tower.feed.drain()
        return any(u.device_id == DEVICE for u in fleet.unknown_devices)

    phone.publish(topic, location(45.7612, 4.8551, tower.clock.now()))
    qtbot.waitUntil(heard_of_the_phone, timeout=10_000)
    dialog = open_admin(qtbot, desk)
    page = dialog.devices
    page.refresh()
    assert (cell(page.table, 0, 0), cell(page.table, 0, 3), cell(page.table, 0, 4)) == (
        DEVICE,
        "45.76120, 4.85510",
        "1",
    )
    assert not page.assign_button.isEnabled()  # no device picked yet
    van = tower.snapshot.vehicles[2].id
    page.vans.setCurrentIndex(page.vans.findData(van))
    page.table.selectRow(0)  # click one: the device
    page.assign_button.click()  # click two: "Assign to this van"
    assert page.table.rowCount() == 0
    assert page.status.text() == f"{DEVICE} is now {van}'s tracker."

    # The running tower counts the phone's next fix for the van (no restart).
    phone.publish(topic, location(45.7701, 4.8702, tower.clock.now() + 1))

    def van_moved() -> bool:
        tower.feed.drain()
        live = fleet.vehicle(van)
        return live is not None and live.last_fix is not None and live.last_fix.lat == 45.7701

    qtbot.waitUntil(van_moved, timeout=10_000)
    assert fleet.unknown_devices == []
    phone.close()
    tower.feed.flush(10)
    report = fleet_report(tower.sessions)
    assert report["unknown_devices"] == []
    with tower.sessions() as session:
        stored = session.get(VehicleRow, van)
        assert stored is not None and stored.device_id == DEVICE
    [entry] = audit_log(tower.sessions)
    assert (entry["action"], entry["subject"], entry["detail"]["device"]) == (
        "device_assigned",
        f"vehicle {van}",
        DEVICE,
    )
    qtbot.waitUntil(lambda: dialog.audit.table.rowCount() == 1, timeout=5_000)
    assert cell(dialog.audit.table, 0, 2) == "device_assigned"


BAD_DEPOTS = """id,name,lat,lon,timezone,opens,closes
CHI,Chicago West Loop,41.8827,-87.6470,America/Chicago,06:00,21:00
LAX,Los Angeles Vernon,95.0,-118.2301,America/Los_Angeles,06:00,21:00
BOS,Boston Seaport,42.3480,-71.0466,Mars/Olympus,06:00,21:00
"""
GOOD_DEPOTS = BAD_DEPOTS.replace("95.0", "34.0039").replace("Mars/Olympus", "America/New_York")


def test_an_import_is_previewed_refused_with_its_errors_then_written_with_the_preview_counts(
    qtbot: QtBot, tmp_path: Path, desk: AdminDesk
) -> None:
    sessions = desk.tower.sessions
    with sessions() as session:
        before = session.query(DepotRow).count()
    page = open_admin(qtbot, desk).imports
    bad = tmp_path / "depots.csv"
    bad.write_text(BAD_DEPOTS, encoding="utf-8")
    with qtbot.waitSignal(page.previewed, timeout=10_000):
        page.set_file("depots", bad)
    assert page.rows.rowCount() == 3 and cell(page.rows, 1, 0) == "3"
    errors = [[cell(page.errors, r, c) for c in range(3)] for r in range(page.errors.rowCount())]
    assert [e[:2] for e in errors] == [["3", "lat"], ["4", "timezone"]]
    assert page.summary.text().startswith("2 problem(s) in depots.csv: nothing can be written")
    assert not page.import_button.isEnabled()
    page.write()  # refused: nothing is written
    with sessions() as session:
        assert session.query(DepotRow).count() == before

    good = tmp_path / "good-depots.csv"
    good.write_text(GOOD_DEPOTS, encoding="utf-8")
    with qtbot.waitSignal(page.previewed, timeout=10_000) as shown:
        page.set_file("depots", good)
    preview = shown.args[0]
    assert page.errors.rowCount() == 0 and page.import_button.isEnabled()
    assert page.summary.text() == "good-depots.csv: 3 to create, 0 to update, 0 left alone."
    with sessions() as session:
        assert session.query(DepotRow).count() == before  # a preview writes nothing
    with qtbot.waitSignal(page.imported, timeout=10_000) as written:
        page.import_button.click()
    outcome = written.args[0]
    assert (outcome.created, outcome.updated, outcome.unchanged) == (
        preview.outcome.created,
        preview.outcome.updated,
        preview.outcome.unchanged,
    )
    assert page.summary.text() == "Imported: 3 created, 0 updated, 0 left alone."
    with sessions() as session:
        assert session.query(DepotRow).count() == before + 3
    [entry] = audit_log(sessions)
    assert (entry["action"], entry["subject"], entry["detail"]["created"]) == (
        "imported",
        "depots",
        3,
    )
    # The same file again: all of it left alone.
    with qtbot.waitSignal(page.previewed, timeout=10_000):
        page.show_preview()
    assert page.summary.text() == "good-depots.csv: 0 to create, 0 to update, 3 left alone."


def test_a_retired_van_leaves_the_active_fleet(qtbot: QtBot, desk: AdminDesk) -> None:
    tower = desk.tower
    van = tower.snapshot.vehicles[0].id
    dialog = open_admin(qtbot, desk)
    page = dialog.vehicles
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        dialog.tabs.setCurrentWidget(page)
    assert (cell(page.table, 0, 0), cell(page.table, 0, 6)) == (van, "yes")
    page.table.selectRow(0)
    with qtbot.waitSignals([page.retired, page.loaded], timeout=10_000):
        page.retire_button.click()
    assert cell(page.table, 0, 6) == "retired"
    fleet = load_fleet(tower.sessions, tower.day.iso)
    assert van not in {v.id for v in fleet.vehicles}
    assert len(fleet.vehicles) == len(tower.snapshot.vehicles) - 1
    [entry] = audit_log(tower.sessions)
    assert (entry["action"], entry["subject"]) == ("vehicle_retired", f"vehicle {van}")
