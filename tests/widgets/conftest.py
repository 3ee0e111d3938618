from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtWidgets import QApplication

from app.foundation.clock import ScaledClock, SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import MapSettings, Settings
from app.storage.database import connect
from app.tower.control_tower import ControlTower
from app.tower.data_setup import built_demo_day, ensure_demo_day


@pytest.fixture(autouse=True)
def delete_windows(qapp: QApplication) -> Iterator[None]:
    """Delete every window a test left, so no web page outlives the web profile.

    QtWebEngine crashes at exit (segfault after "Release of profile requested but
    WebEnginePage still not deleted") when a page is still alive as the app goes down.
    """
    yield
    for widget in qapp.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def offline_settings() -> Settings:
    """Demo settings with a tile server that never answers (tests run offline)."""
    return Settings(map=MapSettings(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png"))


@pytest.fixture
def demo_tower(tmp_path: Path, offline_settings: Settings) -> Iterator[ControlTower]:
    """A tower on a fresh SQLite file seeded with today's demo day, at 10:00 local.

    Its clock runs in real time from the depot's 10:00 (vans on the road, windows open)
    whatever the hour of the run; tests stamp what they publish with ``tower.clock``.
    """
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    today = OperatingDay.at(SystemClock().now(), offline_settings.depot.timezone)
    clock = ScaledClock(today.epoch_at(10 * 3600))
    day = OperatingDay.at(clock.now(), offline_settings.depot.timezone)
    # The quick sweep plan: the scenarios need every van on the road (see test_demo_plan).
    ensure_demo_day(sessions, offline_settings, day, built_demo_day)
    tower = ControlTower(offline_settings, sessions, day, clock)
    yield tower
    tower.stop()


@pytest.fixture
def prefs(tmp_path: Path) -> QSettings:
    """Window preferences in a file of the test's own."""
    return QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)
