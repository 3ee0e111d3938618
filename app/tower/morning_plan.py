"""Publishing a depot's morning plan: stored as the day's next plan version, each van's
route sent retained to its driver, as an accepted re-plan's are (app.tower.route_sending).

A morning plan is made from the orders alone, before the vans leave: once a stop of the
depot's day is under way (a van on its way, at a stop, or a stop served), a whole new
plan would ignore where the vans are, so it is refused; the window's re-plan, which
starts from the live positions, is the tool then.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.model import FleetSnapshot, StopStatus
from app.planning.day_plan import DayProblem, planned_stops, vehicle_plans
from app.planning.problem import PlanResult
from app.storage.database import SessionFactory
from app.storage.exception_repository import audit
from app.storage.plan_repository import StoredPlan, store_day_plan
from app.tower.plan_adoption import Routes, planned_routes
from app.tower.route_sending import RoutePublisher, send_routes


class PlanRefused(Exception):
    """The plan cannot be made the day's plan (the message says why)."""


@dataclass(frozen=True)
class Published:
    """A stored and sent morning plan."""

    stored: StoredPlan
    routes: Routes  # every van of the depot (an empty route: no stops today)


def started_stops(snapshot: FleetSnapshot, depot_id: str) -> int:
    """How many stops of the depot's day are under way or done."""
    orders = {o.id for o in snapshot.orders if o.depot_id == depot_id}
    return sum(
        1 for s in snapshot.stops if s.order_id in orders and s.status is not StopStatus.PENDING
    )


def publish_plan(
    sessions: SessionFactory,
    publisher: RoutePublisher,
    prefix: str,
    snapshot: FleetSnapshot,
    day: DayProblem,
    result: PlanResult,
    *,
    iso: str,
    now: float,
    user: str,
) -> Published:
    """Store ``result`` as the plan of ``day`` (the date ``iso``) in its next version and
    send every van its route.

    Raises PlanRefused (nothing stored, nothing sent) once the depot's day is under way.
    """
    depot_id = day.depot.id
    started = started_stops(snapshot, depot_id)
    if started:
        raise PlanRefused(
            f"depot {depot_id}: {started} stops of {iso} are under way or done; a morning "
            "plan would ignore where the vans are: re-plan from the window instead"
        )
    stops = planned_stops(day, result)
    distances = {p.vehicle.id: float(p.distance_m) for p in vehicle_plans(day, result)}
    with sessions.begin() as session:
        stored = store_day_plan(
            session,
            depot_id=depot_id,
            day=iso,
            created_at=now,
            created_by=user,
            stops=stops,
            distances_m=distances,
        )
        detail = {"depot": depot_id, "day": iso, "version": stored.version}
        audit(session, now, user, "plan_published", f"plan:{stored.plan_id}", detail)
    # A van with no stops hears so (an empty route), like a van a re-plan leaves empty.
    routes: Routes = {v.id: [] for v in day.vehicles} | planned_routes(stops)
    send_routes(
        publisher,
        prefix,
        routes,
        stored.version,
        stored.plan_id,
        {s.id: s for s in stops},
        {o.id: o for o in day.orders},
    )
    return Published(stored, routes)
