"""Writes that fail because the database is down (a real outage: tests/app/storage/
test_exception_ids.py's ``outage``) are kept in order and written once it is back, with
the tower running throughout; their ``committed`` callbacks (the acknowledgements) run
only then. Past the cap, the oldest kept fixes are let go, unacknowledged."""

from __future__ import annotations

import functools

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.storage import worker as worker_module
from app.storage.database import SessionFactory, connect
from app.storage.orm import ExecutionEventRow, TelemetryFixRow
from app.storage.telemetry_repository import store_telemetry, telemetry_rows
from app.storage.worker import StorageWorker
from tests.app.storage.test_exception_ids import Outage, outage  # noqa: F401
from tests.app.storage.test_quarantine import T, event, fix
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.timeout(120)


def count(sessions: SessionFactory, table: type[ExecutionEventRow | TelemetryFixRow]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_rows_kept_through_an_outage_are_stored_in_order_and_acknowledged_after(
    outage: Outage,  # noqa: F811
) -> None:
    sessions = connect(outage.url)
    worker = StorageWorker(sessions)
    acked: list[tuple[int, int]] = []  # (job, events stored when it was acknowledged)

    def ack(job: int) -> None:
        acked.append((job, count(sessions, ExecutionEventRow)))

    worker.submit_rows(telemetry_rows([], [event("e0")], {}, []), lambda: ack(0))
    worker.flush(30)
    outage.down(sessions)
    for job in range(1, 6):
        rows = telemetry_rows([fix("V01", T + job)], [event(f"e{job}")], {}, [])
        worker.submit_rows(rows, functools.partial(ack, job))

    def rules_write(session: Session) -> str:
        store_telemetry(session, [], [event("e6")], {}, [])
        return "stored"

    written = worker.submit(rules_write, keep=True)
    worker.flush(30)
    assert not written.done()  # kept: done once it is written
    assert acked == [(0, 1)]  # nothing acknowledged while the database is down
    assert (worker.backlog, worker.database_ok) == (11, False)

    outage.up()
    assert wait_until(lambda: worker.backlog == 0, 30), worker.backlog
    assert acked == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]  # in order, each stored
    assert written.result(1) == "stored"
    assert (count(sessions, ExecutionEventRow), count(sessions, TelemetryFixRow)) == (7, 5)
    assert worker.database_ok and worker.dropped_fixes == 0 and worker.quarantined == 0
    worker.close()


def test_past_the_cap_the_oldest_kept_fixes_go_unacknowledged(
    outage: Outage,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_module, "MAX_KEPT_FIXES", 4)
    sessions = connect(outage.url)
    worker = StorageWorker(sessions)
    redelivered: list[bool] = []
    worker.after_drops = lambda: redelivered.append(True)
    acked: list[int] = []
    outage.down(sessions)
    for job in range(4):
        fixes = [fix("V01", T + job * 10 + i) for i in range(2)]
        worker.submit_rows(
            telemetry_rows(fixes, [event(f"e{job}")], {}, []), functools.partial(acked.append, job)
        )
    worker.flush(30)
    assert worker.dropped_fixes == 4  # jobs 0 and 1 let their fixes go
    assert worker.backlog == 2 + 4 + 2  # their events, jobs 2 and 3 whole

    outage.up()
    assert wait_until(lambda: worker.backlog == 0, 30), worker.backlog
    assert acked == [2, 3]  # the broker keeps jobs 0 and 1's messages
    assert redelivered == [True]  # reconnect once, for them
    assert (count(sessions, ExecutionEventRow), count(sessions, TelemetryFixRow)) == (4, 4)
    worker.close()
