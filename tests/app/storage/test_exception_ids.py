"""Exception ids come from the database: two towers on one database never clash."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, make_url, select

from app.domain.rules import ExceptionBook, Finding, Rule, Severity, SubjectKind
from app.domain.rules.records import ExceptionChange
from app.storage.database import SessionFactory, connect
from app.storage.id_blocks import EXCEPTIONS, reserve_ids
from app.storage.operations_repository import exceptions_to_restore, store_exception_changes
from app.storage.orm import ExceptionRow
from app.storage.worker import StorageWorker
from app.tower.exception_ids import ExceptionIds
from tests.tcp_gate import TcpGate

T = 1_781_000_000.0
PER_TOWER = 120


def raise_many(book: ExceptionBook, tower: str, worker: StorageWorker) -> None:
    """One tower raising exceptions about its own vans, each stored as it is raised."""
    for n in range(PER_TOWER):
        change = book.report(
            Rule.LATE_START,
            SubjectKind.VEHICLE,
            f"{tower}-V{n}",
            Finding(Severity.WARNING, f"raised by {tower}"),
            T + n,
            vehicle_id=f"{tower}-V{n}",
        )
        assert change is not None
        worker.submit(partial(store_exception_changes, changes=[change]))


def test_two_towers_on_one_database_never_share_an_exception_id(database_url: str) -> None:
    # Two engines (two towers' connections), small blocks so they ask the database often.
    towers = {name: connect(database_url) for name in ("A", "B")}
    workers = {name: StorageWorker(sessions) for name, sessions in towers.items()}
    books = {
        name: ExceptionBook(ExceptionIds(towers[name], workers[name], block=4)) for name in towers
    }
    threads = [
        threading.Thread(target=raise_many, args=(books[name], name, workers[name]))
        for name in towers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for worker in workers.values():
        worker.flush(30)
        worker.close()
        assert worker.failures == 0

    with towers["A"]() as session:
        rows = list(session.scalars(select(ExceptionRow)))
    assert len(rows) == 2 * PER_TOWER, "no exception overwrote another"
    for row in rows:
        assert row.detail == f"raised by {row.subject_id.split('-')[0]}"
    # Every id the books handed out is the stored row's: none was given twice.
    handed = {r.id for book in books.values() for r in book.open_exceptions()}
    assert handed == {row.id for row in rows}


def test_concurrent_blocks_never_overlap(database_url: str) -> None:
    towers = [connect(database_url) for _ in range(3)]
    taken: list[range] = []
    lock = threading.Lock()

    def take(sessions: SessionFactory) -> None:
        for _ in range(30):
            with sessions.begin() as session:
                block = reserve_ids(session, EXCEPTIONS, 3)
            with lock:
                taken.append(block)

    threads = [threading.Thread(target=take, args=(s,)) for s in towers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [i for block in taken for i in block]
    assert len(ids) == 3 * 30 * 3 and len(set(ids)) == len(ids)


def test_a_restarted_tower_carries_on_after_the_stored_ids(database_url: str) -> None:
    sessions = connect(database_url)
    worker = StorageWorker(sessions)
    book = ExceptionBook(ExceptionIds(sessions, worker))
    raise_many(book, "A", worker)
    worker.flush(30)
    worker.close()
    # A restart: a new book restored from storage, ids from the database again.
    again = StorageWorker(sessions)
    restarted = ExceptionBook(ExceptionIds(sessions, again))
    restarted.restore(exceptions_to_restore(sessions))
    change = restarted.report(
        Rule.LATE_START,
        SubjectKind.VEHICLE,
        "other",
        Finding(Severity.WARNING, "after restart"),
        T,
        vehicle_id="other",
    )
    again.close()
    assert change is not None
    with sessions() as session:
        highest = session.scalar(select(func.max(ExceptionRow.id)))
    assert highest is not None and change.exception.id > highest


class DoneAtOnce(StorageWorker):
    """A worker whose jobs are finished when ``submit`` returns (a fast database)."""

    def submit(self, job: Any, *, ingest: bool = False, keep: bool = False) -> Future[Any]:
        future = super().submit(job, ingest=ingest, keep=keep)
        future.result(30)
        return future


def test_a_refill_done_before_its_callback_is_added_does_not_deadlock(database_url: str) -> None:
    sessions = connect(database_url)
    worker = DoneAtOnce(sessions)
    ids = ExceptionIds(sessions, worker, block=2)
    taken: list[int | None] = []
    thread = threading.Thread(target=lambda: taken.extend(ids() for _ in range(10)), daemon=True)
    thread.start()
    thread.join(30)
    worker.close()
    assert not thread.is_alive(), "the id source deadlocked on its own lock"
    assert len(set(taken)) == 10 and None not in taken


def test_a_read_only_tower_raises_exceptions_of_its_own_and_stores_nothing(
    tmp_path: Any,
) -> None:
    """A supervisor's window: its worker queues no write, its exceptions get local ids
    (never stored, below every stored one) instead of reserving the database's."""
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    worker = StorageWorker(sessions)
    worker.read_only = True
    book = ExceptionBook(ExceptionIds(sessions, worker, block=4))
    raise_many(book, "S", worker)
    worker.flush()
    assert sorted(e.id for e in book.open_exceptions()) == list(range(-PER_TOWER, 0))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ExceptionRow)) == 0
    assert worker.backlog == 0
    worker.close()


def breakdown(book: ExceptionBook, van: str, at: float) -> Any:
    finding = Finding(Severity.CRITICAL, "breakdown reported")
    return book.report(Rule.BREAKDOWN, SubjectKind.VEHICLE, van, finding, at, vehicle_id=van)


@dataclass
class Outage:
    """A real database that can be made unreachable and brought back."""

    url: str
    down: Callable[[SessionFactory], None]
    up: Callable[[], None]


@pytest.fixture
def outage(database_url: str, tmp_path: Path) -> Iterator[Outage]:
    """SQLite: the file's folder moves away (and the open connections are dropped, as a
    lost disk drops them). PostgreSQL: the server is reached through a TCP gate that is
    shut (connections cut, new ones refused), then opened again."""
    if database_url.startswith("sqlite"):
        folder, away = tmp_path / "db", tmp_path / "away"
        folder.mkdir()

        def down(sessions: SessionFactory) -> None:
            folder.rename(away)
            sessions.kw["bind"].dispose()

        def up() -> None:
            away.rename(folder)

        yield Outage(f"sqlite:///{folder / 'tower.sqlite3'}", down, up)
        return
    url = make_url(database_url)
    gate = TcpGate((url.host or "127.0.0.1", url.port or 5432))
    gate.open()
    through_gate = url.set(host="127.0.0.1", port=gate.port)
    yield Outage(
        through_gate.render_as_string(hide_password=False), lambda _: gate.shut(), gate.open
    )
    gate.shut()


def test_an_exception_found_while_the_database_is_down_is_raised_once_it_is_back(
    outage: Outage,
) -> None:
    sessions = connect(outage.url)
    worker = StorageWorker(sessions)
    seconds = [0.0]
    ids = ExceptionIds(sessions, worker, block=2, monotonic=lambda: seconds[0])
    book = ExceptionBook(ids)
    first = breakdown(book, "V01", T)
    assert first is not None
    outage.down(sessions)
    second = breakdown(book, "V02", T + 1)  # the block's last id; its refill fails
    assert second is not None
    worker.flush(30)
    assert breakdown(book, "V03", T + 2) is None  # no block: found, but no id
    assert breakdown(book, "V04", T + 3) is None
    worker.flush(30)
    failures = worker.failures
    for _ in range(20):  # ticks of the next second: one retry at most, not one a tick
        assert book.raise_waiting(T + 5) == [] and book.waiting == 2
        worker.flush(30)
        seconds[0] += 0.05
    assert worker.failures - failures <= 1

    outage.up()
    raised: list[ExceptionChange] = []
    for tick in range(10):
        seconds[0] += 5.0  # the next retry is due
        raised += book.raise_waiting(T + 10 + tick)
        worker.flush(30)
        if not book.waiting:
            break
    assert [(c.exception.subject_id, c.exception.raised_at) for c in raised] == [
        ("V03", T + 2),
        ("V04", T + 3),
    ]
    handed = {c.exception.id for c in [first, second, *raised]}
    assert len(handed) == 4
    worker.submit(partial(store_exception_changes, changes=raised))
    worker.flush(30)
    worker.close()
    with sessions() as session:
        stored = set(session.scalars(select(ExceptionRow.subject_id)))
    assert {"V03", "V04"} <= stored


def test_a_condition_seen_clear_while_waiting_for_an_id_stops_waiting() -> None:
    book = ExceptionBook(lambda: None)
    finding = Finding(Severity.WARNING, "late start")
    assert (
        book.report(Rule.LATE_START, SubjectKind.VEHICLE, "V01", finding, T, vehicle_id="V01")
        is None
    )
    assert breakdown(book, "V02", T) is None
    book.report_clear(Rule.LATE_START, "V01", T + 1, hold=0, note="started")
    book.report_clear(Rule.BREAKDOWN, "V02", T + 1, hold=0, note="fixed")
    assert book.waiting == 1  # the breakdown, an event, is a fact: it still waits
