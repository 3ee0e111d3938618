"""The mailbox between the network thread and the drainer."""

from __future__ import annotations

import threading
import time

from app.domain.model import DeviceStatus, EventType, ExecutionEvent, TelemetryFix
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.parsing import Ignored, Rejection, UnknownDeviceFix

T0 = 1_760_000_000.0


def fix(vehicle: str, ts: float) -> TelemetryFix:
    return TelemetryFix(vehicle, ts, 45.0, 4.0)


def event(n: int) -> ExecutionEvent:
    return ExecutionEvent(f"e{n}", "V01", T0 + n, EventType.SCAN)


def test_keeps_every_fix_and_the_newest_per_vehicle() -> None:
    box = TelemetryMailbox()
    for item in [fix("V01", T0 + 2), fix("V01", T0 + 1), fix("V02", T0), fix("V01", T0 + 3)]:
        box.put(item, T0)
    batch = box.drain()
    assert [f.ts for f in batch.fixes] == [T0 + 2, T0 + 1, T0, T0 + 3]
    assert batch.latest == {"V01": fix("V01", T0 + 3), "V02": fix("V02", T0)}
    assert box.drain().is_empty()


def test_an_older_fix_does_not_replace_the_newest() -> None:
    box = TelemetryMailbox()
    box.put(fix("V01", T0 + 5), T0)
    box.put(fix("V01", T0 + 1), T0)
    assert box.drain().latest["V01"].ts == T0 + 5


def test_events_statuses_rejections_unknown_and_ignored() -> None:
    box = TelemetryMailbox()
    for n in range(3):
        box.put(event(n), T0)
    box.put(DeviceStatus("V01", True, T0), T0)
    box.put(Rejection("bad_json", "not JSON", "t/1"), T0 + 1)
    box.put(Rejection("bad_json", "still not JSON", "t/2"), T0 + 2)
    box.put(Rejection("too_large", "big", "t/3"), T0 + 3)
    box.put(UnknownDeviceFix("x/y", "owntracks", fix("x/y", T0)), T0 + 1)
    box.put(UnknownDeviceFix("x/y", "owntracks", fix("x/y", T0)), T0 + 4)
    box.put(Ignored("waypoint"), T0)
    batch = box.drain()
    assert [e.event_id for e in batch.events] == ["e0", "e1", "e2"]
    assert batch.statuses == [DeviceStatus("V01", True, T0)]
    assert batch.rejections["bad_json"].count == 2
    assert batch.rejections["bad_json"].last_detail == "t/2: still not JSON"
    assert batch.rejections["bad_json"].last_at == T0 + 2
    assert batch.rejections["too_large"].count == 1
    sighting = batch.unknown_devices["x/y"]
    assert (sighting.count, sighting.first_seen, sighting.last_seen) == (2, T0 + 1, T0 + 4)
    assert batch.ignored == 1
    assert not batch.fixes


def test_fixes_over_the_cap_are_counted_but_latest_survives() -> None:
    box = TelemetryMailbox(max_fixes=3)
    for n in range(5):
        box.put(fix("V01", T0 + n), T0)
    for n in range(100):
        box.put(event(n), T0)
    batch = box.drain()
    assert len(batch.fixes) == 3 and batch.dropped_fixes == 2
    assert batch.latest["V01"].ts == T0 + 4
    assert len(batch.events) == 100  # events are never dropped


def test_concurrent_put_and_drain_lose_nothing() -> None:
    box = TelemetryMailbox()
    per_thread, threads = 5_000, 4
    stop = threading.Event()
    drained: list[int] = []

    def produce(k: int) -> None:
        for n in range(per_thread):
            box.put(fix(f"V{k}", T0 + n), T0)
            box.put(event(k * per_thread + n), T0)

    def consume() -> None:
        while not stop.is_set():
            b = box.drain()
            drained.append(len(b.fixes) + len(b.events))

    consumer = threading.Thread(target=consume)
    consumer.start()
    producers = [threading.Thread(target=produce, args=(k,)) for k in range(threads)]
    for p in producers:
        p.start()
    for p in producers:
        p.join()
    stop.set()
    consumer.join()
    last = box.drain()
    assert sum(drained) + len(last.fixes) + len(last.events) == 2 * per_thread * threads


def test_put_is_cheap() -> None:
    box = TelemetryMailbox()
    fixes = [fix(f"V{n % 2000}", T0 + n) for n in range(50_000)]
    start = time.perf_counter()
    for f in fixes:
        box.put(f, T0)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"50k puts took {elapsed:.3f} s"
    assert len(box.drain().latest) == 2000
