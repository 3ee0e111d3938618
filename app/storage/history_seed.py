"""A synthetic, deterministic delivery history written with bulk inserts.

For the KPI benchmark (a depot-month: 30 days x 40 vans x 120 stops), the KPI dock's
tests, and a demo that wants yesterday's figures to compare with.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.domain.kpi_rows import DayBounds
from app.storage.database import SessionFactory
from app.storage.orm import (
    CustomerUpdateRow,
    DepotRow,
    DriverRow,
    EtaSampleRow,
    ExceptionRow,
    ExecutionEventRow,
    OrderRow,
    PlanRow,
    ProposalRow,
    RouteRow,
    RouteStopRow,
    StopRow,
    TelemetryFixRow,
    VehicleRow,
)

REASONS = ("not_home", "not_home", "not_home", "no_access", "address_not_found", "refused")
VEHICLE_RULES = ("lost_signal", "stopped_too_long", "off_route")


@dataclass(frozen=True)
class HistoryShape:
    """How much history to make."""

    depots: int = 1
    vehicles_per_depot: int = 40
    stops_per_vehicle: int = 120
    seed: int = 11
    fleet: bool = True  # also create depots, drivers and vehicles
    first_hour: float = 8.0
    minutes_between_stops: float = 4.5
    late_share: float = 0.08
    fail_share: float = 0.07
    retry_share: float = 0.4  # of failed first attempts, delivered later the same day


def depot_id(n: int) -> str:
    """The id of the n-th (0-based) synthetic depot."""
    return f"D{n + 1}"


def vehicle_id(depot: int, n: int) -> str:
    """The id of a synthetic van."""
    return f"D{depot + 1}V{n + 1:02d}"


def driver_id(depot: int, n: int) -> str:
    """The id of a synthetic driver (one per van)."""
    return f"D{depot + 1}DR{n + 1:02d}"


def seed_history(sessions: SessionFactory, days: Sequence[DayBounds], shape: HistoryShape) -> int:
    """Write ``shape`` of history over ``days``; returns the number of stops written."""
    rng = random.Random(shape.seed)
    tables: dict[Any, list[dict[str, Any]]] = {
        t: []
        for t in (
            OrderRow,
            StopRow,
            ExecutionEventRow,
            EtaSampleRow,
            CustomerUpdateRow,
            ExceptionRow,
            ProposalRow,
            RouteStopRow,
            TelemetryFixRow,
        )
    }
    with sessions.begin() as session:
        if shape.fleet:
            _fleet(session, shape)
        for day in days:
            for d in range(shape.depots):
                plan_id = _plan(session, day, d)
                for v in range(shape.vehicles_per_depot):
                    route_id = _route(session, plan_id, vehicle_id(d, v), rng)
                    _vehicle_day(tables, day, d, v, route_id, shape, rng)
                _proposals(tables, day, d, shape, rng)
        for table, rows in tables.items():
            if rows:
                session.execute(insert(table), rows)
    return len(tables[StopRow])


def _fleet(session: Session, shape: HistoryShape) -> None:
    session.execute(
        insert(DepotRow),
        [
            {
                "id": depot_id(d),
                "name": f"Depot {d + 1}",
                "lat": 45.73 + d * 0.1,
                "lon": 4.83,
                "opens_s": 7 * 3600,
                "closes_s": 20 * 3600,
                "thresholds": {},
            }
            for d in range(shape.depots)
        ],
    )
    session.execute(
        insert(DriverRow),
        [
            {"id": driver_id(d, v), "name": f"Driver {d + 1}-{v + 1:02d}", "phone": ""}
            for d in range(shape.depots)
            for v in range(shape.vehicles_per_depot)
        ],
    )
    session.execute(
        insert(VehicleRow),
        [
            {
                "id": vehicle_id(d, v),
                "depot_id": depot_id(d),
                "plate": f"AB-{d + 1}{v + 1:02d}-CD",
                "capacity_kg": 1000.0,
                "capacity_m3": 10.0,
                "shift_start_s": 8 * 3600,
                "shift_end_s": 17 * 3600,
                "driver_id": driver_id(d, v),
                "device_id": f"dev-{d + 1}-{v + 1}",
            }
            for d in range(shape.depots)
            for v in range(shape.vehicles_per_depot)
        ],
    )


def _plan(session: Session, day: DayBounds, d: int) -> int:
    plan = PlanRow(
        depot_id=depot_id(d),
        day=day.iso,
        version=1,
        created_at=day.epoch_at(6 * 3600),
        created_by="history",
        source="morning",
        active=True,
    )
    session.add(plan)
    session.flush()
    return plan.id


def _route(session: Session, plan_id: int, vehicle: str, rng: random.Random) -> int:
    route = RouteRow(plan_id=plan_id, vehicle_id=vehicle, distance_m=rng.uniform(60e3, 110e3))
    session.add(route)
    session.flush()
    return route.id


def _vehicle_day(
    tables: dict[Any, list[dict[str, Any]]],
    day: DayBounds,
    d: int,
    v: int,
    route_id: int,
    shape: HistoryShape,
    rng: random.Random,
) -> None:
    vehicle = vehicle_id(d, v)
    depot = depot_id(d)
    prefix = f"{day.iso}-{vehicle}"
    first = day.epoch_at(shape.first_hour * 3600)
    odometer = 10_000.0 + 500 * v + rng.uniform(0, 100)
    km_today = rng.uniform(55, 120)
    tables[TelemetryFixRow] += [
        {
            "vehicle_id": vehicle,
            "ts": first - 1800,
            "lat": 45.7,
            "lon": 4.8,
            "odometer_km": odometer,
        },
        {
            "vehicle_id": vehicle,
            "ts": first + shape.stops_per_vehicle * shape.minutes_between_stops * 60 + 1800,
            "lat": 45.7,
            "lon": 4.8,
            "odometer_km": odometer + km_today,
        },
    ]
    for k in range(shape.stops_per_vehicle):
        order = f"H{prefix}-{k:03d}"
        stop = f"S-{order}"
        planned = first + k * shape.minutes_between_stops * 60
        window_start = planned - 3600 * rng.choice((0.5, 1.0, 1.5))
        window_end = window_start + 3600 * rng.choice((2, 2, 3))
        late = rng.random() < shape.late_share
        arrival = window_end + rng.uniform(2, 45) * 60 if late else planned + rng.gauss(0, 300)
        service = rng.choice((120.0, 180.0, 240.0))
        failed_first = rng.random() < shape.fail_share
        retried = failed_first and rng.random() < shape.retry_share
        reason = rng.choice(REASONS) if failed_first else None
        completed = arrival + service
        if retried:
            completed += 2 * 3600
        status = "failed" if failed_first and not retried else "delivered"
        tables[OrderRow].append(
            {
                "id": order,
                "depot_id": depot,
                "day": day.iso,
                "customer_name": f"Customer {k}",
                "phone": "",
                "address": f"{k} rue de la KPI",
                "lat": 45.75,
                "lon": 4.85,
                "window1_start": window_start,
                "window1_end": window_end,
                "window2_start": None,
                "window2_end": None,
                "service_s": service,
                "priority": 1,
            }
        )
        tables[StopRow].append(
            {
                "id": stop,
                "order_id": order,
                "vehicle_id": vehicle,
                "sequence": k,
                "planned_arrival": planned,
                "status": status,
                "status_reason": reason if status == "failed" else None,
                "arrived_at": arrival,
                "completed_at": completed,
            }
        )
        tables[RouteStopRow].append(
            {"route_id": route_id, "stop_id": stop, "sequence": k, "planned_arrival": planned}
        )
        events = tables[ExecutionEventRow]
        if failed_first:
            events.append(
                _event(f"{stop}-f", vehicle, arrival + service, "failed", stop, order, reason)
            )
        if status == "delivered":
            events.append(_event(f"{stop}-d", vehicle, completed, "delivered", stop, order, None))
        tables[EtaSampleRow].append(
            {
                "stop_id": stop,
                "vehicle_id": vehicle,
                "horizon_min": 30,
                "predicted_eta": arrival + rng.gauss(0, 420),
                "planned_arrival": planned,
                "actual_arrival": arrival,
            }
        )
        for n in range(rng.choice((1, 2, 2, 3))):
            tables[CustomerUpdateRow].append(
                {
                    "order_id": order,
                    "ts": arrival - 3600 + n * 900,
                    "trigger": "eta_changed",
                    "payload": {},
                }
            )
        if late:
            raised = window_end - 600
            tables[ExceptionRow].append(
                _exception("late_arrival", "stop", stop, depot, vehicle, stop, raised, rng)
            )
    if rng.random() < 0.5:
        raised = first + rng.uniform(0, 8) * 3600
        rule = rng.choice(VEHICLE_RULES)
        tables[ExceptionRow].append(
            _exception(rule, "vehicle", vehicle, depot, vehicle, None, raised, rng)
        )


def _event(
    event_id: str,
    vehicle: str,
    ts: float,
    kind: str,
    stop: str,
    order: str,
    reason: str | None,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "vehicle_id": vehicle,
        "ts": ts,
        "type": kind,
        "stop_id": stop,
        "order_id": order,
        "parcel_ids": [],
        "reason": reason,
        "inferred": False,
    }


def _exception(
    rule: str,
    kind: str,
    subject: str,
    depot: str,
    vehicle: str,
    stop: str | None,
    raised: float,
    rng: random.Random,
) -> dict[str, Any]:
    acknowledged = raised + rng.uniform(0.5, 15) * 60
    resolved = acknowledged + rng.uniform(2, 60) * 60
    return {
        "rule": rule,
        "subject_kind": kind,
        "subject_id": subject,
        "depot_id": depot,
        "vehicle_id": vehicle,
        "stop_id": stop,
        "severity": "warning",
        "state": "resolved",
        "detail": f"{rule.replace('_', ' ')} ({subject})",
        "raised_at": raised,
        "updated_at": resolved,
        "acknowledged_at": acknowledged,
        "acknowledged_by": "dispatcher",
        "resolved_at": resolved,
        "resolved_by": "dispatcher",
    }


def _proposals(
    tables: dict[Any, list[dict[str, Any]]],
    day: DayBounds,
    d: int,
    shape: HistoryShape,
    rng: random.Random,
) -> None:
    for n in range(rng.randint(1, 4)):
        status = rng.choice(("accepted", "accepted", "rejected", "open"))
        auto = status == "accepted" and rng.random() < 0.3
        before = rng.uniform(20, 120)
        v = rng.randrange(shape.vehicles_per_depot)
        tables[ProposalRow].append(
            {
                "depot_id": depot_id(d),
                "created_at": day.epoch_at((10 + 2 * n) * 3600),
                "trigger": "late risk",
                "status": status,
                "diff": {"changed_vehicles": [vehicle_id(d, v)]},
                "figures_before": {"minutes_late": round(before, 1)},
                "figures_after": {"minutes_late": round(before * rng.uniform(0.2, 0.9), 1)},
                "auto_accepted": auto,
            }
        )
