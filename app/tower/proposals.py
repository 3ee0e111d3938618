"""The proposal desk: re-plans asked for, solved in a child process, reviewed, decided.

One solve at a time (the solver holds a core). A finished solve becomes a proposal with
its diff and the depot's auto-accept verdict; the dispatcher accepts or rejects it. An
accepted proposal becomes a new plan version: stored, applied to the live day, and each
changed vehicle's route is published retained to ``{prefix}/vehicles/{id}/route``.

An open proposal is kept current (proposal_currency.py): it turns stale the moment a van
of its scope gets another route, expires after ``[replan] proposal_ttl_min`` or when its
trigger is resolved, and is superseded by a newer proposal for the same trigger. A stale
proposal cannot be accepted; ``resolve_again`` asks its re-plan anew, from now.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from app.domain.plan_diff import AutoAcceptPolicy
from app.foundation.clock import Clock
from app.foundation.events import Event
from app.foundation.settings import Settings
from app.foundation.time_text import TimeText
from app.planning.matrix import MatrixError, provider_from_settings
from app.planning.problem import Matrices, SearchOptions, SolveProgress
from app.planning.runner import SolveHandle, start_solve
from app.storage.operations_repository import (
    decide_proposal,
    expire_open_proposals,
    note_proposal_reason,
    store_proposal,
)
from app.tower.decisions import PlanDecisions, ProposalRecord
from app.tower.live_day import LiveDay
from app.tower.plan_adoption import (
    diff_json,
)
from app.tower.proposal_currency import (
    EXPIRED,
    OPEN,
    STALE,
    SUPERSEDED,
    TOWER_USER,
    ReplanRequest,
    why_expired,
    why_stale,
)
from app.tower.replanning import (
    NEIGHBOURS,
    LiveDraft,
    LiveProblem,
    Proposal,
    RoadNow,
    draft_live_problem,
    make_proposal,
    vehicles_in_scope,
)
from app.tower.telemetry_feed import TelemetryFeed
from app.tower.tweaks import Tweak, TweakError, moved_stops, tweak_problem

log = logging.getLogger(__name__)
LOCAL_SOLVE_S = 3.0
DEPOT_SOLVE_S = 10.0
DEPOT_SEARCH = SearchOptions(van_workers=min(os.cpu_count() or 1, 4))
"""A whole-depot re-plan is the dispatcher's request, awaited: its vans are searched on
every core (up to 4; the solver processes run at a lower priority than the window). On
the mid-day state of benchmarks/replan.py (2026-12-03) one core left 10 s of it 0.83-0.85%
above 60 s, two cores 0.49% (docs/planning.md). Self-healing local re-plans, a few a
minute, keep to one core."""


@dataclass(frozen=True)
class _Replaced:
    """The proposal a tweak replaces, what the tweak did, and who did it."""

    proposal_id: int
    what: str
    user: str


@dataclass(frozen=True)
class _Asked:
    """A re-plan as asked for, and each van's route revision then (what it is built on)."""

    request: ReplanRequest
    revisions: dict[str, int]


@dataclass(frozen=True)
class _Running:
    """The solve in progress, and (for a tweak) the proposal it replaces."""

    handle: SolveHandle
    live: LiveProblem
    asked: _Asked
    replaces: _Replaced | None = None


@dataclass(frozen=True)
class _Storing:
    """A finished re-plan's proposal on its way to storage: it is shown once its row (and
    so its id) exists. The row queues behind the fix batches, which took up to 0.5 s at
    2,000 vans: waiting for it held the GUI thread as long."""

    stored: Future[None]
    ids: dict[str, int]  # "id": the row's, once stored
    proposal: Proposal
    created_at: float
    auto_ok: bool
    auto_reason: str
    asked: _Asked
    replaces: _Replaced | None


@dataclass(frozen=True)
class _Fetching:
    """A re-plan waiting for its travel times, fetched off the window's thread (OSRM is
    a network call); the solve starts once they are in."""

    matrices: Future[Matrices]
    draft: LiveDraft
    whole_depot: bool
    asked: _Asked
    replaces: _Replaced | None = None
    tweak: tuple[Tweak, dict[str, str]] | None = None  # and the stops it moved


class ProposalDesk:
    """Asks for re-plans, turns results into proposals and applies decisions.

    Nothing here waits for the network, a solve or storage: travel times are fetched on a
    thread of their own, the solve runs in a child process, a decision is live at once
    and ``decided`` announces it (on the thread that polls) once its plan version is
    stored and published.

    Signals:
        decided (Event[ProposalRecord]): an accepted, auto-accepted or undone proposal's
            plan version is stored (``plan_version`` set) and its routes published.
        closed (Event[ProposalRecord]): the tower closed a proposal no one decided on:
            stale, expired or superseded (``closed_reason`` says why).
    """

    def __init__(
        self,
        settings: Settings,
        live: LiveDay,
        clock: Clock,
        feed: TelemetryFeed,
        policy: AutoAcceptPolicy | None = None,
        told: Callable[[], Mapping[str, float]] | None = None,
    ) -> None:
        self.settings = settings
        self.live = live
        self.clock = clock
        self.feed = feed
        # The ETAs customers rely on, by stop id (Operations.promised_etas): moving one
        # costs in a re-plan.
        self._told = told
        replan = settings.replan_for(live.depot.id)
        self.policy = policy or AutoAcceptPolicy(
            enabled=replan.auto_accept, min_minutes_saved=replan.min_minutes_saved
        )
        self.ttl_min = replan.proposal_ttl_min
        self._times = TimeText(live.depot.timezone)
        self.closed: Event[ProposalRecord] = Event()
        self.provider = provider_from_settings(settings.planning)
        self.proposals: dict[int, ProposalRecord] = {}
        self.decisions = PlanDecisions(settings, live, clock, feed)
        # Emitted by poll(), on the thread that polls (the GUI timer's).
        self.decided: Event[ProposalRecord] = self.decisions.decided
        self._fetcher = ThreadPoolExecutor(1, thread_name_prefix="travel-times")
        self._fetching: _Fetching | None = None
        self._running: _Running | None = None
        self._storing: _Storing | None = None
        self._failure: str | None = None
        self.progress: SolveProgress | None = None  # of the running solve (elapsed, cost)

    @property
    def solving(self) -> bool:
        """A re-plan is being solved, or waits for its travel times (it can be cancelled;
        a solve's progress is shown)."""
        return self._fetching is not None or self._running is not None

    @property
    def busy(self) -> bool:
        """A re-plan is waiting for travel times, being solved, or its proposal stored."""
        return any(x is not None for x in (self._fetching, self._running, self._storing))

    def request(
        self,
        vehicle_id: str | None,
        trigger: str,
        *,
        resequence_only: bool = False,
        neighbours: int = NEIGHBOURS,
        adding: Mapping[str, str] | None = None,
    ) -> bool:
        """Start a re-plan: the vehicle and its ``neighbours`` nearest others, or (None)
        the depot; ``adding`` (stop id -> van of the re-plan) puts stops on no van yet
        on those vans (an urgent order assigned to one).

        False while another re-plan is running (one solve at a time). The solve starts
        once the travel times are in (a later ``poll``); a re-plan that cannot start (no
        travel times from the matrix provider) is a failure, which take_failure() reports.
        """
        if self.busy:
            return False
        vehicles = list(self.live.vehicles)
        if vehicle_id is not None:
            fixes = self.feed.fleet.latest_fixes()
            vehicles = vehicles_in_scope(vehicle_id, vehicles, fixes, neighbours)
        road = self.road_now()
        draft = draft_live_problem(
            road, vehicles, trigger, resequence_only=resequence_only, adding=adding
        )
        matrices = self._fetcher.submit(draft.fetch, road.provider)
        added = tuple(sorted((adding or {}).items()))
        asked = self._asked(ReplanRequest(vehicle_id, trigger, resequence_only, neighbours, added))
        self._fetching = _Fetching(matrices, draft, whole_depot=vehicle_id is None, asked=asked)
        log.info("re-plan for %s (%s)", vehicle_id or "the depot", trigger)
        return True

    def _asked(self, request: ReplanRequest) -> _Asked:
        """The request with the live day's route revisions now (what its draft reads)."""
        return _Asked(request, {v: s.revision for v, s in self.live.route_stamps.items()})

    def resolve_again(self, proposal_id: int) -> bool:
        """Re-solve from now: ask a stale (or any) proposal's re-plan again, for the same
        trigger and scope; its result supersedes it. False while another re-plan runs."""
        record = self.proposals.get(proposal_id)
        if record is None or record.request is None:
            raise ValueError(f"proposal {proposal_id} is not on the desk")
        r = record.request
        return self.request(
            r.vehicle_id,
            r.trigger,
            resequence_only=r.resequence_only,
            neighbours=r.neighbours,
            adding=dict(r.adding),
        )

    def _fetched(self) -> None:
        """Start the solve of a re-plan whose travel times came in."""
        fetching = self._fetching
        if fetching is None or not fetching.matrices.done():
            return
        self._fetching = None
        trigger = fetching.draft.trigger
        try:
            live = fetching.draft.finish(fetching.matrices.result())  # done: no wait
            if fetching.tweak is not None:
                live = tweak_problem(live, *fetching.tweak)
        except MatrixError as exc:
            self._failure = f"{trigger}: no travel times ({exc})"
        except TweakError as exc:
            self._failure = f"{trigger}: {exc}"
        else:
            self._start(live, fetching.whole_depot, fetching.asked, fetching.replaces)
            return
        log.warning("re-plan not started: %s", self._failure)

    def tweak(self, proposal_id: int, tweak: Tweak, user: str) -> bool:
        """Re-solve an open proposal around the dispatcher's moves and locks.

        The state is taken afresh (the vans moved on since the proposal); the result is a
        new proposal with its own diff against the live plan, and it replaces this one
        when it arrives. False while another re-plan is running; TweakError when the
        tweak cannot be honoured on the proposal (the proposal stays open). Like a
        request, it is solved once its travel times are in; a tweak the road no longer
        allows by then (parcels loaded since) is a failure take_failure() reports.
        """
        record = self._open(proposal_id)
        if self.busy:
            return False
        original = record.proposal
        moved = moved_stops(original.routes, tweak)
        tweak_problem(original.live, tweak, moved)  # the dispatcher hears at once
        scope = set(original.live.scope)
        vehicles = [v for v in self.live.vehicles if v.id in scope]
        road = self.road_now()
        trigger = f"tweak of #{proposal_id}"
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
            whole_depot=len(scope) == len(self.live.vehicles),
            asked=self._asked(request),
            replaces=_Replaced(proposal_id, what, user),
            tweak=(tweak, moved),
        )
        log.info("tweak of proposal %d: %s", proposal_id, what)
        return True

    def road_now(self) -> RoadNow:
        """The live day as a re-plan (or an urgent order) starts from, now."""
        positions = self.feed.fleet.latest_fixes()
        live = self.live
        told = self._told() if self._told is not None else {}
        return RoadNow(
            live.depot, live.tracker, positions, self.provider, live.day, self.clock.now(), told
        )

    def _start(
        self, live: LiveProblem, whole_depot: bool, asked: _Asked, replaces: _Replaced | None
    ) -> None:
        self.progress = None
        seconds, options = (DEPOT_SOLVE_S, DEPOT_SEARCH) if whole_depot else (LOCAL_SOLVE_S, None)
        handle = start_solve(live.problem, seconds, self._on_progress, options)
        self._running = _Running(handle, live, asked, replaces)

    def take_failure(self) -> str | None:
        """Why the last re-plan gave no proposal, once (None when nothing failed)."""
        failure, self._failure = self._failure, None
        return failure or self.decisions.take_failure()

    def _on_progress(self, progress: SolveProgress) -> None:
        self.progress = progress

    def poll(self) -> ProposalRecord | None:
        """Collect stored decisions and a finished solve (call from the GUI timer); the
        new proposal, if any, once it is stored (a later call when storage is behind)."""
        self.decisions.poll()
        self.review()
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
        proposal = make_proposal(live, result)
        auto_ok, reason = self.policy.verdict(proposal.diff, proposal.before, proposal.after)
        now = self.clock.now()
        row = {
            "depot_id": self.live.depot.id,
            "created_at": now,
            "trigger": live.trigger,
            "status": "open",
            "diff": diff_json(proposal),
            "figures_before": proposal.diff.before.as_dict(),
            "figures_after": proposal.diff.after.as_dict(),
        }
        ids: dict[str, int] = {}
        stored = self.feed.storage.submit(lambda s: ids.update(id=store_proposal(s, row)))
        self._storing = _Storing(
            stored, ids, proposal, now, auto_ok, reason, running.asked, running.replaces
        )
        return self._stored()

    def _stored(self) -> ProposalRecord | None:
        """The stored proposal on the desk (and auto-accepted if the policy says so); None
        while its row is not written yet."""
        storing = self._storing
        if storing is None or not storing.stored.done():
            return None
        self._storing = None
        if "id" not in storing.ids:  # the storage worker logged why
            self._failure = f"{storing.proposal.live.trigger}: the proposal could not be stored"
            return None
        record = ProposalRecord(
            storing.ids["id"],
            storing.proposal,
            storing.created_at,
            storing.auto_ok,
            storing.auto_reason,
            request=storing.asked.request,
            built_on={v: storing.asked.revisions.get(v, 0) for v in storing.proposal.live.scope},
        )
        trigger = storing.proposal.live.trigger
        for other in self.proposals.values():
            if other.status in (OPEN, STALE) and other.proposal.live.trigger == trigger:
                self._close(other, SUPERSEDED, f"replaced by #{record.id}")
        self.proposals[record.id] = record
        if storing.replaces is not None:
            self._retire(storing.replaces, record.id, storing.created_at)
        self.review()  # a plan accepted while it was solved makes it stale at once
        if storing.auto_ok and storing.replaces is None and record.status == OPEN:
            # A tweak's result goes back to the dispatcher who asked for it.
            self.accept(record.id, "policy", auto=True)
        return record

    def _retire(self, replaced: _Replaced, by: int, now: float) -> None:
        """A tweak's result replaces the proposal it tweaked (if still open)."""
        record = self.proposals.get(replaced.proposal_id)
        if record is None or record.status != OPEN:
            return
        reason = f"tweaked ({replaced.what}); replaced by #{by}"
        # Not awaited: the storage worker keeps jobs in order, and logs a failure.
        self.feed.storage.submit(
            lambda s: decide_proposal(
                s, replaced.proposal_id, "tweaked", now, replaced.user, reason
            )
        )
        record.status = "tweaked"

    def review(self) -> None:
        """Close the open proposals that are no longer current: stale (a van of their
        scope got another route), expired (too old); a stale one expires too."""
        now = self.clock.now()
        for record in list(self.proposals.values()):
            if record.status == OPEN and (why := self.why_stale(record)) is not None:
                self._close(record, STALE, why)
            elif record.status == STALE and (why := self.why_stale(record)) != record.closed_reason:
                self._restate(record, why or record.closed_reason)
            expired = why_expired(record.created_at, now, self.ttl_min)
            if record.status in (OPEN, STALE) and expired is not None:
                self._close(record, EXPIRED, expired)

    def why_stale(self, record: ProposalRecord) -> str | None:
        """Why the proposal no longer fits the live plan (None: it does)."""
        return why_stale(record.built_on, self.live.route_stamps, self._times.hm)

    def trigger_resolved(self, trigger: str) -> None:
        """The exception that set these re-plans off is resolved: their proposals expire."""
        for record in list(self.proposals.values()):
            if record.status in (OPEN, STALE) and record.proposal.live.trigger == trigger:
                self._close(record, EXPIRED, "its trigger was resolved")

    def _close(self, record: ProposalRecord, status: str, reason: str) -> None:
        """The tower closes an undecided proposal: stored, audited, announced."""
        proposal_id, now = record.id, self.clock.now()
        # Not awaited: the storage worker keeps jobs in order, and logs a failure.
        self.feed.storage.submit(
            lambda s: decide_proposal(s, proposal_id, status, now, TOWER_USER, reason)
        )
        record.status, record.closed_reason = status, reason
        log.info("proposal %d %s: %s", proposal_id, status, reason)
        self.closed.emit(record)

    def restore(self) -> None:
        """At a start: the proposals an earlier run left open were solved for a road that
        moved on, and this desk does not hold them; storage says they expired."""
        depot_id, now = self.live.depot.id, self.clock.now()
        reason = "the tower restarted: solved for a road that has moved on"
        self.feed.storage.submit(
            lambda s: expire_open_proposals(s, depot_id, now, TOWER_USER, reason)
        )

    def _restate(self, record: ProposalRecord, reason: str) -> None:
        """A stale proposal's reason grew (the plan version that made it stale is stored)."""
        proposal_id = record.id
        self.feed.storage.submit(lambda s: note_proposal_reason(s, proposal_id, reason))
        record.closed_reason = reason
        self.closed.emit(record)

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

    def accept(self, proposal_id: int, user: str, *, auto: bool = False) -> ProposalRecord:
        """Make the proposal the plan: live at once; its version is stored and its routes
        published behind (``decided`` says when). A proposal no longer current is
        refused (ValueError, with why) and marked so; nothing changes."""
        record = self._open(proposal_id)
        if (why := self.why_stale(record)) is not None:
            self._close(record, STALE, why)
            record = self._open(proposal_id)  # raises, saying why
        accepted = self.decisions.accept(record, user, auto=auto)
        self.review()  # the proposals built on the routes it replaced are stale now
        return accepted

    def undo(self, proposal_id: int, user: str) -> ProposalRecord:
        """Put the day back as it was before an accepted proposal (a new plan version)."""
        record = self.proposals.get(proposal_id)
        if record is None or record.status not in ("accepted", "auto_accepted"):
            raise ValueError(f"proposal {proposal_id} was not accepted")
        undone = self.decisions.undo(record, user)
        self.review()
        return undone

    def reject(self, proposal_id: int, user: str, reason: str) -> ProposalRecord:
        """Turn the proposal down; the reason goes to the audit log."""
        return self.decisions.reject(self._open(proposal_id), user, reason)

    def _open(self, proposal_id: int) -> ProposalRecord:
        record = self.proposals.get(proposal_id)
        if record is not None and record.status == STALE:
            raise ValueError(
                f"proposal {proposal_id} is stale: {record.closed_reason}; re-solve from now"
            )
        if record is None or record.status != OPEN:
            why = (
                f" ({record.status}: {record.closed_reason})"
                if record and record.closed_reason
                else ""
            )
            raise ValueError(f"proposal {proposal_id} is not open{why}")
        return record
