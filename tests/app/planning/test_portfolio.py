"""Several processes search one problem; the best plan comes back, checked; cancel works."""

from __future__ import annotations

import threading
import time

import pytest

from app.planning.checker import check_vrptw
from app.planning.instances import read_instance, to_problem
from app.planning.portfolio import MEMBERS, PortfolioHandle, members, start_portfolio
from app.planning.problem import PlanStatus, SolveProgress
from app.planning.runner import SolveHandle
from tests.app.planning.builders import SOLOMON


def test_two_workers_return_the_better_plan_within_the_time_limit() -> None:
    instance = read_instance(SOLOMON / "R101.txt")
    seen: list[SolveProgress] = []
    handle = start_portfolio(to_problem(instance), 2.0, 2, on_progress=seen.append)
    assert isinstance(handle, PortfolioHandle)
    result = handle.result()
    assert result.status is PlanStatus.SOLVED
    assert result.seconds < 4.0  # the limit is wall clock, spawning included
    report = check_vrptw(instance, [list(r.stops) for r in result.used_routes()])
    assert report.feasible, report.violations
    costs = [p.best_cost for p in seen]
    assert costs == sorted(costs, reverse=True) and costs[-1] == result.objective


def test_cancel_stops_every_worker_and_keeps_the_best_plan() -> None:
    instance = read_instance(SOLOMON / "R101.txt")
    seen: list[SolveProgress] = []
    handle = start_portfolio(to_problem(instance), 120, 2, on_progress=seen.append)
    assert isinstance(handle, PortfolioHandle)
    started = time.monotonic()
    threading.Timer(1.5, handle.cancel).start()
    result = handle.result()
    assert result.status is PlanStatus.CANCELLED
    assert time.monotonic() - started < 30
    report = check_vrptw(instance, [list(r.stops) for r in result.used_routes()])
    assert report.feasible, report.violations


def test_one_worker_is_a_plain_solve() -> None:
    handle = start_portfolio(to_problem(read_instance(SOLOMON / "C101.txt")), 0.5, 1)
    assert isinstance(handle, SolveHandle)
    assert handle.result(timeout=30).has_plan


@pytest.mark.parametrize("workers", [0, len(MEMBERS) + 1])
def test_worker_count_is_checked(workers: int) -> None:
    with pytest.raises(ValueError, match="workers"):
        members(workers)
