"""The window against a site broker that refuses its login for good: the status bar says
so in red, names the broker and what to check, and never shows the password."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.foundation.clock import ScaledClock, SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import BrokerSettings, Settings
from app.storage.database import connect
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day
from tests.integration.conftest import MOSQUITTO, Mosquitto
from tests.integration.test_broker_tls import write_password_file
from widgets.main_window import MainWindow

PASSWORD_ENV = "TOWER_TEST_WINDOW_MQTT_PASSWORD"
WRONG = "not the horse"


@pytest.fixture
def refusing_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private Mosquitto that lets in only user "tower" with another password."""
    if not Path(MOSQUITTO).exists():
        pytest.skip(f"mosquitto binary not found at {MOSQUITTO}")
    passwords = tmp_path / "passwords"
    write_password_file(passwords, {"tower": "right horse battery"})
    broker = Mosquitto(tmp_path, anonymous=False, listener_config=[f"password_file {passwords}"])
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def refused_tower(
    tmp_path: Path,
    offline_settings: Settings,
    refusing_broker: Mosquitto,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ControlTower]:
    monkeypatch.setenv(PASSWORD_ENV, WRONG)
    broker = BrokerSettings(
        host="127.0.0.1", port=refusing_broker.port, username="tower", password_env=PASSWORD_ENV
    )
    settings = replace(offline_settings, broker=broker)
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    today = OperatingDay.at(SystemClock().now(), settings.depot.timezone)
    clock = ScaledClock(today.epoch_at(10 * 3600))
    day = OperatingDay.at(clock.now(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day)
    tower = ControlTower(settings, sessions, day, clock)
    yield tower
    tower.stop()


def test_the_status_bar_says_the_broker_refused_the_login_for_good(
    qtbot: QtBot, refused_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    refused_tower.start()
    window = MainWindow(refused_tower, prefs, tmp_path / "page", "sqlite test")
    qtbot.addWidget(window)
    window.show()
    label = window.status.broker_label
    qtbot.waitUntil(lambda: "refused" in label.text(), timeout=30_000)
    port = refused_tower.feed.broker_address[1]
    assert label.text() == (
        f"Broker: login refused (site 127.0.0.1:{port}) — check broker.username and its "
        "password, then restart; not retrying"
    )
    assert "#f85149" in label.styleSheet()
    client = refused_tower.feed.client
    assert client is not None and client.refused_for_good
    assert "refused by the broker" in label.toolTip()
    assert WRONG not in label.text() + label.toolTip()
    assert os.environ[PASSWORD_ENV] == WRONG  # the password was the wrong one indeed
