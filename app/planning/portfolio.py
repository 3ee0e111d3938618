"""One problem searched by several processes at once, each its own way; the best plan wins.

For the machine's spare cores in a batch solve (``main.py solve --workers N``, the Solomon
benchmark). Live re-plans keep one process (``runner.start_solve``) so that a core stays
free for the GUI. Each member is an ordinary runner child; at the time limit (wall clock,
from the start of the portfolio, so spawning is part of the budget) every member is asked
to stop and hands back its best plan.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from app.planning.problem import (
    Engine,
    PlanResult,
    PlanStatus,
    RoutingProblem,
    SearchOptions,
    SolveProgress,
)
from app.planning.runner import SolveHandle, start_solve

MEMBERS = (SearchOptions(), SearchOptions(engine=Engine.PYVRP))
"""The members, in the order a portfolio of N takes them: OR-Tools' default search, and
PyVRP where its model holds the problem (OR-Tools from savings where it does not, see
app.planning.engines). On Solomon at 5 s PyVRP wins nearly every instance; OR-Tools is
there for the problems PyVRP cannot model and as a second opinion."""


def members(workers: int) -> tuple[SearchOptions, ...]:
    """The search options of each of ``workers`` processes (1 <= workers <= len(MEMBERS))."""
    if not 1 <= workers <= len(MEMBERS):
        raise ValueError(f"workers must be 1 to {len(MEMBERS)}")
    return MEMBERS[:workers]


class PortfolioHandle:
    """Several solves of one problem: wait for the best of them, or cancel them all."""

    def __init__(
        self,
        problem: RoutingProblem,
        time_limit_s: float,
        options: tuple[SearchOptions, ...],
        on_progress: Callable[[SolveProgress], None] | None = None,
    ) -> None:
        self._started = time.monotonic()
        self._time_limit_s = time_limit_s
        self._on_progress = on_progress
        self._best_cost: int | None = None
        self._cancelled = False
        self._handles = [
            start_solve(problem, time_limit_s, self._progress, member) for member in options
        ]

    def _progress(self, report: SolveProgress) -> None:
        """Pass on a member's report when it beats every plan heard of so far."""
        if self._best_cost is None or report.best_cost < self._best_cost:
            self._best_cost = report.best_cost
            if self._on_progress is not None:
                self._on_progress(report)

    def cancel(self) -> None:
        """Ask every member to stop; each answers with its best plan."""
        self._cancelled = True
        self._stop_all()

    def _stop_all(self) -> None:
        for handle in self._handles:
            handle.cancel()

    def result(self) -> PlanResult:
        """Wait until the time limit (or a cancel), then answer with the best member's plan."""
        deadline = self._started + self._time_limit_s
        while not self._cancelled and time.monotonic() < deadline:
            if all(h.poll() is not None for h in self._handles):
                break
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        self._stop_all()
        return self._best([h.result() for h in self._handles])

    def _best(self, results: list[PlanResult]) -> PlanResult:
        planned = [r for r in results if r.has_plan]
        seconds = time.monotonic() - self._started
        if not planned:
            status = PlanStatus.CANCELLED_NO_PLAN if self._cancelled else results[0].status
            return dataclasses.replace(results[0], status=status, seconds=seconds)
        best = min(planned, key=lambda r: r.objective)
        status = PlanStatus.CANCELLED if self._cancelled else PlanStatus.SOLVED
        return dataclasses.replace(best, status=status, seconds=seconds)


def start_portfolio(
    problem: RoutingProblem,
    time_limit_s: float,
    workers: int,
    on_progress: Callable[[SolveProgress], None] | None = None,
) -> PortfolioHandle | SolveHandle:
    """Start ``workers`` searches of ``problem`` (one: a plain runner solve)."""
    options = members(workers)
    if workers == 1:
        return start_solve(problem, time_limit_s, on_progress, options[0])
    return PortfolioHandle(problem, time_limit_s, options, on_progress)
