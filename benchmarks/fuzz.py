"""Fuzz the ingest: 100,000 generated messages on every topic and format through the real
parser, the feed (mailbox, live fleet) and the storage worker, into SQLite and PostgreSQL.

Valid messages (native positions, events and statuses, OwnTracks, Traccar) are interleaved
with plausible-but-wrong objects, random JSON, random bytes, over-long texts, future
times and oversized payloads. It prints the crashes (anything that raised: should be 0),
the rejections by reason as the parser gave them and as the database counted them, and
the valid messages stored out of sent (fixes and events of known vans), plus the quarantine.

Run: ``.venv/bin/python benchmarks/fuzz.py [--cases 100000] [--seed 5]
[--databases sqlite,postgresql]`` (PostgreSQL: a private database of the run's own, as
the tests make it: tests/postgres.py).
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from app.domain.model import EventType, ExecutionEvent, TelemetryFix  # noqa: E402
from app.foundation.clock import ManualClock  # noqa: E402
from app.foundation.settings import Settings  # noqa: E402
from app.storage.database import connect  # noqa: E402
from app.storage.leadership import TELEMETRY_COUNTS  # noqa: E402
from app.storage.orm import ExecutionEventRow, TelemetryFixRow  # noqa: E402
from app.storage.telemetry_repository import fleet_report  # noqa: E402
from app.telemetry.parsing import (  # noqa: E402
    MAX_PAYLOAD_BYTES,
    DeviceDirectory,
    Rejection,
    TopicConfig,
    parse_message,
)
from app.tower.telemetry_feed import TelemetryFeed  # noqa: E402

NOW = 1_781_000_000.0
VANS = [f"V{n:02d}" for n in range(1, 21)]
TOPICS = TopicConfig()
DIRECTORY = DeviceDirectory(frozenset(VANS), {}, {"alice/phone": "V01", "imei-7": "V07"})
KEYS = [
    "ts",
    "lat",
    "lon",
    "speed_kmh",
    "heading_deg",
    "event_id",
    "type",
    "stop_id",
    "order_id",
    "online",
    "pod",
    "parcel_ids",
    "reason",
    "_type",
    "tst",
    "vel",
    "position",
    "device",
    "latitude",
    "longitude",
    "fixTime",
    "uniqueId",
    "version",
]
ODD = [
    None,
    True,
    -1,
    0,
    1e308,
    -200.5,
    "",
    "x" * 2000,
    "NaN",
    "Infinity",
    [],
    {},
    [1, 2],
    "2026-12-07T08:00:00Z",
    "2026-12-07T08:00:00",
    NOW + 10_000,
    "failed",
    "location",
]
BATCH = 500  # messages between two drains, as the GUI timer would see a busy 200 ms


def text(rng: random.Random, longest: int) -> str:
    alphabet = string.ascii_letters + string.digits + "-_/é漢 \u0000"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest)))


def valid(rng: random.Random, n: int) -> tuple[str, dict[str, Any]]:
    van = rng.choice(VANS)
    ts = NOW - rng.uniform(0, 3600)
    lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
    kind = rng.randrange(5)
    if kind == 0:
        return f"tower/v1/vehicles/{van}/position", {
            "ts": ts,
            "lat": lat,
            "lon": lon,
            "speed_kmh": rng.uniform(0, 130),
        }
    if kind == 1:
        event_type = rng.choice([t for t in EventType if t is not EventType.ROUTE_RECEIVED])
        return f"tower/v1/vehicles/{van}/event", {
            "event_id": f"{van}-{n}",
            "ts": ts,
            "type": event_type.value,
            "stop_id": text(rng, 60),
        }
    if kind == 2:
        return f"tower/v1/vehicles/{van}/status", {"online": rng.random() < 0.5, "ts": ts}
    if kind == 3:
        return "owntracks/alice/phone", {
            "_type": "location",
            "tst": int(ts),
            "lat": lat,
            "lon": lon,
        }
    return "traccar/positions", {
        "position": {"fixTime": ts, "latitude": lat, "longitude": lon},
        "device": {"uniqueId": "imei-7"},
    }


def case(rng: random.Random, n: int) -> tuple[str, bytes]:
    """One generated message: valid about 40% of the time."""
    topic, body = valid(rng, n)
    roll = rng.random()
    if roll < 0.4:
        return topic, json.dumps(body).encode()
    if roll < 0.65:  # a valid message with fields broken, dropped or added
        for key in rng.sample(KEYS, rng.randint(1, 3)):
            if rng.random() < 0.3:
                body.pop(key, None)
            else:
                body[key] = rng.choice(ODD) if rng.random() < 0.7 else text(rng, 300)
        return topic, json.dumps(body).encode()
    if roll < 0.75:  # over-long ids in the topic, unknown devices, odd topics
        other = rng.choice(
            [
                f"tower/v1/vehicles/{text(rng, 80)}/position",
                f"owntracks/{text(rng, 250)}/x",
                f"tower/v1/vehicles/X{n}/event",
                "tower/v1/vehicles/V01/route",
                text(rng, 40),
            ]
        )
        return other, json.dumps(body).encode()
    if roll < 0.85:
        return topic, bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
    if roll < 0.99:
        junk = rng.choice([[], 1, "x", None, [body], {"a": body}, {k: None for k in KEYS}])
        return topic, json.dumps(junk).encode()
    return topic, b"{" + b" " * (MAX_PAYLOAD_BYTES + 1) + b"}"


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'fuzz.sqlite3'}"
        return
    from tests.postgres import private_database

    with private_database() as url:
        yield url


def run(url: str, cases: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    sessions = connect(url)
    feed = TelemetryFeed(Settings(), sessions, VANS, ManualClock(NOW))
    # No broker here: it takes the counting job as a started feed would.
    feed.leadership.start([TELEMETRY_COUNTS])
    assert feed.leadership.wait_leading(TELEMETRY_COUNTS, 10)
    crashes = 0
    rejected: Counter[str] = Counter()
    fixes_sent = 0
    events_sent: set[str] = set()
    started = time.perf_counter()
    for n in range(cases):
        topic, payload = case(rng, n)
        try:
            parsed = parse_message(topic, payload, NOW, TOPICS, DIRECTORY)
            feed.mailbox.put(parsed, NOW, None)
        except Exception as exc:  # a crash: what the test suite says never happens
            crashes += 1
            print(f"crash on {topic[:60]!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        if isinstance(parsed, Rejection):
            rejected[parsed.reason] += 1
        elif isinstance(parsed, TelemetryFix):
            fixes_sent += 1
        elif isinstance(parsed, ExecutionEvent) and parsed.vehicle_id in VANS:
            events_sent.add(parsed.event_id)
        if n % BATCH == BATCH - 1:
            try:
                feed.drain()
            except Exception as exc:
                crashes += 1
                print(f"crash in drain: {type(exc).__name__}: {exc}", file=sys.stderr)
    feed.drain()
    feed.flush(600)
    seconds = time.perf_counter() - started
    failures = feed.storage.failures
    feed.stop()
    with sessions() as session:
        fixes = session.scalar(select(func.count()).select_from(TelemetryFixRow)) or 0
        events = set(session.scalars(select(ExecutionEventRow.event_id)))
    report = fleet_report(sessions)
    sessions.kw["bind"].dispose()
    return {
        "crashes": crashes,
        "rejected": rejected,
        "stored_rejections": {r: v["count"] for r, v in report["rejections"].items()},
        "fixes": (fixes, fixes_sent),
        "events": (len(events & events_sent), len(events_sent)),
        "quarantined": report["quarantine"]["count"],
        "storage_failures": failures,
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    bad = False
    with tempfile.TemporaryDirectory() as folder:
        for kind in args.databases.split(","):
            with database(kind, Path(folder)) as url:
                r = run(url, args.cases, args.seed)
            counted = r["rejected"] == Counter(r["stored_rejections"])
            print(f"{kind}: {args.cases} cases in {r['seconds']:.1f} s, crashes {r['crashes']}")
            print(
                f"  rejections {sum(r['rejected'].values())}, counted by reason "
                f"{'the same in the database' if counted else 'DIFFERENTLY in the database'}:"
            )
            for reason, count in sorted(r["rejected"].items(), key=lambda kv: -kv[1]):
                print(
                    f"    {reason:<18} {count:>6}  (stored {r['stored_rejections'].get(reason, 0)})"
                )
            print(
                f"  valid fixes stored {r['fixes'][0]} / sent {r['fixes'][1]}; "
                f"valid events stored {r['events'][0]} / sent {r['events'][1]}"
            )
            print(
                f"  quarantined rows {r['quarantined']}, storage failures {r['storage_failures']}"
            )
            bad |= bool(r["crashes"]) or not counted or r["fixes"][0] != r["fixes"][1]
            bad |= r["events"][0] != r["events"][1] or bool(r["quarantined"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
