"""Two towers in two processes on one PostgreSQL database (#22), through the product's own
entry points: ``main.py --headless`` (a recorder) and this test's tower, both on a private
Mosquitto. A re-plan accepted by ``main.py accept`` (a third process) shows on this tower
within 2 s; a fix published once while both run is stored once."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.foundation.settings import load_settings
from app.storage.orm import TelemetryFixRow
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.control_tower import ControlTower
from app.tower.startup import open_tower
from tests.app.storage.conftest import _fresh_schema
from tests.app.tower.test_replanning import tick_until
from tests.integration.conftest import Mosquitto
from tests.integration.test_cli import run_main
from tests.integration.test_headless import start_headless, stop

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]
SYNC_S = 2.0


@pytest.fixture
def site(postgres_database: str, mosquitto: Mosquitto, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of every process: one demo-seeded schema, one broker."""
    for url in _fresh_schema(postgres_database):
        yield dict(
            os.environ,
            XDG_DATA_HOME=str(tmp_path / "data"),
            TOWER_DATABASE__URL=url,
            TOWER_DEMO__ENABLED="true",
            TOWER_BROKER__HOST="127.0.0.1",
            TOWER_BROKER__PORT=str(mosquitto.port),
            TOWER_BROKER__POSITION_QOS="1",
            TOWER_REPLAN__AUTO_REQUEST="false",
        )


def started_tower(env: dict[str, str]) -> ControlTower:
    """This test's workstation, opened as the window opens it, listening and connected."""
    tower = open_tower(load_settings(environ=dict(env, TOWER_BROKER__CLIENT_ID="workstation")))
    tower.start()
    assert tower.sync.wait_listening(10)
    assert tower.feed.client is not None and tower.feed.client.wait_connected(10)
    return tower


def test_two_tower_processes_share_decisions_within_2_s_and_store_a_fix_once(
    site: dict[str, str], mosquitto: Mosquitto
) -> None:
    recorder, _port = start_headless(dict(site, TOWER_BROKER__CLIENT_ID="recorder"))
    tower: ControlTower | None = None
    try:
        tower = started_tower(site)

        proposed = run_main("propose", "--vehicle", "V03", "--json", env=site)
        assert proposed.returncode == 0, proposed.stderr
        proposal = json.loads(proposed.stdout)
        accepted = run_main("accept", str(proposal["id"]), "--json", env=site)
        assert accepted.returncode == 0, accepted.stderr
        stored = time.monotonic()  # committed: the accepting process has exited
        version = json.loads(accepted.stdout)["version"]
        vans = proposal["vehicles"]
        assert vans
        live = tower.live
        tick_until(
            tower,
            lambda t: all(live.route_stamps[v].version == version for v in vans),
            within_s=SYNC_S,
        )
        assert time.monotonic() - stored < SYNC_S

        publisher = MqttPublisher(Endpoint("127.0.0.1", mosquitto.port), client_id="van")
        publisher.connect()
        now = tower.clock.now()
        fix = {"ts": now, "lat": 45.75, "lon": 4.84}
        publisher.publish("tower/v1/vehicles/V01/position", json.dumps(fix), qos=1)
        assert publisher.flush(10)
        publisher.close()
        fleet = tower.feed.fleet
        tick_until(tower, lambda t: fleet.latest_fixes().get("V01") is not None, within_s=10)
        tower.feed.flush(10)
    finally:
        code, out, err = stop(recorder)
        if tower is not None:
            tower.stop()
    assert code == 0, err
    # The recorder too received and stored it (the count of fixes it applied) ...
    assert re.search(r"stored 1 fixes", out), out
    # ... and the database holds it once.
    try:
        with tower.sessions() as session:
            fixes = session.scalar(select(func.count()).select_from(TelemetryFixRow))
    finally:
        tower.sessions.kw["bind"].dispose()
    assert fixes == 1
