"""The drivers' side of an accepted plan: the route version each van was sent, the one
its driver acknowledged, and the warning when the acknowledgement does not come."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.model import EventType, ExecutionEvent, TelemetryFix
from app.domain.rules.records import Rule
from app.foundation.clock import ManualClock
from app.foundation.settings import ReplanSettings
from app.tower.control_tower import ControlTower
from app.tower.route_acks import RouteAcks
from tests.app.tower.test_replanning import make_tower, on_the_road, settled, wait_for_proposal


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    tower = make_tower(tmp_path, ReplanSettings(auto_request=False))
    yield tower
    tower.stop()


def _clock(tower: ControlTower) -> ManualClock:
    assert isinstance(tower.clock, ManualClock)
    return tower.clock


def test_acknowledgements_keep_the_newest_version() -> None:
    acks = RouteAcks()
    assert not acks.of("V01").awaiting
    acks.sent("V01", 3, 100.0)
    assert acks.of("V01").awaiting and not acks.of("V01").overdue(220.0)
    assert acks.of("V01").overdue(221.0)
    ack = ExecutionEvent("a1", "V01", 150.0, EventType.ROUTE_RECEIVED, route_version=3)
    acks.take(ack)
    acks.take(ExecutionEvent("a0", "V01", 160.0, EventType.ROUTE_RECEIVED, route_version=2))
    acks.take(ExecutionEvent("d1", "V01", 170.0, EventType.DELIVERED, stop_id="S1"))
    handover = acks.of("V01")
    assert (handover.sent_version, handover.acked_version, handover.acked_at) == (3, 3, 150.0)
    assert not handover.awaiting and not handover.overdue(1_000.0)


def test_the_vehicles_table_shows_the_route_sent_and_warns_until_it_is_acknowledged(
    tower: ControlTower,
) -> None:
    on_the_road(tower, "V01", delivered=2)
    assert tower.proposals.request("V01", "test")
    record = settled(tower, tower.proposals.accept(wait_for_proposal(tower).id, "alice"))
    version = record.plan_version
    changed = sorted(record.proposal.diff.changed_vehicles)
    assert "V01" in changed and version is not None
    clock = _clock(tower)

    def row(vehicle_id: str) -> tuple[int | None, int | None, bool]:
        [view] = tower.vehicle_views([vehicle_id])
        return view.route_sent, view.route_acked, view.route_unacknowledged

    assert row("V01") == (version, None, False)
    # Two minutes on, V01 still reports (online, on shift) but has not acknowledged.
    clock.advance(121)
    fix = tower.feed.fleet.latest_fixes()["V01"]
    now = clock.now()
    tower.feed.mailbox.put(TelemetryFix("V01", now - 1, fix.lat, fix.lon, 20.0), now)
    tower.tick()
    assert row("V01") == (version, None, True)
    # A changed van that has not reported at all (its app is off) is not warned about.
    silent = [v for v in changed if v not in tower.feed.fleet.latest_fixes()]
    for vehicle_id in silent:
        assert row(vehicle_id)[2] is False
    # The acknowledgement: shown, no warning, no stop changes, nothing out of sequence.
    ack = ExecutionEvent("ack-1", "V01", now, EventType.ROUTE_RECEIVED, route_version=version)
    tower.feed.mailbox.put(ack, now)
    tick = tower.tick()
    assert row("V01") == (version, version, False)
    assert not tick.operations.stop_status
    assert Rule.OUT_OF_SEQUENCE not in {c.exception.rule for c in tick.operations.exceptions}
    assert tower.live.route_acks.of("V01").acked_at == now


def test_a_stop_reached_while_the_proposal_waited_keeps_its_place(tower: ControlTower) -> None:
    on_the_road(tower, "V01", delivered=2)
    assert tower.proposals.request("V01", "test", resequence_only=True)
    record = wait_for_proposal(tower)
    planned = [s for s in record.proposal.routes["V01"] if s in record.proposal.arrivals]
    assert len(planned) >= 3
    reached = planned[2]  # the van got there before the dispatcher accepted
    now = _clock(tower).now()
    arrived = ExecutionEvent("late-arrival", "V01", now, EventType.ARRIVED, stop_id=reached)
    tower.feed.mailbox.put(arrived, now)
    tower.tick()
    settled(tower, tower.proposals.accept(record.id, "alice"))
    route = [s.id for s in tower.route_of("V01")]
    still_planned = [s for s in planned if s != reached]
    assert route.index(reached) < min(route.index(s) for s in still_planned)
    assert [s for s in route if s in still_planned] == still_planned


def test_a_stop_served_before_the_new_route_reached_the_driver_is_not_out_of_sequence() -> None:
    acks = RouteAcks()
    assert acks.has_newest("V01", 100.0)  # the morning plan: nothing on its way
    acks.coming("V01")  # accepted: the new route is stored, then published
    assert not acks.has_newest("V01", 200.0)
    acks.sent("V01", 2, 210.0)
    assert not acks.has_newest("V01", 215.0)
    acks.take(ExecutionEvent("a", "V01", 220.0, EventType.ROUTE_RECEIVED, route_version=2))
    assert acks.has_newest("V01", 230.0)
    # An event that happened before the acknowledgement (reported late) was served under
    # the old route.
    assert not acks.has_newest("V01", 219.0)
