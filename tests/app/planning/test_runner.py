"""The solve runs in a child process: results, progress, cancel, hard kill, a live parent."""

from __future__ import annotations

import itertools
import os
import threading
import time

from app.planning.checker import check_vrptw
from app.planning.instances import read_instance, to_problem
from app.planning.problem import PlanStatus, SolveProgress
from app.planning.runner import start_solve
from tests.app.planning.builders import SOLOMON, wait_until

DEADLINE_S = 30.0


def test_cancel_returns_the_best_plan_so_far() -> None:
    instance = read_instance(SOLOMON / "R101.txt")
    seen: list[SolveProgress] = []
    handle = start_solve(to_problem(instance), 120, on_progress=seen.append)
    wait_until(lambda: bool(seen), handle)
    handle.cancel()
    result = handle.result(timeout=DEADLINE_S)
    assert result.status is PlanStatus.CANCELLED
    assert result.seconds < 60
    report = check_vrptw(instance, [list(r.stops) for r in result.routes])
    assert report.feasible, report.violations


def test_a_child_that_does_not_answer_is_killed() -> None:
    instance = read_instance(SOLOMON / "C101.txt")
    handle = start_solve(to_problem(instance), 60, grace_s=0.5, test_only_hang=True)
    handle.cancel()
    started = time.monotonic()
    result = handle.result(timeout=DEADLINE_S)
    assert result.status is PlanStatus.CANCELLED_NO_PLAN
    assert time.monotonic() - started < 10
    assert not handle._process.is_alive()


def test_the_parent_stays_live_while_the_child_solves() -> None:
    instance = read_instance(SOLOMON / "C101.txt")
    ticks: list[float] = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(0.01):
            ticks.append(time.monotonic())

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    handle = start_solve(to_problem(instance), 1.5)
    result = handle.result(timeout=DEADLINE_S)
    stop.set()
    thread.join()
    assert result.status is PlanStatus.SOLVED
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 50
    assert max(gaps) < 0.5


def test_poll_never_blocks_and_finally_answers() -> None:
    instance = read_instance(SOLOMON / "C201.txt")
    handle = start_solve(to_problem(instance), 0.5)
    first = time.monotonic()
    assert handle.poll() is None
    assert time.monotonic() - first < 0.1
    wait_until(lambda: handle.done, handle)
    result = handle.poll()
    assert result is not None and result.has_plan
    assert check_vrptw(instance, [list(r.stops) for r in result.routes]).feasible


def test_a_hung_solve_is_killed_past_its_time_limit_without_a_cancel() -> None:
    instance = read_instance(SOLOMON / "C101.txt")
    handle = start_solve(to_problem(instance), 0.5, grace_s=0.5, startup_s=1.0, test_only_hang=True)
    started = time.monotonic()
    result = handle.result(timeout=DEADLINE_S)
    assert result.status is PlanStatus.FAILED
    assert "killed" in result.message
    assert 1.5 <= time.monotonic() - started < 10
    assert not handle._process.is_alive()


def test_progress_reports_elapsed_time_and_a_falling_best_cost() -> None:
    instance = read_instance(SOLOMON / "R201.txt")
    seen: list[SolveProgress] = []
    handle = start_solve(to_problem(instance), 2.0, on_progress=seen.append)
    result = handle.result(timeout=DEADLINE_S)
    assert result.status is PlanStatus.SOLVED
    assert len(seen) >= 2
    assert all(
        a.elapsed <= b.elapsed and a.best_cost > b.best_cost for a, b in itertools.pairwise(seen)
    )
    assert seen[-1].best_cost == result.objective
    assert check_vrptw(instance, [list(r.stops) for r in result.routes]).feasible


def test_the_solver_yields_the_cpu_to_the_window() -> None:
    # The child lowers its own priority before it searches: by its first progress
    # report the OS scheduler sees it below the parent.
    seen: list[int] = []

    def at_progress(_: SolveProgress) -> None:
        if not seen:
            seen.append(os.getpriority(os.PRIO_PROCESS, handle._process.pid))
            handle.cancel()

    handle = start_solve(to_problem(read_instance(SOLOMON / "C101.txt")), 30, at_progress)
    assert handle.result(timeout=60).has_plan
    # Niceness stops at 19, so under `nice` the child can only reach the ceiling.
    assert seen and seen[0] >= min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
