"""The live day has one owner: a stored day replayed into a fresh tower is the day the live
tower had, and each execution event is applied once, in one place.

The live run is the tower's own live path on a simulated fleet without the network
(app.tower.offline_day): simulator messages parsed as the MQTT client parses them, put in
the feed's mailbox, the tower ticking on a manual clock and storing into a real SQLite
file, with a re-plan accepted in the middle of the day and followed by the drivers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.domain.model import EventType, ExecutionEvent, ParcelStatus, StopStatus
from app.domain.progress import StopProgress, VehicleProgress
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, ReplanSettings, Settings
from app.storage.database import connect
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day
from app.tower.decisions import ProposalRecord
from app.tower.live_day import LiveDay
from app.tower.offline_day import OfflineDay
from tests.app.tower.test_replanning import settled

TICK_S = 5.0
REPLAN_AFTER_S = 3 * 3600  # into the simulated day: the dispatcher asks for a re-plan
REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class DayState:
    """What a person would check of the day: the plan, stops, parcels and vans."""

    plan_version: int
    routes: dict[str, list[str]]  # vehicle id -> stop ids in planned order
    stops: dict[str, StopProgress]
    parcels: dict[str, ParcelStatus]
    vehicles: dict[str, VehicleProgress]


def state_of(live: LiveDay) -> DayState:
    tracker = live.tracker
    return DayState(
        live.plan_version,
        {v.id: list(live.route_ids(v.id)) for v in live.vehicles},
        {sid: tracker.stop_progress(sid) for sid in tracker.stops},
        {p.id: tracker.parcel_status(p.id) for o in live.orders.values() for p in o.parcels},
        {v.id: tracker.vehicle_progress(v.id) for v in live.vehicles},
    )


def play_a_day(tmp_path: Path) -> tuple[ControlTower, list[ProposalRecord]]:
    """A morning and a half of a small demo day through the live tower, with a
    dispatcher's re-plan accepted after REPLAN_AFTER_S (the drivers get it and follow it);
    the tower is left running."""
    settings = Settings(
        demo=DemoSettings(vehicles=4, orders=60, seed=7),
        replan=ReplanSettings(auto_request=False),
    )
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    offline = OfflineDay(settings, day, tmp_path / "day.sqlite3")
    tower = offline.tower
    tower.restore()
    accepted: list[ProposalRecord] = []
    replan_at = offline.simulator.start_time + REPLAN_AFTER_S
    t = offline.simulator.start_time
    while t < replan_at + 2 * 3600:
        t += TICK_S
        offline.advance_to(t)
        if t >= replan_at and not accepted:
            accepted.append(replan(tower))
    tower.feed.flush(10)
    return tower, accepted


def replan(tower: ControlTower) -> ProposalRecord:
    """The dispatcher re-plans the first van and its neighbours, and accepts; the new
    routes are published once stored."""
    assert tower.proposals.request(tower.live.vehicles[0].id, "test's request")
    deadline = time.monotonic() + 60
    while (record := tower.tick().proposal) is None:
        assert time.monotonic() < deadline, "no proposal within 60 s"
        time.sleep(0.05)  # the solve runs in its child process
    tower.proposals.accept(record.id, "dispatcher")
    return settled(tower, record)


def test_a_stored_day_replayed_into_a_fresh_tower_is_the_live_day(tmp_path: Path) -> None:
    live_tower, accepted = play_a_day(tmp_path)
    try:
        live = state_of(live_tower.live)
        [record] = accepted
        assert record.plan_version == 2 and live.plan_version == 2
        # The day moved: something was delivered, a van is on its way, parcels went out.
        statuses = {p.status for p in live.stops.values()}
        assert StopStatus.DELIVERED in statuses and StopStatus.PENDING in statuses
        assert ParcelStatus.DELIVERED in set(live.parcels.values())
        fresh = ControlTower(
            live_tower.settings, live_tower.sessions, live_tower.day, live_tower.clock
        )
        fresh.restore()
        try:
            replayed = state_of(fresh.live)
            assert replayed.plan_version == live.plan_version
            assert replayed.routes == live.routes
            assert replayed.stops == live.stops
            assert replayed.parcels == live.parcels
            assert replayed.vehicles == live.vehicles
            # And the rules' own view of the stops followed the same owner.
            rules_view = {sid: s.status for sid, s in fresh.operations.state.stops.items()}
            assert rules_view == {sid: live.stops[sid].status for sid in rules_view}
        finally:
            fresh.stop()
    finally:
        live_tower.stop()


def an_event(live: LiveDay, kind: EventType, **extra: Any) -> ExecutionEvent:
    vehicle = live.vehicles[0].id
    return ExecutionEvent(
        f"{vehicle}-{kind.value}", vehicle, live.day.start + 9 * 3600, kind, **extra
    )


def test_the_same_event_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    settings = Settings(demo=DemoSettings(vehicles=2, orders=10, seed=3))
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    sessions = connect(f"sqlite:///{tmp_path / 'day.sqlite3'}")
    ensure_demo_day(sessions, settings, day)
    tower = ControlTower(settings, sessions, day, ManualClock(day.start + 9 * 3600))
    live = tower.live
    heard: list[str] = []
    live.event_applied.connect(lambda e: heard.append(e.event_id))
    first = live.route(live.vehicles[0].id)[0]
    delivered = an_event(live, EventType.DELIVERED, stop_id=first.id)

    assert live.apply(delivered).outcome == "applied"
    once = state_of(live)
    assert live.apply(replace(delivered)).outcome == "duplicate"
    assert state_of(live) == once
    assert heard == [delivered.event_id] and live.applied == [delivered]
    assert live.status_of(first.id) is StopStatus.DELIVERED
    # The rules saw the delivery once, and hold the stop's status the live day gives it.
    assert tower.operations.state.stops[first.id].status is StopStatus.DELIVERED
    assert live.take_stop_changes()[first.id] is StopStatus.DELIVERED
    assert live.take_stop_changes() == {}


def test_only_the_live_day_applies_execution_events() -> None:
    """One code path applies events: the tracker is changed from live_day.py alone, and
    the rules' FleetState has no event applier of its own (it follows the live day)."""
    appliers = sorted(
        str(path.relative_to(REPO))
        for path in (REPO / "app").rglob("*.py")
        if "tracker.apply(" in path.read_text(encoding="utf-8")
    )
    assert appliers == ["app/tower/live_day.py"]
    fleet_state = (REPO / "app/domain/rules/fleet_state.py").read_text(encoding="utf-8")
    assert "def apply_event" not in fleet_state
