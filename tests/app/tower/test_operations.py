"""The day's operations as the tower builds them from settings and the database."""

from __future__ import annotations

import time
from pathlib import Path

from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import connect
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day


def test_a_depots_own_thresholds_drive_its_rules(tmp_path: Path) -> None:
    settings = Settings(depot_thresholds={"D1": {"off_route_m": 800.0, "stopped_min": 12.0}})
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day)
    tower = ControlTower(settings, sessions, day, ManualClock(day.start + 10 * 3600))
    try:
        state = tower.operations.state
        own = state.thresholds_for("D1")
        assert (own.off_route_m, own.stopped_s) == (800.0, 720.0)
        assert state.vehicles["V01"].th.off_route_m == 800.0
        assert state.thresholds_for("D9").off_route_m == 500.0  # others: the defaults
    finally:
        tower.stop()
