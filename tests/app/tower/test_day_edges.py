"""The demo day and the rules at the edges of a day: 23:50, 00:10, and the two days a
year the depot's clocks change (Europe/Paris: 2026-03-29 is 23 hours, 2026-10-25 is 25).

A date that followed UTC or the workstation's zone, or an end of day at ``start +
86,400``, puts a shift an hour off on those days and the tower on the wrong day around
midnight; these tests fail then, whatever the machine's TZ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.domain.rules.records import Rule
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import connect
from app.telemetry.simulator import FleetSimulator, SimulatorConfig
from app.tower.control_tower import ControlTower
from app.tower.data_setup import demo_day, ensure_demo_day
from app.tower.urgent_orders import UrgentOrder

SETTINGS = Settings()
ZONE = ZoneInfo(SETTINGS.depot.timezone)  # Europe/Paris
OpenAt = Callable[[float], ControlTower]
SPRING, SUMMER, AUTUMN = "2026-03-29", "2026-06-10", "2026-10-25"


def local(iso: str, hour: int, minute: int = 0) -> float:
    y, m, d = (int(x) for x in iso.split("-"))
    return datetime(y, m, d, hour, minute, tzinfo=ZONE).timestamp()


@pytest.fixture
def open_at(tmp_path: Path) -> Iterator[OpenAt]:
    towers: list[ControlTower] = []

    def build(now: float) -> ControlTower:
        sessions = connect(f"sqlite:///{tmp_path / f'tower-{len(towers)}.sqlite3'}")
        clock = ManualClock(now)
        day = OperatingDay.at(clock.now(), SETTINGS.depot.timezone)
        ensure_demo_day(sessions, SETTINGS, day)
        tower = ControlTower(SETTINGS, sessions, day, clock)
        towers.append(tower)
        return tower

    yield build
    for tower in towers:
        tower.stop()


def late_starts(tower: ControlTower) -> set[str]:
    tower.tick()
    return {
        e.vehicle_id or ""
        for e in tower.operations.open_exceptions()
        if e.rule == Rule.LATE_START.value
    }


@pytest.mark.parametrize(("now", "iso"), [((SUMMER, 23, 50), SUMMER), ((SUMMER, 0, 10), SUMMER)])
def test_at_2350_and_0010_the_tower_works_the_depots_day(
    open_at: OpenAt, now: tuple[str, int, int], iso: str
) -> None:
    tower = open_at(local(*now))
    assert tower.day.iso == iso
    assert tower.day.start == local(iso, 0) and tower.day.end == local("2026-06-11", 0)
    windows = [w for o in tower.orders.values() for w in o.windows]
    assert windows and all(
        tower.day.contains(w.start) and tower.day.contains(w.end) for w in windows
    )
    assert min(w.start for w in windows) == local(iso, 8)


def test_just_after_midnight_no_van_is_late_yet(open_at: OpenAt) -> None:
    assert late_starts(open_at(local(SUMMER, 0, 10))) == set()


def test_just_before_midnight_every_van_that_never_left_is_late(open_at: OpenAt) -> None:
    tower = open_at(local(SUMMER, 23, 50))
    # The vans with a route today: the planner leaves some of the demo's vans at home.
    routed = {s.vehicle_id for s in tower.snapshot.stops if s.vehicle_id}
    assert routed and late_starts(tower) == routed


@pytest.mark.parametrize("iso", [SPRING, SUMMER, AUTUMN])
def test_late_start_counts_from_the_shift_on_the_wall_clock(open_at: OpenAt, iso: str) -> None:
    # V02 starts at 08:00 local every day; late_start waits 15 minutes.
    assert SETTINGS.thresholds.late_start_min == 15
    early = open_at(local(iso, 8, 14))
    assert "V02" not in late_starts(early)
    late = open_at(local(iso, 8, 16))
    assert "V02" in late_starts(late)


@pytest.mark.parametrize(("iso", "hours"), [(SPRING, 23), (SUMMER, 24), (AUTUMN, 25)])
def test_the_demo_day_is_seeded_and_played_by_the_wall_clock(iso: str, hours: int) -> None:
    day = OperatingDay.at(local(iso, 12), SETTINGS.depot.timezone)
    assert day.length_s == hours * 3600
    demo = demo_day(SETTINGS, day)
    starts = {w.start for o in demo.orders for w in o.windows}
    assert starts == {local(iso, h) for h in range(8, 15)}
    simulator = FleetSimulator(demo, SimulatorConfig(seed=SETTINGS.demo.seed))
    messages = simulator.simulate_until(day.end)
    first = {
        m.topic.split("/")[3]: m.ts
        for m in reversed(messages)
        if m.topic.endswith("/event") and b'"shift_start"' in m.payload
    }
    assert first["V01"] == local(iso, 7, 30) and first["V02"] == local(iso, 8)
    assert all(day.contains(m.ts) for m in messages)


@pytest.mark.parametrize("iso", [SPRING, AUTUMN])
def test_an_urgent_order_sees_the_shift_end_on_the_wall_clock(open_at: OpenAt, iso: str) -> None:
    # V01 works 07:30-16:30 local: at 16:20 its shift is not over, at 16:40 it is.
    depot = SETTINGS.depot

    def reason(hour: int, minute: int) -> str:
        tower = open_at(local(iso, hour, minute))
        now = tower.clock.now()
        order = UrgentOrder(depot.lat + 0.01, depot.lon, (now, now + 2 * 3600), 1.0)
        options = tower.rank_for_urgent_later(order).result(timeout=30)
        [v01] = [o for o in options if o.vehicle_id == "V01"]
        return v01.reason

    assert reason(16, 20) != "shift over"
    assert reason(16, 40) == "shift over"
