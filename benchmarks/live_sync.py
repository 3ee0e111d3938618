"""Live sync between two workstations on one PostgreSQL: how long until B shows what A did.

Two towers (each its own engine and listener, as two workstations) on a private database
of the local server (tests/postgres.py) seeded with the demo day. Rounds of: a breakdown
reported to A raises an exception, A acknowledges it, A resolves it; each time, the
seconds from A's commit until B's tick has applied it. Then rounds of A accepting a real
re-plan (OR-Tools in a child process): the accept's latency (the call, and until its plan
version is stored) and the seconds until B's routes are A's. B ticks every ``--tick-ms``
(the window drains every 200 ms; 10 measures the notice and the re-read alone).

Run: ``.venv/bin/python benchmarks/live_sync.py [--rounds 30] [--accepts 5] [--tick-ms 10]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from app.domain.model import EventType, ExecutionEvent  # noqa: E402
from app.domain.rules.records import Rule  # noqa: E402
from app.foundation.clock import ManualClock  # noqa: E402
from app.foundation.days import OperatingDay  # noqa: E402
from app.foundation.settings import DatabaseSettings, ReplanSettings, Settings  # noqa: E402
from app.storage.database import connect  # noqa: E402
from app.tower.control_tower import ControlTower  # noqa: E402
from app.tower.data_setup import built_demo_day, ensure_demo_day  # noqa: E402
from tests.postgres import private_database  # noqa: E402

BREAKING = ("V11", "V12")
REPLANNED = ("V01", "V04", "V07", "V02", "V05")


def until(
    tower: ControlTower, done: Callable[[], bool], tick_s: float, within_s: float, what: str
) -> float:
    """Tick ``tower`` every ``tick_s`` until ``done()`` (``what`` it waits for); the
    seconds it took."""
    started = time.perf_counter()
    while True:
        tower.tick()
        if done():
            return time.perf_counter() - started
        if time.perf_counter() - started > within_s:
            raise SystemExit(f"{what}: not shown within {within_s} s")
        time.sleep(tick_s)


def exception_round(
    a: ControlTower, b: ControlTower, clock: ManualClock, event_id: str, van: str, tick_s: float
) -> tuple[float, float, float]:
    """A breakdown raised, acknowledged, resolved on A: the seconds until B shows each."""
    clock.advance(60)
    now = clock.now()
    a.feed.mailbox.put(ExecutionEvent(event_id, van, now, EventType.BREAKDOWN), now)
    changes = a.tick().operations.exceptions
    # The breakdown's (the clock moving on raises late risks too, on both towers).
    exception_id = next(
        c.exception.id
        for c in changes
        if c.exception.rule is Rule.BREAKDOWN and c.kind.value == "raised" and not c.elsewhere
    )
    a.feed.flush(10)
    raised = until(b, lambda: _state(b, exception_id) == "open", tick_s, 5, f"#{exception_id}")
    a.acknowledge(exception_id, "alice")
    a.feed.flush(10)
    acked = until(b, lambda: _state(b, exception_id) == "acknowledged", tick_s, 5, "ack")
    a.resolve(exception_id, "alice", "towed")
    a.feed.flush(10)
    resolved = until(b, lambda: _state(b, exception_id) is None, tick_s, 5, "resolved")
    return raised, acked, resolved


def accept_round(
    a: ControlTower, b: ControlTower, van: str, tick_s: float
) -> tuple[float, float, float]:
    """A re-plan of ``van`` accepted on A: the call's seconds, until stored, until B
    has its routes."""
    assert a.proposals.request(van, f"bench {van}")
    proposal = None
    while proposal is None:
        tick = a.tick()
        if tick.replan_failure is not None:
            raise SystemExit(f"re-plan of {van} failed: {tick.replan_failure}")
        proposal = tick.proposal
        time.sleep(0.05)
    record = proposal
    started = time.perf_counter()
    a.proposals.accept(record.id, "alice")
    call = time.perf_counter() - started
    stored = call + until(a, lambda: record.plan_version is not None, 0.001, 10, "stored")
    routes = _routes(a, {v: [] for v in record.proposal.routes})
    follows = until(b, lambda: _routes(b, routes) == routes, tick_s, 5, f"{van}'s routes")
    return call, stored, follows


def percentiles(name: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(
        f"{name:<34} n={len(ms):3d}  median {statistics.median(ms):7.1f} ms  "
        f"p95 {p95:7.1f} ms  max {ms[-1]:7.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--accepts", type=int, default=5)
    parser.add_argument("--tick-ms", type=float, default=10.0)
    args = parser.parse_args()
    tick_s = args.tick_ms / 1000
    with private_database() as url:
        settings = Settings(
            database=DatabaseSettings(url), replan=ReplanSettings(auto_request=False)
        )
        day = OperatingDay.at(time.time(), settings.depot.timezone)
        ensure_demo_day(connect(url), settings, day, built_demo_day)
        clock = ManualClock(day.start + 10 * 3600)
        a, b = (ControlTower(settings, connect(url), day, clock) for _ in range(2))
        try:
            for tower in (a, b):
                tower.restore()
                tower.sync.start()
                assert tower.sync.wait_listening(10)
            exceptions = [
                exception_round(a, b, clock, f"bd-{n}", BREAKING[n % len(BREAKING)], tick_s)
                for n in range(args.rounds)
            ]
            accepts = [
                accept_round(a, b, REPLANNED[n % len(REPLANNED)], tick_s)
                for n in range(args.accepts)
            ]
            for tower in (a, b):
                tower.feed.flush(10)
            rows, overlapping = duplicates(a)
        finally:
            for tower in (a, b):
                tower.stop()
                tower.sessions.kw["bind"].dispose()
    print(f"two workstations on one PostgreSQL, B ticking every {args.tick_ms:g} ms")
    raised, acked, resolved = (list(x) for x in zip(*exceptions, strict=True))
    calls, stored, follows = (list(x) for x in zip(*accepts, strict=True))
    percentiles("exception raised on A -> on B", raised)
    percentiles("acknowledged on A -> on B", acked)
    percentiles("resolved on A -> on B", resolved)
    percentiles("accepted routes on A -> on B", follows)
    percentiles("sync delay, all of the above", raised + acked + resolved + follows)
    percentiles("accept on A (the call)", calls)
    percentiles("accept on A (until stored)", stored)
    print(f"exceptions stored: {rows}; two of one rule and subject open at once: {overlapping}")
    return 0


def duplicates(tower: ControlTower) -> tuple[int, int]:
    """The exceptions stored, and the pairs of them of one rule and subject whose open
    spans overlap (one condition stored twice: both towers raised it)."""
    with tower.sessions() as session:
        rows = session.execute(text("SELECT count(*) FROM exceptions")).scalar_one()
        overlapping = session.execute(
            text(
                "SELECT count(*) FROM exceptions e1 JOIN exceptions e2 ON e1.id < e2.id "
                "AND e1.rule = e2.rule AND e1.subject_id = e2.subject_id "
                "AND e1.raised_at < coalesce(e2.resolved_at, 'infinity') "
                "AND e2.raised_at < coalesce(e1.resolved_at, 'infinity')"
            )
        ).scalar_one()
    return int(rows), int(overlapping)


def _routes(tower: ControlTower, like: dict[str, list[str]]) -> dict[str, list[str]]:
    return {v: [s.id for s in tower.route_of(v)] for v in like}


def _state(tower: ControlTower, exception_id: int) -> str | None:
    record = tower.operations.book.get(exception_id)
    return None if record is None else record.state.value


if __name__ == "__main__":
    raise SystemExit(main())
