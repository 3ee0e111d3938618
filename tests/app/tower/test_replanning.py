"""Re-plans from the live state: real OR-Tools solves in a child process, real SQLite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain.model import EventType, ExecutionEvent, TelemetryFix
from app.foundation.clock import ManualClock
from app.foundation.settings import Settings
from app.storage.database import connect
from app.storage.exception_repository import audit_log
from app.storage.orm import PlanRow, ProposalRow
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day
from app.tower.operating_day import OperatingDay
from app.tower.proposals import ProposalRecord


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    settings = Settings()
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day)
    clock = ManualClock(day.start + 10 * 3600)
    tower = ControlTower(settings, sessions, day, clock)
    yield tower
    tower.stop()


def on_the_road(tower: ControlTower, vehicle_id: str, delivered: int) -> None:
    """Load the van, leave the depot, deliver its first ``delivered`` stops, report a fix."""
    now = tower.clock.now()
    route = tower.route_of(vehicle_id)
    parcels = tuple(p.id for s in route for p in tower.orders[s.order_id].parcels)
    put = tower.feed.mailbox.put
    put(
        ExecutionEvent(
            f"{vehicle_id}-scan", vehicle_id, now - 3000, EventType.SCAN, parcel_ids=parcels
        ),
        now,
    )
    put(ExecutionEvent(f"{vehicle_id}-dep", vehicle_id, now - 2900, EventType.DEPARTED), now)
    for n, stop in enumerate(route[:delivered]):
        for kind in (EventType.ARRIVED, EventType.DELIVERED, EventType.DEPARTED):
            put(
                ExecutionEvent(
                    f"{stop.id}-{kind}", vehicle_id, now - 2000 + n * 300, kind, stop_id=stop.id
                ),
                now,
            )
    last = tower.orders[route[max(0, delivered - 1)].order_id]
    put(TelemetryFix(vehicle_id, now - 5, last.lat, last.lon, 25.0), now)
    tower.tick()


def wait_for_proposal(tower: ControlTower) -> ProposalRecord:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tick = tower.tick()
        if tick.proposal is not None:
            return tick.proposal
        time.sleep(0.05)  # the solve runs in its child process
    raise AssertionError("no proposal within 60 s")


def test_a_local_replan_keeps_parcels_on_board_and_done_stops_out(tower: ControlTower) -> None:
    for vehicle_id in ("V01", "V02", "V03"):
        on_the_road(tower, vehicle_id, delivered=3)
    done = {s.id for s in tower.route_of("V01")[:3]}
    assert tower.proposals.request("V01", "late risk on V01")
    assert not tower.proposals.request("V02", "again")  # one solve at a time
    record = wait_for_proposal(tower)
    proposal = record.proposal
    vans = {v.id for v in proposal.live.vehicles}
    assert "V01" in vans and len(vans) == 3
    assert not done & set(proposal.live.stop_ids)
    # Loaded parcels stay on their van: nothing moves between vans.
    assert proposal.diff.moves == ()
    for vehicle_id, ordered in proposal.routes.items():
        assert all(tower.stops[s].vehicle_id == vehicle_id for s in ordered)
    planned = {s for r in proposal.routes.values() for s in r} | set(proposal.unserved)
    assert planned == set(proposal.live.stop_ids)
    assert proposal.diff.after.minutes_late <= proposal.diff.before.minutes_late + 1e-6


def test_accept_stores_a_plan_version_and_reorders_the_live_day(tower: ControlTower) -> None:
    on_the_road(tower, "V04", delivered=2)
    assert tower.proposals.request("V04", "dispatcher's request")
    record = wait_for_proposal(tower)
    tower.proposals.accept(record.id, "alice")
    assert record.status == "accepted" and record.plan_version == 2  # after the morning plan
    for vehicle_id, ordered in record.proposal.routes.items():
        assert [s.id for s in tower.route_of(vehicle_id)][-len(ordered) :] == list(ordered)
    with tower.sessions() as session:
        plans = session.scalars(select(PlanRow).order_by(PlanRow.version)).all()
        stored = session.get(ProposalRow, record.id)
        plan = plans[-1]
        assert [p.active for p in plans] == [False, True] and plan.created_by == "alice"
        assert stored is not None and stored.status == "accepted"
        assert stored.plan_id == plan.id
    assert any(a["action"] == "proposal_accepted" for a in audit_log(tower.sessions))
    with pytest.raises(ValueError):
        tower.proposals.reject(record.id, "bob", "too late")


def test_reject_records_the_reason(tower: ControlTower) -> None:
    on_the_road(tower, "V05", delivered=1)
    assert tower.proposals.request("V05", "dispatcher's request")
    record = wait_for_proposal(tower)
    tower.proposals.reject(record.id, "bob", "driver knows a shortcut")
    entry = next(a for a in audit_log(tower.sessions) if a["action"] == "proposal_rejected")
    assert entry["user"] == "bob" and entry["detail"]["reason"] == "driver knows a shortcut"
