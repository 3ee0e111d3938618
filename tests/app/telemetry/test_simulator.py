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
from app.domain.model import ExecutionEvent, TelemetryFix
from app.foundation.clock import ManualClock
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.parsing import DeviceDirectory, TopicConfig, parse_message
from app.telemetry.simulator import FleetSimulator, SimMessage, SimulatorConfig, run_realtime

DAY0 = 1_760_047_200.0  # a local midnight, Europe/Paris summer time
CONFIG = SimulatorConfig(position_interval_s=30.0, seed=3)


def demo(vehicles: int = 12, orders: int = 250, seed: int = 7) -> DemoDay:
    return build_demo_day(
        depot_name="Lyon",
        depot_lat=45.73,
        depot_lon=4.833,
        day_start=DAY0,
        vehicles=vehicles,
        orders=orders,
        seed=seed,
    )


@pytest.fixture(scope="module")
def whole_day() -> list[SimMessage]:
    return FleetSimulator(demo(), DAY0, CONFIG).simulate_until(DAY0 + 86_400)


def bodies(messages: list[SimMessage], suffix: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (m.topic.split("/")[3], json.loads(m.payload)) for m in messages if m.topic.endswith(suffix)
    ]


def test_same_seed_same_day_however_time_is_chunked(whole_day: list[SimMessage]) -> None:
    sim = FleetSimulator(demo(), DAY0, CONFIG)
    chunked: list[SimMessage] = []
    t = sim.start_time
    while not sim.finished:
        t += 137.0
        chunked += sim.simulate_until(t)
    assert sorted(chunked) == sorted(whole_day)
    other = FleetSimulator(demo(), DAY0, SimulatorConfig(position_interval_s=30.0, seed=4))
    assert sorted(other.simulate_until(DAY0 + 86_400)) != sorted(whole_day)


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
    sim = FleetSimulator(demo(), DAY0, CONFIG)
    d = sim.disruptions
    assert len({d.jam_vehicle, d.breakdown_vehicle, d.unplanned_vehicle}) == 3
    positions = bodies(whole_day, "/position")

    def track(vid: str, start: float, end: float) -> list[dict[str, Any]]:
        return [b for v, b in positions if v == vid and start <= b["ts"] < end]

    jam = [b["speed_kmh"] for b in track(str(d.jam_vehicle), d.jam_start, d.jam_start + 2400)]
    assert max(jam) < 10
    broken = track(str(d.breakdown_vehicle), d.breakdown_at + 1, DAY0 + 86_400)
    assert len(broken) > 100
    assert len({(b["lat"], b["lon"]) for b in broken}) > 1  # GPS noise...
    assert max(b["speed_kmh"] for b in broken) == 0  # ...but no movement
    events = [e for v, e in bodies(whole_day, "/event") if v == d.breakdown_vehicle]
    assert events[-1]["type"] == "breakdown"
    # The unplanned stop: 25 minutes at speed 0 with no stop event around.
    unplanned = track(str(d.unplanned_vehicle), d.unplanned_after, DAY0 + 86_400)
    longest = run = 0
    for b in unplanned:
        run = run + 1 if b["speed_kmh"] == 0 else 0
        longest = max(longest, run)
    assert longest * 30 >= 24 * 60


def test_rush_hour_is_slower() -> None:
    sim = FleetSimulator(demo(), DAY0, SimulatorConfig(position_interval_s=10.0, disruptions=False))
    speeds: dict[bool, list[float]] = {True: [], False: []}
    for _vid, b in bodies(sim.simulate_until(DAY0 + 86_400), "/position"):
        hour = (b["ts"] - DAY0) / 3600
        if b["speed_kmh"] > 1:
            speeds[7.5 <= hour < 9.5 or 16.5 <= hour < 19].append(b["speed_kmh"])
    rush, normal = speeds[True], speeds[False]
    assert sum(rush) / len(rush) < 0.8 * sum(normal) / len(normal)


def test_realtime_driver_publishes_and_says_goodbye_on_stop() -> None:
    sim = FleetSimulator(demo(vehicles=3, orders=30), DAY0, CONFIG)
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
    sim = FleetSimulator(
        demo(vehicles=2000, orders=6000), DAY0, SimulatorConfig(position_interval_s=5.0)
    )
    t = DAY0 + 9 * 3600
    sim.skip_until(t)
    minute = sim.simulate_until(t + 60)
    positions = [m for m in minute if m.topic.endswith("/position")]
    assert len(positions) == pytest.approx(2000 * 12, rel=0.05)


def test_parsed_fix_values() -> None:
    sim = FleetSimulator(demo(vehicles=1, orders=5), DAY0, CONFIG)
    messages = sim.simulate_until(DAY0 + 86_400)
    directory = DeviceDirectory(frozenset({"V01"}))
    parsed = [parse_message(m.topic, m.payload, m.ts, TopicConfig(), directory) for m in messages]
    fixes = [p for p in parsed if isinstance(p, TelemetryFix)]
    events = [p for p in parsed if isinstance(p, ExecutionEvent)]
    assert fixes and events
    assert all(f.vehicle_id == "V01" and f.source == "native" for f in fixes)
