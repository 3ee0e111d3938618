"""Exceptions found while the database is down wait in memory for an id, and the health
line counts them. A tower that dies before the database comes back loses none that
matters: the next start raises them again, from the QoS 1 events the broker delivers again
(never acknowledged: nothing was committed) and from the stored events it replays (one
committed just before its exception's id could be had). SQLite and PostgreSQL, each with a
real outage (tests/app/storage/test_exception_ids.py's ``outage``), on a private Mosquitto;
and ``main.py --headless`` SIGKILLed while its PostgreSQL is cut off (tests/tcp_gate.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, select

from app.domain.model import EventType, ExecutionEvent
from app.domain.rules.records import Rule
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings, load_settings
from app.storage.database import SessionFactory, connect
from app.storage.orm import ExceptionRow
from app.storage.telemetry_repository import store_telemetry
from app.telemetry.contract import EVENT
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day
from tests.app.storage.conftest import (
    _fresh_schema,
    database_url,  # noqa: F401  (the fixture)
)
from tests.app.storage.test_exception_ids import Outage, outage  # noqa: F401
from tests.integration.conftest import Mosquitto, wait_until
from tests.integration.recorder_kill import ROOT, recorder_env
from tests.tcp_gate import TcpGate

pytestmark = pytest.mark.timeout(180)
PREFIX = "tower/v1"


def settings_for(url: str, broker: Mosquitto, tmp_path: Path) -> Settings:
    return load_settings(
        environ={
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "TOWER_DATABASE__URL": url,
            "TOWER_BROKER__HOST": "127.0.0.1",
            "TOWER_BROKER__PORT": str(broker.port),
            "TOWER_BROKER__CLIENT_ID": "desk",  # one persistent session for both runs
            "TOWER_REPLAN__AUTO_REQUEST": "false",
        }
    )


def started(settings: Settings, sessions: SessionFactory, clock: ManualClock) -> ControlTower:
    day = OperatingDay.at(clock.now(), settings.depot.timezone)
    tower = ControlTower(settings, sessions, day, clock)
    tower.start()
    assert tower.feed.client is not None and tower.feed.client.wait_connected(10)
    return tower


def crash(tower: ControlTower) -> None:
    """The tower's process dies: no flush, no last health report, its memory gone. Its
    broker session stays with the unacknowledged messages; the worker's queued writes run
    into the outage and fail."""
    assert tower.feed.client is not None
    tower.feed.client.stop()
    tower.sync.stop()
    tower.proposals.close()
    tower.urgent.close()
    tower.feed.storage.close()


def stored_exceptions(sessions: SessionFactory) -> set[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(select(ExceptionRow.rule, ExceptionRow.subject_id)).all()
    return {(rule, subject) for rule, subject in rows}


def test_exceptions_waiting_in_an_outage_are_raised_again_after_a_crash(
    outage: Outage,  # noqa: F811
    mosquitto: Mosquitto,
    tmp_path: Path,
) -> None:
    settings = settings_for(outage.url, mosquitto, tmp_path)
    sessions = connect(outage.url)
    # 01:00 at the depot: before any shift, so no rule has raised (nor taken ids) yet.
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    clock = ManualClock(day.start + 3600)
    ensure_demo_day(sessions, settings, day)
    tower = started(settings, sessions, clock)
    assert tower.operations.book.open_exceptions() == []
    failed_stop = tower.route_of("V02")[0]
    now = clock.now()
    # V03's breakdown was committed, then the database went before its exception's id came.
    with sessions.begin() as session:
        committed = ExecutionEvent("V03-breakdown", "V03", now, EventType.BREAKDOWN)
        store_telemetry(session, [], [committed], {}, [])

    outage.down(sessions)
    publisher = MqttPublisher(Endpoint("127.0.0.1", mosquitto.port), client_id="vans")
    publisher.connect()
    for vehicle, body in (
        ("V01", {"event_id": "V01-breakdown", "ts": now, "type": "breakdown"}),
        (
            "V02",
            {
                "event_id": "V02-failed",
                "ts": now,
                "type": "failed",
                "stop_id": failed_stop.id,
                "order_id": failed_stop.order_id,
                "reason": "not_home",
            },
        ),
    ):
        publisher.publish(EVENT.topic(PREFIX, vehicle), json.dumps(body), qos=1)
    assert publisher.flush(10)
    publisher.close()

    def waiting() -> int:
        tower.tick()
        return tower.operations.book.waiting

    assert wait_until(lambda: waiting() == 2), "both found, neither given an id"
    tower.feed.storage.flush(30)  # the events' write has failed by now
    health = tower.feed.health()
    assert (health.exceptions_waiting, health.database_ok) == (2, False)
    crash(tower)

    outage.up()
    again = started(settings, connect(outage.url), clock)
    try:
        wanted = {
            (Rule.BREAKDOWN.value, "V01"),  # delivered again by the broker
            (Rule.FAILED_ATTEMPT.value, failed_stop.id),  # delivered again
            (Rule.BREAKDOWN.value, "V03"),  # replayed from the stored events
        }

        def raised() -> bool:
            again.tick()
            again.feed.flush(10)
            return wanted <= stored_exceptions(again.sessions)

        assert wait_until(raised), stored_exceptions(again.sessions)
        assert again.operations.book.waiting == 0
        assert again.feed.health().exceptions_waiting == 0
    finally:
        again.stop()


@pytest.fixture
def gated_database(postgres_database: str) -> Iterator[tuple[str, TcpGate]]:
    """A fresh schema reached through a TCP gate (open), and the gate."""
    for url in _fresh_schema(postgres_database):
        target = make_url(url)
        gate = TcpGate((target.host or "127.0.0.1", target.port or 5432))
        gate.open()
        yield target.set(host="127.0.0.1", port=gate.port).render_as_string(False), gate
        gate.shut()


def headless(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    """``main.py --headless``, its log in ``log``, once it says it is recording."""
    with log.open("a") as errors:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "--headless", "--log-level", "WARNING"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "recording from" in line, log.read_text()
    return process


@pytest.mark.postgres
def test_a_headless_tower_sigkilled_in_an_outage_raises_its_exceptions_after_the_restart(
    gated_database: tuple[str, TcpGate], mosquitto: Mosquitto, tmp_path: Path
) -> None:
    url, gate = gated_database
    env = recorder_env(tmp_path, mosquitto.port, url)
    log = tmp_path / "headless.log"
    recorder = headless(env, log)
    gate.shut()
    publisher = MqttPublisher(Endpoint("127.0.0.1", mosquitto.port), client_id="vans")
    publisher.connect()
    body = {"event_id": "V01-breakdown", "ts": time.time(), "type": "breakdown"}
    publisher.publish(EVENT.topic(PREFIX, "V01"), json.dumps(body), qos=1)
    assert publisher.flush(10)
    publisher.close()
    # The batch with the breakdown was tried and failed: it is kept in memory only.
    kept = "database unreachable: keeping the writes"
    assert wait_until(lambda: kept in log.read_text(), 30), log.read_text()
    recorder.send_signal(signal.SIGKILL)
    recorder.wait(30)

    gate.open()
    again = headless(env, log)
    sessions = connect(url)
    try:
        wanted = (Rule.BREAKDOWN.value, "V01")
        assert wait_until(lambda: wanted in stored_exceptions(sessions), 60), log.read_text()
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=60)
        sessions.kw["bind"].dispose()
