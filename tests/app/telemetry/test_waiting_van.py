"""A van the morning plan left without stops waits at the depot, online, and drives a
route sent to it during its shift (the planner's demo plan leaves some vans so)."""

from __future__ import annotations

import dataclasses
import itertools

from app.domain.geo import haversine_m
from app.domain.model import TelemetryFix
from app.telemetry.drivers import RouteStop
from app.telemetry.parsing import DeviceDirectory, TopicConfig, parse_message
from app.telemetry.simulator import FleetSimulator
from app.telemetry.van_day import SimMessage
from tests.app.telemetry.test_simulator import DAY, SMALL, bodies, demo, events_of, quiet_van


def fixes_of(messages: list[SimMessage], vid: str) -> list[TelemetryFix]:
    directory = DeviceDirectory(frozenset({vid}))
    out = []
    for m in messages:
        if m.topic.endswith("/position") and f"/{vid}/" in m.topic:
            fix = parse_message(m.topic, m.payload, m.ts, TopicConfig(), directory)
            assert isinstance(fix, TelemetryFix), fix
            out.append(fix)
    return out


def van_without_stops() -> tuple[FleetSimulator, str, list[RouteStop]]:
    """The simulator of a demo day whose quiet van has no stops, and a two-stop route for
    it (two of the orders it had: stops the simulated day does not know, as a re-plan's)."""
    day = demo(4, 60)
    vid = quiet_van(FleetSimulator(day, SMALL))
    taken = sorted((s for s in day.stops if s.vehicle_id == vid), key=lambda s: s.sequence)[:2]
    orders = {o.id: o for o in day.orders}
    route = [
        RouteStop(
            f"replanned-{s.id}",
            s.order_id,
            orders[s.order_id].lat,
            orders[s.order_id].lon,
            s.planned_arrival,
            parcel_ids=tuple(p.id for p in orders[s.order_id].parcels),
        )
        for s in taken
    ]
    idle = dataclasses.replace(day, stops=[s for s in day.stops if s.vehicle_id != vid])
    return FleetSimulator(idle, SMALL), vid, route


def test_a_van_without_stops_waits_at_the_depot_online_until_its_shift_ends() -> None:
    sim, vid, _ = van_without_stops()
    vehicle = next(v for v in sim.day.vehicles if v.id == vid)
    shift_end = DAY.epoch_at(vehicle.shift_end_s)
    day = sim.simulate_until(DAY.end)
    fixes = fixes_of(day, vid)
    depot = sim.day.depot
    assert fixes[-1].ts > shift_end - 60  # reporting at its interval all shift
    assert all(b.ts - a.ts == SMALL.position_interval_s for a, b in itertools.pairwise(fixes))
    assert all(haversine_m(f.lat, f.lon, depot.lat, depot.lon) < 30 for f in fixes)
    assert all(f.speed_kmh == 0 for f in fixes)
    events = events_of(day, vid)
    assert [e["type"] for e in events] == ["shift_start", "shift_end"]
    assert events[-1]["ts"] == shift_end
    statuses = [(s["online"], s["ts"]) for v, s in bodies(day, "/status") if v == vid]
    assert statuses == [(True, DAY.epoch_at(vehicle.shift_start_s)), (False, shift_end + 1)]


def test_a_route_sent_mid_morning_to_a_waiting_van_is_loaded_driven_and_delivered() -> None:
    sim, vid, route = van_without_stops()
    at = DAY.start + 10 * 3600 + 13
    before = sim.simulate_until(at)
    assert sim.follow(vid, 2, route, at) is True
    after = sim.simulate_until(DAY.end)
    events = events_of(after, vid)
    assert events[0]["type"] == "route_received" and events[0]["ts"] == at
    scan = next(e for e in events if e["type"] == "scan")
    assert set(scan["parcel_ids"]) == {p for s in route for p in s.parcel_ids}
    assert at < scan["ts"] < at + 15 * 60  # it loads them at the depot, then leaves
    served = [(e["type"], e["stop_id"]) for e in events if e.get("stop_id")]
    first, second = (s.stop_id for s in route)
    assert served == [
        ("arrived", first),
        ("delivered", first),
        ("departed", first),
        ("arrived", second),
        ("delivered", second),
        ("departed", second),
    ]
    assert events[-1]["type"] == "shift_end"
    # Its fixes leave the depot after loading and close in on the first stop, then reach it.
    arrived = next(e["ts"] for e in events if e["type"] == "arrived")
    fixes = fixes_of(before + after, vid)
    assert all(b.ts - a.ts == SMALL.position_interval_s for a, b in itertools.pairwise(fixes))
    driving = [f for f in fixes if scan["ts"] <= f.ts <= arrived]
    stop = route[0]
    gaps = [haversine_m(f.lat, f.lon, stop.lat, stop.lon) for f in driving]
    assert gaps[0] > 300 and gaps[-1] < 300
    assert sum(b < a for a, b in itertools.pairwise(gaps)) > 0.8 * (len(gaps) - 1)
    assert max(f.speed_kmh or 0.0 for f in driving) > 10
    departed = next(e["ts"] for e in events if e["type"] == "departed")
    serving = [f for f in fixes if arrived <= f.ts <= departed]
    assert serving and all(haversine_m(f.lat, f.lon, stop.lat, stop.lon) < 30 for f in serving)
    assert sim.visited_stops(vid) == [first, second]
