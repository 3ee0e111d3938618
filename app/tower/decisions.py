"""The decisions on proposals: accept, undo and reject, and what follows them.

An accepted (or undone) proposal's plan is live at once (the live day adopts it); its
plan version is written by the storage worker behind the GUI thread's back, and once it is
stored the changed vans' routes are published retained to ``{prefix}/vehicles/{id}/route``
and ``decided`` announces it. Nothing here waits for storage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from app.domain.model import Stop
from app.foundation.clock import Clock
from app.foundation.events import Event
from app.foundation.settings import Settings
from app.storage.operations_repository import decide_proposal, store_plan_version
from app.tower.live_day import LiveDay
from app.tower.plan_adoption import (
    Collect,
    Routes,
    collect_orders,
    planned_routes,
    restored,
    stops_after,
)
from app.tower.proposal_currency import ReplanRequest
from app.tower.replan_proposal import Proposal
from app.tower.route_sending import send_routes
from app.tower.telemetry_feed import TelemetryFeed


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
class _Deciding:
    """An accepted (or undone) proposal's plan version on its way to storage: it is live
    already; its routes go to the drivers once stored, with the version storage gave it."""

    stored: Future[None]
    plan: dict[str, tuple[int, int]]  # "plan": (plan id, version), once stored
    revision: int  # the live day's, for the plan adopted
    record: ProposalRecord
    routes: Routes  # the changed vans' routes
    collect: Collect


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
        routes published behind (``decided`` says when)."""
        proposal_id = record.id
        proposal = record.proposal
        now = self.clock.now()
        tracker = self.live.tracker
        # The diff names the vans of moves (rescues too) and resequences; the vans that
        # lose an unserved stop change as well.
        changed = set(proposal.diff.changed_vehicles) | {
            tracker.stops[s].vehicle_id for s in proposal.unserved
        }
        previous = tuple(tracker.current_stops())
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

        record.status = status
        record.previous_stops = previous
        record.stored_plan = self._adopt(
            record,
            stops_after(tracker, proposal),
            changed,
            user,
            "auto" if auto else "re-plan",
            list(proposal.unserved),
            decide,
            collect_orders(tracker, proposal),
            proposal.km_change,
        )
        return record

    def undo(self, record: ProposalRecord, user: str) -> ProposalRecord:
        """Put the day back as it was before an accepted proposal (a new plan version)."""
        proposal_id = record.id
        now = self.clock.now()
        changed = set(record.proposal.routes) | set(record.proposal.diff.changed_vehicles)
        accepted = record.stored_plan

        def decide(session: Any, plan_id: int) -> None:
            # On the storage worker: the accepted version was stored before (jobs run in
            # order), even when the window has not heard so yet.
            why = f"undo of plan version {accepted.get('plan', (0, None))[1]}"
            decide_proposal(session, proposal_id, "undone", now, user, why, plan_id=plan_id)

        undone = {v: -km for v, km in record.proposal.km_change.items()}
        record.status = "undone"
        self._adopt(
            record,
            restored(self.live.tracker, record.previous_stops),
            changed,
            user,
            "undo",
            [],
            decide,
            {},
            undone,
        )
        return record

    def _adopt(
        self,
        record: ProposalRecord,
        new_stops: list[Stop],
        changed: set[str],
        user: str,
        source: str,
        unserved: list[str],
        decide: Callable[[Any, int], None],
        collect: Collect,
        km_change: dict[str, float],
    ) -> dict[str, tuple[int, int]]:
        """Make the stops live now, and queue them for storage as a new plan version
        (every van's route: the version is the whole day's plan); the changed vans'
        routes are published once it is stored (``poll``). Returns where
        the storage worker puts the stored (plan id, version)."""
        now = self.clock.now()
        routes = planned_routes(new_stops)
        plan: dict[str, tuple[int, int]] = {}

        def store(session: Any) -> None:
            stored = store_plan_version(
                session,
                depot_id=self.live.depot.id,
                day=self.live.day.iso,
                created_at=now,
                created_by=user,
                source=source,
                auto_accepted=source == "auto",
                routes=routes,
                unserved=unserved,
                km_change=km_change,
            )
            decide(session, stored[0])
            plan["plan"] = stored

        stored = self.feed.storage.submit(store)
        revision = self.live.adopt(new_stops, now)
        # A van left with no stops (broken down, all rescued) hears so: an empty route.
        changed_routes = {vid: routes.get(vid, []) for vid in sorted(changed) if vid}
        for vehicle_id in changed_routes:
            self.live.route_acks.coming(vehicle_id)
        self._deciding.append(_Deciding(stored, plan, revision, record, changed_routes, collect))
        return plan

    def poll(self) -> None:
        """Decisions whose plan version is stored: publish their routes, say so (in the
        order they were taken)."""
        while self._deciding and self._deciding[0].stored.done():
            deciding = self._deciding.pop(0)
            record = deciding.record
            if "plan" not in deciding.plan:  # the storage worker logged why
                self._failure = f"proposal #{record.id}: its plan version could not be stored"
                continue
            plan_id, version = deciding.plan["plan"]
            record.plan_version = version
            self.live.version_stored(deciding.revision, version)
            self._publish_routes(deciding.routes, version, plan_id, deciding.collect)
            self.decided.emit(record)

    def reject(self, record: ProposalRecord, user: str, reason: str) -> ProposalRecord:
        """Turn an open proposal down; the reason goes to the audit log."""
        proposal_id = record.id
        now = self.clock.now()
        # Not awaited: the storage worker keeps jobs in order, and logs a failure.
        self.feed.storage.submit(
            lambda s: decide_proposal(s, proposal_id, "rejected", now, user, reason)
        )
        record.status = "rejected"
        return record

    def _publish_routes(self, routes: Routes, version: int, plan_id: int, collect: Collect) -> None:
        stops, orders = self.live.tracker.stops, self.live.orders
        prefix = self.settings.broker.topic_prefix
        send_routes(self.feed, prefix, routes, version, plan_id, stops, orders, collect)
        now = self.clock.now()
        for vehicle_id in routes:
            self.live.route_acks.sent(vehicle_id, version, now)
