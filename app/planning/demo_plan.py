"""The demo day's morning plan, from the planner (as ``main.py plan`` makes a real one).

The demo is deterministic for a seed, so the tower's seeded day, ``main.py simulate``'s
and a benchmark's are one day: PyVRP searches a fixed number of iterations with its
fixed seed (about 1-2 s for the demo's 12 vans and 250 orders here), capped by a time
limit on a very slow machine. The tower stores the plan it seeds, so later starts read it
back instead of solving again (app.tower.data_setup).
"""

from __future__ import annotations

import dataclasses
import logging

from app.domain.demo import DemoDay
from app.domain.model import FleetSnapshot
from app.planning.day_plan import build_day_problem, planned_stops
from app.planning.engines import solve
from app.planning.matrix import MatrixProvider
from app.planning.problem import Engine, SearchOptions, SolveCall

log = logging.getLogger(__name__)

SEARCH = SearchOptions(engine=Engine.PYVRP, max_iterations=100)
"""100 iterations: 405 km for the demo day against 450 after one and 382 after 4,000
(measured here; the sweep heuristic it replaced planned 891 km)."""
TIME_CAP_S = 10.0
"""Only a far slower machine than this one gets here (and a plan that may differ)."""
PLANNED_UP_TO = 2_000
"""Orders: a larger day (a load test's thousands of vans) keeps its quick sweep plan, as
the matrices alone would grow with the square of the orders."""


def plan_demo_day(day: DemoDay, provider: MatrixProvider) -> DemoDay:
    """``day`` with its morning plan from the planner (unserved orders on no van)."""
    if len(day.orders) > PLANNED_UP_TO:
        log.info("%d demo orders: kept the quick sweep plan", len(day.orders))
        return day
    snapshot = FleetSnapshot([day.depot], list(day.vehicles), list(day.drivers), list(day.orders))
    problem = build_day_problem(snapshot, day.depot.id, day.operating_day, provider)
    result = solve(problem.problem, SolveCall(TIME_CAP_S, options=SEARCH))
    if not result.has_plan:
        raise RuntimeError(f"the demo day has no plan: {result.status.value} {result.message}")
    return dataclasses.replace(day, stops=planned_stops(problem, result))
