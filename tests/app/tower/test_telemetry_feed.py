"""The live feed without a window: batches reach SQLite, and a restart rebuilds the state."""

from __future__ import annotations

import time
from pathlib import Path

from app.domain.model import EventType, ExecutionEvent, TelemetryFix
from app.foundation.clock import SystemClock
from app.foundation.settings import Settings
from app.storage.database import connect
from app.storage.telemetry_repository import fleet_report
from app.tower.telemetry_feed import TelemetryFeed

VANS = ["V01", "V02"]


def test_drained_batches_are_stored_and_a_new_feed_rebuilds_the_live_state(
    tmp_path: Path,
) -> None:
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    now = time.time()
    first = TelemetryFeed(Settings(), sessions, VANS, SystemClock())
    for n in range(5):
        first.mailbox.put(TelemetryFix("V01", now - 10 + n, 45.7 + n / 100, 4.8), now)
    event = ExecutionEvent("ev-9", "V01", now, EventType.ARRIVED, stop_id="S1")
    first.mailbox.put(event, now)
    update = first.drain()
    assert update.moved["V01"].lat == 45.74
    first.stop()  # flushes storage

    report = fleet_report(sessions)
    v01 = next(v for v in report["vehicles"] if v["id"] == "V01")
    assert (v01["fixes"], v01["events"]) == (5, 1)

    second = TelemetryFeed(Settings(), sessions, VANS, SystemClock())
    second.restore()
    restored = second.fleet.latest_fixes()
    assert restored["V01"].lat == 45.74
    assert second.fleet.has_seen_event("ev-9")
    # The same event replayed after the restart is not applied (nor stored) twice.
    second.mailbox.put(event, now)
    again = second.drain()
    assert again.new_events == [] and again.duplicate_events == 1
    second.stop()


def test_fixes_are_written_together_and_an_event_takes_them_along(tmp_path: Path) -> None:
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    now = time.time()
    feed = TelemetryFeed(Settings(), sessions, VANS, SystemClock())
    for n in range(3):
        feed.mailbox.put(TelemetryFix("V02", now - 10 + n, 45.7, 4.8 + n / 100), now)
        feed.drain()
    feed.mailbox.put(ExecutionEvent("ev-1", "V02", now, EventType.ARRIVED, stop_id="S1"), now)
    feed.drain()
    feed.storage.flush()  # the worker only: nothing gathered is left behind
    v02 = next(v for v in fleet_report(sessions)["vehicles"] if v["id"] == "V02")
    assert (v02["fixes"], v02["events"]) == (3, 1)
    feed.mailbox.put(TelemetryFix("V01", now, 45.71, 4.81), now)
    feed.drain()
    feed.flush()
    v01 = next(v for v in fleet_report(sessions)["vehicles"] if v["id"] == "V01")
    assert v01["fixes"] == 1
    feed.stop()
