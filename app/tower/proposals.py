"""The proposal desk: re-plans asked for, solved in a child process, reviewed, decided.

One solve at a time (the solver holds a core). A finished solve becomes a proposal with
its diff and the depot's auto-accept verdict; the dispatcher accepts or rejects it. An
accepted proposal becomes a new plan version: stored, applied to the live day, and each
changed vehicle's route is published retained to ``{prefix}/vehicles/{id}/route``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from app.domain.model import FleetSnapshot, Stop, StopStatus, Vehicle
from app.domain.plan_diff import AutoAcceptPolicy
from app.foundation.clock import Clock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.planning.matrix import MatrixError, provider_from_settings
from app.planning.problem import SearchOptions, SolveProgress
from app.planning.runner import SolveHandle, start_solve
from app.storage.operations_repository import decide_proposal, store_plan_version, store_proposal
from app.telemetry.contract import ROUTE, payload
from app.tower.operations import Operations
from app.tower.replanning import (
    PICKUP,
    LiveProblem,
    Proposal,
    Tweak,
    TweakError,
    build_live_problem,
    make_proposal,
    moved_stops,
    tweak_problem,
    vehicles_in_scope,
)
from app.tower.telemetry_feed import TelemetryFeed

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
class _Running:
    """The solve in progress, and (for a tweak) the proposal it replaces."""

    handle: SolveHandle
    live: LiveProblem
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
    replaces: _Replaced | None


@dataclass
class ProposalRecord:
    """A proposal on the desk, with the policy's verdict and its decision."""

    id: int
    proposal: Proposal
    created_at: float
    auto_ok: bool
    auto_reason: str
    status: str = "open"  # open, accepted, rejected, auto_accepted, undone, tweaked
    plan_version: int | None = None
    previous_stops: tuple[Stop, ...] = ()  # the day before it was accepted (for undo)


class ProposalDesk:
    """Asks for re-plans, turns results into proposals and applies decisions."""

    def __init__(
        self,
        settings: Settings,
        snapshot: FleetSnapshot,
        day: OperatingDay,
        clock: Clock,
        feed: TelemetryFeed,
        operations: Operations,
        apply_stops: Callable[[list[Stop]], None],
        policy: AutoAcceptPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.snapshot = snapshot
        self.day = day
        self.clock = clock
        self.feed = feed
        self.operations = operations
        self.apply_stops = apply_stops
        replan = settings.replan_for(snapshot.depots[0].id)
        self.policy = policy or AutoAcceptPolicy(
            enabled=replan.auto_accept, min_minutes_saved=replan.min_minutes_saved
        )
        self.provider = provider_from_settings(settings.planning)
        self.proposals: dict[int, ProposalRecord] = {}
        self._running: _Running | None = None
        self._storing: _Storing | None = None
        self._failure: str | None = None
        self.progress: SolveProgress | None = None  # of the running solve (elapsed, cost)

    @property
    def solving(self) -> bool:
        """A re-plan is being solved (it can be cancelled; its progress is shown)."""
        return self._running is not None

    @property
    def busy(self) -> bool:
        """A re-plan is being solved, or its proposal stored."""
        return self._running is not None or self._storing is not None

    def request(
        self, vehicle_id: str | None, trigger: str, *, resequence_only: bool = False
    ) -> bool:
        """Start a re-plan: the vehicle and its nearest neighbours, or (None) the depot.

        False while another re-plan is running (one solve at a time). A re-plan that
        cannot start (no travel times from the matrix provider) is a failure, which
        take_failure() reports.
        """
        if self.busy:
            return False
        vehicles = list(self.snapshot.vehicles)
        if vehicle_id is not None:
            vehicles = vehicles_in_scope(vehicle_id, vehicles, self.feed.fleet.latest_fixes())
        try:
            live = self._live(vehicles, trigger, resequence_only)
        except MatrixError as exc:
            self._failure = f"{trigger}: no travel times ({exc})"
            log.warning("re-plan not started: %s", self._failure)
            return True
        self._start(live, whole_depot=vehicle_id is None)
        log.info(
            "re-plan for %s (%s): %d stops", vehicle_id or "the depot", trigger, len(live.stop_ids)
        )
        return True

    def tweak(self, proposal_id: int, tweak: Tweak, user: str) -> bool:
        """Re-solve an open proposal around the dispatcher's moves and locks.

        The state is taken afresh (the vans moved on since the proposal); the result is a
        new proposal with its own diff against the live plan, and it replaces this one
        when it arrives. False while another re-plan is running; TweakError when the
        tweak cannot be honoured (the proposal stays open).
        """
        record = self._open(proposal_id)
        if self.busy:
            return False
        original = record.proposal
        scope = set(original.live.scope)
        vehicles = [v for v in self.snapshot.vehicles if v.id in scope]
        try:
            live = self._live(vehicles, f"tweak of #{proposal_id}", original.live.resequence_only)
        except MatrixError as exc:
            raise TweakError(f"no travel times ({exc})") from exc
        moved = moved_stops(original.routes, tweak)
        tweaked = tweak_problem(live, tweak, moved)
        whole_depot = len(scope) == len(self.snapshot.vehicles)
        what = tweak.describe(original.routes)
        self._start(tweaked, whole_depot, _Replaced(proposal_id, what, user))
        log.info("tweak of proposal %d: %s", proposal_id, what)
        return True

    def _live(self, vehicles: list[Vehicle], trigger: str, resequence_only: bool) -> LiveProblem:
        return build_live_problem(
            vehicles=vehicles,
            depot=self.snapshot.depots[0],
            tracker=self.operations.tracker,
            positions=self.feed.fleet.latest_fixes(),
            provider=self.provider,
            day=self.day,
            now=self.clock.now(),
            trigger=trigger,
            resequence_only=resequence_only,
        )

    def _start(
        self, live: LiveProblem, whole_depot: bool, replaces: _Replaced | None = None
    ) -> None:
        self.progress = None
        seconds, options = (DEPOT_SOLVE_S, DEPOT_SEARCH) if whole_depot else (LOCAL_SOLVE_S, None)
        handle = start_solve(live.problem, seconds, self._on_progress, options)
        self._running = _Running(handle, live, replaces)

    def take_failure(self) -> str | None:
        """Why the last re-plan gave no proposal, once (None when nothing failed)."""
        failure, self._failure = self._failure, None
        return failure

    def _on_progress(self, progress: SolveProgress) -> None:
        self.progress = progress

    def poll(self) -> ProposalRecord | None:
        """Collect a finished solve (call from the GUI timer); the new proposal, if any,
        once it is stored (a later call when storage is behind)."""
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
            "depot_id": self.snapshot.depots[0].id,
            "created_at": now,
            "trigger": live.trigger,
            "status": "open",
            "diff": _diff_json(proposal),
            "figures_before": proposal.diff.before.as_dict(),
            "figures_after": proposal.diff.after.as_dict(),
        }
        ids: dict[str, int] = {}
        stored = self.feed.storage.submit(lambda s: ids.update(id=store_proposal(s, row)))
        self._storing = _Storing(stored, ids, proposal, now, auto_ok, reason, running.replaces)
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
        )
        self.proposals[record.id] = record
        if storing.replaces is not None:
            self._retire(storing.replaces, record.id, storing.created_at)
        if storing.auto_ok and storing.replaces is None:
            # A tweak's result goes back to the dispatcher who asked for it.
            self.accept(record.id, "policy", auto=True)
        return record

    def _retire(self, replaced: _Replaced, by: int, now: float) -> None:
        """A tweak's result replaces the proposal it tweaked (if still open)."""
        record = self.proposals.get(replaced.proposal_id)
        if record is None or record.status != "open":
            return
        reason = f"tweaked ({replaced.what}); replaced by #{by}"
        # Not awaited: the storage worker keeps jobs in order, and logs a failure.
        self.feed.storage.submit(
            lambda s: decide_proposal(
                s, replaced.proposal_id, "tweaked", now, replaced.user, reason
            )
        )
        record.status = "tweaked"

    def cancel(self) -> None:
        """Stop the running solve (its best plan still becomes a proposal)."""
        if self._running is not None:
            self._running.handle.cancel()

    def accept(self, proposal_id: int, user: str, *, auto: bool = False) -> ProposalRecord:
        """Make the proposal the plan: store a new version, apply it, publish the routes."""
        record = self._open(proposal_id)
        proposal = record.proposal
        now = self.clock.now()
        # The diff names the vans of moves (rescues too) and resequences; the vans that
        # lose an unserved stop change as well.
        changed = set(proposal.diff.changed_vehicles) | {
            self.operations.tracker.stops[s].vehicle_id for s in proposal.unserved
        }
        previous = tuple(self.operations.tracker.current_stops())
        status = "auto_accepted" if auto else "accepted"
        # The audit log says why: the policy's verdict, or what set the re-plan off.
        reason = record.auto_reason if auto else f"re-plan for {proposal.live.trigger}"

        def decide(session: Any, plan_id: int) -> None:
            decide_proposal(
                session,
                proposal_id,
                status,
                now,
                user,
                reason,
                auto_accepted=auto,
                plan_id=plan_id,
            )

        version = self._adopt(
            self._stops_after(proposal),
            changed,
            user,
            "auto" if auto else "re-plan",
            list(proposal.unserved),
            decide,
            self._collect_orders(proposal),
            proposal.km_change,
        )
        record.status = status
        record.plan_version = version
        record.previous_stops = previous
        return record

    def undo(self, proposal_id: int, user: str) -> ProposalRecord:
        """Put the day back as it was before an accepted proposal (a new plan version)."""
        record = self.proposals.get(proposal_id)
        if record is None or record.status not in ("accepted", "auto_accepted"):
            raise ValueError(f"proposal {proposal_id} was not accepted")
        now = self.clock.now()
        changed = set(record.proposal.routes) | set(record.proposal.diff.changed_vehicles)

        def decide(session: Any, plan_id: int) -> None:
            why = f"undo of plan version {record.plan_version}"
            decide_proposal(session, proposal_id, "undone", now, user, why, plan_id=plan_id)

        undone = {v: -km for v, km in record.proposal.km_change.items()}
        version = self._adopt(
            self._restored(record.previous_stops), changed, user, "undo", [], decide, None, undone
        )
        record.status = "undone"
        record.plan_version = version
        return record

    def _adopt(
        self,
        new_stops: list[Stop],
        changed: set[str],
        user: str,
        source: str,
        unserved: list[str],
        decide: Callable[[Any, int], None],
        collect: dict[str, list[dict[str, Any]]] | None = None,
        km_change: dict[str, float] | None = None,
    ) -> int:
        """Store the stops as a new plan version (every van's route: the version is the
        whole day's plan), make them live, and publish the changed vans' routes."""
        now = self.clock.now()
        routes = {
            vid: [(s.id, s.planned_arrival) for s in sorted(stops, key=lambda s: s.sequence)]
            for vid, stops in _by_vehicle(new_stops).items()
            if vid
        }
        box: dict[str, tuple[int, int]] = {}

        def store(session: Any) -> None:
            box["plan"] = store_plan_version(
                session,
                depot_id=self.snapshot.depots[0].id,
                day=self.day.iso,
                created_at=now,
                created_by=user,
                source=source,
                auto_accepted=source == "auto",
                routes=routes,
                unserved=unserved,
                km_change=km_change,
            )
            decide(session, box["plan"][0])

        self.feed.storage.submit(store).result()
        plan_id, version = box["plan"]
        self.apply_stops(new_stops)
        # A van left with no stops (broken down, all rescued) hears so: an empty route.
        changed_routes = {vid: routes.get(vid, []) for vid in sorted(changed) if vid}
        self._publish_routes(changed_routes, version, plan_id, collect or {})
        return version

    def _restored(self, previous: tuple[Stop, ...]) -> list[Stop]:
        """The stops as an earlier plan had them, with their live status: what has been
        served since stays served (a delivered stop put back as pending would go late)."""
        status = {s.id: s.status for s in self.operations.tracker.current_stops()}
        return [replace(s, status=status.get(s.id, s.status)) for s in previous]

    def _collect_orders(self, proposal: Proposal) -> dict[str, list[dict[str, Any]]]:
        """For each rescuing van: where to collect which parcels of a broken-down van."""
        tracker = self.operations.tracker
        out: dict[str, list[dict[str, Any]]] = {}
        for vehicle_id, ordered in proposal.routes.items():
            by_van: dict[str, list[str]] = {}
            for item in ordered:
                if item.startswith(PICKUP):
                    stop_id = item[len(PICKUP) :]
                    by_van.setdefault(proposal.live.rescued_from[stop_id], []).append(stop_id)
            for broken, stop_ids in by_van.items():
                lat, lon = proposal.live.rescue_site[broken]
                parcels = [
                    p.id
                    for sid in stop_ids
                    for p in tracker.orders[tracker.stops[sid].order_id].parcels
                ]
                out.setdefault(vehicle_id, []).append(
                    {
                        "from_vehicle": broken,
                        "lat": lat,
                        "lon": lon,
                        "stop_ids": stop_ids,
                        "parcel_ids": parcels,
                    }
                )
        return out

    def reject(self, proposal_id: int, user: str, reason: str) -> ProposalRecord:
        """Turn the proposal down; the reason goes to the audit log."""
        record = self._open(proposal_id)
        now = self.clock.now()
        # Not awaited: the storage worker keeps jobs in order, and logs a failure.
        self.feed.storage.submit(
            lambda s: decide_proposal(s, proposal_id, "rejected", now, user, reason)
        )
        record.status = "rejected"
        return record

    def _open(self, proposal_id: int) -> ProposalRecord:
        record = self.proposals.get(proposal_id)
        if record is None or record.status != "open":
            raise ValueError(f"proposal {proposal_id} is not open")
        return record

    def _stops_after(self, proposal: Proposal) -> list[Stop]:
        """Every stop of the day as the proposal leaves it: done stops keep their place,
        re-planned ones take the new order after them; unserved ones leave their van.

        Stops carry their live status: the tracker's plan stops still say what the plan
        said (pending), and a served stop adopted as pending would go "late" when its
        window closes and make every later delivery look out of sequence."""
        current = {s.id: s for s in self.operations.tracker.current_stops()}
        out = {sid: s for sid, s in current.items()}
        for vehicle_id, ordered in proposal.routes.items():
            base = 1 + max(
                (
                    s.sequence
                    for s in current.values()
                    if s.vehicle_id == vehicle_id and s.id not in proposal.arrivals
                ),
                default=-1,
            )
            real = [sid for sid in ordered if not sid.startswith(PICKUP)]
            for n, sid in enumerate(real):
                out[sid] = replace(
                    current[sid],
                    vehicle_id=vehicle_id,
                    sequence=base + n,
                    planned_arrival=proposal.arrivals[sid],
                )
        for sid in proposal.unserved:
            out[sid] = replace(current[sid], vehicle_id="", status=StopStatus.PENDING)
        return list(out.values())

    def _publish_routes(
        self,
        routes: dict[str, list[tuple[str, float]]],
        version: int,
        plan_id: int,
        collect: dict[str, list[dict[str, Any]]],
    ) -> None:
        prefix = self.settings.broker.topic_prefix
        orders = {o.id: o for o in self.snapshot.orders}
        stops = self.operations.tracker.stops
        for vehicle_id, ordered in routes.items():
            body = {
                "vehicle": vehicle_id,
                "version": version,
                "plan_id": plan_id,
                "stops": [
                    {
                        "stop_id": sid,
                        "order_id": stops[sid].order_id,
                        "eta": round(eta),
                        "lat": orders[stops[sid].order_id].lat,
                        "lon": orders[stops[sid].order_id].lon,
                        "address": orders[stops[sid].order_id].address,
                    }
                    for sid, eta in ordered
                ],
            }
            if collect.get(vehicle_id):
                # Parcels of a broken-down van: collect them before delivering them.
                body["collect"] = collect[vehicle_id]
            self.feed.publish(
                ROUTE.topic(prefix, vehicle_id),
                payload(ROUTE, body),
                qos=ROUTE.qos,
                retain=ROUTE.retained,
            )


def _by_vehicle(stops: list[Stop]) -> dict[str, list[Stop]]:
    out: dict[str, list[Stop]] = {}
    for s in stops:
        out.setdefault(s.vehicle_id, []).append(s)
    return out


def _diff_json(proposal: Proposal) -> dict[str, Any]:
    d = proposal.diff
    return {
        "moves": [
            {"stop": m.stop_id, "from": m.from_vehicle, "to": m.to_vehicle, "reason": m.reason}
            for m in d.moves
        ],
        "resequenced": list(d.resequenced_vehicles),
        "eta_changes": [
            {"stop": e.stop_id, "before": e.before, "after": e.after} for e in d.eta_changes
        ],
        "unserved": list(proposal.unserved),
        "unserved_reasons": proposal.unserved_reasons,
        "rescued_from": proposal.live.rescued_from,
        "changed_vehicles": list(d.changed_vehicles),
    }
