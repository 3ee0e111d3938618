"""The window at the depot's local midnight: the new day's plan (none stored here) is on
the map and in the title, without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.foundation.clock import ManualClock, SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import connect
from app.tower.control_tower import ControlTower
from app.tower.data_setup import built_demo_day, ensure_demo_day
from widgets.main_window import MainWindow


@pytest.fixture
def late_tower(tmp_path: Path, offline_settings: Settings) -> Iterator[ControlTower]:
    """The demo day at 23:59 local, on a clock the test moves."""
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(SystemClock().now(), offline_settings.depot.timezone)
    ensure_demo_day(sessions, offline_settings, day, built_demo_day)
    tower = ControlTower(offline_settings, sessions, day, ManualClock(day.end - 60))
    yield tower
    tower.stop()


def test_at_midnight_the_window_shows_the_new_days_plan(
    qtbot: QtBot, late_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    tower = late_tower
    window = MainWindow(tower, prefs, tmp_path / "page", "sqlite test")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.map_ready, timeout=30_000):
        window.show()
    today = tower.day
    assert f" — {today.iso} — " in window.windowTitle()

    def stops_on_map() -> Any:
        box: list[Any] = []
        window.map.evaluate("tower.counts().stops", box.append)
        qtbot.waitUntil(lambda: bool(box), timeout=10_000)
        return box[0]

    assert stops_on_map() == 250
    clock = tower.clock
    assert isinstance(clock, ManualClock)
    with qtbot.waitSignal(window.live.day_begun, timeout=10_000) as begun:
        clock.current = today.end + 1
    assert begun.args[0] == [tower.depot.id]
    assert tower.day.iso == today.next().iso
    assert f" — {tower.day.iso} — " in window.windowTitle()
    qtbot.waitUntil(lambda: stops_on_map() == 0, timeout=10_000)
    assert window.vehicles_dock.model.rowCount() == len(tower.snapshot.vehicles)
