"""The engine a search asks for, when the problem allows it; OR-Tools otherwise.

Imports are deferred so that a solver child loads only the library it searches with.
"""

from __future__ import annotations

from dataclasses import replace

from app.planning.problem import Engine, PlanResult, RoutingProblem, SearchOptions, SolveCall

PYVRP_FALLBACK = SearchOptions(first_solutions=("SAVINGS",), gls_lambda=0.1)
"""What a PyVRP member of a portfolio searches with on a problem PyVRP cannot model:
OR-Tools from savings, with OR-Tools' own lambda. Worse alone than the default search (3.5%
against 2.7% mean gap on 12 Solomon instances at 5 s) but good where the default is bad:
the better of the two averaged 1.9%, the best pair of 11 OR-Tools searches tried."""


def solve(problem: RoutingProblem, call: SolveCall) -> PlanResult:
    """Plan ``problem`` with the engine ``call.options`` name (OR-Tools by default)."""
    if call.options.engine is Engine.PYVRP:
        from app.planning import pyvrp_engine

        if pyvrp_engine.fits(problem):
            return pyvrp_engine.solve(problem, call)
        call = replace(call, options=PYVRP_FALLBACK)
    from app.planning import decompose

    return decompose.solve(problem, call)
