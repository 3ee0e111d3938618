"""Bounded memory: made-up devices on every topic grow no per-device structure past its
cap (the unknown devices' 1,000), in the tower nor in the database; a known van's new
events past its daily cap are stored, not applied."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.domain.live_fleet import MAX_EVENTS_PER_VAN_DAY, MAX_UNKNOWN_DEVICES
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import connect
from app.storage.telemetry_repository import fleet_report
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.parsing import DeviceDirectory, TopicConfig, UnknownDeviceFix, parse_message
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day

MADE_UP = 3_000
# Larger than any container a demo day holds (250 orders), smaller than the flood.
LARGEST = 1_500


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    settings = Settings()
    clock = ManualClock(OperatingDay.at(time.time(), settings.depot.timezone).start + 36_000)
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(clock.now(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day)
    tower = ControlTower(settings, sessions, day, clock)
    tower.restore()
    yield tower
    tower.stop()


def made_up(n: int, now: float) -> list[tuple[str, dict[str, Any]]]:
    """What one made-up device sends, on every topic and format."""
    van = f"X{n:05d}"
    return [
        (f"tower/v1/vehicles/{van}/position", {"ts": now, "lat": 45.7, "lon": 4.8}),
        (f"tower/v1/vehicles/{van}/status", {"online": True, "ts": now}),
        (
            f"tower/v1/vehicles/{van}/event",
            {"event_id": f"{van}-1", "ts": now, "type": "arrived", "stop_id": f"S-{van}"},
        ),
        (
            f"tower/v1/vehicles/{van}/event",
            {"event_id": f"{van}-2", "ts": now, "type": "route_received", "version": 2},
        ),
        (f"owntracks/u{n}/phone", {"_type": "location", "lat": 45.7, "lon": 4.8, "tst": int(now)}),
        (
            "traccar/positions",
            {
                "position": {"latitude": 45.7, "longitude": 4.8, "fixTime": now},
                "device": {"uniqueId": f"T{n}"},
            },
        ),
    ]


def largest_containers(root: object, limit: int) -> list[tuple[int, str]]:
    """Every dict, list, set or tuple reachable from ``root``'s app objects holding more
    than ``limit`` entries, with where it is."""
    seen: set[int] = set()
    found: list[tuple[int, str]] = []
    stack: list[tuple[str, Any]] = [("tower", root)]
    while stack:
        path, obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (dict, list, set, frozenset, tuple)):
            if len(obj) > limit:
                found.append((len(obj), path))
            items = obj.items() if isinstance(obj, dict) else enumerate(obj)
            stack.extend((f"{path}[{str(k)[:20]}]", v) for k, v in items)
        elif type(obj).__module__.startswith("app."):
            names = getattr(obj, "__dict__", None) or {
                k: getattr(obj, k) for k in getattr(type(obj), "__slots__", ()) if hasattr(obj, k)
            }
            stack.extend((f"{path}.{k}", v) for k, v in names.items())
    return sorted(found, reverse=True)


def test_made_up_devices_on_every_topic_grow_nothing_past_its_cap(tower: ControlTower) -> None:
    assert isinstance(tower.clock, ManualClock)
    b = tower.settings.broker
    topics = TopicConfig(b.topic_prefix, b.owntracks_topic, b.traccar_topic, b.position_qos)
    directory = DeviceDirectory(tower.feed.fleet.vehicle_ids, dict(tower.feed.device_ids))
    for n in range(MADE_UP):
        now = tower.clock.now()
        for topic, body in made_up(n, now):
            parsed = parse_message(topic, json.dumps(body).encode(), now, topics, directory)
            tower.feed.mailbox.put(parsed, now)
        if n % 250 == 0:
            tower.clock.advance(1)
            tower.tick()
    tower.tick()
    tower.feed.flush(60)

    assert largest_containers(tower, LARGEST) == []
    assert len(tower.feed.fleet.unknown_devices) == MAX_UNKNOWN_DEVICES
    # Each made-up van is one device (its fixes, statuses and events), each phone and
    # tracker another: all but the cap's worth were let go, and counted.
    assert tower.feed.fleet.unknown_dropped == 3 * MADE_UP - MAX_UNKNOWN_DEVICES
    report = fleet_report(tower.feed.sessions)
    assert len(report["unknown_devices"]) == MAX_UNKNOWN_DEVICES
    assert report["unknown_devices_dropped"] == 3 * MADE_UP - MAX_UNKNOWN_DEVICES
    assert {v["id"] for v in report["vehicles"]} == set(tower.feed.fleet.vehicle_ids)


def test_a_known_van_flooding_new_events_grows_nothing_past_its_daily_cap(
    tower: ControlTower,
) -> None:
    van = sorted(tower.feed.fleet.vehicle_ids)[0]
    # The cap's days are the van's depot's: local midnight to local midnight.
    assert tower.feed.fleet.zones[van] == tower.timezone
    directory = DeviceDirectory(tower.feed.fleet.vehicle_ids, dict(tower.feed.device_ids))
    extra = 700
    now = tower.clock.now()
    for n in range(MAX_EVENTS_PER_VAN_DAY + extra):
        body = {"event_id": f"{van}-flood-{n}", "ts": now, "type": "break_start"}
        topic = f"tower/v1/vehicles/{van}/event"
        parsed = parse_message(topic, json.dumps(body).encode(), now, TopicConfig(), directory)
        tower.feed.mailbox.put(parsed, now)
        if n % 500 == 0:
            tower.tick()
    tower.tick()
    tower.feed.flush(60)

    # The live day holds the cap's worth of the van's events, and nothing holds more.
    assert largest_containers(tower, MAX_EVENTS_PER_VAN_DAY + 100) == []
    assert tower.feed.fleet.events_over_cap == extra
    report = fleet_report(tower.feed.sessions)
    assert report["events_over_cap"] == extra
    stored = next(v for v in report["vehicles"] if v["id"] == van)
    assert stored["events"] == MAX_EVENTS_PER_VAN_DAY + extra  # every one of them stored

    # A restart replays the van's day as it was applied: the cap's worth, no more.
    again = ControlTower(tower.settings, tower.feed.sessions, tower.day, tower.clock)
    try:
        again.restore()
        assert largest_containers(again, MAX_EVENTS_PER_VAN_DAY + 100) == []
        applied = [e for e in again.live.applied if e.vehicle_id == van]
        assert len(applied) == MAX_EVENTS_PER_VAN_DAY
    finally:
        again.stop()


def test_the_mailbox_keeps_at_most_the_cap_of_unknown_devices_between_drains() -> None:
    mailbox = TelemetryMailbox()
    topics = TopicConfig()
    for n in range(MAX_UNKNOWN_DEVICES + 500):
        body = {"ts": 1.0, "lat": 45.7, "lon": 4.8}
        parsed = parse_message(
            f"tower/v1/vehicles/X{n}/position",
            json.dumps(body).encode(),
            2.0,
            topics,
            DeviceDirectory(),
        )
        assert isinstance(parsed, UnknownDeviceFix)
        mailbox.put(parsed, 2.0)
    batch = mailbox.drain()
    assert len(batch.unknown_devices) == MAX_UNKNOWN_DEVICES
    assert batch.dropped_unknown == 500
    assert next(iter(batch.unknown_devices)) == "X500", "the least recently seen went first"
