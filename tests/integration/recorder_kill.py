"""SIGKILL a headless recorder in the middle of a stream of QoS 1 events, and count them.

The recorder is ``main.py --headless`` (a subprocess, on the demo's SQLite file or on a
PostgreSQL database given by URL) on a private Mosquitto with a persistent session. A
publisher sends numbered QoS 1 events; at the chosen one the recorder is killed (SIGKILL:
no clean-up runs) and the rest are sent while it is down, so the broker holds them for its
session. A second recorder on the same session and database
then gets what the first never acknowledged. Every sent event must end up stored once:
the broker PUBACKed them all to the publisher, and the recorder acknowledges one only
after it is committed. Shared by tests/integration/test_kill_recorder.py and
benchmarks/kill_recorder.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from app.foundation.clock import SystemClock
from app.telemetry.contract import EVENT
from app.telemetry.mqtt_client import Endpoint, MqttPublisher

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "tower/v1"
VEHICLES = ("V01", "V02", "V03", "V04")
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class KillRun:
    """One run: events sent, events stored in the end, and when the recorder was killed."""

    sent: int
    stored: int
    killed_after: int  # events published before the SIGKILL
    duplicates: int  # rows stored more than once (never: the event id is the key)

    @property
    def lost(self) -> int:
        """Sent events that are not stored."""
        return self.sent - self.stored


def recorder_env(workdir: Path, port: int, database_url: str | None = None) -> dict[str, str]:
    """The recorder's settings: the private broker, and the demo's SQLite file (seeded
    with the demo day) in ``workdir``, or the demo day seeded into ``database_url``."""
    env = dict(
        os.environ,
        XDG_DATA_HOME=str(workdir / "data"),
        TOWER_BROKER__HOST="127.0.0.1",
        TOWER_BROKER__PORT=str(port),
        TOWER_BROKER__CLIENT_ID="recorder-under-kill",
    )
    if database_url is not None:
        env.update(TOWER_DATABASE__URL=database_url, TOWER_DEMO__ENABLED="true")
    return env


def demo_sqlite_url(workdir: Path) -> str:
    """Where the demo's SQLite file of ``recorder_env`` lives."""
    return f"sqlite:///{workdir / 'data' / 'control-tower' / 'tower.sqlite3'}"


def start_recorder(env: dict[str, str], root: Path = ROOT) -> subprocess.Popen[str]:
    """``main.py --headless`` of the checkout at ``root``, once it says it is recording."""
    process = subprocess.Popen(
        [sys.executable, str(root / "main.py"), "--headless", "--log-level", "WARNING"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the start line, printed once subscribed
    if re.search(r"recording from", line) is None:
        process.kill()
        raise RuntimeError(f"the recorder did not start: {line!r}")
    return process


def stop_recorder(process: subprocess.Popen[str]) -> None:
    """SIGTERM, as a service manager stops it."""
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)


def stored_events(engine: Engine, prefix: str) -> tuple[int, int]:
    """(distinct, all) stored events whose id starts with ``prefix``."""
    try:
        with engine.connect() as db:
            row = db.execute(
                text(
                    "SELECT COUNT(DISTINCT event_id), COUNT(*) FROM execution_events "
                    "WHERE event_id LIKE :prefix"
                ),
                {"prefix": f"{prefix}%"},
            ).one()
    except (OperationalError, ProgrammingError):  # no file or no schema yet
        return 0, 0
    return int(row[0]), int(row[1])


def kill_run(
    port: int,
    workdir: Path,
    run: int,
    events: int,
    kill_after: int,
    *,
    root: Path = ROOT,
    per_second: float = 1000.0,
    settle_s: float = 60.0,
    database_url: str | None = None,
) -> KillRun:
    """Send ``events`` QoS 1 events, SIGKILL the recorder after ``kill_after`` of them,
    restart it and wait (up to ``settle_s``) until every one is stored. The recorder uses
    ``database_url`` (PostgreSQL), else the demo's SQLite file in ``workdir``."""
    env = recorder_env(workdir, port, database_url)
    clock = SystemClock()
    prefix = f"kill{run:03d}-"
    recorder = start_recorder(env, root)
    publisher = MqttPublisher(Endpoint("127.0.0.1", port), client_id=f"kill-publisher-{run}")
    publisher.connect()
    started = time.monotonic()
    for n in range(events):
        if n == kill_after:
            recorder.send_signal(signal.SIGKILL)
            recorder.wait(timeout=30)
        vehicle = VEHICLES[n % len(VEHICLES)]
        body = {"event_id": f"{prefix}{n:06d}", "ts": clock.now(), "type": "scan"}
        publisher.publish(EVENT.topic(PREFIX, vehicle), json.dumps(body), qos=1)
        # Paced, so the kill falls mid-stream rather than after a burst.
        ahead = (n + 1) / per_second - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    if not publisher.flush(60):
        raise RuntimeError("the broker did not acknowledge every event to the publisher")
    publisher.close()
    if kill_after < events:
        recorder = start_recorder(env, root)
    engine = create_engine(database_url or demo_sqlite_url(workdir))
    try:
        deadline = time.monotonic() + settle_s
        distinct, rows = stored_events(engine, prefix)
        while distinct < events and time.monotonic() < deadline:
            time.sleep(0.2)  # the recorder stores every 0.2 s; the deadline bounds the wait
            distinct, rows = stored_events(engine, prefix)
        stop_recorder(recorder)
        distinct, rows = stored_events(engine, prefix)
    finally:
        engine.dispose()
    return KillRun(events, distinct, kill_after, rows - distinct)
