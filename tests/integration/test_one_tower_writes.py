"""Several towers on one database, one writer of each fact (#22): two towers given the
same telemetry store one exception per condition (the second adopts the first's row and
id), and an acknowledgement on one shows on the other; one tower tells the customers
(the customer_updates lock), and another takes over when it stops. SQLite and PostgreSQL
(the run's private database): two ControlTowers, each with its own engine."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from app.domain.model import EventType, ExecutionEvent
from app.domain.rules.records import ExceptionState, Rule
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import DatabaseSettings, ReplanSettings, Settings
from app.storage.database import connect
from app.storage.leadership import CUSTOMER_UPDATES
from app.storage.orm import AuditRow, CustomerUpdateRow, ExceptionRow
from app.tower.control_tower import ControlTower
from app.tower.data_setup import built_demo_day, ensure_demo_day
from tests.app.storage.conftest import _fresh_schema, database_url  # noqa: F401  (the fixture)
from tests.app.tower.test_replanning import tick_until
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.timeout(180)
BREAKDOWNS = (ExceptionRow.rule == "breakdown") & (ExceptionRow.subject_id == "V05")


def _pair(url: str) -> Iterator[tuple[ControlTower, ControlTower]]:
    """Two workstations on one demo-seeded database at 10:00, one clock, listening."""
    settings = Settings(database=DatabaseSettings(url), replan=ReplanSettings(auto_request=False))
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    ensure_demo_day(connect(url), settings, day, built_demo_day)
    clock = ManualClock(day.start + 10 * 3600)
    pair = tuple(ControlTower(settings, connect(url), day, clock) for _ in range(2))
    for tower in pair:
        tower.restore()
        tower.sync.start()
        tower.feed.leadership.start([CUSTOMER_UPDATES])
    try:
        yield pair[0], pair[1]
    finally:
        for tower in pair:
            tower.stop()
            tower.sessions.kw["bind"].dispose()


@pytest.fixture
def towers(database_url: str) -> Iterator[tuple[ControlTower, ControlTower]]:  # noqa: F811
    yield from _pair(database_url)


@pytest.fixture
def pg_towers(postgres_database: str) -> Iterator[tuple[ControlTower, ControlTower]]:
    for url in _fresh_schema(postgres_database):
        yield from _pair(url)


def _clock(tower: ControlTower) -> ManualClock:
    """The towers' shared clock, moved by hand."""
    assert isinstance(tower.clock, ManualClock)
    return tower.clock


def _both(towers: tuple[ControlTower, ControlTower], *events: ExecutionEvent) -> None:
    """The same events reach both towers (each receives every broker message)."""
    now = towers[0].clock.now()
    for tower in towers:
        for event in events:
            tower.feed.mailbox.put(event, now)


def test_two_towers_store_one_exception_per_condition_and_share_its_state(
    towers: tuple[ControlTower, ControlTower],
) -> None:
    a, b = towers
    now = a.clock.now()
    _both(towers, ExecutionEvent("bd-1", "V05", now, EventType.BREAKDOWN))
    # Both raise it before either's insert is stored: one insert wins, the other adopts.
    for tower in towers:
        tick_until(tower, lambda t: bool(t.operations.exceptions), within_s=5)
    for tower in towers:
        tower.feed.flush(10)

    def same_id() -> bool:
        for tower in towers:
            tower.tick()
        ids = {t.operations.book.open_for(Rule.BREAKDOWN, "V05") for t in towers}
        return len({r.id for r in ids if r is not None}) == 1 and None not in ids

    assert wait_until(same_id, timeout=5)
    with a.sessions() as session:
        [row] = session.scalars(select(ExceptionRow).where(BREAKDOWNS)).all()
    assert (row.rule, row.state) == ("breakdown", "open")
    shared = row.id
    # The id shows everywhere: the adopting tower's own was dropped from its window.
    assert all(t.operations.book.open_for(Rule.BREAKDOWN, "V05").id == shared for t in towers)  # type: ignore[union-attr]

    # B takes it in hand: stored on the one row, audited once; A shows it (live sync).
    b.acknowledge(shared, "bob")
    b.feed.flush(10)
    with a.sessions() as session:
        assert session.get(ExceptionRow, shared).acknowledged_by == "bob"  # type: ignore[union-attr]
        audited = session.scalars(select(AuditRow.subject)).all()
    assert audited == [f"exception:{shared}"]
    if a.sync.wait_listening(10):  # PostgreSQL: the notice reaches A
        tick_until(
            a,
            lambda t: a.operations.book.get(shared).state is ExceptionState.ACKNOWLEDGED,  # type: ignore[union-attr]
            within_s=2,
        )
    # The breakdown goes on on both (an update of each): still one row, still B's taking.
    later = now + 60
    _clock(a).current = later
    _both(towers, ExecutionEvent("bd-2", "V05", later, EventType.BREAKDOWN))
    for tower in towers:
        tower.tick()
        tower.feed.flush(10)
    with a.sessions() as session:
        count = session.scalar(select(func.count()).select_from(ExceptionRow).where(BREAKDOWNS))
        assert count == 1
        assert session.get(ExceptionRow, shared).state == "acknowledged"  # type: ignore[union-attr]


@pytest.mark.postgres
def test_one_tower_tells_the_customers_and_another_takes_over_when_it_stops(
    pg_towers: tuple[ControlTower, ControlTower],
) -> None:
    a, b = pg_towers
    assert wait_until(
        lambda: sum(t.feed.leadership.leads(CUSTOMER_UPDATES) for t in pg_towers) == 1, 10
    )
    leader, follower = (a, b) if a.feed.leadership.leads(CUSTOMER_UPDATES) else (b, a)
    sent: dict[int, int] = {id(a): 0, id(b): 0}

    def out_for_delivery(van: str) -> None:
        now = a.clock.now()
        stops = leader.route_of(van)
        parcels = tuple(p.id for s in stops for p in leader.orders[s.order_id].parcels)
        _both(
            pg_towers,
            ExecutionEvent(f"{van}-scan", van, now, EventType.SCAN, parcel_ids=parcels),
            ExecutionEvent(f"{van}-dep", van, now + 1, EventType.DEPARTED),
        )
        for _ in range(40):  # the customer round goes over every order
            _clock(a).current += 1
            for tower in pg_towers:
                sent[id(tower)] += len(tower.tick().operations.notifications)
        for tower in pg_towers:
            tower.feed.flush(10)

    out_for_delivery("V03")
    assert sent[id(leader)] > 0 and sent[id(follower)] == 0
    with a.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(CustomerUpdateRow))
    assert stored == sent[id(leader)]

    leader.feed.leadership.stop()  # the leader's connection goes: its lock with it
    assert wait_until(lambda: follower.feed.leadership.leads(CUSTOMER_UPDATES), 10)
    before = sent[id(leader)]
    out_for_delivery("V04")
    assert sent[id(follower)] > 0 and sent[id(leader)] == before
    with a.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(CustomerUpdateRow))
    assert stored == sent[id(leader)] + sent[id(follower)]
