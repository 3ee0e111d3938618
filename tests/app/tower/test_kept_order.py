"""A local re-plan keeps each van's order of stops unless the new order is worth the ETAs
it moves: the live problem of a real failed attempt's re-plan (real solve, real SQLite),
judged against answers whose order is known."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.model import EventType, ExecutionEvent, FailureReason
from app.foundation.settings import ReplanSettings
from app.planning.checker import check_plan
from app.planning.problem import PlannedRoute, PlanResult, PlanStatus
from app.tower.kept_order import keep_order
from app.tower.replanning import LiveProblem
from tests.app.tower.test_replanning import (
    make_tower,
    on_the_road,
    tick_until_idle,
    wait_for_proposal,
)


def failed_attempt_problem(tmp_path: Path) -> tuple[LiveProblem, int]:
    """The live problem of V06's re-plan after a customer was out, and the retry's node."""
    tower = make_tower(tmp_path, ReplanSettings(auto_request=True), hour=8.5)
    try:
        on_the_road(tower, "V06", delivered=1)
        tower.proposals.runs.cancel()  # whatever the morning raised: a quiet desk
        tick_until_idle(tower)
        stop = tower.route_of("V06")[1]
        now = tower.clock.now()
        for kind in (EventType.ARRIVED, EventType.FAILED):
            event = ExecutionEvent(
                f"f-{kind}", "V06", now, kind, stop_id=stop.id, reason=FailureReason.NOT_HOME
            )
            tower.feed.mailbox.put(event, now)
        tower.tick()
        live = wait_for_proposal(tower).proposal.live
    finally:
        tower.stop()
    return live, 1 + len(live.vehicles) + live.stop_ids.index(stop.id)


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveProblem, int]:
    return failed_attempt_problem(tmp_path_factory.mktemp("kept"))


def answer(routes: list[list[int]]) -> PlanResult:
    """A solver's answer serving ``routes`` (its times are not read)."""
    planned = tuple(PlannedRoute(v, tuple(r), (), (), 0, 0) for v, r in enumerate(routes))
    return PlanResult(PlanStatus.SOLVED, planned)


def test_a_reordering_that_gains_nothing_is_put_back_in_the_current_order(
    failed: tuple[LiveProblem, int],
) -> None:
    live, retry = failed
    current = [list(r) for r in live.current_routes]
    assert len(current) == 2 and all(len(r) > 5 for r in current)
    trigger = [v.id for v in live.vehicles].index("V06")
    # The answer drives both routes backwards (far more km, every ETA moved), the retry
    # first on V06.
    reversed_routes = [r[::-1] for r in current]
    reversed_routes[trigger] = [retry, *reversed_routes[trigger]]
    kept = keep_order(live, answer(reversed_routes))
    routes = [list(r.stops) for r in sorted(kept.routes, key=lambda r: r.van)]
    # The neighbour, which gains nothing, keeps its order; V06 too, the retry put in.
    assert routes[1 - trigger] == current[1 - trigger]
    assert [n for n in routes[trigger] if n != retry] == current[trigger]
    assert retry in routes[trigger]
    report = check_plan(live.problem, kept)
    assert report.feasible, report.violations
    assert kept.distance == report.distance


def test_an_answer_that_moves_no_eta_more_is_left_as_it_is(
    failed: tuple[LiveProblem, int],
) -> None:
    live, retry = failed
    routes = [list(r) for r in live.current_routes]
    trigger = [v.id for v in live.vehicles].index("V06")
    routes[trigger].append(retry)
    solved = answer(routes)  # the retry last: no other ETA moves
    assert keep_order(live, solved) == solved
