"""An independent check of a plan: recomputes everything from the data, trusts nothing.

Written apart from the solver on purpose: it shares no code with it, so a modelling
mistake there shows up here. Two entry points: ``check_vrptw`` for benchmark instances
in real numbers, ``check_plan`` for a RoutingProblem and the PlanResult it got.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from app.planning.instances import VrptwInstance
from app.planning.problem import PlanResult, RoutingProblem

TOLERANCE = 1e-6


@dataclass(frozen=True)
class CheckReport:
    """The verdict: feasible or not, every violation found, and the recomputed distance."""

    feasible: bool
    violations: tuple[str, ...]
    distance: float
    vehicles: int
    lateness: int = 0
    """With soft windows: how long after their last window's close the stops are
    reached, summed over the stops (a cost, not a violation)."""


def check_vrptw(
    instance: VrptwInstance, routes: Sequence[Sequence[int]], all_served: bool = True
) -> CheckReport:
    """Check customer routes (depot excluded) against a benchmark instance, in real numbers.

    Service may start early only by waiting; it must start by the due date; each route
    leaves the depot at its opening and is back by its closing.
    """
    problems: list[str] = []
    depot, total, used = instance.depot, 0.0, 0
    for r, route in enumerate(routes):
        if not route:
            continue
        used += 1
        clock, load, at = instance.ready[depot], 0, depot
        for customer in route:
            if not 0 <= customer < len(instance.coords) or customer == depot:
                problems.append(f"route {r}: {customer} is not a customer")
                continue
            leg = instance.distance(at, customer)
            total += leg
            clock = max(clock + instance.service[at] + leg, instance.ready[customer])
            if clock > instance.due[customer] + TOLERANCE:
                problems.append(
                    f"route {r}: customer {customer} served at {clock:.3f}, "
                    f"due {instance.due[customer]:g}"
                )
            load += instance.demand[customer]
            at = customer
        leg = instance.distance(at, depot)
        total += leg
        clock += instance.service[at] + leg
        if clock > instance.due[depot] + TOLERANCE:
            problems.append(
                f"route {r}: back at the depot at {clock:.3f}, closes {instance.due[depot]:g}"
            )
        if load > instance.capacity:
            problems.append(f"route {r}: load {load} over capacity {instance.capacity}")
    if used > instance.vehicles:
        problems.append(f"{used} routes, only {instance.vehicles} vehicles")
    visits = Counter(c for route in routes for c in route)
    problems += [f"customer {c} visited {k} times" for c, k in sorted(visits.items()) if k > 1]
    if all_served:
        missing = [c for c in instance.customers() if c not in visits]
        if missing:
            problems.append(f"customers not served: {missing}")
    return CheckReport(not problems, tuple(problems), total, used)


def check_plan(problem: RoutingProblem, result: PlanResult) -> CheckReport:
    """Check a solver answer against its problem, in the problem's integer units.

    Covers van capacities (weight and volume, with pickups on board), windows (waiting
    allowed, one or two windows), shifts and depot hours, each stop at most once,
    mandatory stops served, the dropped list, locks, pickup-before-delivery on one van,
    and resequence-only. Each route is timed at its earliest; its reported service starts
    must be no earlier than that and inside a window. With soft windows
    (``late_cost_per_s`` above 0) only the last window's close is soft: serving after
    it adds to ``lateness``, serving before the first opening or between two windows
    is a violation.
    """
    problems: list[str] = []
    places = {v.start for v in problem.vans} | {v.end for v in problem.vans}
    stops = [i for i in range(len(problem.nodes)) if i not in places]
    where: dict[int, tuple[int, int]] = {}
    total = late = 0
    for route in result.routes:
        for position, node in enumerate(route.stops):
            if node in where:
                problems.append(f"stop {node} planned twice")
            if node in places or not 0 <= node < len(problem.nodes):
                problems.append(f"van {route.van}: {node} is not a stop")
            where[node] = (route.van, position)
        if len(route.service_starts) != len(route.stops):
            problems.append(
                f"van {route.van}: {len(route.service_starts)} service starts"
                f" for {len(route.stops)} stops"
            )
        walked = check_route(problem, route.van, list(route.stops), route.service_starts)
        total += walked.distance
        late += walked.lateness
        problems += [fault.text for fault in walked.faults]
    dropped = {d.node for d in result.dropped}
    for i in stops:
        served = i in where
        if not served and problem.nodes[i].drop_penalty is None:
            problems.append(f"mandatory stop {i} not served")
        if served == (i in dropped):
            problems.append(f"stop {i}: served and dropped lists disagree")
    problems += _check_locks(problem, where)
    if total != result.distance:
        problems.append(f"reported distance {result.distance}, recomputed {total}")
    used = sum(1 for r in result.routes if r.stops)
    return CheckReport(not problems, tuple(problems), float(total), used, late)


@dataclass(frozen=True)
class RouteFault:
    """One thing wrong with a route: ``text`` as the check words it, and its figures.

    ``kind`` is ``weight`` or ``volume`` (``value`` the load, ``limit`` the capacity),
    ``shift`` (``value`` the return, ``limit`` the shift's end), ``closed`` (the start or
    end place is not open then), ``window`` (``node`` reached after its windows, hard
    ones), ``start`` (a reported service start that cannot be) or ``load`` (more
    unloaded than was on board)."""

    kind: str
    text: str
    node: int | None = None
    value: int = 0
    limit: int = 0


@dataclass(frozen=True)
class RouteCheck:
    """One van's route walked: its distance, lateness (soft windows) and faults."""

    distance: int
    lateness: int
    faults: tuple[RouteFault, ...]


def check_route(
    problem: RoutingProblem, van_index: int, route: Sequence[int], starts: Sequence[int] = ()
) -> RouteCheck:
    """Distance and lateness of one van's route, and what is wrong with it.

    ``starts`` are the service starts reported for it (none: only the route is judged,
    as a dispatcher's tweak is). It walks the route on its own, not with
    app.domain.schedule's walk: a checker that shared the planner's code would agree
    with the planner's mistakes.
    """
    van, m, nodes = problem.vans[van_index], problem.matrices, problem.nodes
    soft = problem.late_cost_per_s > 0
    problems: list[RouteFault] = []
    late = 0
    paired = {p.pickup for p in problem.pairs} | {p.delivery for p in problem.pairs}
    pickups = {p.pickup for p in problem.pairs}
    # On board at the start: everything delivered on the route that no pickup brings.
    weight = sum(nodes[i].weight for i in route if i not in paired)
    volume = sum(nodes[i].volume for i in route if i not in paired)
    # Leave at the shift start, or when the start place (a depot) first opens after it.
    hours = sorted(nodes[van.start].windows)
    opens = [max(a, van.shift[0]) for a, b in hours if b >= van.shift[0]]
    clock = van.shift[0] if not hours else (opens[0] if opens else van.shift[1] + 1)
    if route and clock > van.shift[1]:
        problems.append(
            RouteFault("closed", f"van {van_index}: its start is never open during its shift")
        )
    at, distance = van.start, 0
    loads = [(weight, volume)]
    for k, i in enumerate(route):
        clock += nodes[at].service + m.travel_time[at][i]
        distance += m.distance[at][i]
        windows = sorted(nodes[i].windows)
        usable = [w for w in windows if w[1] >= clock]
        if usable:  # early, or between two windows: wait for the next opening
            clock = max(clock, usable[0][0])
        elif windows and soft:
            late += clock - max(b for _, b in windows)
        elif windows:
            text = f"van {van_index}: stop {i} reached at {clock}, after its windows"
            problems.append(RouteFault("window", text, i, clock, max(b for _, b in windows)))
        if k < len(starts) and (usable or soft or not windows):
            problems += [
                RouteFault("start", why, i, starts[k])
                for why in _check_start(van_index, i, starts[k], clock, windows, soft)
            ]
        sign = 1 if i in pickups else -1
        weight += sign * nodes[i].weight
        volume += sign * nodes[i].volume
        loads.append((weight, volume))
        at = i
    for w, v in loads:
        if w > van.capacity_weight or (v > 0 and v > van.capacity_volume) or min(w, v) < 0:
            text = f"van {van_index}: load {w} kg / {v} vol outside capacity"
            if w > van.capacity_weight:
                problems.append(RouteFault("weight", text, None, w, van.capacity_weight))
            elif v > van.capacity_volume:
                problems.append(RouteFault("volume", text, None, v, van.capacity_volume))
            else:
                problems.append(RouteFault("load", text))
            break
    clock += nodes[at].service + m.travel_time[at][van.end]
    distance += m.distance[at][van.end]
    if route and clock > van.shift[1]:
        text = f"van {van_index}: back at {clock}, shift ends {van.shift[1]}"
        problems.append(RouteFault("shift", text, None, clock, van.shift[1]))
    end_hours = nodes[van.end].windows
    if route and end_hours and clock > max(b for _, b in end_hours):
        text = f"van {van_index}: back at {clock}, after its end place closes"
        problems.append(RouteFault("closed", text, None, clock))
    return RouteCheck(distance, late, tuple(problems))


def _check_start(
    van: int, node: int, start: int, earliest: int, windows: list[tuple[int, int]], soft: bool
) -> list[str]:
    """What is wrong with a reported service start (``earliest``: when it can be)."""
    if windows and not any(a <= start <= b for a, b in windows):
        if start < windows[0][0]:
            return [f"van {van}: stop {node} served at {start}, before its first window opens"]
        if start < max(b for _, b in windows):
            return [f"van {van}: stop {node} served at {start}, in the gap between its windows"]
        if not soft:
            return [f"van {van}: stop {node} served at {start}, after its windows"]
    if start < earliest:
        return [
            f"van {van}: stop {node} served at {start}, before the van can start it at {earliest}"
        ]
    return []


def _check_locks(problem: RoutingProblem, where: dict[int, tuple[int, int]]) -> list[str]:
    """Vehicle and position locks, pickup-delivery pairs, resequence-only."""
    problems = []
    for lock in problem.vehicle_locks:
        if lock.node in where and where[lock.node][0] != lock.van:
            problems.append(f"stop {lock.node} locked to van {lock.van}, planned elsewhere")
    for pos in problem.position_locks:
        if pos.node in where and where[pos.node] != (pos.van, pos.position):
            problems.append(f"stop {pos.node} locked to van {pos.van} position {pos.position}")
    for pair in problem.pairs:
        p, d = where.get(pair.pickup), where.get(pair.delivery)
        if (p is None) != (d is None):
            problems.append(f"pair {pair.pickup}->{pair.delivery}: only half served")
        elif p is not None and d is not None and (p[0] != d[0] or p[1] > d[1]):
            problems.append(f"pair {pair.pickup}->{pair.delivery}: not picked up first on one van")
    if problem.resequence_only:
        for v, van in enumerate(problem.vans):
            for i in van.initial_route:
                if i in where and where[i][0] != v:
                    problems.append(f"stop {i} moved off van {v} in a resequence-only plan")
    return problems
