"""Fuzzing the ingest: generated payloads on every topic and format go through the real
parser, the feed (mailbox, live fleet) and the storage worker into SQLite and PostgreSQL.
Nothing raises, every rejection is counted by its reason, every valid message is stored
and nothing lands in the quarantine (what the parser accepts fits the columns)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain.model import EventType, ExecutionEvent, TelemetryFix
from app.foundation.clock import ManualClock
from app.foundation.settings import Settings
from app.storage.database import SessionFactory, connect
from app.storage.leadership import TELEMETRY_COUNTS
from app.storage.orm import ExecutionEventRow, TelemetryFixRow
from app.storage.telemetry_repository import fleet_report
from app.telemetry.contract import MAX_TEXT
from app.telemetry.parsing import DeviceDirectory, Rejection, TopicConfig, parse_message
from app.tower.telemetry_feed import TelemetryFeed
from tests.app.telemetry.test_parsing_properties import json_values, nested, plausible_objects

NOW = 1_781_000_000.0
VANS = ["V01", "V02"]
TOPICS = TopicConfig()
DIRECTORY = DeviceDirectory(frozenset(VANS), {}, {"a/b": "V01", "imei-2": "V02"})

# NUL characters are rare in generated text, and PostgreSQL refuses them: ask for some.
nul = st.sampled_from(["\x00", "S-\x00-1"])
ids = st.text(min_size=1, max_size=MAX_TEXT["event_id"] + 5) | nul
times = st.floats(NOW - 86_400, NOW + 600)
valid_bodies = st.one_of(
    st.builds(
        lambda van, ts, lat, lon: (
            f"tower/v1/vehicles/{van}/position",
            {"ts": ts, "lat": lat, "lon": lon},
        ),
        st.sampled_from([*VANS, "X9"]),
        times,
        st.floats(-90, 90),
        st.floats(-180, 180),
    ),
    st.builds(
        lambda van, event_id, ts, kind, stop: (
            f"tower/v1/vehicles/{van}/event",
            {"event_id": event_id, "ts": ts, "type": kind, "stop_id": stop},
        ),
        st.sampled_from([*VANS, "X9"]),
        ids,
        times,
        st.sampled_from([t.value for t in EventType if t is not EventType.ROUTE_RECEIVED]),
        st.text(max_size=MAX_TEXT["stop_id"] + 5) | nul,
    ),
    st.builds(
        lambda van, online, ts: (
            f"tower/v1/vehicles/{van}/status",
            {"online": online, "ts": ts},
        ),
        st.sampled_from(VANS),
        st.booleans(),
        times,
    ),
    st.builds(
        lambda device, ts, lat, lon: (
            f"owntracks/{device}",
            {"_type": "location", "tst": int(ts), "lat": lat, "lon": lon},
        ),
        st.sampled_from(["a/b", "c/d"]),
        times,
        st.floats(-90, 90),
        st.floats(-180, 180),
    ),
    st.builds(
        lambda device, ts, lat, lon: (
            "traccar/positions",
            {
                "position": {"fixTime": ts, "latitude": lat, "longitude": lon},
                "device": {"uniqueId": device},
            },
        ),
        st.sampled_from(["imei-2", "imei-9"]),
        times,
        st.floats(-90, 90),
        st.floats(-180, 180),
    ),
)
every_topic = st.sampled_from(
    [
        *(f"tower/v1/vehicles/{v}/{kind}" for v in VANS for kind in ("position", "event")),
        "tower/v1/vehicles/V01/status",
        "tower/v1/vehicles/V01/route",
        "tower/v1/vehicles/V01/other",
        "owntracks/a/b",
        "traccar/positions",
        "elsewhere/x",
    ]
)
payload = st.one_of(
    valid_bodies.map(lambda tb: (tb[0], json.dumps(tb[1]).encode())),
    st.tuples(
        every_topic,
        (plausible_objects | nested | json_values).map(lambda b: json.dumps(b).encode()),
    ),
    st.tuples(every_topic, st.binary(max_size=120)),
)


@pytest.fixture
def feed(database_url: str) -> Iterator[TelemetryFeed]:
    sessions = connect(database_url)
    feed = TelemetryFeed(Settings(), sessions, VANS, ManualClock(NOW))
    # No broker here: it takes the counting job as a started feed would.
    feed.leadership.start([TELEMETRY_COUNTS])
    assert feed.leadership.wait_leading(TELEMETRY_COUNTS, 10)
    yield feed
    feed.stop()


FixKey = tuple[str, float, str]


def stored(sessions: SessionFactory) -> tuple[set[FixKey], set[str], dict[str, int], int]:
    """Fixes stored (one per van, time and source), event ids stored, rejections by
    reason, quarantined rows."""
    with sessions() as session:
        rows = session.execute(
            select(TelemetryFixRow.vehicle_id, TelemetryFixRow.ts, TelemetryFixRow.source)
        )
        fixes = {(v, ts, source) for v, ts, source in rows}
        events = set(session.scalars(select(ExecutionEventRow.event_id)))
    report = fleet_report(sessions)
    rejections = {reason: r["count"] for reason, r in report["rejections"].items()}
    return fixes, events, rejections, report["quarantine"]["count"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(messages=st.lists(payload, min_size=1, max_size=25))
def test_generated_payloads_are_stored_or_counted_by_reason(
    feed: TelemetryFeed, messages: list[tuple[str, bytes]]
) -> None:
    fixes_before, events_before, rejections_before, _ = stored(feed.sessions)
    accepted_fixes: set[FixKey] = set()
    accepted_events: set[str] = set()
    rejected: Counter[str] = Counter()
    for topic, body in messages:
        parsed: Any = parse_message(topic, body, NOW, TOPICS, DIRECTORY)
        if isinstance(parsed, Rejection):
            rejected[parsed.reason] += 1
        elif isinstance(parsed, TelemetryFix):
            accepted_fixes.add((parsed.vehicle_id, parsed.ts, parsed.source))
        elif isinstance(parsed, ExecutionEvent) and parsed.vehicle_id in VANS:
            accepted_events.add(parsed.event_id)
        feed.mailbox.put(parsed, NOW, None)
    feed.drain()
    feed.flush(30)

    fixes, events, rejections, quarantined = stored(feed.sessions)
    assert fixes == fixes_before | accepted_fixes  # a fix sent again is stored once
    assert events == events_before | accepted_events
    for reason, count in rejected.items():
        assert rejections.get(reason, 0) - rejections_before.get(reason, 0) == count
    assert set(rejections) - set(rejections_before) <= set(rejected)
    assert quarantined == 0, "what the parser accepts fits the columns"
    assert feed.storage.failures == 0
