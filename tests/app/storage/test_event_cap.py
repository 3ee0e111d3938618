"""A restart reads back a flooding van's stored events only up to its caps, on SQLite and
PostgreSQL: the ids seen (oldest first) and the live day's replay (its daily cap)."""

from __future__ import annotations

import pytest

from app.domain.model import EventType, ExecutionEvent
from app.storage.database import connect
from app.storage.execution_repository import capped_events_between
from app.storage.telemetry_repository import store_telemetry, stored_events

T = 1_781_000_000.0


def test_stored_events_come_back_within_each_vans_caps(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.domain.live_fleet.MAX_EVENTS_PER_VAN_DAY", 2)
    monkeypatch.setattr("app.storage.execution_repository.STORED_EVENTS_PER_VAN", 3)
    sessions = connect(database_url)
    flood = [ExecutionEvent(f"f{n}", "V01", T + n, EventType.SCAN) for n in range(5)]
    other = ExecutionEvent("o1", "V02", T + 2.5, EventType.SCAN)
    with sessions.begin() as session:
        store_telemetry(session, [], [*reversed(flood), other], {}, [])

    assert stored_events(sessions, T - 1) == [
        ("V01", "f0", T),
        ("V01", "f1", T + 1),
        ("V01", "f2", T + 2),
        ("V02", "o1", T + 2.5),
    ]
    replayed = capped_events_between(sessions, T - 1, T + 100)
    assert [e.event_id for e in replayed] == ["f0", "f1", "o1"]
