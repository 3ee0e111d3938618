"""What the live loop writes besides telemetry: exceptions, stop progress, ETA samples,
customer updates; and what it reads back at start to carry on where it stopped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from app.domain.customer_updates import Notification
from app.domain.eta_accuracy import AccuracySample
from app.domain.progress import StopProgress
from app.domain.rules.records import ChangeKind, ExceptionChange, ExceptionRecord
from app.storage.database import SessionFactory
from app.storage.exception_repository import OPEN_STATES, audit, exception_dict
from app.storage.orm import (
    CustomerUpdateRow,
    EtaSampleRow,
    ExceptionRow,
    PlanRow,
    ProposalRow,
    RouteRow,
    RouteStopRow,
    StopRow,
)
from app.storage.plan_heads import Decision, check_current, lock_depot_day, stamp
from app.storage.records import row_from, row_values
from app.storage.telemetry_repository import insert_on_conflict

ACCEPTED = ("accepted", "auto_accepted")
"""A proposal's statuses while its plan stands (an undone one's does not)."""


# Migration 0013's unique index: one open (or acknowledged) exception per rule and subject.
OPEN_KEY = ("rule", "subject_kind", "subject_id")
NOT_RESOLVED = ExceptionRow.state != "resolved"
# The index's own predicate, literally: PostgreSQL matches ON CONFLICT to a partial index
# by it (a bound parameter in its place matches none).
INDEX_WHERE = text("state <> 'resolved'")
_RANK = {"info": 0, "warning": 1, "critical": 2}


def store_exception_changes(
    session: Session, changes: Iterable[ExceptionChange]
) -> dict[int, dict[str, Any]]:
    """Store what happened to exceptions; a dispatcher's action also goes to the audit.

    Several towers raise the same condition: the first insert stores it, and a tower
    whose insert meets another's open row of the rule and subject stores nothing and
    adopts that row. Returns those adoptions: this tower's id -> the stored row
    (``exception_dict``). A later change of an adopted exception, still under this
    tower's id, goes to the stored row (found by rule and subject), and changes only what
    it changes: another tower's acknowledgement or higher severity is never undone."""
    adopted: dict[int, dict[str, Any]] = {}
    for change in changes:
        r = change.exception
        if change.kind is ChangeKind.RAISED:
            if (stored := _insert_or_find(session, r)) is not None:
                adopted[r.id] = exception_dict(stored)
            continue
        row = _stored_row(session, r)
        if row is None:  # its insert was lost with a failed job: store it as it is now
            _insert_or_find(session, r)
            continue
        if row.state == "resolved" or (
            change.kind is ChangeKind.ACKNOWLEDGED and row.state == "acknowledged"
        ):
            continue  # another workstation resolved (or took) it first: no write, no audit
        _apply(row, change)
        if change.by_hand:
            detail: dict[str, Any] = {"rule": r.rule.value, "state": r.state.value}
            if change.note:
                detail["note"] = change.note
            audit(session, change.at, change.by, change.kind.value, f"exception:{row.id}", detail)
    return adopted


def _insert_or_find(session: Session, r: ExceptionRecord) -> ExceptionRow | None:
    """Insert ``r``; None when stored, else the open row of its rule and subject that
    another tower stored first (locked until the caller's commit)."""
    insert = insert_on_conflict(session, ExceptionRow.__table__).values(
        **row_values(ExceptionRow, r)
    )
    insert = insert.on_conflict_do_nothing(index_elements=OPEN_KEY, index_where=INDEX_WHERE)
    if session.execute(insert.returning(ExceptionRow.id)).scalar() is not None:
        return None
    return _open_row(session, r)


def _stored_row(session: Session, r: ExceptionRecord) -> ExceptionRow | None:
    """The stored row of ``r`` (by id, else the open one of its rule and subject that it
    was adopted into), locked until the caller's commit: of two workstations acting on
    it at once the second sees the first's change."""
    row = session.get(ExceptionRow, r.id, with_for_update=True)
    return row if row is not None else _open_row(session, r)


def _open_row(session: Session, r: ExceptionRecord) -> ExceptionRow | None:
    query = select(ExceptionRow).where(
        ExceptionRow.rule == r.rule.value,
        ExceptionRow.subject_kind == r.subject_kind.value,
        ExceptionRow.subject_id == r.subject_id,
        NOT_RESOLVED,
    )
    return session.scalars(query.with_for_update()).first()


def _apply(row: ExceptionRow, change: ExceptionChange) -> None:
    """Write what ``change`` changes onto the stored row."""
    r = change.exception
    row.updated_at = max(row.updated_at, r.updated_at)
    if change.kind in (ChangeKind.UPDATED, ChangeKind.ESCALATED):
        row.detail = r.detail
        if _RANK[r.severity.value] > _RANK[row.severity]:
            row.severity = r.severity.value  # severity only rises while open
    elif change.kind is ChangeKind.ACKNOWLEDGED:
        row.state = r.state.value
        row.acknowledged_at, row.acknowledged_by = r.acknowledged_at, r.acknowledged_by
    elif change.kind is ChangeKind.RESOLVED:
        row.state = r.state.value
        row.resolved_at, row.resolved_by = r.resolved_at, r.resolved_by
        row.resolution_note = r.resolution_note


def exceptions_to_restore(sessions: SessionFactory) -> list[dict[str, Any]]:
    """The open exceptions."""
    with sessions() as session:
        query = select(ExceptionRow).where(ExceptionRow.state.in_(OPEN_STATES))
        return [exception_dict(r) for r in session.scalars(query)]


def late_stop_ids(sessions: SessionFactory, start: float, end: float) -> set[str]:
    """Stops that had a ``late`` exception raised between ``start`` and ``end`` (a day)."""
    with sessions() as session:
        query = select(ExceptionRow.stop_id).where(
            ExceptionRow.rule == "late",
            ExceptionRow.stop_id.is_not(None),
            ExceptionRow.raised_at >= start,
            ExceptionRow.raised_at < end,
        )
        return {stop_id for stop_id in session.scalars(query) if stop_id is not None}


def store_stop_progress(session: Session, progress: Iterable[StopProgress]) -> None:
    """Write each stop's current status, reason and times (what the KPIs and a restart read)."""
    for p in progress:
        session.execute(
            update(StopRow)
            .where(StopRow.id == p.stop_id)
            .values(
                status=p.status.value,
                status_reason=p.reason.value if p.reason else None,
                arrived_at=p.arrived_at,
                completed_at=p.completed_at,
            )
        )


def store_eta_samples(session: Session, samples: Iterable[AccuracySample]) -> None:
    """The ETAs that were predicted 60/30/10 minutes before each arrival.

    A stop measured again (a reported arrival replacing an inferred one) replaces its
    samples: one row per stop and horizon.
    """
    samples = list(samples)
    for s in samples:
        session.execute(
            delete(EtaSampleRow).where(
                EtaSampleRow.stop_id == s.stop_id, EtaSampleRow.horizon_min == s.horizon_min
            )
        )
    session.add_all(row_from(EtaSampleRow, s) for s in samples)


def store_customer_updates(session: Session, notes: Iterable[Notification]) -> None:
    """The messages published to customers' ``orders/{id}/eta`` topics."""
    session.add_all(row_from(CustomerUpdateRow, n) for n in notes)


def store_proposal(session: Session, row: dict[str, Any]) -> int:
    """A new proposal (open); returns its id."""
    proposal = ProposalRow(**row)
    session.add(proposal)
    session.flush()
    return int(proposal.id)


def decide_proposal(
    session: Session,
    proposal_id: int,
    status: str,
    at: float,
    user: str,
    reason: str | None,
    auto_accepted: bool = False,
    plan_id: int | None = None,
) -> None:
    """Record the decision on a proposal, and put it in the audit log (with the plan it
    made, if any: an undecided plan_id is left as it is)."""
    values: dict[str, Any] = {
        "status": status,
        "decided_at": at,
        "decided_by": user,
        "decision_reason": reason,
        "auto_accepted": auto_accepted,
    }
    if plan_id is not None:
        values["plan_id"] = plan_id
    session.execute(update(ProposalRow).where(ProposalRow.id == proposal_id).values(**values))
    detail: dict[str, Any] = {"reason": reason} if reason else {}
    if auto_accepted:
        detail["auto_accepted"] = True
    if plan_id is not None:
        detail["plan_id"] = plan_id
    audit(session, at, user, f"proposal_{status}", f"proposal:{proposal_id}", detail)


def expire_open_proposals(
    session: Session, depot_id: str, at: float, user: str, reason: str, made_before: float
) -> None:
    """Expire the depot's proposals still open (or stale) in storage that were made
    before ``made_before``, each audited."""
    left = session.scalars(
        select(ProposalRow.id).where(
            ProposalRow.depot_id == depot_id,
            ProposalRow.status.in_(("open", "stale")),
            ProposalRow.created_at < made_before,
        )
    ).all()
    for proposal_id in left:
        decide_proposal(session, proposal_id, "expired", at, user, reason)


def retried_stops(sessions: SessionFactory, start: float, end: float) -> set[str]:
    """The failed stops that proposals made in [start, end) and accepted (by a person or
    the policy, not undone) plan to try again (their diff's ``retried``)."""
    with sessions() as session:
        diffs = session.scalars(
            select(ProposalRow.diff).where(
                ProposalRow.status.in_(ACCEPTED),
                ProposalRow.created_at >= start,
                ProposalRow.created_at < end,
            )
        ).all()
    return {str(sid) for diff in diffs for sid in (diff or {}).get("retried", ())}


def note_proposal_reason(session: Session, proposal_id: int, reason: str) -> None:
    """Say more precisely why a proposal was closed (a stale one learns the plan version
    that made it stale once that is stored); no new decision, so no audit entry."""
    session.execute(
        update(ProposalRow).where(ProposalRow.id == proposal_id).values(decision_reason=reason)
    )


def active_plan_version(sessions: SessionFactory, depot_id: str, day: str) -> int:
    """The version number of the day's active plan (0 when none is stored)."""
    with sessions() as session:
        version = session.scalar(
            select(PlanRow.version).where(
                PlanRow.depot_id == depot_id, PlanRow.day == day, PlanRow.active
            )
        )
    return int(version or 0)


def store_plan_version(
    session: Session,
    *,
    depot_id: str,
    day: str,
    created_at: float,
    created_by: str,
    source: str,
    auto_accepted: bool,
    routes: dict[str, list[tuple[str, float]]],
    unserved: list[str],
    km_change: dict[str, float] | None = None,
    distances_m: Mapping[str, float] | None = None,
    built_on: Mapping[str, int] | None = None,
    action: str | None = None,
    proposal_id: int | None = None,
    version: int | None = None,
) -> tuple[int, int]:
    """A new active plan version with its routes (stop id, planned arrival); the older
    versions of the day become inactive. Returns (plan id, version).

    The first statement takes the depot-day's lock and its next version number
    (plan_heads.lock_depot_day; a caller that took it gives ``version``); with
    ``built_on`` (van -> version) the vans must still be at those versions, else
    PlanConflict and the caller's transaction writes nothing.

    A whole day's plan (``distances_m``: each route's planned distance) gives every van's
    route. A re-plan's ``routes`` are the vans it changes: the other vans keep the active
    version's routes as the database has them (another workstation may have changed
    them), and each changed route's distance is the active version's plus ``km_change``
    (what the re-plan adds to the van's remaining route), so the day's planned km stay
    whole. Unserved stops leave their van. The vans of ``routes`` are stamped in
    plan_heads with the new version, ``action`` (default: ``source``) and who."""
    if version is None:
        version = lock_depot_day(session, depot_id, day, created_at, created_by)
    if built_on:
        check_current(session, depot_id, day, built_on)
    active = session.scalar(
        select(PlanRow.id).where(PlanRow.depot_id == depot_id, PlanRow.day == day, PlanRow.active)
    )
    kept = _kept_routes(session, active, set(routes)) if distances_m is None else []
    planned_m = dict(
        session.execute(
            select(RouteRow.vehicle_id, RouteRow.distance_m).where(RouteRow.plan_id == active)
        ).all()
    )
    change = km_change or {}
    session.execute(
        update(PlanRow).where(PlanRow.depot_id == depot_id, PlanRow.day == day).values(active=False)
    )
    plan = PlanRow(
        depot_id=depot_id,
        day=day,
        version=version,
        created_at=created_at,
        created_by=created_by,
        source=source,
        active=True,
        auto_accepted=auto_accepted,
        unserved=unserved,
    )
    session.add(plan)
    session.flush()
    for vehicle_id, distance_m, stops in kept:
        _add_route(session, plan.id, vehicle_id, distance_m, stops)
    for vehicle_id, stops in routes.items():
        metres = (
            distances_m.get(vehicle_id, 0.0)
            if distances_m is not None
            else planned_m.get(vehicle_id, 0.0) + change.get(vehicle_id, 0.0) * 1000
        )
        _add_route(session, plan.id, vehicle_id, metres, stops)
        if stops:  # one executemany by primary key, not a statement per stop
            session.execute(
                update(StopRow),
                [
                    {"id": sid, "vehicle_id": vehicle_id, "sequence": n, "planned_arrival": eta}
                    for n, (sid, eta) in enumerate(stops)
                ],
            )
    if unserved:
        session.execute(update(StopRow).where(StopRow.id.in_(unserved)).values(vehicle_id=None))
    decision = Decision(created_at, created_by, action or source, routes, proposal_id=proposal_id)
    stamp(session, depot_id, day, version, decision)
    return int(plan.id), version


def _kept_routes(
    session: Session, plan_id: int | None, changed: set[str]
) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """The routes of ``plan_id`` of the vans not in ``changed``: (van, metres, stops),
    read in one query."""
    if plan_id is None:
        return []
    rows = session.execute(
        select(RouteRow.id, RouteRow.vehicle_id, RouteRow.distance_m, RouteStopRow)
        .outerjoin(RouteStopRow, RouteStopRow.route_id == RouteRow.id)
        .where(RouteRow.plan_id == plan_id, RouteRow.vehicle_id.not_in(changed))
        .order_by(RouteRow.id, RouteStopRow.sequence)
    ).all()
    kept: dict[int, tuple[str, float, list[tuple[str, float]]]] = {}
    for route_id, vehicle_id, metres, stop in rows:
        _, _, stops = kept.setdefault(route_id, (vehicle_id, metres, []))
        if stop is not None:
            stops.append((stop.stop_id, stop.planned_arrival))
    return list(kept.values())


def _add_route(
    session: Session, plan_id: int, vehicle_id: str, metres: float, stops: list[tuple[str, float]]
) -> None:
    route = RouteRow(plan_id=plan_id, vehicle_id=vehicle_id, distance_m=metres)
    session.add(route)
    session.flush()
    session.add_all(
        RouteStopRow(route_id=route.id, stop_id=sid, sequence=n, planned_arrival=eta)
        for n, (sid, eta) in enumerate(stops)
    )
