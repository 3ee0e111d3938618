"""The planning engine's entry point: a problem whose stops nearly all have a van is solved
one van at a time.

A live re-plan locks every stop whose parcels are on board to its van, so the problem is
one small routing problem per van plus the choice of a van for the few free stops (a
broken-down van's pickup-and-delivery pairs, parcels still at the depot). Solved whole, the
search spends its time on moves the locks forbid: on a mid-day state of 39 vans and 1,350
stops, 10 s of the whole model stayed 18% above 60 s of it. So, when it is sound:

1. each free stop (or pair) is inserted where it costs least, on one of the vans nearest
   to it (a cheap assignment: 10 s of the whole model placed none of 32 rescue pairs);
2. each van's route is then its own RoutingProblem, warm-started from step 1 and given a
   share of the time left proportional to its effort (its stops, more for each pair); a
   van whose search stalls ends early, leaving its time to the vans after it, and time
   left after the last van goes to another round from the best routes so far;
3. the answers are merged into one PlanResult in the problem's own node numbers.

Step 1 is app.planning.van_assignment (priced by app.planning.route_costing); steps 2 and
3 are here.

Every term of the objective (distance, a van's fixed cost, lateness, drops, reassignment)
belongs to one van, so the merged objective is the sum of the vans' and is what the whole
model would charge for the same plan. Otherwise the whole model solves the problem, from
step 1's routes when there are free stops (app.planning.van_assignment.warm_start).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial

from app.planning import forked, schedules, solver
from app.planning.problem import (
    DroppedStop,
    Matrices,
    Node,
    PickupDelivery,
    PlanResult,
    PlanStatus,
    PositionLock,
    RoutingProblem,
    SearchOptions,
    SolveCall,
    SolveProgress,
)
from app.planning.van_assignment import (
    Unit,
    VanPart,
    assign,
    drop_penalties,
    units_of,
    warm_start,
)

VAN_SEARCH = SearchOptions(gls_lambda=0.1)
"""How one van's route is searched: GLS at OR-Tools' own lambda, without the slow
operators (SLOW_OPERATORS). On the mid-day state of benchmarks/replan.py, where the 15-min
margin makes most routes late, every operator on (the earlier choice) left 10 s of the
depot 1.7% above 60 s of it; without the slow ones the 10 s plan is 1.6% cheaper and 60 s
1.3% cheaper than before."""


PAIR_EFFORT = 10
"""A van's share of the time counts each pickup-and-delivery pair as this many stops more.
Pairs slow a van's search: on the mid-day state of benchmarks/replan.py the vans given a
broken-down van's pairs were half of what 60 s found beyond 10 s (a 53-stop van with 9
pairs needed 3 s to converge, a 35-stop van without pairs 0.5 s); weighting them so
took 10 s on two cores from 1,492,700 to 1,490,700 (60 s: 1,482,300)."""

STALL_SHARE = 0.5
STALL_MIN_S = 0.3
"""A van's search ends early once it has found nothing better for this share of its time
(and at least this long): GLS never stops by itself, and most vans of the mid-day state
converge within 0.3 s while a few keep improving for seconds. The time saved goes to the
vans after it (each van's share is of the time left), and time left over after the last
van goes to another round over the same vans, each warm-started from its best route.
On the mid-day state of benchmarks/replan.py (two cores) 10 s went from 1,489,000-
1,493,500 to 1,488,800 and 5 s from 1,504,500 to 1,499,200-1,504,100; 60 s went from
1,482,000-1,482,200 to 1,481,600, so the 10 s gap stays about 0.5% on a fast machine.
Which vans improve late is not foreseeable (a 34-stop van stuck from 0.02 s to 1 s, then
5% cheaper): split with hindsight, the same time would come within 0.1% of what 3 s
per van reaches."""

ROUND_MIN_S = 0.2
VAN_MIN_S = 0.1
"""Another round is started only with at least ROUND_MIN_S left, and VAN_MIN_S per van
of the group: each van's search takes 50 ms at least (and its model's build), so a
round of 20 vans in 0.2 s ran 1-1.5 s past the time limit. A later round stops at the
deadline; the vans it did not reach keep their routes."""

HELPER_GRACE_S = 5.0
"""How long past the time limit a helper process may take to hand back its last van."""


@dataclass(frozen=True)
class _VanRoute:
    """A helper's news: van ``van``'s best route, its cost and the stops it leaves out."""

    van: int
    route: list[int]
    cost: float
    dropped: list[int]


class _Outcome(Enum):
    """How a run over some vans ended."""

    SOLVED = "solved"
    CANCELLED = "cancelled"  # asked to stop: the best routes so far stand
    NO_PLAN = "no plan"  # a van's own search found none: the whole model must try


def solve(problem: RoutingProblem, call: SolveCall) -> PlanResult:
    """Plan ``problem`` as ``call`` says, van by van when that is sound.

    Same contract as ``solver.solve``; the progress reported is the total over all vans.
    """
    units = units_of(problem) if call.options.decompose else None
    if units is None:
        return solver.solve(problem, call, start=warm_start(problem))
    return _Decomposition(problem, units, call).run()


@dataclass(eq=False, repr=False)  # one solve's working state: compared by identity
class _Decomposition:
    """One decomposed solve: assign the free units, then solve each van alone."""

    problem: RoutingProblem
    units: list[Unit]
    call: SolveCall
    started: float = field(init=False, default_factory=time.monotonic)
    history: list[SolveProgress] = field(init=False, default_factory=list)
    best_total: float = field(init=False, default=math.inf)
    # Each van's last route reported and its distance and late stops.
    van_figures: dict[int, tuple[tuple[int, ...], tuple[int, int]]] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        vans = self.problem.vans
        # Each stop's van before the search: moving a stop off it costs reassign_cost.
        self.owner = {i: v for v, van in enumerate(vans) for i in van.initial_route}
        self.pickups = {p.pickup for p in self.problem.pairs}

    def run(self) -> PlanResult:
        vans, unassigned = assign(self.problem, self.units, self.owner)
        if vans is None:
            return self._whole()
        self._report(vans, unassigned)
        todo = [v for v, part in enumerate(vans) if part.stops]
        deadline = self.started + self.call.time_limit_s
        workers = self.call.options.van_workers if forked.AVAILABLE else 1
        mine, *theirs = _shares(todo, [self._effort(part) for part in vans], workers)
        helpers = [
            forked.ForkedWorker(partial(self._help, vans, unassigned, group, deadline))
            for group in theirs
        ]
        try:
            own = self._solve_vans(vans, unassigned, mine, deadline, helpers)
            if own is _Outcome.CANCELLED:  # the helpers heard it too: not long now
                deadline = min(deadline, time.monotonic())
            outcomes = [own, *self._finish_helpers(vans, unassigned, helpers, deadline)]
        finally:
            for helper in helpers:
                helper.stop()
        if _Outcome.NO_PLAN in outcomes:
            return self._whole()
        if any(math.isinf(part.cost) for part in vans):
            # Cancelled before every van had a plan the model accepts.
            return self._result(PlanStatus.CANCELLED_NO_PLAN, vans, unassigned)
        cancelled = _Outcome.CANCELLED in outcomes
        return self._result(
            PlanStatus.CANCELLED if cancelled else PlanStatus.SOLVED, vans, unassigned
        )

    def _solve_vans(
        self,
        vans: list[VanPart],
        unassigned: list[int],
        group: list[int],
        deadline: float,
        helpers: list[forked.ForkedWorker],
        on_van: Callable[[int], None] | None = None,
    ) -> _Outcome:
        """Solve the vans of ``group`` one after the other, each with a share of the time
        left proportional to its effort, in rounds while time is left (a van that stalls
        ends early); between two, take in what the helpers found."""
        first_round = True
        while True:
            for n, v in enumerate(group):
                for helper in helpers:
                    self._take(vans, unassigned, helper.messages())
                if self.call.stop_requested():
                    return _Outcome.CANCELLED
                remaining = deadline - time.monotonic()
                if remaining <= 0 and not first_round:  # every van has a route by now
                    return _Outcome.SOLVED
                left = sum(self._effort(vans[k]) for k in group[n:])
                share = max(remaining, 0.0) * self._effort(vans[v]) / left
                outcome = self._solve_van(vans, unassigned, v, share)
                if outcome is None:
                    return _Outcome.NO_PLAN
                if on_van is not None:
                    on_van(v)
                if outcome.status != PlanStatus.SOLVED:
                    return _Outcome.CANCELLED
            first_round = False
            needed = max(ROUND_MIN_S, VAN_MIN_S * len(group))
            if not group or deadline - time.monotonic() < needed:
                return _Outcome.SOLVED

    def _help(
        self,
        vans: list[VanPart],
        unassigned: list[int],
        group: list[int],
        deadline: float,
        send: forked.Send,
    ) -> None:
        """A forked helper's work: solve ``group``, sending each van's best route home."""
        # The parent reports; this copy only sends its vans.
        self.call = replace(self.call, on_progress=None)

        def van_done(v: int) -> None:
            part = vans[v]
            send(_VanRoute(v, part.route, part.cost, part.dropped))

        send(self._solve_vans(vans, unassigned, group, deadline, [], van_done))

    def _finish_helpers(
        self,
        vans: list[VanPart],
        unassigned: list[int],
        helpers: list[forked.ForkedWorker],
        deadline: float,
    ) -> list[_Outcome]:
        """Wait for each helper's last van and outcome (a helper that died or overran
        leaves its remaining vans with the routes they were assigned)."""
        outcomes = []
        for helper in helpers:
            received = helper.wait(deadline + HELPER_GRACE_S, lambda m: isinstance(m, _Outcome))
            self._take(vans, unassigned, received)
            outcomes += [m for m in received if isinstance(m, _Outcome)]
        return outcomes

    def _take(self, vans: list[VanPart], unassigned: list[int], messages: list[object]) -> None:
        """Keep the helpers' van routes that beat what this process knows."""
        for message in messages:
            if isinstance(message, _VanRoute) and message.cost <= vans[message.van].cost:
                part = vans[message.van]
                part.route, part.cost, part.dropped = message.route, message.cost, message.dropped
                self._report(vans, unassigned)

    def _effort(self, part: VanPart) -> float:
        """What a van's search is worth in time: its stops, and more for each pair."""
        pickups = sum(1 for i in part.stops if i in self.pickups)
        return len(part.stops) + PAIR_EFFORT * pickups

    def _solve_van(
        self, vans: list[VanPart], unassigned: list[int], v: int, seconds: float
    ) -> PlanResult | None:
        """Solve van ``v`` alone and keep its plan if better; None when it has none."""
        part = vans[v]
        sub, nodes, extra = _sub_problem(self.problem, v, part, self.owner)

        patience = max(STALL_SHARE * seconds, STALL_MIN_S)
        improved = [time.monotonic()]  # when this van's search last found a better route
        stalled = [False]

        def progress(p: SolveProgress) -> None:
            # When the better route was found: its report may come a little later.
            improved[0] = begun + p.elapsed
            if p.best_cost + extra < part.cost:
                self._report(vans, unassigned, v, p.best_cost + extra, (p.distance, p.late_stops))

        def stop() -> bool:
            if self.call.stop_requested():
                return True
            stalled[0] = time.monotonic() - improved[0] > patience
            return stalled[0]

        begun = time.monotonic()
        result = solver.solve(sub, SolveCall(seconds, progress, stop, VAN_SEARCH))
        if stalled[0] and result.status == PlanStatus.CANCELLED:
            result = replace(result, status=PlanStatus.SOLVED)  # only this van gave up
        if not result.has_plan:
            return None if result.status == PlanStatus.NO_PLAN else result
        route = [nodes[i] for i in result.routes[0].stops]
        cost = result.objective + extra
        if cost <= part.cost:
            part.route, part.cost = route, cost
            part.dropped = [i for i in part.stops if i not in set(route)]
            self._report(vans, unassigned)
        return result

    def _report(
        self,
        vans: list[VanPart],
        unassigned: list[int],
        van: int | None = None,
        cost: float = math.inf,
        candidate: tuple[int | None, int | None] = (None, None),
    ) -> None:
        """Report the total when it improves (with van ``van`` costing ``cost``, its
        search's distance and late stops ``candidate``, if given)."""
        total = drop_penalties(self.problem, unassigned) + sum(
            cost if k == van else part.cost for k, part in enumerate(vans)
        )
        if total < self.best_total:
            self.best_total = total
            each = [
                candidate if k == van else self._figures(k, part.route)
                for k, part in enumerate(vans)
            ]
            distance = sum(d or 0 for d, _ in each)
            late = sum(n or 0 for _, n in each)
            report = SolveProgress(time.monotonic() - self.started, int(total), distance, late)
            self.history.append(report)
            self.call.report(report)

    def _figures(self, van: int, route: list[int]) -> tuple[int, int]:
        """Van ``van``'s distance and late stops on ``route``, worked out once per route."""
        key = tuple(route)
        known = self.van_figures.get(van)
        if known is None or known[0] != key:
            known = (key, schedules.van_figures(self.problem, van, route))
            self.van_figures[van] = known
        return known[1]

    def _result(self, status: PlanStatus, vans: list[VanPart], unassigned: list[int]) -> PlanResult:
        seconds = time.monotonic() - self.started
        if status == PlanStatus.CANCELLED_NO_PLAN:
            return PlanResult(status=status, seconds=seconds, progress=tuple(self.history))
        problem = self.problem
        routes = tuple(schedules.schedule(problem, v, part.route) for v, part in enumerate(vans))
        dropped = sorted(unassigned + [i for part in vans for i in part.dropped])
        return PlanResult(
            status=status,
            routes=routes,
            dropped=tuple(DroppedStop(i, schedules.drop_reason(problem, i)) for i in dropped),
            objective=int(drop_penalties(problem, unassigned) + sum(p.cost for p in vans)),
            distance=sum(r.distance for r in routes),
            seconds=seconds,
            progress=tuple(self.history),
        )

    def _whole(self) -> PlanResult:
        """The assignment found no plan for some van: let the whole model try."""
        offset = time.monotonic() - self.started

        def progress(p: SolveProgress) -> None:
            report = replace(p, elapsed=p.elapsed + offset)
            self.history.append(report)
            self.call.report(report)

        whole = SolveCall(
            self.call.time_limit_s - offset, progress, self.call.should_stop, self.call.options
        )
        result = solver.solve(self.problem, whole)
        return replace(result, seconds=result.seconds + offset, progress=tuple(self.history))


def _shares(todo: list[int], efforts: list[float], workers: int) -> list[list[int]]:
    """``todo``'s vans split into ``workers`` groups of about as much effort (the largest
    first into the lightest group), each in van order; the first group is this process's."""
    groups: list[list[int]] = [[] for _ in range(max(1, min(workers, len(todo))))]
    loads = [0.0] * len(groups)
    for v in sorted(todo, key=lambda k: -efforts[k]):
        lightest = loads.index(min(loads))
        groups[lightest].append(v)
        loads[lightest] += efforts[v]
    return [sorted(group) for group in groups]


def _sub_problem(
    problem: RoutingProblem, v: int, part: VanPart, owner: dict[int, int]
) -> tuple[RoutingProblem, list[int], int]:
    """Van ``v`` alone with its stops: the problem, its nodes' numbers in ``problem``, and
    what to add to its objective to get the whole model's charge for the same route.

    A stop that came from another van's route would cost ``reassign_cost`` if served: the
    sub-problem charges the same difference by lowering its drop penalty by as much, and
    the charge comes back as a constant.
    """
    van = problem.vans[v]
    places = [van.start] if van.start == van.end else [van.start, van.end]
    nodes = places + part.route + [i for i in part.stops if i not in set(part.route)]
    index = {i: k for k, i in enumerate(nodes)}
    moved = [i for i in part.stops if owner.get(i, v) != v]
    shifted = {}
    for i in moved:
        penalty = problem.nodes[i].drop_penalty
        if penalty is not None:
            shifted[i] = replace(problem.nodes[i], drop_penalty=penalty - problem.reassign_cost)
    sub_nodes: list[Node] = [shifted.get(i, problem.nodes[i]) for i in nodes]
    m = problem.matrices
    matrices = Matrices(
        travel_time=[[m.travel_time[i][j] for j in nodes] for i in nodes],
        distance=[[m.distance[i][j] for j in nodes] for i in nodes],
    )
    sub_van = replace(
        van,
        start=index[van.start],
        end=index[van.end],
        initial_route=tuple(index[i] for i in part.route),
    )
    sub = RoutingProblem(
        nodes=tuple(sub_nodes),
        vans=(sub_van,),
        matrices=matrices,
        position_locks=tuple(
            PositionLock(index[lock.node], 0, lock.position)
            for lock in problem.position_locks
            if lock.van == v
        ),
        pairs=tuple(
            PickupDelivery(index[p.pickup], index[p.delivery])
            for p in problem.pairs
            if p.pickup in index
        ),
        late_cost_per_s=problem.late_cost_per_s,
        eta_cost_per_s=problem.eta_cost_per_s,
        eta_tolerance=problem.eta_tolerance,
    )
    return sub, nodes, problem.reassign_cost * len(moved)
