"""``main.py order ID --json`` as a customer-service script runs it: a real SQLite file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest

from app.domain.model import EventType, ExecutionEvent, ProofOfDelivery, TelemetryFix, TimeWindow
from app.foundation.days import OperatingDay
from app.foundation.settings import DatabaseSettings, Settings
from app.storage.telemetry_repository import store_telemetry
from app.tower.data_setup import ensure_demo_day, open_database
from tests.integration.test_cli import run_main

DAY = OperatingDay.at(1_781_000_000.0, "Europe/Paris")  # a fixed day in June 2026


@dataclass(frozen=True)
class Seeded:
    env: dict[str, str]
    served: str
    next: str
    untouched: str
    now: float
    arrived: float
    window: TimeWindow


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The demo day in a SQLite file; V01 has left, served its first stop, heads to the next."""
    folder = tmp_path_factory.mktemp("order")
    url = f"sqlite:///{folder / 'tower.sqlite3'}"
    settings = Settings(database=DatabaseSettings(url=url))
    sessions = open_database(settings)
    day = ensure_demo_day(sessions, settings, DAY)
    stops = sorted((s for s in day.stops if s.vehicle_id == "V01"), key=lambda s: s.sequence)
    first, second = stops[0], stops[1]
    orders = {o.id: o for o in day.orders}
    served, next_up = orders[first.order_id], orders[second.order_id]
    left = first.planned_arrival - 900
    arrived = first.planned_arrival + 120
    parcel_ids = tuple(p.id for o in (served, next_up) for p in o.parcels)
    events = [
        ExecutionEvent("e-scan", "V01", left - 600, EventType.SCAN, parcel_ids=parcel_ids),
        ExecutionEvent("e-left", "V01", left, EventType.DEPARTED),
        ExecutionEvent(
            "e-arr",
            "V01",
            arrived,
            EventType.ARRIVED,
            stop_id=first.id,
            lat=served.lat,
            lon=served.lon,
        ),
        ExecutionEvent(
            "e-del",
            "V01",
            arrived + 200,
            EventType.DELIVERED,
            stop_id=first.id,
            pod=ProofOfDelivery("photo", "pod/V01/0001.jpg"),
        ),
        ExecutionEvent("e-dep", "V01", arrived + 240, EventType.DEPARTED, stop_id=first.id),
    ]
    now = arrived + 300
    fix = TelemetryFix("V01", now, served.lat + 0.001, served.lon, 25.0)
    with sessions.begin() as session:
        store_telemetry(session, [fix], events, {}, [])
    env = dict(os.environ, TOWER_DATABASE__URL=url)
    return Seeded(env, served.id, next_up.id, stops[-1].order_id, now, arrived, next_up.windows[0])


def test_a_delivered_order_has_its_timeline_and_pod(seeded: Seeded) -> None:
    facts = seeded
    done = run_main("order", str(facts.served), "--json", "--at", str(facts.now), env=facts.env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["order"] == facts.served
    assert answer["status"] == "delivered"
    assert answer["vehicle"] == "V01"
    assert answer["eta"] is None  # served: nothing left to predict
    assert answer["pod"] == {"kind": "photo", "ref": "pod/V01/0001.jpg"}
    types = [e["type"] for e in answer["timeline"]]
    assert types == ["scan", "departed", "arrived", "delivered", "departed"]
    arrival = answer["timeline"][2]
    assert arrival["ts"] == facts.arrived
    assert arrival["vehicle"] == "V01"
    assert arrival["lat"] is not None and arrival["lon"] is not None
    assert answer["timeline"][3]["pod"] == {"kind": "photo", "ref": "pod/V01/0001.jpg"}
    assert all(p["status"] == "delivered" for p in answer["parcels"])
    assert answer["as_of"] == facts.now


def test_the_next_order_has_a_live_eta_and_its_window(seeded: Seeded) -> None:
    facts = seeded
    done = run_main("order", str(facts.next), "--json", "--at", str(facts.now), env=facts.env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "next"
    assert answer["stop_status"] == "en_route"
    window = facts.window
    assert answer["window"] == {"start": window.start, "end": window.end}
    now = facts.now
    assert answer["eta"] is not None and now < answer["eta"] < now + 3 * 3600
    assert answer["position"]["lat"] is not None
    assert [e["type"] for e in answer["timeline"]] == ["scan", "departed"]


def test_an_order_with_no_events_is_scheduled(seeded: Seeded) -> None:
    facts = seeded
    done = run_main("order", str(facts.untouched), "--json", env=facts.env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "scheduled"
    assert answer["timeline"] == []
    assert answer["vehicle"] == "V01"


def test_the_text_answer_names_status_and_pod(seeded: Seeded) -> None:
    facts = seeded
    done = run_main("order", str(facts.served), "--at", str(facts.now), env=facts.env)
    assert done.returncode == 0, done.stderr
    assert "delivered" in done.stdout
    assert "pod/V01/0001.jpg" in done.stdout


def test_an_unknown_order_exits_1_with_a_message(seeded: Seeded) -> None:
    facts = seeded
    done = run_main("order", "NO-SUCH-ORDER", "--json", env=facts.env)
    assert done.returncode == 1
    assert "NO-SUCH-ORDER" in done.stderr and "not found" in done.stderr
    assert done.stdout == ""
