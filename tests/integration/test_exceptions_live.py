"""Exception rules driven through the real (embedded) broker into the tower, both ways.

The tower runs on a manual clock so that "two minutes of silence" takes no time; the
devices stamp their messages with that clock. Each test checks that a rule fires when
it should, stays quiet when it should not, and resolves when the condition clears.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.domain.rules.records import Rule, Severity
from app.storage.exception_repository import audit_log
from tests.integration.road import Road

ROOT = Path(__file__).resolve().parents[2]


def first_stop(road: Road, vid: str) -> tuple[str, float, float]:
    stop = road.tower.route_of(vid)[0]
    order = road.tower.orders[stop.order_id]
    return stop.id, order.lat, order.lon


def test_a_breakdown_is_critical_and_resolves_once_the_van_drives_again(road: Road) -> None:
    lat, lon = 45.76, 4.84
    road.fix("V02", lat, lon, 30)
    road.event("V02", "breakdown", lat=lat, lon=lon)
    record = road.open(Rule.BREAKDOWN, "V02")
    assert record is not None and record.severity is Severity.CRITICAL
    for n in range(40):  # driving normally for more than five minutes
        road.clock.current += 10
        road.fix("V02", lat + n * 0.0008, lon, 35)
    assert road.open(Rule.BREAKDOWN, "V02") is None


def test_a_failed_attempt_carries_its_reason(road: Road) -> None:
    stop_id, lat, lon = first_stop(road, "V03")
    road.event("V03", "arrived", stop_id=stop_id, lat=lat, lon=lon)
    road.event("V03", "failed", stop_id=stop_id, reason="not_home", lat=lat, lon=lon)
    record = road.open(Rule.FAILED_ATTEMPT, stop_id)
    assert record is not None and "customer absent" in record.detail
    assert road.tower.stops[stop_id].status.value == "failed"


def test_lost_signal_for_a_silent_van_but_not_for_a_parked_one(road: Road) -> None:
    road.fix("V04", 45.75, 4.85, 30)  # driving, then silence
    road.status("V05", True)
    road.fix("V05", 45.74, 4.86, 0)  # parked with its tracker on, then silence
    road.advance(100)
    assert road.open(Rule.LOST_SIGNAL, "V04") is None  # under the 120 s threshold
    road.advance(40)
    assert road.open(Rule.LOST_SIGNAL, "V04") is not None
    assert road.open(Rule.LOST_SIGNAL, "V05") is None
    # The van reports again; the exception clears after fixes flow for the hold time.
    for _ in range(15):
        road.clock.current += 10
        road.fix("V04", 45.75, 4.85, 30)
    assert road.open(Rule.LOST_SIGNAL, "V04") is None


def test_an_offline_last_will_raises_lost_signal_at_once(road: Road) -> None:
    road.fix("V06", 45.75, 4.85, 20)
    road.status("V06", False)
    assert road.open(Rule.LOST_SIGNAL, "V06") is not None


def test_gps_jitter_of_a_van_waiting_at_its_customer_raises_nothing(road: Road) -> None:
    stop_id, lat, lon = first_stop(road, "V07")
    road.event("V07", "arrived", stop_id=stop_id, lat=lat, lon=lon)
    for n in range(60):  # ten minutes at the door, jitter of a few metres
        road.clock.current += 10
        road.fix("V07", lat + (n % 3 - 1) * 2e-5, lon + (n % 2) * 2e-5, 0.5)
    vehicle_rules = (Rule.STOPPED_OFF_ROUTE, Rule.OFF_ROUTE, Rule.LOST_SIGNAL)
    assert all(road.open(rule, "V07") is None for rule in vehicle_rules)


def test_acknowledge_and_resolve_are_stored_with_the_audit_log(road: Road, tmp_path: Path) -> None:
    road.event("V08", "breakdown", lat=45.75, lon=4.85)
    record = road.open(Rule.BREAKDOWN, "V08")
    assert record is not None
    road.tower.acknowledge(record.id, "alice")
    road.tower.resolve(record.id, "alice", "tow truck called, parcels moved to V09")
    road.tower.feed.flush()
    actions = [(a["user"], a["action"]) for a in audit_log(road.tower.sessions)]
    assert ("alice", "acknowledged") in actions and ("alice", "resolved") in actions

    env = dict(os.environ, TOWER_DATABASE__URL=f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "exceptions", "--state", "all", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    listed = {e["id"]: e for e in json.loads(done.stdout)["exceptions"]}
    stored = listed[record.id]
    assert (stored["rule"], stored["state"]) == ("breakdown", "resolved")
    assert (stored["acknowledged_by"], stored["resolved_by"]) == ("alice", "alice")
    assert stored["resolution_note"] == "tow truck called, parcels moved to V09"
