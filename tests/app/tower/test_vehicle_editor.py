"""The vehicle editor's form, read as an import reads a vehicles row, stored with its
audit entry, and learnt by the running tower: in its fleet, its rules and its feed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import connect
from app.storage.exception_repository import audit_log
from app.storage.fleet_repository import load_fleet
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day
from app.tower.vehicle_editor import store_vehicle

SETTINGS = Settings()
DAY = OperatingDay.at(1_780_000_000, SETTINGS.depot.timezone)
NEW_VAN = {
    "id": "V13",
    "depot": "D1",
    "plate": "GH-413-KL",
    "capacity_kg": "900",
    "capacity_m3": "",
    "shift_start": "07:30",
    "shift_end": "17:00",
    "device": "bob/phone",
    "driver": "Bob Martin",
}


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    ensure_demo_day(sessions, SETTINGS, DAY)
    tower = ControlTower(SETTINGS, sessions, DAY, ManualClock(DAY.start + 10 * 3600))
    yield tower
    tower.stop()


def test_a_bad_van_is_refused_with_the_imports_messages(tower: ControlTower) -> None:
    taken = tower.snapshot.vehicles[1]
    form = NEW_VAN | {"depot": "D9", "shift_end": "06:00", "capacity_kg": "-1"}
    saved = store_vehicle(tower.sessions, form | {"id": "V01"}, new=True, at=0.0, user="ana")
    assert saved.vehicle is None
    assert [(i.column, i.message) for i in saved.issues] == [
        ("depot", "unknown depot 'D9' (import the depots first)"),
        ("capacity_kg", "-1 is out of range (above 0 to 1000000)"),
        ("shift_end", "06:00 is not after shift_start 07:30"),
        ("id", "vehicle V01 exists: pick it to edit it"),
    ]
    with_taken = NEW_VAN | {"device": taken.device_id}
    saved = store_vehicle(tower.sessions, with_taken, new=True, at=0.0, user="ana")
    assert [(i.column, i.message) for i in saved.issues] == [
        ("device", f"device {taken.device_id!r} is vehicle {taken.id}'s")
    ]
    assert audit_log(tower.sessions) == []


def test_a_van_added_is_stored_logged_and_learnt_by_the_running_tower(tower: ControlTower) -> None:
    saved = store_vehicle(tower.sessions, NEW_VAN, new=True, at=DAY.start, user="ana")
    assert saved.vehicle is not None and saved.driver is not None
    assert (saved.vehicle.shift_start_s, saved.vehicle.capacity_kg) == (27_000, 900.0)
    assert tower.learn_vehicle(saved.vehicle, saved.driver)
    [view] = tower.vehicle_views(["V13"])
    assert (view.plate, view.driver, view.shift) == ("GH-413-KL", "Bob Martin", "07:30–17:00")
    assert tower.feed.fleet.vehicle("V13") is not None
    assert tower.feed.device_ids["bob/phone"] == "V13"
    track = tower.operations.state.vehicles["V13"]
    assert track.shift_start == DAY.epoch_at(27_000)
    [entry] = audit_log(tower.sessions)
    assert (entry["action"], entry["subject"], entry["detail"]["device_id"]) == (
        "vehicle_added",
        "vehicle V13",
        "bob/phone",
    )
    assert "V13" in {v.id for v in load_fleet(tower.sessions, DAY.iso).vehicles}


def test_a_van_edited_changes_what_the_tower_shows_and_logs_the_difference(
    tower: ControlTower,
) -> None:
    v01 = tower.snapshot.vehicles[0]
    form = {
        "id": v01.id,
        "depot": v01.depot_id,
        "plate": "NEW-01",
        "capacity_kg": str(v01.capacity_kg),
        "capacity_m3": str(v01.capacity_m3),
        "shift_start": "08:00",
        "shift_end": "18:00",
        "device": "",
        "driver": "",
    }
    saved = store_vehicle(tower.sessions, form, new=False, at=DAY.start, user="ana")
    assert saved.vehicle is not None and saved.changes is not None
    assert saved.changes["plate"] == f"{v01.plate} -> NEW-01"
    assert tower.learn_vehicle(saved.vehicle, saved.driver)
    [view] = tower.vehicle_views([v01.id])
    assert view.plate == "NEW-01"
    assert v01.device_id not in tower.feed.device_ids  # the van's tracker let go
    assert [v.id for v in tower.live.vehicles][:2] == [v01.id, "V02"]  # in its place
    [entry] = audit_log(tower.sessions)
    assert entry["action"] == "vehicle_edited"
    again = store_vehicle(tower.sessions, form, new=False, at=DAY.start, user="ana")
    assert again.changes == {}
    assert len(audit_log(tower.sessions)) == 1
