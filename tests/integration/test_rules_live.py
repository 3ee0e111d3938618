"""The remaining rules through the real broker, both ways (see test_exceptions_live.py).

Positions are published as a device would, stamped with the tower's manual clock at
10:00 on the demo day; distances are measured from the van's planned places.
"""

from __future__ import annotations

from app.domain.rules.geometry import M_PER_DEG
from app.domain.rules.records import Rule
from tests.integration.road import Road


def drive(
    road: Road,
    vid: str,
    start: tuple[float, float],
    north_m_per_step: float,
    steps: int,
    speed: float = 30.0,
    step_s: float = 10.0,
) -> tuple[float, float]:
    lat, lon = start
    for _ in range(steps):
        road.clock.current += step_s
        lat += north_m_per_step / M_PER_DEG
        road.fix(vid, lat, lon, speed)
    return lat, lon


def park(road: Road, vid: str, at: tuple[float, float], seconds: float) -> None:
    for _ in range(int(seconds // 30)):
        road.clock.current += 30
        road.fix(vid, at[0], at[1], 0.0)


def depot(road: Road) -> tuple[float, float]:
    return road.tower.depot.lat, road.tower.depot.lon


def test_late_start_for_a_van_still_at_the_depot_and_cleared_when_it_leaves(road: Road) -> None:
    park(road, "V10", depot(road), 60)  # 10:00: its shift began two hours ago
    assert road.open(Rule.LATE_START, "V10") is not None
    drive(road, "V10", depot(road), 300, 12)  # leaves: 3.6 km north
    assert road.open(Rule.LATE_START, "V10") is None


def test_a_van_stopped_away_from_stops_and_depot_raises_then_clears(road: Road) -> None:
    away = (road.tower.depot.lat + 0.05, road.tower.depot.lon - 0.08)  # far from any stop
    road.event("V11", "departed")
    park(road, "V11", away, 8 * 60)
    assert road.open(Rule.STOPPED_OFF_ROUTE, "V11") is None  # under the 10 min threshold
    park(road, "V11", away, 4 * 60)
    assert road.open(Rule.STOPPED_OFF_ROUTE, "V11") is not None
    drive(road, "V11", away, 250, 40)  # moving again for several minutes
    assert road.open(Rule.STOPPED_OFF_ROUTE, "V11") is None


def test_off_route_beyond_the_corridor_for_two_minutes_then_back(road: Road) -> None:
    stop_id = road.tower.route_of("V12")[0].id
    order = road.tower.orders[road.tower.stops[stop_id].order_id]
    road.event("V12", "departed")
    far = (order.lat + 0.2, order.lon + 0.2)  # ~25 km from the planned path
    drive(road, "V12", far, 80, 6)
    assert road.open(Rule.OFF_ROUTE, "V12") is None  # one minute: not yet
    drive(road, "V12", far, 80, 12)
    assert road.open(Rule.OFF_ROUTE, "V12") is not None
    back = (order.lat, order.lon)
    drive(road, "V12", back, 0, 15, speed=20)
    assert road.open(Rule.OFF_ROUTE, "V12") is None


def test_serving_a_stop_other_than_the_next_one_is_out_of_sequence(road: Road) -> None:
    route = road.tower.route_of("V09")
    third = route[2]
    order = road.tower.orders[third.order_id]
    road.event("V09", "departed")
    road.event("V09", "arrived", stop_id=third.id, lat=order.lat, lon=order.lon)
    road.event("V09", "delivered", stop_id=third.id)
    record = road.open(Rule.OUT_OF_SEQUENCE, "V09")
    assert record is not None and record.severity.value == "info"
    first = route[0]
    first_order = road.tower.orders[first.order_id]
    road.event("V08", "departed")
    road.event(
        "V08",
        "arrived",
        stop_id=road.tower.route_of("V08")[0].id,
        lat=first_order.lat,
        lon=first_order.lon,
    )
    assert road.open(Rule.OUT_OF_SEQUENCE, "V08") is None  # its next stop: in sequence


def test_a_closed_window_with_the_stop_unserved_is_late(road: Road) -> None:
    stops = list(road.tower.stops.values())
    first_close = min(road.tower.orders[s.order_id].windows[-1].end for s in stops)
    road.clock.current = max(road.clock.now(), first_close + 60)
    road.advance(10)
    now = road.clock.now()
    closed = [s for s in stops if road.tower.orders[s.order_id].windows[-1].end < now]
    assert closed and all(road.open(Rule.LATE, s.id) is not None for s in closed)
    still_open = [s for s in stops if road.tower.orders[s.order_id].windows[-1].end > now]
    assert still_open and all(road.open(Rule.LATE, s.id) is None for s in still_open)


def test_a_van_far_from_its_stops_is_at_risk_of_being_late_and_of_overtime(road: Road) -> None:
    road.event("V07", "departed")
    far = (road.tower.depot.lat + 1.2, road.tower.depot.lon)  # ~130 km north
    road.fix("V07", far[0], far[1], 30)
    road.advance(60, step=2)  # a full ETA round
    risks = [road.open(Rule.LATE_RISK, s.id) for s in road.tower.route_of("V07")]
    assert any(r is not None for r in risks)
    assert road.open(Rule.OVERTIME_RISK, "V07") is not None
