"""The decisions on proposals: accept, undo and reject, and what follows them.

An accepted (or undone) proposal's plan is live at once (the live day adopts it); its
plan version is written by the storage worker behind the GUI thread's back, and once it is
stored the changed vans' routes are published retained to ``{prefix}/vehicles/{id}/route``
and ``decided`` announces it. Nothing here waits for storage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from app.domain.model import Stop
from app.foundation.clock import Clock
from app.foundation.events import Event
from app.foundation.settings import Settings
from app.foundation.time_text import TimeText
from app.storage.plan_heads import PlanConflict
from app.storage.proposal_repository import PlanDecision, decide_plan, decide_stored
from app.tower.live_day import LiveDay
from app.tower.plan_adoption import (
    Collect,
    Retry,
    Routes,
    changed_routes,
    changed_vans,
    collect_orders,
    restored,
    retry_orders,
    stops_after,
)
from app.tower.proposal_currency import STALE, ReplanRequest, RouteStamp, conflict_text
from app.tower.replan_proposal import Proposal
from app.tower.route_sending import send_routes
from app.tower.telemetry_feed import TelemetryFeed

log = logging.getLogger(__name__)


@dataclass
class ProposalRecord:
    """A proposal on the desk, with the policy's verdict and its decision."""

    id: int
    proposal: Proposal
    created_at: float
    auto_ok: bool
    auto_reason: str
    # open, accepted, rejected, auto_accepted, undone, tweaked; and, closed by the tower
    # (proposal_currency.py), stale, expired, superseded
    status: str = "open"
    # What was asked for (re-asked by "re-solve from now"), and each scope van's route
    # revision when it was (proposal_currency.why_stale compares them with the live day's).
    request: ReplanRequest | None = None
    built_on: Mapping[str, int] = field(default_factory=dict)
    closed_reason: str = ""  # why the tower closed it (stale, expired, superseded)
    plan_version: int | None = None  # of the plan it made live, once stored
    previous_stops: tuple[Stop, ...] = ()  # the day before it was accepted (for undo)
    # "plan": (plan id, version) of the plan it made live, written by the storage worker
    # once stored: an undo queued behind reads it there (the window may not know yet).
    stored_plan: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class _Ask:
    """Who decides what on a proposal, from which of its states, and why; an undo's
    ``after`` is where its accept's (plan id, version) is stored."""

    user: str
    status: str
    expect: tuple[str, ...]
    reason: str
    source: str  # the plan version's
    after: dict[str, tuple[int, int]] | None = None


@dataclass(frozen=True)
class _Deciding:
    """An accepted (or undone) proposal's plan version on its way to storage: it is live
    already; its routes go to the drivers once stored, with the version storage gave it."""

    stored: Future[None]
    plan: dict[str, tuple[int, int]]  # "plan": (plan id, version), once stored
    revision: int  # the live day's, for the plan adopted
    record: ProposalRecord
    routes: Routes  # the changed vans' routes
    collect: Collect
    retry: Retry
    before: tuple[Stop, ...]  # the day before the decision (put back if storage refuses)
    status: str
    # The changed vans' route stamps before the decision (None: the van had none), put
    # back with their routes when the version could not be stored.
    stamps: dict[str, RouteStamp | None] = field(default_factory=dict)


class PlanDecisions:
    """Applies the decisions on proposals (see the module docstring).

    Signals:
        decided (Event[ProposalRecord]): an accepted, auto-accepted or undone proposal's
            plan version is stored (``plan_version`` set) and its routes published;
            emitted by ``poll`` (the GUI timer's thread).
    """

    def __init__(self, settings: Settings, live: LiveDay, clock: Clock, feed: TelemetryFeed):
        self.settings = settings
        self.live = live
        self.clock = clock
        self.feed = feed
        self.decided: Event[ProposalRecord] = Event()
        self._deciding: list[_Deciding] = []
        self._times = TimeText(live.depot.timezone)
        self._failure: str | None = None

    @property
    def deciding(self) -> bool:
        """An accepted or undone plan's version is still being stored."""
        return bool(self._deciding)

    def take_failure(self) -> str | None:
        """Why the last decision's plan version could not be stored, once."""
        failure, self._failure = self._failure, None
        return failure

    def accept(self, record: ProposalRecord, user: str, *, auto: bool = False) -> ProposalRecord:
        """Make an open proposal the plan: live at once; its version is stored and its
        routes published behind (``decided`` says when). Storage refuses it when another
        workstation changed its vans since it was built (``take_failure`` says who, and
        the live day goes back)."""
        proposal = record.proposal
        tracker = self.live.tracker
        status = "auto_accepted" if auto else "accepted"
        # The audit log says why: the policy's verdict, or what set the re-plan off.
        reason = record.auto_reason if auto else f"re-plan for {proposal.live.trigger}"
        record.status = status
        record.previous_stops = tuple(tracker.current_stops())
        record.stored_plan = self._adopt(
            record,
            stops_after(tracker, proposal),
            changed_vans(tracker, proposal),
            _Ask(user, status, ("open",), reason, "auto" if auto else "re-plan"),
            list(proposal.unserved),
            collect_orders(tracker, proposal),
            proposal.km_change,
            retry_orders(tracker, proposal),
        )
        return record

    def undo(self, record: ProposalRecord, user: str) -> ProposalRecord:
        """Put the day back as it was before an accepted proposal (a new plan version),
        if its vans are still where the accept left them."""
        # The vans the accept changed (changed_vans then): a van of the re-plan it left
        # as it was keeps its stored version, which the undo's is not built on.
        vans_then = {s.id: s.vehicle_id for s in record.previous_stops}
        lost = {vans_then.get(sid, "") for sid in record.proposal.unserved}
        changed = (set(record.proposal.diff.changed_vehicles) | lost) - {""}
        accepted = record.stored_plan
        undone = {v: -km for v, km in record.proposal.km_change.items()}
        # On the storage worker: the accepted version was stored before (jobs run in
        # order), even when the window has not heard so yet.
        ask = _Ask(user, "undone", ("accepted", "auto_accepted"), "", "undo", accepted)
        record.status = "undone"
        self._adopt(
            record,
            restored(self.live.tracker, record.previous_stops),
            changed,
            ask,
            [],
            {},
            undone,
        )
        return record

    def _adopt(
        self,
        record: ProposalRecord,
        new_stops: list[Stop],
        changed: set[str],
        ask: _Ask,
        unserved: list[str],
        collect: Collect,
        km_change: dict[str, float],
        retry: Retry | None = None,
    ) -> dict[str, tuple[int, int]]:
        """Make the stops live now, and queue the changed vans' routes for storage as a
        new plan version (the other vans keep the stored ones); they are published once
        it is stored (``poll``). Returns where the storage worker puts the stored (plan
        id, version)."""
        now = self.clock.now()
        before = tuple(self.live.tracker.current_stops())
        routes = changed_routes(new_stops, changed)
        plan: dict[str, tuple[int, int]] = {}
        stamps = {v: self.live.route_stamps.get(v) for v in routes}
        revision = self.live.adopt(new_stops, now, routes)
        versions = self.live.stored_versions
        depot_id, day = self.live.depot.id, self.live.day.iso

        def store(session: Any) -> None:
            built_on = None
            reason = ask.reason
            if ask.after is not None:  # an undo: its vans as the accept left them
                version = ask.after.get("plan", (0, -1))[1]
                built_on = dict.fromkeys(routes, version)
                reason = f"undo of plan version {version}"
            decision = PlanDecision(
                record.id,
                ask.status,
                ask.expect,
                depot_id,
                day,
                now,
                ask.user,
                reason,
                ask.source,
                routes,
                unserved,
                km_change,
                built_on,
            )
            plan["plan"] = stored = decide_plan(session, decision)
            versions[revision] = stored[1]

        stored = self.feed.storage.submit(store)
        for vehicle_id in routes:
            self.live.route_acks.coming(vehicle_id)
        self._deciding.append(
            _Deciding(
                stored,
                plan,
                revision,
                record,
                routes,
                collect,
                retry or {},
                before,
                ask.status,
                stamps,
            )
        )
        return plan

    def poll(self) -> None:
        """Decisions whose plan version is stored: publish their routes, say so (in the
        order they were taken). One storage refused (another workstation changed a van
        first) is undone in the live day, and ``take_failure`` says who changed what."""
        while self._deciding and self._deciding[0].stored.done():
            deciding = self._deciding.pop(0)
            record = deciding.record
            conflict = deciding.stored.exception()
            if isinstance(conflict, PlanConflict):
                self._refused(deciding, conflict)
                continue
            if "plan" not in deciding.plan:  # the storage worker logged why
                self._unstored(deciding)
                continue
            plan_id, version = deciding.plan["plan"]
            record.plan_version = version
            self.live.version_stored(deciding.revision, version)
            self._publish_routes(
                deciding.routes, version, plan_id, deciding.collect, deciding.retry
            )
            self.decided.emit(record)

    def _refused(self, deciding: _Deciding, conflict: PlanConflict) -> None:
        """Storage refused a decision: the live day goes back to the stops before it, and
        the vans that moved are marked unknown (no proposal built here on them passes)."""
        record = deciding.record
        why = conflict_text(conflict, self._times.hm)
        revision = self.live.adopt(restored(self.live.tracker, deciding.before), self.clock.now())
        self.live.versions_known(revision, conflict.current)
        if deciding.status == "undone":
            record.status = "accepted"
        else:
            record.status, record.closed_reason = STALE, why
        self._failure = f"proposal #{record.id}: {why}"
        log.info("proposal %d refused by storage: %s", record.id, why)

    def _unstored(self, deciding: _Deciding) -> None:
        """A decision's plan version could not be stored (the database failed): its vans
        get their routes back in the live day, as the drivers still have them (nothing
        was published), and the proposal is as it was before, to be decided again.

        Only its vans go back: a later decision on other vans, queued behind, stays."""
        record = deciding.record
        vans = set(deciding.routes)
        before = {s.id: s for s in deciding.before}
        tracker = self.live.tracker
        back = [
            before[s.id]
            if s.id in before and (s.vehicle_id in vans or before[s.id].vehicle_id in vans)
            else s
            for s in tracker.current_stops()
        ]
        revision = self.live.adopt(restored(tracker, back), self.clock.now())
        stamps = self.live.route_stamps
        for vehicle_id, stamp in deciding.stamps.items():
            if stamps.get(vehicle_id, RouteStamp()).revision != revision:
                continue  # a later decision changed it since
            if stamp is None:
                stamps.pop(vehicle_id)
            else:
                stamps[vehicle_id] = stamp
        queued = {v for d in self._deciding for v in d.routes}
        for vehicle_id in vans - queued:
            self.live.route_acks.withdrawn(vehicle_id)
        record.status = "accepted" if deciding.status == "undone" else "open"
        self._failure = (
            f"proposal #{record.id}: its plan version could not be stored; "
            "the vans keep their routes and the proposal is open again"
            if record.status == "open"
            else f"proposal #{record.id}: the undo could not be stored; it stays accepted"
        )
        log.warning("proposal %d: plan version not stored, live day put back", record.id)

    def reject(self, record: ProposalRecord, user: str, reason: str) -> ProposalRecord:
        """Turn an open proposal down; the reason goes to the audit log."""
        proposal_id = record.id
        now = self.clock.now()
        # Not awaited: the storage worker keeps jobs in order, and logs a failure.
        self.feed.storage.submit(
            lambda s: decide_stored(s, proposal_id, "rejected", now, user, reason)
        )
        record.status = "rejected"
        return record

    def _publish_routes(
        self, routes: Routes, version: int, plan_id: int, collect: Collect, retry: Retry
    ) -> None:
        stops, orders = self.live.tracker.stops, self.live.orders
        prefix = self.settings.broker.topic_prefix
        send_routes(self.feed, prefix, routes, version, plan_id, stops, orders, collect, retry)
        now = self.clock.now()
        for vehicle_id in routes:
            self.live.route_acks.sent(vehicle_id, version, now)
