"""What a solve is asked and what it answers: plain, picklable dataclasses.

Everything is indexed by *node*: a node is a depot, a van's current position or a stop to
visit. Times are integers in one unit chosen by the caller (seconds for a live day, scaled
time units for benchmarks); distances are integers too (metres, or scaled units).
A node that is some van's start or end is a place, not a visit; every other node is a
stop the plan should visit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

Window = tuple[int, int]
"""An inclusive time window (opens, closes): service must start inside it."""

Matrix = list[list[int]]
"""A square integer matrix indexed [from node][to node]."""

PRIORITY_PENALTY = {0: 100_000, 1: 1_000_000, 2: 10_000_000, 3: 100_000_000}
"""Drop penalty by priority (0 low, 1 normal, 2 high, 3 critical), in distance units."""


def penalty_for_priority(priority: int) -> int:
    """The cost of leaving a stop of this priority unserved."""
    return PRIORITY_PENALTY.get(priority, PRIORITY_PENALTY[1])


@dataclass(frozen=True)
class Node:
    """A place on the map: a depot, a van's position, or a stop to visit.

    ``x`` and ``y`` are longitude and latitude for the haversine provider, or plane
    coordinates for benchmark instances. ``weight`` and ``volume`` are what is handed over
    here (for the pickup of a pickup-and-delivery pair: what is collected). ``windows``
    holds zero, one or two windows; none means any time in the shift.
    On a place (a van's start or end) ``windows`` are its opening hours: a van leaves its
    start, and gets back to its end, only while that place is open (a depot's hours).
    ``drop_penalty`` None means the stop must be served. ``told`` is the time its
    customer was last told (a live re-plan): with ``RoutingProblem.eta_cost_per_s``
    above 0, serving it more than ``RoutingProblem.eta_tolerance`` later costs.
    """

    id: str
    x: float = 0.0
    y: float = 0.0
    weight: int = 0
    volume: int = 0
    service: int = 0
    windows: tuple[Window, ...] = ()
    drop_penalty: int | None = None
    told: int | None = None


@dataclass(frozen=True)
class Van:
    """A vehicle: where it starts and ends, what it carries, when it works.

    ``initial_route`` is the current sequence of stop nodes (a warm start and the
    reference for ``RoutingProblem.reassign_cost``).
    """

    id: str
    start: int
    end: int
    capacity_weight: int
    capacity_volume: int = 0
    shift: Window = (0, 24 * 3600)
    fixed_cost: int = 0
    initial_route: tuple[int, ...] = ()


@dataclass(frozen=True)
class VehicleLock:
    """This stop must stay on this van (e.g. a parcel already on board)."""

    node: int
    van: int


@dataclass(frozen=True)
class PositionLock:
    """This stop must be the ``position``-th visit (0 = first) of this van."""

    node: int
    van: int
    position: int


@dataclass(frozen=True)
class PickupDelivery:
    """Collect at ``pickup`` and hand over at ``delivery``, on one van, in that order.

    Used to rescue a broken-down van: its parcels are picked up where it stands and
    delivered to their customers. The delivery node's weight and volume should equal
    the pickup's.
    """

    pickup: int
    delivery: int


@dataclass(frozen=True)
class Matrices:
    """Travel times and distances between nodes, as a matrix provider returns them."""

    travel_time: Matrix
    distance: Matrix


@dataclass(frozen=True)
class RoutingProblem:
    """Everything the planner needs for one solve.

    ``reassign_cost`` is added for each stop planned on another van than the one whose
    ``initial_route`` holds it. With ``resequence_only`` every stop of an initial route
    stays on its van; only the order may change. With ``late_cost_per_s`` above 0 the
    stops' windows are soft at their end (a live re-plan: being late costs that much per
    second, a late plan is still a plan); a stop may still not be served before its first
    window opens, nor in the gap between two windows (the van waits for the next).
    """

    nodes: tuple[Node, ...]
    vans: tuple[Van, ...]
    matrices: Matrices
    vehicle_locks: tuple[VehicleLock, ...] = ()
    position_locks: tuple[PositionLock, ...] = ()
    pairs: tuple[PickupDelivery, ...] = ()
    reassign_cost: int = 0
    resequence_only: bool = False
    late_cost_per_s: int = 0
    eta_cost_per_s: int = 0
    eta_tolerance: int = 0

    def told_late(self, node: int, start: int) -> int:
        """What serving ``node`` at ``start`` costs against its customer's told time."""
        told = self.nodes[node].told
        if not self.eta_cost_per_s or told is None:
            return 0
        return self.eta_cost_per_s * max(0, start - told - self.eta_tolerance)

    def place_nodes(self) -> set[int]:
        """Nodes that are some van's start or end (places, not visits)."""
        return {v.start for v in self.vans} | {v.end for v in self.vans}

    def stop_nodes(self) -> list[int]:
        """Nodes to visit, in index order."""
        places = self.place_nodes()
        return [i for i in range(len(self.nodes)) if i not in places]

    def departure_windows(self, van: int) -> list[Window]:
        """When van ``van`` may leave its start: its shift within the start's hours."""
        v = self.vans[van]
        return _within(v.shift, self.nodes[v.start].windows)

    def return_windows(self, van: int) -> list[Window]:
        """When van ``van`` may be back at its end: its shift within the end's hours."""
        v = self.vans[van]
        return _within(v.shift, self.nodes[v.end].windows)


def _within(shift: Window, hours: tuple[Window, ...]) -> list[Window]:
    """The parts of ``shift`` inside the opening ``hours`` (all of it when none given)."""
    if not hours:
        return [shift]
    parts = [(max(shift[0], a), min(shift[1], b)) for a, b in sorted(hours)]
    return [(a, b) for a, b in parts if a <= b]


class PlanStatus(StrEnum):
    """How a solve ended."""

    SOLVED = "solved"
    """The time limit ended the search; the best plan found is returned."""
    CANCELLED = "cancelled"
    """The dispatcher cancelled; the best plan found so far is returned."""
    CANCELLED_NO_PLAN = "cancelled_no_plan"
    """Cancelled (or killed) before any plan was found."""
    NO_PLAN = "no_plan"
    """No plan satisfies the hard constraints (or none found in the time limit)."""
    FAILED = "failed"
    """The solver process failed; ``message`` says why."""


class Engine(StrEnum):
    """Which library searches."""

    ORTOOLS = "ortools"
    PYVRP = "pyvrp"
    """Only for problems app.planning.pyvrp_engine.fits; others fall back to OR-Tools."""


@dataclass(frozen=True)
class PlannedRoute:
    """One van's route: the stops in order, with arrival and service-start times."""

    van: int
    stops: tuple[int, ...]
    arrivals: tuple[int, ...]
    service_starts: tuple[int, ...]
    distance: int
    end_time: int


@dataclass(frozen=True)
class DroppedStop:
    """A stop the plan leaves unserved, and why in the dispatcher's words."""

    node: int
    reason: str


@dataclass(frozen=True)
class SolveProgress:
    """A progress report: seconds since the solve started and the best cost so far.

    ``distance`` (the problem's unit) and ``late_stops`` (served after their last window
    closes) are the best plan's, for a dispatcher to read; None where an engine cannot
    tell (PyVRP reports its cost only).
    """

    elapsed: float
    best_cost: int
    distance: int | None = None
    late_stops: int | None = None


ProgressCallback = Callable[[SolveProgress], None]
"""Hears of every better plan a search finds."""

StopRequested = Callable[[], bool]
"""Asked as the search goes; True ends it, keeping the best plan so far."""


@dataclass(frozen=True)
class PlanResult:
    """The answer of one solve. ``routes`` holds one entry per van (maybe empty)."""

    status: PlanStatus
    routes: tuple[PlannedRoute, ...] = ()
    dropped: tuple[DroppedStop, ...] = ()
    objective: int = 0
    distance: int = 0
    seconds: float = 0.0
    message: str = ""
    progress: tuple[SolveProgress, ...] = field(default=(), repr=False)
    engine: Engine = Engine.ORTOOLS
    """The library that found the plan."""

    @property
    def has_plan(self) -> bool:
        """True when the result carries routes (solved, or cancelled with a plan)."""
        return self.status in (PlanStatus.SOLVED, PlanStatus.CANCELLED)

    def used_routes(self) -> list[PlannedRoute]:
        """Routes that visit at least one stop."""
        return [r for r in self.routes if r.stops]


SLOW_OPERATORS = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_lin_kernighan",
    "use_relocate_expensive_chain",
)
"""Local-search operators switched off by default: on hard Solomon instances at 5 s,
dropping them (and raising the GLS lambda to 0.5) cut the mean gap from 8.6% to 4.5%:
the search spends its time on cheap moves instead."""


@dataclass(frozen=True)
class SearchOptions:
    """How hard and how the solver searches (defaults measured on Solomon, see DESIGN §4b).

    ``first_solutions`` names OR-Tools first-solution strategies; with more than one, the
    time is split and the best plan kept. ``gls_lambda`` is guided local search's penalty
    coefficient. ``disabled_operators`` and ``enabled_operators`` name fields of OR-Tools'
    local_search_operators to switch off or on. ``decompose`` lets the engine solve a
    problem whose stops nearly all have a van one van at a time (app.planning.decompose),
    and ``van_workers`` processes share those vans (forked, where the OS can fork).
    ``engine`` picks the library (app.planning.engines); ``max_iterations`` ends a PyVRP
    search after that many iterations as well as at the time limit (the same problem then
    gives the same plan on any machine); the other fields are OR-Tools'.
    """

    engine: Engine = Engine.ORTOOLS

    first_solutions: tuple[str, ...] = ("LOCAL_CHEAPEST_INSERTION",)
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    # 0.5, not OR-Tools' 0.1: on 12 hard Solomon instances at 5 s, 0.1 looked better
    # (7.3% -> 5.3%), but over all 56 it made easy ones worse (C109 0.9% -> 6.5%) and the
    # mean went 3.0% -> 4.3% (under a busier machine, so not a clean comparison).
    gls_lambda: float = 0.5
    full_propagation: bool = False
    disabled_operators: tuple[str, ...] = SLOW_OPERATORS
    enabled_operators: tuple[str, ...] = ()
    decompose: bool = True
    van_workers: int = 1
    max_iterations: int | None = None


@dataclass(frozen=True)
class SolveCall:
    """How one search runs, whichever engine does it: for ``time_limit_s`` seconds of
    wall clock, telling ``on_progress`` of every better plan, ending early (keeping the
    best plan so far) when ``should_stop`` answers True, searching as ``options`` say."""

    time_limit_s: float
    on_progress: ProgressCallback | None = None
    should_stop: StopRequested | None = None
    options: SearchOptions = SearchOptions()

    def report(self, progress: SolveProgress) -> None:
        """Tell the caller of a better plan, if it listens."""
        if self.on_progress is not None:
            self.on_progress(progress)

    def stop_requested(self) -> bool:
        """True when the caller asked the search to end."""
        return self.should_stop is not None and self.should_stop()
