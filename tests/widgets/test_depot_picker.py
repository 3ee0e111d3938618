"""View -> Watched depot in the real window of a two-depot tower (Lyon and London): the
window's title, times and map follow the depot picked."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.foundation.clock import ManualClock, SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import ReplanSettings, Settings
from app.storage.database import connect
from app.storage.fleet_repository import load_depots
from app.tower.control_tower import ControlTower
from app.tower.data_setup import built_demo_day, ensure_demo_day
from app.tower.depot_days import depot_days
from app.tower.imports import run_import
from widgets.main_window import MainWindow

LONDON = b"""id,name,lat,lon,timezone,opens,closes
LDN,London Park Royal,51.5290,-0.2720,Europe/London,06:00,21:00
"""


@pytest.fixture
def two_depots(tmp_path: Path, offline_settings: Settings) -> Iterator[ControlTower]:
    """The demo's Lyon depot and a London one; no self-healing re-plan starts by itself
    (a re-plan running holds the watched depot where it is)."""
    settings = dataclasses.replace(offline_settings, replan=ReplanSettings(auto_request=False))
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(SystemClock().now(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day, built_demo_day)
    assert not run_import(sessions, "depots", LONDON, "depots.csv").errors
    clock = ManualClock(day.epoch_at(11 * 3600))
    days = depot_days(load_depots(sessions), clock.now())
    tower = ControlTower(settings, sessions, days["D1"], clock, days=days)
    yield tower
    tower.stop()


def test_the_depot_picked_is_the_windows_title_zone_and_map_centre(
    qtbot: QtBot, two_depots: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    tower = two_depots
    window = MainWindow(tower, prefs, tmp_path / "page", "sqlite test")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.map_ready, timeout=30_000):
        window.show()
    picker = window.depot_picker
    assert picker is not None and list(picker.actions) == ["D1", "LDN"]
    assert picker.actions["D1"].isChecked()
    assert window.windowTitle().startswith("Control tower — Lyon Gerland — ")

    with qtbot.waitSignal(picker.watched, timeout=5_000):
        picker.actions["LDN"].trigger()
    assert picker.actions["LDN"].isChecked() and tower.depot.id == "LDN"
    assert window.windowTitle().startswith(
        f"Control tower — London Park Royal — {tower.day.iso} — "
    )
    assert window.times.timezone == "Europe/London"

    def centre() -> Any:
        box: list[Any] = []
        window.map.evaluate("tower.center()", box.append)
        qtbot.waitUntil(lambda: bool(box), timeout=10_000)
        return box[0]

    qtbot.waitUntil(lambda: abs(centre()["lat"] - 51.529) < 0.01, timeout=10_000)
    assert picker.pick("D1") is None and window.times.timezone == "Europe/Paris"
