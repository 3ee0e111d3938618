"""Judging a tweak move by move: a move the re-solve could not honour is refused in words."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.foundation.settings import ReplanSettings
from app.foundation.time_text import TimeText
from app.tower.control_tower import ControlTower
from app.tower.decisions import ProposalRecord
from app.tower.tweaks import Tweak, TweakJudge
from tests.app.tower.test_replanning import make_tower, wait_for_proposal


@pytest.fixture(scope="module")
def solved(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ControlTower, ProposalRecord]]:
    """A re-plan of V06 and its neighbours at 10:00, nothing loaded yet."""
    tower = make_tower(tmp_path_factory.mktemp("judge"), ReplanSettings(auto_request=False))
    try:
        assert tower.proposals.request("V06", "dispatcher's request", neighbours=2)
        yield tower, wait_for_proposal(tower)
    finally:
        tower.stop()


def judge_of(tower: ControlTower, record: ProposalRecord) -> TweakJudge:
    proposal = record.proposal
    windows = {sid: tower.order_at(sid).spans for sid in proposal.live.stop_ids}
    return TweakJudge(proposal.live, proposal.routes, windows, TimeText("Europe/Paris"))


def moved(routes: dict[str, tuple[str, ...]], giver: str, taker: str) -> Tweak:
    """The giver's last stop put at the end of the taker's route."""
    stop = routes[giver][-1]
    edited = dict(routes)
    edited[giver] = routes[giver][:-1]
    edited[taker] = (*routes[taker], stop)
    return Tweak(edited)


def test_a_move_that_breaks_no_rule_is_allowed_and_its_times_are_walked(
    solved: tuple[ControlTower, ProposalRecord],
) -> None:
    tower, record = solved
    judge = judge_of(tower, record)
    routes = record.proposal.routes
    as_is = judge.check(Tweak(routes))
    assert as_is.refusal is None
    assert as_is.arrivals == pytest.approx(record.proposal.arrivals)  # the same walk


def test_a_move_over_the_vans_capacity_is_refused_with_the_figures(
    solved: tuple[ControlTower, ProposalRecord],
) -> None:
    tower, record = solved
    routes = record.proposal.routes
    giver, taker = sorted(v for v, r in routes.items() if r)[:2]
    judge = judge_of(tower, record)
    live = judge.live
    van = [v.id for v in live.vehicles].index(taker)
    first = 1 + len(live.vehicles)
    load = sum(live.problem.nodes[first + live.stop_ids.index(s)].weight for s in routes[taker])
    # The taker as full as its route makes it: one more stop is one too many.
    vans = list(live.problem.vans)
    vans[van] = replace(vans[van], capacity_weight=load)
    full = replace(judge, live=replace(live, problem=replace(live.problem, vans=tuple(vans))))
    assert full.check(Tweak(routes)).refusal is None  # as the proposal had it: full, not over
    refusal = full.check(moved(routes, giver, taker)).refusal
    assert refusal is not None and refusal.startswith(f"over {taker}'s capacity: ")
    assert refusal.endswith(f" kg of {load / 1000:,.0f}")


def test_a_move_that_makes_a_window_unreachable_says_the_window_and_the_arrival(
    solved: tuple[ControlTower, ProposalRecord],
) -> None:
    tower, record = solved
    routes = record.proposal.routes
    judge = judge_of(tower, record)
    vans = sorted(v for v, r in routes.items() if r)

    def later(giver: str, taker: str) -> tuple[float, float, float]:
        """How much later the giver's last stop is reached at the end of the taker's."""
        stop = routes[giver][-1]
        before = judge.arrivals(Tweak(routes))[stop]
        after = judge.arrivals(moved(routes, giver, taker))[stop]
        return after - before, before, after

    # Two vans such that the move makes the stop later.
    giver, taker = max(((g, t) for g in vans for t in vans if g != t), key=lambda p: later(*p))
    gained, before, after = later(giver, taker)
    assert gained > 60
    tweak, stop = moved(routes, giver, taker), routes[giver][-1]
    # Its window closes between the two: met where it was, missed where it is dropped.
    closes = (before + after) / 2
    windows = {**judge.windows, stop: ((before - 3600, closes),)}
    refusal = replace(judge, windows=windows).check(tweak).refusal
    times = judge.times
    assert refusal == (
        f"{stop}: window {times.span(before - 3600, closes)} cannot be met on {taker}: "
        f"arrival {times.hm(after)}"
    )
