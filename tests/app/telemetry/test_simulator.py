"""The fleet simulator as a pure step function: a whole day in milliseconds."""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter, defaultdict
from typing import Any

import pytest

from app.domain.demo import DemoDay, build_demo_day
from app.domain.geo import haversine_m
from app.domain.live_fleet import LiveFleet
from app.domain.model import ExecutionEvent, FailureReason, TelemetryFix
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import DepotSettings
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.parsing import DeviceDirectory, TopicConfig, parse_message
from app.telemetry.realtime import run_realtime
from app.telemetry.simulator import FleetSimulator, SimulatorConfig
from app.telemetry.van_day import SimMessage

DAY = OperatingDay.at(1_760_047_200.0, "Europe/Paris")  # a summer day
DAY0 = DAY.start
CONFIG = SimulatorConfig(position_interval_s=30.0, seed=3)


def demo(vehicles: int = 12, orders: int = 250, seed: int = 7) -> DemoDay:
    return build_demo_day(
        DepotSettings(name="Lyon"),
        DAY,
        vehicles=vehicles,
        orders=orders,
        seed=seed,
    )


@pytest.fixture(scope="module")
def whole_day() -> list[SimMessage]:
    return FleetSimulator(demo(), CONFIG).simulate_until(DAY.end)


def bodies(messages: list[SimMessage], suffix: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (m.topic.split("/")[3], json.loads(m.payload)) for m in messages if m.topic.endswith(suffix)
    ]


def test_same_seed_same_day_however_time_is_chunked(whole_day: list[SimMessage]) -> None:
    sim = FleetSimulator(demo(), CONFIG)
    chunked: list[SimMessage] = []
    t = sim.start_time
    while not sim.finished:
        t += 137.0
        chunked += sim.simulate_until(t)
    assert sorted(chunked) == sorted(whole_day)
    other = FleetSimulator(demo(), SimulatorConfig(position_interval_s=30.0, seed=4))
    assert sorted(other.simulate_until(DAY.end)) != sorted(whole_day)


def test_every_message_is_accepted_by_the_parser(whole_day: list[SimMessage]) -> None:
    day = demo()
    directory = DeviceDirectory(frozenset(v.id for v in day.vehicles))
    box = TelemetryMailbox()
    for m in whole_day:
        box.put(parse_message(m.topic, m.payload, m.ts, TopicConfig(), directory), m.ts)
    batch = box.drain()
    assert not batch.rejections and not batch.unknown_devices
    update = LiveFleet(v.id for v in day.vehicles).apply(batch)
    assert update.duplicate_events == 0
    assert len(update.new_events) == len(batch.events) > 500


def test_messages_come_in_time_order_and_positions_at_the_interval(
    whole_day: list[SimMessage],
) -> None:
    assert [m.ts for m in whole_day] == sorted(m.ts for m in whole_day)
    per_van: dict[str, list[float]] = defaultdict(list)
    for vid, body in bodies(whole_day, "/position"):
        per_van[vid].append(body["ts"])
    for times in per_van.values():
        gaps = {round(b - a, 3) for a, b in itertools.pairwise(times)}
        assert gaps == {30.0}


def test_each_stop_is_arrived_then_delivered_or_failed_then_departed(
    whole_day: list[SimMessage],
) -> None:
    by_stop: dict[str, list[str]] = defaultdict(list)
    kinds: Counter[str] = Counter()
    for _vid, e in bodies(whole_day, "/event"):
        kinds[e["type"]] += 1
        if e.get("stop_id"):
            by_stop[e["stop_id"]].append(e["type"])
    for sequence in by_stop.values():
        assert sequence in (["arrived", "delivered", "departed"], ["arrived", "failed", "departed"])
    done = kinds["delivered"] + kinds["failed"]
    assert 0.03 < kinds["failed"] / done < 0.15
    reasons = {e["reason"] for _vid, e in bodies(whole_day, "/event") if e["type"] == "failed"}
    assert reasons and reasons <= {r.value for r in FailureReason}
    assert kinds["shift_start"] == 12 and kinds["scan"] == 12
    assert kinds["shift_end"] == 11 and kinds["breakdown"] == 1


def test_vans_drive_at_plausible_speeds_without_teleporting(whole_day: list[SimMessage]) -> None:
    last: dict[str, dict[str, Any]] = {}
    for vid, body in bodies(whole_day, "/position"):
        assert body["speed_kmh"] <= 45
        if vid in last:
            a = last[vid]
            metres = haversine_m(a["lat"], a["lon"], body["lat"], body["lon"])
            assert metres / (body["ts"] - a["ts"]) * 3.6 < 60, (vid, a, body)
        last[vid] = body


def test_the_three_disruptions(whole_day: list[SimMessage]) -> None:
    sim = FleetSimulator(demo(), CONFIG)
    d = sim.disruptions
    assert len({d.jam_vehicle, d.breakdown_vehicle, d.unplanned_vehicle}) == 3
    positions = bodies(whole_day, "/position")

    def track(vid: str, start: float, end: float) -> list[dict[str, Any]]:
        return [b for v, b in positions if v == vid and start <= b["ts"] < end]

    jam = [b["speed_kmh"] for b in track(str(d.jam_vehicle), d.jam_start, d.jam_start + 2400)]
    assert max(jam) < 10
    broken = track(str(d.breakdown_vehicle), d.breakdown_at + 1, DAY.end)
    assert len(broken) > 100
    assert len({(b["lat"], b["lon"]) for b in broken}) > 1  # GPS noise...
    assert max(b["speed_kmh"] for b in broken) == 0  # ...but no movement
    events = [e for v, e in bodies(whole_day, "/event") if v == d.breakdown_vehicle]
    assert events[-1]["type"] == "breakdown"
    # The unplanned stop: 25 minutes at speed 0 with no stop event around.
    unplanned = track(str(d.unplanned_vehicle), d.unplanned_after, DAY.end)
    longest = run = 0
    for b in unplanned:
        run = run + 1 if b["speed_kmh"] == 0 else 0
        longest = max(longest, run)
    assert longest * 30 >= 24 * 60


def test_rush_hour_is_slower() -> None:
    sim = FleetSimulator(demo(), SimulatorConfig(position_interval_s=10.0, disruptions=False))
    speeds: dict[bool, list[float]] = {True: [], False: []}
    for _vid, b in bodies(sim.simulate_until(DAY.end), "/position"):
        hour = (b["ts"] - DAY0) / 3600
        if b["speed_kmh"] > 1:
            speeds[7.5 <= hour < 9.5 or 16.5 <= hour < 19].append(b["speed_kmh"])
    rush, normal = speeds[True], speeds[False]
    assert sum(rush) / len(rush) < 0.8 * sum(normal) / len(normal)


def test_realtime_driver_publishes_and_says_goodbye_on_stop() -> None:
    sim = FleetSimulator(demo(vehicles=3, orders=30), CONFIG)
    clock = ManualClock(sim.start_time + 3600)
    sent: list[tuple[str, bytes, int, bool]] = []
    stop = threading.Event()

    class Recorder:
        def publish(
            self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False
        ) -> None:
            sent.append(
                (topic, payload if isinstance(payload, bytes) else payload.encode(), qos, retain)
            )
            if len(sent) == 50:
                stop.set()

    count = run_realtime(sim, Recorder(), clock, stop, tick_s=0.0)
    assert count == len(sent) >= 50
    goodbyes = [json.loads(p) for t, p, _q, retain in sent[-3:] if t.endswith("/status") and retain]
    assert goodbyes and all(g["online"] is False for g in goodbyes)


def test_two_thousand_vans() -> None:
    sim = FleetSimulator(demo(vehicles=2000, orders=6000), SimulatorConfig(position_interval_s=5.0))
    t = DAY0 + 9 * 3600
    sim.skip_until(t)
    minute = sim.simulate_until(t + 60)
    positions = [m for m in minute if m.topic.endswith("/position")]
    assert len(positions) == pytest.approx(2000 * 12, rel=0.05)


def test_parsed_fix_values() -> None:
    sim = FleetSimulator(demo(vehicles=1, orders=5), CONFIG)
    messages = sim.simulate_until(DAY.end)
    directory = DeviceDirectory(frozenset({"V01"}))
    parsed = [parse_message(m.topic, m.payload, m.ts, TopicConfig(), directory) for m in messages]
    fixes = [p for p in parsed if isinstance(p, TelemetryFix)]
    events = [p for p in parsed if isinstance(p, ExecutionEvent)]
    assert fixes and events
    assert all(f.vehicle_id == "V01" and f.source == "native" for f in fixes)


# --- reroute: the van follows a new plan ---------------------------------------------

SMALL = SimulatorConfig(position_interval_s=30.0, seed=3)


def events_of(messages: list[SimMessage], vid: str) -> list[dict[str, Any]]:
    return [e for v, e in bodies(messages, "/event") if v == vid]


def quiet_van(sim: FleetSimulator) -> str:
    d = sim.disruptions
    troubled = {d.jam_vehicle, d.breakdown_vehicle, d.unplanned_vehicle}
    return next(v.id for v in sim.day.vehicles if v.id not in troubled)


def test_reroute_to_the_same_plan_changes_nothing() -> None:
    plain = FleetSimulator(demo(4, 60), SMALL).simulate_until(DAY.end)
    sim = FleetSimulator(demo(4, 60), SMALL)
    at = DAY0 + 11 * 3600
    messages = sim.simulate_until(at)
    for v in sim.day.vehicles:
        rest = [s for s in sim.planned_stops(v.id) if s not in sim.visited_stops(v.id, at)]
        assert sim.reroute(v.id, rest, at) is False
    assert messages + sim.simulate_until(DAY.end) == plain


def test_reroute_mid_day_follows_the_new_order_from_where_the_van_is() -> None:
    plain = FleetSimulator(demo(4, 60), SMALL).simulate_until(DAY.end)
    sim = FleetSimulator(demo(4, 60), SMALL)
    vid = quiet_van(sim)
    at = DAY0 + 11 * 3600 + 7
    before = sim.simulate_until(at)
    done = sim.visited_stops(vid, at)
    rest = [s for s in sim.planned_stops(vid) if s not in done]
    assert len(rest) >= 3
    assert sim.reroute(vid, rest[::-1], at) is True
    after = sim.simulate_until(DAY.end)
    day = before + after
    # What was played before the reroute stands, and the other vans do not notice it.
    assert before == [m for m in plain if m.ts <= at]
    others = [m for m in day if f"/{vid}/" not in m.topic]
    assert others == [m for m in plain if f"/{vid}/" not in m.topic]
    # The van serves the rest in the new order, each stop once, then goes home.
    assert sim.visited_stops(vid) == done + rest[::-1]
    stops = [e["stop_id"] for e in events_of(after, vid) if e["type"] == "arrived"]
    assert stops == rest[::-1]
    kinds = [e["type"] for e in events_of(day, vid)]
    assert kinds.count("shift_end") == 1 and kinds[-1] == "shift_end"
    # A stop keeps the outcome it had in the morning layout.
    outcome = {
        e["stop_id"]: e["type"]
        for e in events_of(plain, vid)
        if e["type"] in ("delivered", "failed")
    }
    for e in events_of(day, vid):
        if e["type"] in ("delivered", "failed"):
            assert outcome[e["stop_id"]] == e["type"]
    # No teleporting, no gap in the positions, event ids stay unique.
    track = [b for v, b in bodies(day, "/position") if v == vid]
    for a, b in itertools.pairwise(track):
        assert round(b["ts"] - a["ts"], 3) == 30.0
        metres = haversine_m(a["lat"], a["lon"], b["lat"], b["lon"])
        assert metres / 30.0 * 3.6 < 60
    ids = [e["event_id"] for e in events_of(day, vid)]
    assert len(ids) == len(set(ids))
    assert [m.ts for m in day] == sorted(m.ts for m in day)


def test_reroute_drops_the_stops_left_out_and_is_deterministic() -> None:
    def run() -> tuple[list[SimMessage], list[str], list[str]]:
        sim = FleetSimulator(demo(4, 60), SMALL)
        vid = quiet_van(sim)
        at = DAY0 + 10 * 3600
        out = sim.simulate_until(at)
        rest = [s for s in sim.planned_stops(vid) if s not in sim.visited_stops(vid, at)]
        kept = rest[1::2]
        sim.reroute(vid, kept, at)
        out += sim.simulate_until(DAY.end)
        return out, kept, [s for s in rest if s not in kept]

    first, kept, dropped = run()
    second, _, _ = run()
    assert first == second
    visited = {e.get("stop_id") for _v, e in bodies(first, "/event")}
    assert set(kept) <= visited
    assert not set(dropped) & visited


def test_reroute_while_serving_a_stop_finishes_it_first() -> None:
    sim = FleetSimulator(demo(4, 60), SMALL)
    vid = quiet_van(sim)
    plain = FleetSimulator(demo(4, 60), SMALL).simulate_until(DAY.end)
    arrivals = [e for e in events_of(plain, vid) if e["type"] == "arrived"]
    departures = {e["stop_id"]: e["ts"] for e in events_of(plain, vid) if e["type"] == "departed"}
    serving = arrivals[3]
    at = (serving["ts"] + departures[serving["stop_id"]]) / 2
    sim.simulate_until(at)
    rest = [s for s in sim.planned_stops(vid) if s not in sim.visited_stops(vid, at)]
    # The dispatcher's list still names the stop being served: it is not visited twice.
    assert sim.reroute(vid, [serving["stop_id"], *rest[::-1]], at)
    after = events_of(sim.simulate_until(DAY.end), vid)
    assert after[0]["stop_id"] == serving["stop_id"] and after[0]["type"] in ("delivered", "failed")
    assert after[1]["type"] == "departed" and after[1]["ts"] == departures[serving["stop_id"]]
    assert [e["stop_id"] for e in after if e["type"] == "arrived"] == rest[::-1]


def test_reroute_before_loading_scans_the_new_stops_and_after_a_breakdown_does_nothing() -> None:
    sim = FleetSimulator(demo(4, 60), SMALL)
    vid = quiet_van(sim)
    first = sim.planned_stops(vid)[:3]
    assert sim.reroute(vid, first, sim.start_time)
    day = sim.simulate_until(DAY.end)
    scans = [e for e in events_of(day, vid) if e["type"] == "scan"]
    orders = {s.id: s.order_id for s in sim.day.stops}
    assert len(scans) == 1
    assert {p.rsplit("-", 1)[0] for p in scans[0]["parcel_ids"]} == {orders[s] for s in first}
    assert sim.visited_stops(vid) == first

    broken = FleetSimulator(demo(4, 60), SMALL)
    d = broken.disruptions
    assert d.breakdown_vehicle is not None
    whole = FleetSimulator(demo(4, 60), SMALL).simulate_until(DAY.end)
    at = next(e["ts"] for e in events_of(whole, d.breakdown_vehicle) if e["type"] == "breakdown")
    broken.simulate_until(at + 60)
    plan = broken.planned_stops(d.breakdown_vehicle)
    assert broken.reroute(d.breakdown_vehicle, plan[::-1], at + 60) is False
    with pytest.raises(ValueError):
        broken.reroute(d.breakdown_vehicle, plan, at)


def test_reroute_keeps_the_breakdown_and_the_long_stop_on_the_new_route() -> None:
    sim = FleetSimulator(demo(4, 60), SMALL)
    d = sim.disruptions
    at = DAY0 + 9.5 * 3600
    sim.simulate_until(at)
    for vid in (d.breakdown_vehicle, d.unplanned_vehicle):
        assert vid is not None
        rest = [s for s in sim.planned_stops(vid) if s not in sim.visited_stops(vid, at)]
        assert sim.reroute(vid, rest[::-1], at)
    day = sim.simulate_until(DAY.end)
    breakdown = [e for e in events_of(day, str(d.breakdown_vehicle)) if e["type"] == "breakdown"]
    assert len(breakdown) == 1 and breakdown[0]["ts"] >= d.breakdown_at
    track = [b for v, b in bodies(day, "/position") if v == d.unplanned_vehicle]
    longest = run = 0
    for b in track:
        run = run + 1 if b["speed_kmh"] == 0 else 0
        longest = max(longest, run)
    assert longest * 30 >= 24 * 60


def test_driven_km_adds_up_the_drives() -> None:
    sim = FleetSimulator(demo(4, 60), SMALL)
    assert sim.driven_km() == 0.0
    sim.simulate_until(DAY0 + 12 * 3600)
    noon = sim.driven_km()
    sim.simulate_until(DAY.end)
    total = sim.driven_km()
    assert 0 < noon < total
    assert total == pytest.approx(sum(sim.driven_km(v.id) for v in sim.day.vehicles))
    # About the morning plan's straight lines times the street circuity, and more.
    depot = sim.day.depot
    orders = {o.id: o for o in sim.day.orders}
    stops = {s.id: orders[s.order_id] for s in sim.day.stops}
    vid = quiet_van(sim)
    points = [(depot.lat, depot.lon)]
    points += [(stops[s].lat, stops[s].lon) for s in sim.planned_stops(vid)]
    points.append((depot.lat, depot.lon))
    straight = sum(haversine_m(*a, *b) for a, b in itertools.pairwise(points)) / 1000
    assert straight < sim.driven_km(vid) < 1.6 * straight
