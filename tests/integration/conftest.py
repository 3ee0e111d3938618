"""Real brokers for integration tests: the embedded amqtt broker and a private Mosquitto.

The Mosquitto is started by the test on a free port with its own config (never the
system broker on 1883), unlimited per-client queues and, on request, persistence.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import ReplanSettings, Settings
from app.storage.database import connect
from app.telemetry.embedded_broker import EmbeddedBroker, free_port
from app.tower.control_tower import ControlTower
from app.tower.data_setup import built_demo_day, ensure_demo_day

if TYPE_CHECKING:
    from tests.integration.road import Road

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> bool:
    """Poll ``condition`` until true or ``timeout`` seconds pass; the deadline helper."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)  # the poll interval; the deadline bounds the wait
    return condition()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """A Mosquitto process on 127.0.0.1:``port`` that can be stopped and started again.

    ``listener_config`` lines go under the listener (TLS files, ``require_certificate``);
    ``anonymous=False`` with a ``password_file`` line asks every client for credentials.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        persistence: bool = False,
        *,
        anonymous: bool = True,
        listener_config: Sequence[str] = (),
    ) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.config = workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            *listener_config,
            f"allow_anonymous {'true' if anonymous else 'false'}",
            "max_queued_messages 0",
            # The tower acknowledges after storing: let more than 20 wait for it.
            "max_inflight_messages 0",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {workdir}/",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            # As root Mosquitto drops to the 'mosquitto' user, who cannot write here.
            lines.append("user root")
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        self._process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "mosquitto.log").open("ab"),
        )
        if not wait_until(lambda: port_open(self.port), timeout=10):
            self.stop()
            log = (self.workdir / "mosquitto.log").read_text(errors="replace")
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {log}")

    def stop(self) -> None:
        """Stop it (SIGTERM, so a persistent broker saves its state) and wait."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Start private Mosquittos; skipped when the binary is not installed."""
    if not Path(MOSQUITTO).exists():
        pytest.skip(f"mosquitto binary not found at {MOSQUITTO}")
    started: list[Mosquitto] = []

    def make(
        persistence: bool = False,
        *,
        anonymous: bool = True,
        listener_config: Sequence[str] = (),
    ) -> Mosquitto:
        broker = Mosquitto(
            tmp_path,
            persistence=persistence,
            anonymous=anonymous,
            listener_config=listener_config,
        )
        broker.start()
        started.append(broker)
        return broker

    yield make
    for broker in started:
        broker.stop()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """A private Mosquitto without persistence."""
    return mosquitto_factory()


@pytest.fixture
def embedded_broker() -> Iterator[EmbeddedBroker]:
    """The embedded amqtt broker on a free port."""
    broker = EmbeddedBroker()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def road(tmp_path: Path) -> Iterator[Road]:
    """A demo-seeded tower at 10:00 on a manual clock, started on the embedded broker.

    The day has the demo's quick sweep plan: the scenarios name vans that must have stops
    (the planner's demo plan leaves some vans at the depot; it is tested in test_demo_plan)."""
    from tests.integration.road import Road  # road.py uses this module's wait_until

    settings = Settings(replan=ReplanSettings(auto_request=False))  # rules only, no solves
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day, built_demo_day)
    # Mid-morning: every van's shift has started.
    clock = ManualClock(day.start + 10 * 3600)
    tower = ControlTower(settings, sessions, day, clock)
    tower.start()
    assert tower.feed.client is not None and tower.feed.client.wait_connected(10)
    road = Road(tower, clock)
    yield road
    road.publisher.close()
    tower.stop()
