"""One bad row never costs a good one: a failed batch is stored again row by row, and the
row the database refuses is quarantined with what it held, why and when."""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import func, select

from app.domain.health import Health
from app.domain.live_fleet import MAX_UNKNOWN_DEVICES, RejectionTally, UnknownDeviceSighting
from app.domain.model import EventType, ExecutionEvent, TelemetryFix
from app.foundation.clock import ManualClock
from app.storage.database import connect
from app.storage.health_repository import FORGET_AFTER_S, STALE_AFTER_S, store_health
from app.storage.orm import ExecutionEventRow, TelemetryFixRow
from app.storage.telemetry_repository import fleet_report, telemetry_rows
from app.storage.worker import StorageWorker

T = 1_781_000_000.0


def fix(vehicle_id: str, ts: float) -> TelemetryFix:
    return TelemetryFix(vehicle_id, ts, 45.75, 4.84)


def event(event_id: str) -> ExecutionEvent:
    return ExecutionEvent(event_id, "V01", T, EventType.SCAN)


def test_the_good_rows_of_a_failed_batch_are_stored_and_the_bad_one_quarantined(
    database_url: str,
) -> None:
    sessions = connect(database_url)
    worker = StorageWorker(sessions, ManualClock(T + 9))
    bad = ExecutionEvent("e-bad", "V01", cast(Any, None), EventType.SCAN)  # no time: refused
    committed: list[bool] = []
    rows = telemetry_rows(
        [fix("V01", T + i) for i in range(5)],
        [event("e1"), bad, event("e2")],
        {"bad_json": RejectionTally(2, "x", T)},
        [UnknownDeviceSighting("carol/phone", "owntracks", T, T, 1)],
    )
    worker.submit_rows(rows, lambda: committed.append(True))
    worker.flush(30)
    worker.close()

    with sessions() as session:
        assert set(session.scalars(select(ExecutionEventRow.event_id))) == {"e1", "e2"}
        assert session.scalar(select(func.count()).select_from(TelemetryFixRow)) == 5
    report = fleet_report(sessions)
    assert report["rejections"]["bad_json"]["count"] == 2
    assert [u["device_id"] for u in report["unknown_devices"]] == ["carol/phone"]
    quarantine = report["quarantine"]
    assert quarantine["count"] == 1
    (row,) = quarantine["latest"]
    assert (row["kind"], row["at"]) == ("event", T + 9)
    assert json.loads(row["payload"])["event_id"] == "e-bad"
    assert row["reason"]
    assert committed == [True], "every row stored or quarantined: the batch is done"
    assert worker.quarantined == 1


def test_a_batch_that_fits_is_stored_in_one_go_with_nothing_quarantined(
    database_url: str,
) -> None:
    sessions = connect(database_url)
    worker = StorageWorker(sessions, ManualClock(T))
    worker.submit_rows(telemetry_rows([fix("V01", T)], [event("e1")], {}, []))
    worker.flush(30)
    worker.close()
    assert worker.failures == 0
    assert fleet_report(sessions)["quarantine"] == {"count": 0, "latest": []}


def test_the_unknown_devices_are_capped_and_those_let_go_counted(database_url: str) -> None:
    sessions = connect(database_url)
    worker = StorageWorker(sessions, ManualClock(T))
    extra = 7
    sightings = [
        UnknownDeviceSighting(f"dev-{n:05d}", "traccar", T + n, T + n, 1)
        for n in range(MAX_UNKNOWN_DEVICES + extra)
    ]
    for start in range(0, len(sightings), 250):
        worker.submit_rows(telemetry_rows([], [], {}, sightings[start : start + 250]))
    worker.flush(60)
    worker.close()
    report = fleet_report(sessions)
    kept = {u["device_id"] for u in report["unknown_devices"]}
    assert len(kept) == MAX_UNKNOWN_DEVICES
    assert "dev-00000" not in kept and f"dev-{MAX_UNKNOWN_DEVICES + extra - 1:05d}" in kept
    assert report["unknown_devices_dropped"] == extra


def test_fleet_health_shows_the_quarantine_and_each_recorders_last_report(
    database_url: str,
) -> None:
    sessions = connect(database_url)
    assert fleet_report(sessions, T)["health"] == {
        "database": "ok",
        "quarantined_rows": 0,
        "stale_after_s": STALE_AFTER_S,
        "broker": None,
        "storage_backlog": None,
        "exceptions_waiting": None,
        "recorders": [],
    }
    worker = StorageWorker(sessions, ManualClock(T))
    bad = ExecutionEvent("e-bad", "V01", cast(Any, None), EventType.SCAN)
    worker.submit_rows(telemetry_rows([], [event("e1"), bad], {}, []))
    worker.submit(lambda s: store_health(s, "desk-1", Health("connected", True, 7, 1), T))
    worker.submit(
        lambda s: store_health(s, "headless", Health("reconnecting", False, 90, 1, 2), T + 5)
    )
    worker.flush(30)
    assert (worker.backlog, worker.database_ok) == (0, True)
    worker.close()
    health = fleet_report(sessions, T + 10)["health"]
    assert (health["quarantined_rows"], health["broker"], health["storage_backlog"]) == (
        1,
        "reconnecting",
        90,
    )
    assert health["exceptions_waiting"] == 2  # found in an outage, not raised yet
    assert [(r["name"], r["database"]) for r in health["recorders"]] == [
        ("headless", "failing"),
        ("desk-1", "ok"),
    ]


def test_a_recorder_that_stopped_reporting_is_stale_and_day_old_reports_are_forgotten(
    database_url: str,
) -> None:
    sessions = connect(database_url)
    worker = StorageWorker(sessions, ManualClock(T))
    worker.submit(
        lambda s: store_health(s, "gone", Health("connected", True, 0, 0), T - 2 * 86_400)
    )
    worker.submit(lambda s: store_health(s, "killed", Health("connected", True, 3, 0), T))
    worker.submit(lambda s: store_health(s, "alive", Health("reconnecting", True, 9, 0), T - 20))
    worker.flush(30)
    worker.close()
    # Half a minute after "killed" last reported, "alive" 20 s before it: both fresh.
    health = fleet_report(sessions, T + STALE_AFTER_S - 30)["health"]
    assert [(r["name"], r["stale"]) for r in health["recorders"]] == [
        ("killed", False),
        ("alive", False),
    ]
    later = T + STALE_AFTER_S + 1
    health = fleet_report(sessions, later)["health"]
    assert [(r["name"], r["stale"]) for r in health["recorders"]] == [
        ("killed", True),
        ("alive", True),
    ]
    assert (health["broker"], health["storage_backlog"]) == (None, None)
    # "alive" reports again: it is the fresh one at the top; "killed" stays stale.
    again = StorageWorker(sessions, ManualClock(later))
    again.submit(lambda s: store_health(s, "alive", Health("connected", True, 0, 0), later))
    again.flush(30)
    health = fleet_report(sessions, later + 1)["health"]
    assert [(r["name"], r["stale"]) for r in health["recorders"]] == [
        ("alive", False),
        ("killed", True),
    ]
    assert (health["broker"], health["storage_backlog"]) == ("connected", 0)
    # A day on, the killed recorder's report is deleted at the next report of anyone's.
    day_on = T + FORGET_AFTER_S + 1
    again.submit(lambda s: store_health(s, "alive", Health("connected", True, 0, 0), day_on))
    again.flush(30)
    again.close()
    names = [r["name"] for r in fleet_report(sessions, day_on)["health"]["recorders"]]
    assert names == ["alive"]
