"""Decisions on stored proposals, safe with several workstations on one database.

A decision is one transaction: the depot-day's lock first (plan_heads.lock_depot_day),
then the proposal must still be in the state the decision expects (open, for an accept
or a reject) and, for a decision that makes a plan live, the vans must still be at the
versions the proposal was built on. Otherwise PlanConflict says who got there first and
nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.database import SessionFactory
from app.storage.operations_repository import decide_proposal, store_plan_version
from app.storage.orm import PlanRow, ProposalRow
from app.storage.plan_heads import Head, PlanConflict, check_current, lock_depot_day

Routes = dict[str, list[tuple[str, float]]]


@dataclass(frozen=True)
class PlanDecision:
    """A decision that makes a plan live: on which proposal, by whom, and what it writes
    (the changed vans' whole routes). ``built_on`` None: the proposal row's own."""

    proposal_id: int
    status: str  # accepted, auto_accepted, undone
    expect: tuple[str, ...]  # the proposal's states it may be taken from
    depot_id: str
    day: str
    at: float
    user: str
    reason: str | None
    source: str  # the plan version's: re-plan, auto, undo
    routes: Routes
    unserved: Sequence[str] = ()
    km_change: Mapping[str, float] = field(default_factory=dict)
    built_on: Mapping[str, int] | None = None


def decide_plan(session: Session, d: PlanDecision) -> tuple[int, int]:
    """Store the decision and its plan version in the caller's transaction: (plan id,
    version). PlanConflict (roll back) when the proposal or its vans moved on."""
    version = lock_depot_day(session, d.depot_id, d.day, d.at, d.user)
    row = _still(session, d.proposal_id, d.expect)
    built_on = d.built_on if d.built_on is not None else built_on_of(row)
    check_current(session, d.depot_id, d.day, built_on)
    plan_id, version = store_plan_version(
        session,
        depot_id=d.depot_id,
        day=d.day,
        created_at=d.at,
        created_by=d.user,
        source=d.source,
        auto_accepted=d.status == "auto_accepted",
        routes=d.routes,
        unserved=list(d.unserved),
        km_change=dict(d.km_change),
        action=d.status,
        proposal_id=d.proposal_id,
        version=version,
    )
    auto = d.status == "auto_accepted"
    decide_proposal(session, d.proposal_id, d.status, d.at, d.user, d.reason, auto, plan_id)
    return plan_id, version


def decide_stored(
    session: Session, proposal_id: int, status: str, at: float, user: str, reason: str | None
) -> None:
    """A decision that makes no plan (rejected, tweaked, or closed by the tower): only
    from open (or stale); PlanConflict when another workstation decided first."""
    row = _still(session, proposal_id, ("open", "stale"))
    decide_proposal(session, row.id, status, at, user, reason, status == "auto_accepted")


def _still(session: Session, proposal_id: int, expect: tuple[str, ...]) -> ProposalRow:
    """The proposal, locked, if it is in one of the ``expect`` states."""
    row = session.scalar(select(ProposalRow).where(ProposalRow.id == proposal_id).with_for_update())
    if row is None:
        raise KeyError(f"no proposal #{proposal_id}")
    if row.status not in expect:
        by = f" by {row.decided_by}" if row.decided_by else ""
        decided = Head("", 0, row.decided_at or 0.0, row.decided_by or "", row.status, row.id)
        raise PlanConflict(f"proposal #{proposal_id} is {row.status}{by}", decided)
    return row


def built_on_of(row: ProposalRow) -> dict[str, int]:
    """The vans' versions a stored proposal was built on."""
    return {str(v): int(n) for v, n in ((row.plan or {}).get("built_on") or {}).items()}


def list_proposals(
    sessions: SessionFactory, state: str = "open", since: float | None = None
) -> list[dict[str, Any]]:
    """Stored proposals, oldest first; ``state`` open or all (the CLI's JSON shape), made
    at ``since`` or later when given."""
    query = select(ProposalRow, PlanRow.version).outerjoin(
        PlanRow, PlanRow.id == ProposalRow.plan_id
    )
    if state == "open":
        query = query.where(ProposalRow.status == "open")
    if since is not None:
        query = query.where(ProposalRow.created_at >= since)
    with sessions() as session:
        return [proposal_dict(r, v) for r, v in session.execute(query.order_by(ProposalRow.id))]


def stored_proposal(sessions: SessionFactory, proposal_id: int) -> ProposalRow | None:
    """One stored proposal (None: no such id)."""
    with sessions() as session:
        return session.get(ProposalRow, proposal_id)


def proposal_dict(r: ProposalRow, plan_version: int | None = None) -> dict[str, Any]:
    """The stable JSON shape of one proposal."""
    plan = r.plan or {}
    return {
        "id": r.id,
        "depot_id": r.depot_id,
        "created_at": r.created_at,
        "trigger": r.trigger,
        "author": r.author,
        "status": r.status,
        "built_on": plan.get("built_on", {}),
        "vehicles": sorted(plan.get("routes", {})),
        "diff": r.diff,
        "figures_before": r.figures_before,
        "figures_after": r.figures_after,
        "decided_at": r.decided_at,
        "decided_by": r.decided_by,
        "decision_reason": r.decision_reason,
        "plan_version": plan_version,
        "asked": plan.get("asked"),
    }
