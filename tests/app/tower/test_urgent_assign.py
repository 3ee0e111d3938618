"""'Assign to this van': an urgent order joins the day and its van's re-plan proposes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.foundation.settings import ReplanSettings
from app.storage.fleet_repository import load_fleet
from app.tower.control_tower import ControlTower
from app.tower.urgent_orders import UrgentOrder
from tests.app.tower.test_replanning import make_tower, on_the_road, settled, wait_for_proposal

HOUR = 3600.0


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    tower = make_tower(tmp_path, ReplanSettings(auto_request=False), hour=10)
    on_the_road(tower, "V01", delivered=3)
    yield tower
    tower.stop()


def urgent_near(tower: ControlTower, vehicle_id: str) -> UrgentOrder:
    fix = tower.feed.fleet.latest_fixes()[vehicle_id]
    now = tower.clock.now()
    return UrgentOrder(
        fix.lat + 0.002,
        fix.lon + 0.002,
        (now, now + 4 * HOUR),
        3.0,
        address="12 rue de la République, Lyon",
        customer="Mme Urgent",
    )


def test_an_assigned_urgent_order_is_proposed_on_that_van_and_accepted(
    tower: ControlTower,
) -> None:
    order = urgent_near(tower, "V01")
    order_id = tower.assign_urgent(order, "V01")
    assert order_id is not None and order_id.startswith("U")
    stop_id = f"S-{order_id}"
    # In the day at once, on no van until a plan puts it on one; found by the search.
    assert tower.live.vehicle_of(stop_id) is None
    assert [m.order_id for m in tower.search_orders("Mme Urgent")] == [order_id]
    record = wait_for_proposal(tower)
    proposal = record.proposal
    assert proposal.live.trigger == f"urgent order {order_id}"
    assert proposal.live.scope == ("V01",)
    assert stop_id in proposal.routes["V01"]
    assert stop_id in proposal.diff.newly_served and "V01" in proposal.diff.changed_vehicles
    tower.proposals.accept(record.id, "alice")
    settled(tower, record)
    assert tower.live.vehicle_of(stop_id) == "V01"
    # Stored: a restart finds the order on its van, with its parcel.
    stored = load_fleet(tower.sessions, tower.day.iso)
    [new] = [o for o in stored.orders if o.id == order_id]
    assert new.address == order.address and new.parcels[0].weight_kg == 3.0
    assert {s.id: s.vehicle_id for s in stored.stops}[stop_id] == "V01"


def test_a_turned_down_order_can_be_assigned_again_to_another_van(tower: ControlTower) -> None:
    on_the_road(tower, "V02", delivered=1)
    order = urgent_near(tower, "V01")
    order_id = tower.assign_urgent(order, "V01")
    record = wait_for_proposal(tower)
    tower.proposals.reject(record.id, "alice", "V01 is needed elsewhere")
    assert tower.assign_urgent(order, "V02", order_id) == order_id
    again = wait_for_proposal(tower)
    assert f"S-{order_id}" in again.proposal.routes["V02"]
    assert len([o for o in tower.orders if o.startswith("U")]) == 1


def waiting(tower: ControlTower) -> bool:
    return tower.urgent.waiting


def test_an_assignment_waits_for_the_replan_running_and_goes_before_self_healing(
    tower: ControlTower,
) -> None:
    assert tower.proposals.request("V01", "dispatcher's request")
    order = urgent_near(tower, "V01")
    order_id = tower.assign_urgent(order, "V01")
    assert waiting(tower)
    first = wait_for_proposal(tower)
    assert first.proposal.live.trigger == "dispatcher's request"
    assert not waiting(tower)  # started in the tick that freed the desk
    assert not tower.proposals.request("V02", "late_risk on V02")  # self-healing waits
    urgent = wait_for_proposal(tower)
    assert urgent.proposal.live.trigger == f"urgent order {order_id}"
