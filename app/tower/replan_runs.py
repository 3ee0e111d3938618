"""Re-plans from asked to stored: travel times, the solve, the proposal's row.

One re-plan at a time (the solver holds a core), and nothing here waits: a re-plan's
travel times are fetched on a thread of its own (OSRM is a network call), its solve runs
in a child process, and its proposal's row is written by the storage worker. Each
``poll`` moves the one re-plan on; the proposal desk (proposals.py) takes what comes out.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from app.domain.model import Vehicle
from app.foundation.clock import Clock
from app.foundation.settings import Settings
from app.planning.matrix import MatrixError, provider_from_settings
from app.planning.problem import Matrices, SearchOptions, SolveProgress
from app.planning.runner import STARTUP_ALLOWANCE_S, SolveHandle, start_solve
from app.storage.operations_repository import store_proposal
from app.tower.decisions import ProposalRecord
from app.tower.kept_order import keep_order
from app.tower.live_day import LiveDay
from app.tower.plan_adoption import (
    changed_routes,
    changed_vans,
    collect_orders,
    diff_json,
    stops_after,
)
from app.tower.proposal_currency import SELF_HEALING, ReplanRequest, RouteStamp
from app.tower.replan_proposal import Proposal, make_proposal
from app.tower.replanning import (
    LiveDraft,
    LiveProblem,
    RoadNow,
    draft_live_problem,
    vehicles_in_scope,
)
from app.tower.telemetry_feed import TelemetryFeed
from app.tower.tweaks import Tweak, TweakError, moved_stops, tweak_problem

log = logging.getLogger(__name__)
LOCAL_SOLVE_S = 3.0
DEPOT_SOLVE_S = 10.0
RESCUE_SOLVE_S = 10.0
DEPOT_SEARCH = SearchOptions(van_workers=min(os.cpu_count() or 1, 4))
"""A whole-depot re-plan is the dispatcher's request, awaited: its vans are searched on
every core (up to 4; the solver processes run at a lower priority than the window). On
the mid-day state of benchmarks/replan.py (2026-12-03) one core left 10 s of it 0.83-0.85%
above 60 s, two cores 0.49% (docs/planning.md). Self-healing local re-plans, a few a
minute, keep to one core."""


@dataclass(frozen=True)
class TweakOf:
    """A tweak of proposal ``proposal_id``, whose result replaces it: the dispatcher's
    moves and locks, the stops they moved, what they did in words, and who made them."""

    proposal_id: int
    tweak: Tweak
    moved: dict[str, str]
    what: str
    user: str


@dataclass(frozen=True)
class Asked:
    """A re-plan as asked for, each van's route revision then (what it is built on), and
    the tweak it re-solves, if it does."""

    request: ReplanRequest
    revisions: dict[str, int]
    tweak: TweakOf | None = None
    # Each van's stored route version then (or the stamp of a plan not stored yet).
    versions: Mapping[str, int | RouteStamp] = field(default_factory=dict)


@dataclass(frozen=True)
class _Fetching:
    """A re-plan waiting for its travel times; the solve starts once they are in."""

    matrices: Future[Matrices]
    draft: LiveDraft
    whole_depot: bool
    asked: Asked


@dataclass(frozen=True)
class _Running:
    """The solve in progress, and what it answers."""

    handle: SolveHandle
    live: LiveProblem
    asked: Asked


@dataclass(frozen=True)
class Stored:
    """A finished re-plan's proposal, made at ``created_at`` and stored as a row (``row``
    gives its id, None when it could not be stored). It is handed on once the row exists:
    the row queues behind the fix batches, which took up to 0.5 s at 2,000 vans, and
    waiting for it held the GUI thread as long."""

    row: Future[int | None]
    proposal: Proposal
    created_at: float
    asked: Asked


class ReplanRuns:
    """The one re-plan under way: waiting for travel times, solving, or being stored."""

    def __init__(
        self,
        settings: Settings,
        live: LiveDay,
        clock: Clock,
        feed: TelemetryFeed,
        told: Callable[[], Mapping[str, float]] | None = None,
    ) -> None:
        self.live = live
        self.clock = clock
        self.feed = feed
        # The ETAs customers rely on, by stop id (Operations.promised_etas): moving one
        # costs in a re-plan.
        self._told = told
        self.provider = provider_from_settings(settings.planning)
        self._fetcher = ThreadPoolExecutor(1, thread_name_prefix="travel-times")
        self._fetching: _Fetching | None = None
        self._running: _Running | None = None
        self._storing: Stored | None = None
        self._failure: str | None = None
        self.progress: SolveProgress | None = None  # of the running solve (elapsed, cost)
        # Real seconds a solve's child may take to start before it is deemed hung and
        # killed (no plan); a day played offline, whose clock waits, allows more.
        self.startup_s = STARTUP_ALLOWANCE_S

    @property
    def solving(self) -> bool:
        """A re-plan is being solved, or waits for its travel times (it can be cancelled;
        a solve's progress is shown)."""
        return self._fetching is not None or self._running is not None

    @property
    def busy(self) -> bool:
        """A re-plan is waiting for travel times, being solved, or its proposal stored."""
        return any(x is not None for x in (self._fetching, self._running, self._storing))

    def request(self, request: ReplanRequest) -> bool:
        """Start a re-plan: the request's vehicle and its nearest others, or (no vehicle)
        the depot.

        False while another re-plan is running (one solve at a time). The solve starts
        once the travel times are in (a later ``poll``); a re-plan that cannot start (no
        travel times from the matrix provider) is a failure, which take_failure() reports.
        """
        if self.busy:
            return False
        vehicle_id = request.vehicle_id
        vehicles = self.depot_vehicles()
        if vehicle_id is not None:
            fixes = self.feed.fleet.latest_fixes()
            vehicles = vehicles_in_scope(vehicle_id, vehicles, fixes, request.neighbours)
        road = self.road_now()
        draft = draft_live_problem(
            road,
            vehicles,
            request.trigger,
            resequence_only=request.resequence_only,
            adding=dict(request.adding),
        )
        matrices = self._fetcher.submit(draft.fetch, road.provider)
        asked = self._asked(request)
        self._fetching = _Fetching(matrices, draft, whole_depot=vehicle_id is None, asked=asked)
        log.info("re-plan for %s (%s)", vehicle_id or "the depot", request.trigger)
        return True

    def _asked(self, request: ReplanRequest, tweak: TweakOf | None = None) -> Asked:
        """The request with the live day's route revisions now (what its draft reads)."""
        revisions = {v: s.revision for v, s in self.live.route_stamps.items()}
        versions = self.live.built_on(v.id for v in self.live.vehicles)
        return Asked(request, revisions, tweak, versions)

    def tweak(self, record: ProposalRecord, tweak: Tweak, user: str) -> bool:
        """Re-solve an open proposal around the dispatcher's moves and locks.

        The state is taken afresh (the vans moved on since the proposal); the result is a
        new proposal with its own diff against the live plan, which replaces this one.
        False while another re-plan is running; TweakError when the tweak cannot be
        honoured on the proposal. Like a request, it is solved once its travel times are
        in; a tweak the road no longer allows by then (parcels loaded since) is a failure
        take_failure() reports.
        """
        if self.busy:
            return False
        original = record.proposal
        moved = moved_stops(original.routes, tweak)
        tweak_problem(original.live, tweak, moved)  # the dispatcher hears at once
        scope = set(original.live.scope)
        vehicles = [v for v in self.live.vehicles if v.id in scope]
        road = self.road_now()
        trigger = f"tweak of #{record.id}"
        resequence_only = original.live.resequence_only
        # A new stop the proposal put on a van stays on it (an urgent order's one van).
        draft = draft_live_problem(
            road, vehicles, trigger, resequence_only=resequence_only, adding=original.live.added
        )
        what = tweak.describe(original.routes)
        # Re-solving a tweak's result from now asks the re-plan the tweaked one answered.
        request = record.request or ReplanRequest(None, trigger, resequence_only)
        self._fetching = _Fetching(
            self._fetcher.submit(draft.fetch, road.provider),
            draft,
            whole_depot=len(scope) == len(self.depot_vehicles()),
            asked=self._asked(request, TweakOf(record.id, tweak, moved, what, user)),
        )
        log.info("tweak of proposal %d: %s", record.id, what)
        return True

    def depot_vehicles(self) -> list[Vehicle]:
        """The watched depot's vans: a re-plan is one depot's (its vans start and end
        there), whatever other depots the tower runs."""
        depot_id = self.live.depot.id
        return [v for v in self.live.vehicles if v.depot_id == depot_id]

    def road_now(self) -> RoadNow:
        """The live day as a re-plan (or an urgent order) starts from, now."""
        positions = self.feed.fleet.latest_fixes()
        live = self.live
        told = self._told() if self._told is not None else {}
        return RoadNow(
            live.depot, live.tracker, positions, self.provider, live.day, self.clock.now(), told
        )

    def poll(self) -> tuple[int, Stored] | None:
        """Move the re-plan on (call from the GUI timer): start its solve once the travel
        times are in, store a finished solve's proposal; the proposal's row id and the
        proposal once it is stored (a later call when storage is behind)."""
        self._fetched()
        if self._storing is not None:
            return self._stored()
        if self._running is None:
            return None
        running = self._running
        result = running.handle.poll()
        if result is None:
            return None
        self._running = None
        self.progress = None  # solved: the window stops showing the solve's progress
        live = running.live
        if not result.has_plan:
            self._failure = f"{live.trigger}: no plan ({result.message or result.status})"
            log.warning("re-plan failed: %s", self._failure)
            return None
        asked = running.asked
        if asked.request.keep_order and asked.tweak is None:
            # The tower's own re-plan moves no more customers' ETAs than its gain is
            # worth (a tweak is the dispatcher's order).
            result = keep_order(live, result)
        proposal = make_proposal(live, result)
        now = self.clock.now()
        tracker = self.live.tracker
        routes = changed_routes(stops_after(tracker, proposal), changed_vans(tracker, proposal))
        tweaked = running.asked.tweak  # a tweak's result is its dispatcher's
        if not routes and asked.request.by == SELF_HEALING:
            # The tower's own re-plan changes no van's route: nothing to offer or accept (a
            # person who asked sees the proposal say so: the current routes stand).
            log.info("re-plan for %s: nothing to change", live.trigger)
            return None
        author = tweaked.user if tweaked is not None else running.asked.request.by
        row = {
            "depot_id": self.live.depot.id,
            "created_at": now,
            "trigger": live.trigger,
            "author": author,
            "status": "open",
            "diff": diff_json(proposal),
            "figures_before": proposal.diff.before.as_dict(),
            "figures_after": proposal.diff.after.as_dict(),
        }
        plan = {"day": self.live.day.iso, "routes": routes, "unserved": list(proposal.unserved)}
        plan["asked"] = asked_json(running.asked.request)  # another desk may ask it again
        plan["km_change"] = proposal.km_change
        if collect := collect_orders(tracker, proposal):  # what main.py accept sends too
            plan["collect"] = collect
        scope = {v: running.asked.versions.get(v, 0) for v in live.scope}
        version_for = self.live.version_for

        def store(session: Any) -> int:
            # On the storage thread, after any plan it was built on (jobs run in order).
            built_on = {v: version_for(stamp) for v, stamp in scope.items()}
            return store_proposal(session, row | {"plan": plan | {"built_on": built_on}})

        stored = self.feed.storage.submit(store)
        self._storing = Stored(stored, proposal, now, running.asked)
        return self._stored()

    def _fetched(self) -> None:
        """Start the solve of a re-plan whose travel times came in."""
        fetching = self._fetching
        if fetching is None or not fetching.matrices.done():
            return
        self._fetching = None
        trigger = fetching.draft.trigger
        try:
            live = fetching.draft.finish(fetching.matrices.result())  # done: no wait
            tweak = fetching.asked.tweak
            if tweak is not None:
                live = tweak_problem(live, tweak.tweak, tweak.moved)
        except MatrixError as exc:
            self._failure = f"{trigger}: no travel times ({exc})"
        except TweakError as exc:
            self._failure = f"{trigger}: {exc}"
        else:
            self._start(live, fetching.whole_depot, fetching.asked)
            return
        log.warning("re-plan not started: %s", self._failure)

    def _start(self, live: LiveProblem, whole_depot: bool, asked: Asked) -> None:
        self.progress = None
        seconds, options = (DEPOT_SOLVE_S, DEPOT_SEARCH) if whole_depot else (LOCAL_SOLVE_S, None)
        if live.rescued_from:
            # A rescue inserts a broken van's every stop as a pickup and a delivery: in
            # 3 s on a loaded machine noon_breakdown's (24 stops) left 20 for tomorrow.
            seconds = max(seconds, RESCUE_SOLVE_S)
        handle = start_solve(
            live.problem, seconds, self._on_progress, options, startup_s=self.startup_s
        )
        self._running = _Running(handle, live, asked)

    def _on_progress(self, progress: SolveProgress) -> None:
        self.progress = progress

    def _stored(self) -> tuple[int, Stored] | None:
        """The stored proposal's row id and the proposal; None while the row is not
        written yet."""
        storing = self._storing
        if storing is None or not storing.row.done():
            return None
        self._storing = None
        row_id = storing.row.result()  # done: no wait
        if row_id is None:  # the storage worker logged why
            self._failure = f"{storing.proposal.live.trigger}: the proposal could not be stored"
            return None
        return row_id, storing

    def take_failure(self) -> str | None:
        """Why the last re-plan gave no proposal, once (None when nothing failed)."""
        failure, self._failure = self._failure, None
        return failure

    def cancel(self) -> None:
        """Stop the running solve (its best plan still becomes a proposal), or forget a
        re-plan still waiting for its travel times."""
        if self._fetching is not None:
            self._fetching.matrices.cancel()
            self._fetching = None
        if self._running is not None:
            self._running.handle.cancel()

    def close(self) -> None:
        """Cancel what runs and let the travel-time thread go (the tower stops)."""
        self.cancel()
        self._fetcher.shutdown(wait=False, cancel_futures=True)


def asked_json(request: ReplanRequest) -> dict[str, Any]:
    """What a re-plan was asked for, as a proposal's row keeps it (other_desks.py reads
    it back): the van (None: the depot), its neighbours, new stops, resequencing only."""
    return {
        "vehicle_id": request.vehicle_id,
        "neighbours": request.neighbours,
        "resequence_only": request.resequence_only,
        "adding": [list(pair) for pair in request.adding],
    }
