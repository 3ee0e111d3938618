"""The loop closes: a re-plan accepted in the tower reaches the demo's simulated drivers
over the (embedded) broker, they acknowledge it and drive it, and no delivery afterwards
looks out of sequence."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.domain.model import EventType, ExecutionEvent
from app.domain.rules.records import ChangeKind, ExceptionRecord, Rule
from app.foundation.clock import ScaledClock
from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, ReplanSettings, Settings
from app.storage.database import connect
from app.tower.control_tower import ControlTower
from app.tower.data_setup import built_demo_day, ensure_demo_day
from app.tower.demo_fleet import DemoFleet, build_simulator
from tests.app.tower.test_replanning import wait_for_proposal

SPEEDUP = 90.0  # a simulated hour in 40 s; the 2-minute ack window is 1.3 s


def playing_demo_tower(settings: Settings, tmp_path: Path) -> ControlTower:
    """A demo tower (started) with its simulated fleet playing on the embedded broker from
    the morning, as the demo starts: the tower hears the whole day (a fleet started
    mid-day would have served stops the tower never heard of). The demo's quick sweep
    plan (every van out): with the planner's, the re-plan at 08:30 found here gave its
    changes to vans no stop was reached on within 30 minutes."""
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    seeded = ensure_demo_day(sessions, settings, day, built_demo_day)
    simulator = build_simulator(settings, day, seeded)
    # The vans' loading ends at +10 min.
    clock = ScaledClock(simulator.start_time + 9 * 60, settings.demo.speedup)
    tower = ControlTower(settings, sessions, day, clock, DemoFleet(simulator, clock))
    tower.start()
    return tower


@pytest.fixture
def demo_tower(tmp_path: Path) -> Iterator[ControlTower]:
    settings = Settings(
        demo=DemoSettings(vehicles=6, orders=120, speedup=SPEEDUP, position_interval_s=10.0),
        replan=ReplanSettings(auto_request=False),  # the test asks for the re-plan
    )
    tower = playing_demo_tower(settings, tmp_path)
    yield tower
    tower.stop()


def _tick_until(
    tower: ControlTower, done: Callable[[], bool], timeout: float, raised: list[ExceptionRecord]
) -> bool:
    """Tick as the window's timer does until ``done()``; the exceptions raised meanwhile
    go to ``raised``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tick = tower.tick()
        raised += [c.exception for c in tick.operations.exceptions if c.kind is ChangeKind.RAISED]
        if done():
            return True
        time.sleep(0.05)  # the window ticks every 200 ms; the deadline bounds the wait
    return bool(done())


@pytest.mark.timeout(120)
def test_an_accepted_replan_is_acknowledged_and_driven_in_its_new_order(
    demo_tower: ControlTower,
) -> None:
    tower = demo_tower
    raised: list[ExceptionRecord] = []
    vans = [v.id for v in tower.snapshot.vehicles]

    def on_road() -> bool:
        return (
            len(tower.feed.fleet.latest_fixes()) == len(vans)
            and tower.clock.now() > tower.day.start + 8.5 * 3600
        )

    assert _tick_until(tower, on_road, 60, raised)
    # A whole-depot re-plan (one solve), so more than one van is likely to change.
    assert tower.proposals.request(None, "test: re-plan the depot")
    record = wait_for_proposal(tower)
    changed = sorted(set(record.proposal.diff.changed_vehicles))
    assert changed, "the re-plan changed nothing: nothing to follow"
    tower.proposals.accept(record.id, "alice")
    before = len(raised)

    def acknowledged() -> bool:
        return record.plan_version is not None and all(
            tower.live.route_acks.of(v).acked_version == record.plan_version for v in changed
        )

    assert _tick_until(tower, acknowledged, 30, raised)
    version = record.plan_version
    views = {v.id: v for v in tower.vehicle_views(changed)}
    for vid in changed:
        assert (views[vid].route_sent, views[vid].route_acked) == (version, version)
        assert not views[vid].route_unacknowledged
        handover = tower.live.route_acks.of(vid)
        assert handover.acked_at is not None and handover.sent_at is not None
        assert handover.acked_at - handover.sent_at < 120
    # Play on for 30 simulated minutes: what the changed vans serve follows the new order.
    played_until = tower.clock.now() + 30 * 60
    assert _tick_until(tower, lambda: tower.clock.now() >= played_until, 120, raised)
    applied: list[ExecutionEvent] = tower.live.applied
    acks = {e.vehicle_id: e.ts for e in applied if e.type is EventType.ROUTE_RECEIVED}
    followed = 0
    for vid in changed:
        order = [s.id for s in tower.route_of(vid)]
        served = [
            e.stop_id
            for e in applied
            if e.vehicle_id == vid and e.type is EventType.ARRIVED and e.ts > acks[vid]
            if e.stop_id is not None and not e.inferred
        ]
        positions = [order.index(s) for s in served]
        assert positions == sorted(positions), (vid, served, order)
        followed += len(served)
    assert followed > 0, "no changed van reached a stop after its acknowledgement"
    out_of_sequence = [r for r in raised[before:] if r.rule is Rule.OUT_OF_SEQUENCE]
    assert not out_of_sequence, [(r.detail, r.raised_at) for r in out_of_sequence]
