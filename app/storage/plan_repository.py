"""A depot-day's whole plan: stored as its next version (a morning plan), read back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.model import Stop
from app.storage.database import SessionFactory
from app.storage.operations_repository import store_plan_version
from app.storage.orm import OrderRow, PlanRow, RouteRow, RouteStopRow, StopRow


@dataclass(frozen=True)
class StoredPlan:
    """Where a plan went: its row, its version and the version it replaced (0: none)."""

    plan_id: int
    version: int
    replaced: int


def store_day_plan(
    session: Session,
    *,
    depot_id: str,
    day: str,
    created_at: float,
    created_by: str,
    stops: Sequence[Stop],
    distances_m: Mapping[str, float],
    source: str = "morning",
) -> StoredPlan:
    """Store ``stops`` (every stop of the depot's day, unserved ones on no van) as the
    day's next plan version, making the stops an order has not got yet. ``distances_m``
    holds every van's planned distance (the vans of the plan)."""
    of_day = select(OrderRow.id).where(OrderRow.depot_id == depot_id, OrderRow.day == day)
    known = set(session.scalars(select(StopRow.id).where(StopRow.order_id.in_(of_day))))
    session.add_all(
        StopRow(
            id=s.id,
            order_id=s.order_id,
            vehicle_id=s.vehicle_id or None,
            sequence=s.sequence,
            planned_arrival=s.planned_arrival,
            status=s.status.value,
        )
        for s in stops
        if s.id not in known
    )
    session.flush()
    replaced = session.scalar(
        select(func.max(PlanRow.version)).where(PlanRow.depot_id == depot_id, PlanRow.day == day)
    )
    # Every van of the plan has its route, an empty one too.
    routes: dict[str, list[tuple[str, float]]] = {vehicle_id: [] for vehicle_id in distances_m}
    for s in sorted((s for s in stops if s.vehicle_id), key=lambda s: s.sequence):
        routes.setdefault(s.vehicle_id, []).append((s.id, s.planned_arrival))
    unserved = [s.id for s in stops if not s.vehicle_id]
    plan_id, version = store_plan_version(
        session,
        depot_id=depot_id,
        day=day,
        created_at=created_at,
        created_by=created_by,
        source=source,
        auto_accepted=False,
        routes=routes,
        unserved=unserved,
        distances_m=distances_m,
    )
    return StoredPlan(plan_id, version, int(replaced or 0))


def first_version_stops(sessions: SessionFactory, depot_id: str, day: str) -> list[Stop]:
    """The stops of the depot-day's first plan version (its morning plan), in each van's
    order; none when no plan is stored."""
    with sessions() as session:
        first = session.scalar(
            select(PlanRow.id)
            .where(PlanRow.depot_id == depot_id, PlanRow.day == day)
            .order_by(PlanRow.version)
            .limit(1)
        )
        if first is None:
            return []
        rows = session.execute(
            select(RouteRow.vehicle_id, RouteStopRow, StopRow.order_id)
            .join(RouteStopRow, RouteStopRow.route_id == RouteRow.id)
            .join(StopRow, StopRow.id == RouteStopRow.stop_id)
            .where(RouteRow.plan_id == first)
            .order_by(RouteRow.vehicle_id, RouteStopRow.sequence)
        ).all()
        return [
            Stop(r.stop_id, order_id, vehicle_id, r.sequence, r.planned_arrival)
            for vehicle_id, r, order_id in rows
        ]
