"""Ranking vans for a new urgent order, on a demo day in the execution tracker."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.model import EventType, ExecutionEvent
from app.foundation.settings import ReplanSettings
from app.planning.matrix import MatrixError, OsrmTableProvider
from app.tower.control_tower import ControlTower
from app.tower.urgent_orders import UrgentOrder, VehicleOption, rank_vehicles
from tests.app.tower.test_replanning import make_tower, on_the_road

HOUR = 3600.0


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    tower = make_tower(tmp_path, ReplanSettings(auto_request=False), hour=10)
    for vehicle_id in ("V01", "V02", "V03"):
        on_the_road(tower, vehicle_id, delivered=3)
    yield tower
    tower.stop()


def near(tower: ControlTower, vehicle_id: str, hours: float, weight: float = 2.0) -> UrgentOrder:
    """An order a few hundred metres from the van, due within ``hours``."""
    fix = tower.feed.fleet.latest_fixes()[vehicle_id]
    now = tower.clock.now()
    return UrgentOrder(fix.lat + 0.002, fix.lon + 0.002, (now, now + hours * HOUR), weight)


def rank(tower: ControlTower, order: UrgentOrder) -> list[VehicleOption]:
    """The tower's answer, awaited (a test may wait; the window does not)."""
    return tower.rank_for_urgent_later(order).result(timeout=30)


def test_vans_that_can_make_the_window_come_first_cheapest_first(tower: ControlTower) -> None:
    order = near(tower, "V01", hours=4)
    options = rank(tower, order)
    assert len(options) == len(tower.snapshot.vehicles)
    feasible = [o for o in options if o.feasible]
    assert feasible and options[: len(feasible)] == feasible
    assert [o.cost for o in feasible] == sorted(o.cost for o in feasible)
    for option in feasible:
        assert option.eta is not None and order.window[0] <= option.eta <= order.window[1]
    by_van = {o.vehicle_id: o for o in options}
    # A van on the road drives back to the depot for the parcels; one at the depot loads them.
    assert by_van["V01"].collect_at is not None
    assert by_van["V08"].collect_at is None
    assert by_van["V01"].insert_at >= (by_van["V01"].collect_at or 0)


def test_a_window_no_van_can_make_is_explained(tower: ControlTower) -> None:
    now = tower.clock.now()
    far = UrgentOrder(46.2, 6.1, (now, now + 300), 1.0)  # Geneva, within five minutes
    options = rank(tower, far)
    assert not any(o.feasible for o in options)
    assert all("after the window closes" in o.reason for o in options)


def test_too_heavy_or_broken_down_vans_are_listed_with_why(tower: ControlTower) -> None:
    now = tower.clock.now()
    fix = tower.feed.fleet.latest_fixes()["V02"]
    tower.feed.mailbox.put(
        ExecutionEvent("bd", "V02", now, EventType.BREAKDOWN, lat=fix.lat, lon=fix.lon), now
    )
    tower.tick()
    heavy = near(tower, "V01", hours=4, weight=10_000)
    by_van = {o.vehicle_id: o for o in rank(tower, heavy)}
    assert by_van["V02"].reason == "broken down" and not by_van["V02"].feasible
    assert by_van["V01"].reason == "not enough room on board"


def test_the_answer_is_the_one_ranked_on_the_callers_thread(tower: ControlTower) -> None:
    order = near(tower, "V03", hours=2)
    live = rank_vehicles(order, tower.live.vehicles, tower.proposals.runs.road_now())
    assert rank(tower, order) == live


def test_ranking_never_waits_for_the_network(tower: ControlTower) -> None:
    order = near(tower, "V01", hours=4)
    with socket.socket() as silent:  # accepts, never answers: OSRM stuck
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        tower.proposals.runs.provider = OsrmTableProvider(f"http://127.0.0.1:{port}", timeout_s=30)
        started = time.monotonic()
        answer = tower.rank_for_urgent_later(order)
        assert time.monotonic() - started < 1
        tower.tick()  # the live day moves on meanwhile
        assert not answer.done()
    # The server gone, the ranking thread hears so: the answer is that there are no
    # travel times, long before OSRM's 30 s timeout.
    with pytest.raises(MatrixError):
        answer.result(timeout=10)
