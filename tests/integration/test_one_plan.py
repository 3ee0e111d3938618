"""One plan, many workstations (#22), on PostgreSQL: two processes accepting two
conflicting proposals for the same van at the same moment give exactly one 0 and one 3,
50 times; a supervisor may not accept, nor update proposals in SQL."""

from __future__ import annotations

import multiprocessing
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.foundation.clock import ManualClock
from app.foundation.failures import ConfigurationError
from app.foundation.settings import DatabaseSettings, DemoSettings, Settings
from app.storage.database import connect
from app.storage.people import add_user, who_acts
from app.tower.proposal_commands import CONFLICT, DONE, NOT_ALLOWED, accept_stored, propose
from tests.app.storage.conftest import _fresh_schema

pytestmark = pytest.mark.postgres
NOW = 1_780_000_000.0 + 9 * 3600  # a June morning in Lyon
ROUNDS = 50


@pytest.fixture(scope="module")
def demo_url(postgres_database: str) -> Iterator[str]:
    """A schema of the run's database with the demo seeded (12 vans, 250 orders)."""
    yield from _fresh_schema(postgres_database)


def _settings(url: str) -> Settings:
    demo = DemoSettings(enabled=True, simulate=False)
    return Settings(database=DatabaseSettings(url), demo=demo)


@pytest.fixture(scope="module")
def two_proposals(demo_url: str) -> tuple[int, int]:
    """Two open proposals re-planning V03 (and its neighbour) from the same stored plan:
    they change a van in common."""
    settings = _settings(demo_url)
    first = propose(settings, "V03", ManualClock(NOW))
    second = propose(settings, "V03", ManualClock(NOW + 60))
    assert first.code == DONE and second.code == DONE, (first.error, second.error)
    common = set(first.body["vehicles"]) & set(second.body["vehicles"])
    assert common, (first.body["vehicles"], second.body["vehicles"])
    for made in (first, second):
        assert all(made.body["built_on"][v] == 1 for v in common)  # the morning plan
    return int(first.body["id"]), int(second.body["id"])


def _accepting(url: str, jobs: Any, results: Any, barrier: Any) -> None:
    """A workstation: for each proposal id it is given, wait for the other one, accept."""
    sessions = connect(url)
    while (proposal_id := jobs.get()) is not None:
        barrier.wait()
        started = time.perf_counter()
        code = accept_stored(sessions, proposal_id).code
        results.put((code, time.perf_counter() - started))


def _reset(url: str, ids: tuple[int, int], heads: list[Any]) -> None:
    """Back to both proposals open on the morning plan (what the accepts wrote goes)."""
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE proposals SET status = 'open', decided_at = NULL, decided_by = NULL,"
                " decision_reason = NULL, plan_id = NULL WHERE id IN (:a, :b)"
            ),
            {"a": ids[0], "b": ids[1]},
        )
        later = "SELECT id FROM plans WHERE version > 1"
        c.execute(
            text(
                f"DELETE FROM route_stops WHERE route_id IN "
                f"(SELECT id FROM routes WHERE plan_id IN ({later}))"
            )
        )
        c.execute(text(f"DELETE FROM routes WHERE plan_id IN ({later})"))
        c.execute(text("DELETE FROM plans WHERE version > 1"))
        c.execute(text("UPDATE plans SET active = true WHERE version = 1"))
        c.execute(text("DELETE FROM plan_heads"))
        for h in heads:
            c.execute(
                text(
                    "INSERT INTO plan_heads VALUES (:depot_id, :day, :vehicle_id, :version,"
                    " :changed_at, :changed_by, :action, :proposal_id)"
                ),
                dict(h._mapping),
            )
    engine.dispose()


def test_two_workstations_accepting_conflicting_proposals_one_wins_every_time(
    demo_url: str, two_proposals: tuple[int, int]
) -> None:
    engine = create_engine(demo_url)
    with engine.connect() as c:
        heads = list(c.execute(text("SELECT * FROM plan_heads")))
    engine.dispose()
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2)
    results = spawn.Queue()
    jobs = [spawn.Queue(), spawn.Queue()]
    workers = [spawn.Process(target=_accepting, args=(demo_url, q, results, barrier)) for q in jobs]
    for w in workers:
        w.start()
    winners: list[int] = []
    won_s: list[float] = []
    lost_s: list[float] = []
    try:
        for n in range(ROUNDS):
            a, b = two_proposals if n % 2 == 0 else two_proposals[::-1]
            jobs[0].put(a)
            jobs[1].put(b)
            got = [results.get(timeout=60), results.get(timeout=60)]
            assert sorted(code for code, _ in got) == [DONE, CONFLICT], got
            won_s += [s for code, s in got if code == DONE]
            lost_s += [s for code, s in got if code == CONFLICT]
            winners.append(a if got[0][0] == DONE else b)
            _reset(demo_url, two_proposals, heads)
    finally:
        for q in jobs:
            q.put(None)
        for w in workers:
            w.join(30)
    print(
        f"\n{ROUNDS}/{ROUNDS} rounds with exactly one winner; accept latency with 2 "
        f"processes: the winner's median {statistics.median(won_s) * 1000:.0f} ms (max "
        f"{max(won_s) * 1000:.0f}), the refused one's {statistics.median(lost_s) * 1000:.0f} ms"
        f" (max {max(lost_s) * 1000:.0f}); winners {winners.count(two_proposals[0])}"
        f"/{winners.count(two_proposals[1])}"
    )


def test_the_loser_is_told_who_changed_which_van_and_nothing_is_written(
    demo_url: str, two_proposals: tuple[int, int]
) -> None:
    sessions = connect(demo_url)
    first, second = two_proposals
    won = accept_stored(sessions, first)
    assert won.code == DONE and won.body["version"] == 2
    lost = accept_stored(sessions, second)
    assert lost.code == CONFLICT
    assert "'s plan changed at " in lost.error and f"accepted #{first})" in lost.error
    with sessions() as s:
        assert s.scalar(text("SELECT count(*) FROM plans")) == 2
        assert s.scalar(text("SELECT status FROM proposals WHERE id = :i"), {"i": second}) == (
            "open"
        )
        who = s.scalar(
            text(
                "SELECT username FROM audit_log WHERE action = 'proposal_accepted' AND subject = :s"
            ),
            {"s": f"proposal:{first}"},
        )
    assert who == who_acts(sessions).username
    again = accept_stored(sessions, first)
    assert again.code == CONFLICT and f"proposal #{first} is accepted" in again.error


def test_a_supervisor_may_not_accept_nor_update_proposals_in_sql(
    demo_url: str, two_proposals: tuple[int, int]
) -> None:
    sessions = connect(demo_url)
    name = f"sup_{uuid.uuid4().hex[:8]}"  # login roles are the server's: a name of this run
    with sessions.begin() as s:
        add_user(s, name, "supervisor", "A Supervisor", NOW, "test")
    supervisor = make_url(demo_url).set(username=name).render_as_string(hide_password=False)
    try:
        as_supervisor = connect(supervisor)
        assert who_acts(as_supervisor).role == "supervisor"
        assert accept_stored(as_supervisor, two_proposals[1]).code == NOT_ALLOWED
        with pytest.raises(Exception, match="permission denied"), as_supervisor.begin() as s:
            s.execute(text("UPDATE proposals SET status = 'accepted'"))
        as_supervisor.kw["bind"].dispose()
    finally:
        with sessions.begin() as s:
            s.execute(text(f'DROP OWNED BY "{name}"'))
            s.execute(text(f'DROP ROLE "{name}"'))


@pytest.mark.parametrize("role", ["dispatcher", "recorder", "supervisor"])
def test_the_start_up_write_check_follows_the_logins_role(demo_url: str, role: str) -> None:
    """The window and --headless check at start that they may record: a dispatcher's and
    the recorder's logins may; a supervisor's is refused in one line that says why."""
    sessions = connect(demo_url)
    name = f"{role[:3]}_{uuid.uuid4().hex[:8]}"
    with sessions.begin() as s:
        if role == "recorder":  # the recorder is a service's login, not a person
            s.execute(text(f'CREATE ROLE "{name}" LOGIN IN ROLE tower_recorder'))
        else:
            add_user(s, name, role, "", NOW, "test")
    login = make_url(demo_url).set(username=name).render_as_string(hide_password=False)
    try:
        if role == "supervisor":
            with pytest.raises(ConfigurationError, match="may not record telemetry") as refused:
                connect(login, writable=True)
            assert "\n" not in str(refused.value)
        else:
            connect(login, writable=True).kw["bind"].dispose()
    finally:
        with sessions.begin() as s:
            s.execute(text(f'DROP OWNED BY "{name}"'))
            s.execute(text(f'DROP ROLE "{name}"'))
