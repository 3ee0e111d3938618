"""Live sync (#22): two towers (separate engines, one PostgreSQL database) show what the
other decided within 2 s: an exception raised, acknowledged and resolved; an accepted
re-plan's routes, with its version; an order imported. Acting on an exception the other
resolved first is a no-op: no error, no second audit entry. Real solve, real database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from app.domain.model import EventType, ExecutionEvent, Order, Stop, TimeWindow
from app.domain.rules.records import ChangeKind, ExceptionState, Rule
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import DatabaseSettings, ReplanSettings, Settings
from app.storage.database import connect
from app.storage.fleet_repository import store_order
from app.storage.orm import AuditRow
from app.tower.control_tower import ControlTower, TowerTick
from app.tower.data_setup import built_demo_day, ensure_demo_day
from tests.app.storage.conftest import _fresh_schema
from tests.app.tower.test_replanning import tick_until, wait_for_proposal

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]
SYNC_S = 2.0


@pytest.fixture
def towers(postgres_database: str) -> Iterator[tuple[ControlTower, ControlTower]]:
    """Two workstations on one demo-seeded database, each with its own engine, at 10:00."""
    for url in _fresh_schema(postgres_database):
        settings = Settings(
            database=DatabaseSettings(url), replan=ReplanSettings(auto_request=False)
        )
        day = OperatingDay.at(time.time(), settings.depot.timezone)
        ensure_demo_day(connect(url), settings, day, built_demo_day)
        clock = ManualClock(day.start + 10 * 3600)
        pair = tuple(ControlTower(settings, connect(url), day, clock) for _ in range(2))
        for tower in pair:
            tower.restore()
            tower.sync.start()
            assert tower.sync.wait_listening(10)
        try:
            yield pair[0], pair[1]
        finally:
            for tower in pair:
                tower.stop()
                tower.sessions.kw["bind"].dispose()


def shows_within(tower: ControlTower, done: Callable[[TowerTick], bool]) -> float:
    """Tick ``tower`` until ``done``; the seconds it took (at most SYNC_S)."""
    started = time.monotonic()
    tick_until(tower, done, within_s=SYNC_S)
    return time.monotonic() - started


def test_two_towers_show_each_others_decisions_within_2_s(
    towers: tuple[ControlTower, ControlTower],
) -> None:
    a, b = towers
    now = a.clock.now()
    # An exception raised on A (a breakdown reported to it) shows on B.
    a.feed.mailbox.put(ExecutionEvent("bd-1", "V05", now, EventType.BREAKDOWN), now)
    raised = tick_until(a, lambda t: bool(t.operations.exceptions), within_s=5)
    record = raised.operations.exceptions[0].exception
    assert record.rule is Rule.BREAKDOWN
    a.feed.flush(10)
    shows_within(b, lambda t: b.operations.book.get(record.id) is not None)

    # A takes it in hand: B shows who.
    a.acknowledge(record.id, "alice")
    a.feed.flush(10)
    shows_within(b, lambda t: _state(b, record.id) is ExceptionState.ACKNOWLEDGED)
    assert b.operations.book.get(record.id).acknowledged_by == "alice"  # type: ignore[union-attr]

    # B resolves it; A, not knowing yet, acknowledges it again: stored as nothing.
    a_before_sync = a.operations.book.get(record.id)
    assert a_before_sync is not None
    b.resolve(record.id, "bob", "tow truck on its way")
    b.feed.flush(10)
    shown = shows_within(
        a,
        lambda t: any(
            c.kind is ChangeKind.RESOLVED and c.elsewhere for c in t.operations.exceptions
        ),
    )
    assert a.operations.book.get(record.id) is None and shown < SYNC_S
    again = a.resolve(record.id, "alice", "done")
    assert again.elsewhere and again.by == "bob"  # a no-op that says who did it
    a.acknowledge(record.id, "alice")
    a.feed.flush(10)
    with a.sessions() as session:
        actions = session.scalars(
            select(AuditRow.action).where(AuditRow.subject == f"exception:{record.id}")
        ).all()
    assert sorted(actions) == ["acknowledged", "resolved"]

    # A accepts a re-plan: B follows its routes and version, and says who changed them.
    assert a.proposals.request("V01", "late risk on V01")
    proposal = wait_for_proposal(a)
    a.proposals.accept(proposal.id, "alice")
    tick_until(a, lambda t: proposal.plan_version is not None, within_s=10)
    vans = sorted(proposal.proposal.routes)
    routes = {v: [s.id for s in a.route_of(v)] for v in vans}
    synced: list[TowerTick] = []

    def follows(t: TowerTick) -> bool:
        if t.synced is not None and t.synced.vans:
            synced.append(t)
        return {v: [s.id for s in b.route_of(v)] for v in vans} == routes

    shows_within(b, follows)
    assert {v: b.live.route_stamps[v].version for v in vans} == {
        v: proposal.plan_version for v in vans
    }
    assert synced and "from another workstation" in synced[0].synced.text  # type: ignore[union-attr]

    # An order put in the database (an import) is found on B.
    window = (TimeWindow(now, now + 3600),)
    order = Order("O-SYNC-1", a.depot.id, "Late Customer", "", "1 rue X", 45.76, 4.85, window, 300)
    stop = Stop("S-SYNC-1", order.id, "", 0, now)
    with a.sessions() as session:
        store_order(session, order, stop, a.day.iso)
        session.commit()
    shows_within(b, lambda t: any(m.order_id == order.id for m in b.search_orders("Late Cust")))


def _state(tower: ControlTower, exception_id: int) -> ExceptionState | None:
    record = tower.operations.book.get(exception_id)
    return None if record is None else record.state
