"""One plan, many workstations: plan versions come from the database, and a decision
writes only if the routes it was built on are still the current ones.

``plan_heads`` keeps, per depot-day, the current plan version (the row whose
``vehicle_id`` is '') and, per van, the version that last changed its route, with who
changed it, when and how. :func:`lock_depot_day` is the first statement of every
transaction that stores a plan version: its UPDATE takes the depot-day's row lock (on
SQLite, the database's write lock), so two workstations' decisions on one depot-day run
one after the other, and it hands out the next version number. :func:`check_current`
then compares the vans' rows with what the decision was built on; a van that moved
raises :class:`PlanConflict` and the caller's transaction is rolled back: nothing is
written, and the conflict says who changed what and when.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.storage.database import SessionFactory
from app.storage.orm import PlanHeadRow, PlanRow
from app.storage.telemetry_repository import insert_on_conflict
from app.storage.worker import JobRefused

DAY_ROW = ""  # the depot-day's own row in plan_heads


@dataclass(frozen=True)
class Head:
    """Who last changed a van's route (or the depot-day's plan), how and when."""

    vehicle_id: str
    version: int
    changed_at: float
    changed_by: str
    action: str  # accepted, auto_accepted, undone, morning, ...
    proposal_id: int | None = None


class PlanConflict(JobRefused):
    """A decision built on routes that changed since, or on a proposal already decided:
    nothing was written. ``head`` says who changed the van's route (None when the
    proposal itself was decided); ``current`` the vans' versions now (the ones that moved
    are left out: this workstation does not have their new routes)."""

    def __init__(
        self,
        message: str,
        head: Head | None = None,
        current: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(message)
        self.head = head
        self.current: dict[str, int] = dict(current or {})


@dataclass(frozen=True)
class Decision:
    """A plan version a decision writes: who, how, and the routes of the vans it changes
    (each van's whole route: (stop id, planned arrival) in order)."""

    at: float
    user: str
    action: str  # what plan_heads says: accepted, auto_accepted, undone, morning, ...
    routes: Mapping[str, list[tuple[str, float]]]
    built_on: Mapping[str, int] | None = None  # van -> version; None: no check
    proposal_id: int | None = None


def lock_depot_day(session: Session, depot_id: str, day: str, at: float, user: str) -> int:
    """Take the depot-day's write lock and its next plan version (the first statement of
    the transaction: on SQLite a read before it would pin an older snapshot)."""
    bump = (
        update(PlanHeadRow)
        .where(
            PlanHeadRow.depot_id == depot_id,
            PlanHeadRow.day == day,
            PlanHeadRow.vehicle_id == DAY_ROW,
        )
        .values(version=PlanHeadRow.version + 1)
        .returning(PlanHeadRow.version)
    )
    version = session.scalar(bump)
    if version is None:
        # A depot-day whose plans were stored before plan_heads existed carries on from them.
        newest = session.scalar(
            select(func.max(PlanRow.version)).where(
                PlanRow.depot_id == depot_id, PlanRow.day == day
            )
        )
        first = {
            "depot_id": depot_id,
            "day": day,
            "vehicle_id": DAY_ROW,
            "version": int(newest or 0),
            "changed_at": at,
            "changed_by": user,
            "action": "created",
        }
        session.execute(
            insert_on_conflict(session, PlanHeadRow.__table__)
            .values(**first)
            .on_conflict_do_nothing()
        )
        version = session.scalar(bump)
    return int(version or 0)


def check_current(session: Session, depot_id: str, day: str, built_on: Mapping[str, int]) -> None:
    """Raise PlanConflict when a van's route is no longer at the version ``built_on``
    gives it (a van with no row is at version 0); the earliest change is named."""
    heads = _heads(session, depot_id, day, built_on)
    moved = [
        head
        for v, version in built_on.items()
        if (head := heads.get(v, Head(v, 0, 0.0, "", "none"))).version != version
    ]
    if not moved:
        return
    head = min(moved, key=lambda h: (h.changed_at, h.vehicle_id))
    gone = {h.vehicle_id for h in moved}
    current = {v: h.version for v, h in heads.items() if v not in gone}
    raise PlanConflict(f"{head.vehicle_id}'s plan changed", head, current)


def stamp(session: Session, depot_id: str, day: str, version: int, decision: Decision) -> None:
    """The vans the decision changed are at ``version`` now, changed by its user; the
    depot-day's row says who made the version."""
    vans = set(decision.routes) | {DAY_ROW}
    for vehicle_id in sorted(vans):
        values = {
            "version": version,
            "changed_at": decision.at,
            "changed_by": decision.user,
            "action": decision.action,
            "proposal_id": decision.proposal_id,
        }
        key = {"depot_id": depot_id, "day": day, "vehicle_id": vehicle_id}
        session.execute(
            insert_on_conflict(session, PlanHeadRow.__table__)
            .values(**key, **values)
            .on_conflict_do_update(index_elements=list(key), set_=values)
        )


def van_heads(sessions: SessionFactory, depot_id: str, day: str) -> dict[str, Head]:
    """Each van's head of the depot-day (the vans whose route a stored plan set)."""
    with sessions() as session:
        rows = session.scalars(
            select(PlanHeadRow).where(
                PlanHeadRow.depot_id == depot_id,
                PlanHeadRow.day == day,
                PlanHeadRow.vehicle_id != DAY_ROW,
            )
        )
        return {r.vehicle_id: _head(r) for r in rows}


def _heads(session: Session, depot_id: str, day: str, vans: Iterable[str]) -> dict[str, Head]:
    rows = session.scalars(
        select(PlanHeadRow).where(
            PlanHeadRow.depot_id == depot_id,
            PlanHeadRow.day == day,
            PlanHeadRow.vehicle_id.in_(list(vans)),
        )
    )
    return {r.vehicle_id: _head(r) for r in rows}


def _head(r: PlanHeadRow) -> Head:
    return Head(r.vehicle_id, r.version, r.changed_at, r.changed_by, r.action, r.proposal_id)
