"""The three payload formats through a real broker into the window: the vans move on the map.

Run against the embedded broker (no broker configured) and against a Mosquitto started on
a free port and configured as the site broker.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.foundation.clock import SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import BrokerSettings, MapSettings, Settings
from app.storage.database import connect
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day
from tests.integration.conftest import Mosquitto
from tests.widgets.conftest import delete_windows  # noqa: F401  (deletes web pages at teardown)
from widgets.main_window import MainWindow

OFFLINE_MAP = MapSettings(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png")
DEVICES = {"alice/phone": "V06", "359710012345678": "V07"}


@pytest.fixture(params=["embedded", "mosquitto"])
def tower(
    request: pytest.FixtureRequest, tmp_path: Path, mosquitto_factory: Callable[..., Mosquitto]
) -> Iterator[ControlTower]:
    broker = BrokerSettings(device_map=DEVICES, client_id=f"tower-{request.param}")
    if request.param == "mosquitto":
        site = mosquitto_factory()
        broker = dataclasses.replace(broker, host="127.0.0.1", port=site.port)
    settings = Settings(broker=broker, map=OFFLINE_MAP)
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    clock = SystemClock()
    day = OperatingDay.at(clock.now(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day)
    tower = ControlTower(settings, sessions, day, clock)
    tower.start()
    yield tower
    tower.stop()


def js(qtbot: QtBot, window: MainWindow, expression: str) -> Any:
    box: list[Any] = []
    window.map.evaluate(expression, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


def test_each_format_moves_its_van_on_the_map(
    qtbot: QtBot, tower: ControlTower, tmp_path: Path
) -> None:
    prefs = QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)
    window = MainWindow(tower, prefs, tmp_path / "page", "sqlite test")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.map_ready, timeout=30_000):
        window.show()
    assert tower.feed.client is not None
    assert tower.feed.client.wait_connected(10)
    host, port = tower.feed.broker_address
    publisher = MqttPublisher(Endpoint(host, port), client_id="test-devices")
    publisher.connect()
    now = time.time()
    publisher.publish(
        "tower/v1/vehicles/V05/position",
        json.dumps({"ts": now, "lat": 45.7501, "lon": 4.8501, "speed_kmh": 30}),
    )
    publisher.publish(
        "owntracks/alice/phone",
        json.dumps({"_type": "location", "lat": 45.7602, "lon": 4.8402, "tst": int(now)}),
    )
    traccar = {
        "position": {"latitude": 45.7403, "longitude": 4.8603, "speed": 10.0, "fixTime": now},
        "device": {"uniqueId": "359710012345678"},
    }
    publisher.publish("traccar/positions", json.dumps(traccar))
    expected = {"V05": (45.7501, 4.8501), "V06": (45.7602, 4.8402), "V07": (45.7403, 4.8603)}

    def all_moved() -> bool:
        for vehicle_id, (lat, lon) in expected.items():
            at = js(qtbot, window, f"tower.vehiclePosition('{vehicle_id}')")
            if not at or abs(at["lat"] - lat) > 1e-6 or abs(at["lon"] - lon) > 1e-6:
                return False
        return True

    try:
        qtbot.waitUntil(all_moved, timeout=15_000)
    finally:
        publisher.close()
    # The Traccar speed arrived in knots and is shown in km/h.
    view = {v.id: v for v in tower.vehicle_views()}["V07"]
    assert view.speed_kmh == pytest.approx(18.52)
