"""The self-contained demo's simulated fleet: the simulator on a thread, on a demo clock.

The demo day runs ``demo.speedup`` times faster than real time. The tower and the
simulator share one clock, so the tower judges the vans' timestamps (and shows the time)
in demo time instead of rejecting a fast day as "in the future". Its driver apps listen
to their route topics on the same connection, so the vans follow the re-plans the tower
accepts and acknowledge them.
"""

from __future__ import annotations

import logging
import threading

from app.domain.demo import DemoDay
from app.domain.road import RoadModel
from app.foundation.clock import ScaledClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import SessionFactory
from app.storage.telemetry_repository import clear_telemetry_between, latest_fix_time
from app.telemetry.drivers import RouteInbox
from app.telemetry.mqtt_client import MqttPublisher, endpoint_from_settings
from app.telemetry.realtime import run_realtime
from app.telemetry.simulator import FleetSimulator, SimulatorConfig

log = logging.getLogger(__name__)
# Start just before the first vans leave the depot (shift start plus the loading time),
# so the demo shows movement within seconds.
_FIRST_DEPARTURE_S = 600.0
_LEAD_IN_S = 30.0


def demo_clock(
    settings: Settings,
    sessions: SessionFactory,
    day: OperatingDay,
    simulator: FleetSimulator,
    wall_now: float,
) -> ScaledClock:
    """The demo's clock: now if the day is under way (half the vans or more still
    reporting), else as the first vans leave.

    A demo started again the same day resumes after the last stored fix. Once the stored
    day is over, its simulated telemetry is cleared (demo database only) and the day is
    played again from the morning.
    """
    morning = simulator.start_time + _FIRST_DEPARTURE_S - _LEAD_IN_S
    start = wall_now
    if not simulator.under_way_at(wall_now):
        start = morning
    stored = latest_fix_time(sessions, day.start, day.end)
    if stored is not None and stored >= start:
        if stored < simulator.end_time - 600:
            start = stored + 1.0
        else:
            log.info("the stored demo day is over: playing it again from the morning")
            clear_telemetry_between(sessions, day.start, day.end)
            start = morning
    return ScaledClock(start, settings.demo.speedup)


def build_simulator(
    settings: Settings, day: OperatingDay, demo_day: DemoDay, *, disruptions: bool = True
) -> FleetSimulator:
    """A simulator for the demo day (same seed, same day); ``disruptions=False`` plays it
    without the jam, the breakdown and the long stop."""
    config = SimulatorConfig(
        topic_prefix=settings.broker.topic_prefix,
        position_interval_s=settings.demo.position_interval_s,
        seed=settings.demo.seed,
        disruptions=disruptions,
        road=RoadModel.from_settings(settings.planning),
    )
    return FleetSimulator(demo_day, config)


class DemoFleet:
    """Plays the simulated day into the broker from a background thread."""

    def __init__(self, simulator: FleetSimulator, clock: ScaledClock) -> None:
        self.simulator = simulator
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._publisher: MqttPublisher | None = None
        self.routes: RouteInbox | None = None
        self.sent = 0

    def start(self, settings: Settings, host: str, port: int) -> None:
        """Connect to the broker at ``host:port`` and start playing from the clock's now."""
        endpoint = endpoint_from_settings(settings.broker, host=host, port=port)
        self._publisher = MqttPublisher(endpoint, client_id="tower-demo-fleet")
        vans = [v.id for v in self.simulator.day.vehicles]
        self.routes = RouteInbox(settings.broker.topic_prefix, vans, self.clock)
        self._publisher.listen(self.routes.subscriptions(), self.routes.deliver)
        self._publisher.connect()
        self.simulator.skip_until(self.clock.now() - 1e-6)
        self._thread = threading.Thread(target=self._run, name="demo-fleet", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._publisher is not None
        try:
            self.sent = run_realtime(
                self.simulator, self._publisher, self.clock, self._stop, routes=self.routes
            )
        except Exception:
            log.exception("the demo fleet stopped")

    def stop(self) -> None:
        """Stop playing; the vans on shift say they went offline."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._publisher is not None:
            self._publisher.flush(5)
            self._publisher.close()
