"""Reading and seeding the fleet: depots, drivers, vehicles, orders, parcels, stops, plans."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.domain.demo import DemoDay
from app.domain.model import (
    Depot,
    Driver,
    FleetSnapshot,
    Order,
    Parcel,
    ParcelStatus,
    Stop,
    StopStatus,
    TimeWindow,
    Vehicle,
)
from app.storage.database import SessionFactory
from app.storage.orm import (
    DepotRow,
    DriverRow,
    OrderRow,
    ParcelRow,
    StopRow,
    UserRow,
    VehicleRow,
)
from app.storage.plan_repository import store_day_plan
from app.storage.records import record_from, row_from


def is_empty(sessions: SessionFactory) -> bool:
    """True when no depot exists yet (a first start)."""
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(DepotRow)) == 0


def has_orders_for(sessions: SessionFactory, day_iso: str) -> bool:
    """True when orders for ``day_iso`` are stored."""
    with sessions() as session:
        query = select(func.count()).select_from(OrderRow).where(OrderRow.day == day_iso)
        return bool(session.scalar(query))


def seed_demo_fleet(sessions: SessionFactory, day: DemoDay) -> None:
    """Store the demo depot, drivers, vehicles and users (once, on an empty database)."""
    with sessions.begin() as session:
        session.add(row_from(DepotRow, day.depot, thresholds={}))
        session.add_all(row_from(DriverRow, x) for x in day.drivers)
        session.flush()
        session.add_all(row_from(VehicleRow, v) for v in day.vehicles)
        session.add_all(
            [
                UserRow(username="dispatcher", display_name="Dispatcher", role="dispatcher"),
                UserRow(username="supervisor", display_name="Supervisor", role="supervisor"),
                UserRow(username="admin", display_name="Administrator", role="admin"),
            ]
        )


def seed_demo_orders(sessions: SessionFactory, day: DemoDay, day_iso: str) -> None:
    """Store one demo day's orders, parcels, stops and morning plan (version 1)."""
    with sessions.begin() as session:
        session.add_all(_order_row(o, day_iso) for o in day.orders)
        session.flush()
        session.add_all(row_from(ParcelRow, p) for o in day.orders for p in o.parcels)
        store_day_plan(
            session,
            depot_id=day.depot.id,
            day=day_iso,
            # Made before the first shift, as the history seed's plans are: the same seed
            # gives the same stored day, whenever it is seeded.
            created_at=day.operating_day.epoch_at(6 * 3600),
            created_by="demo",
            stops=day.stops,
            distances_m={v.id: day.planned_distance_m(v.id) for v in day.vehicles},
        )


def store_order(session: Session, order: Order, stop: Stop, day_iso: str) -> None:
    """A new order of the day (an urgent one) with its parcels and its stop, on the van
    the stop names (none: on no van yet)."""
    session.add(_order_row(order, day_iso))
    session.flush()
    session.add_all(row_from(ParcelRow, p) for p in order.parcels)
    session.add(row_from(StopRow, stop, vehicle_id=stop.vehicle_id or None))


def _order_row(o: Order, day_iso: str) -> OrderRow:
    second = o.windows[1] if len(o.windows) > 1 else None
    return row_from(
        OrderRow,
        o,
        day=day_iso,
        window1_start=o.windows[0].start,
        window1_end=o.windows[0].end,
        window2_start=second.start if second else None,
        window2_end=second.end if second else None,
    )


def load_depots(sessions: SessionFactory) -> list[Depot]:
    """Every depot, by id."""
    with sessions() as session:
        return [
            record_from(Depot, r) for r in session.scalars(select(DepotRow).order_by(DepotRow.id))
        ]


def load_fleet(
    sessions: SessionFactory, day_iso: str, depot_days: Mapping[str, str] | None = None
) -> FleetSnapshot:
    """The fleet and one day's orders and stops: what the live view starts from.

    ``depot_days`` (depot id -> its local date) reads each depot's orders of its own day;
    a depot it does not name reads ``day_iso``'s.
    """
    depots = load_depots(sessions)
    days = {d.id: (depot_days or {}).get(d.id, day_iso) for d in depots}
    of_days = [
        and_(
            OrderRow.depot_id.in_([d for d, iso in days.items() if iso == day]), OrderRow.day == day
        )
        for day in sorted(set(days.values()))
    ] or [OrderRow.day == day_iso]
    with sessions() as session:
        drivers = [
            record_from(Driver, r)
            for r in session.scalars(select(DriverRow).order_by(DriverRow.id))
        ]
        vehicles = [
            record_from(Vehicle, r)
            for r in session.scalars(
                select(VehicleRow).where(VehicleRow.active).order_by(VehicleRow.id)
            )
        ]
        parcels: dict[str, list[Parcel]] = {}
        of_day = select(OrderRow.id).where(or_(*of_days))
        parcel_rows = select(ParcelRow).where(ParcelRow.order_id.in_(of_day))
        for p in session.scalars(parcel_rows.order_by(ParcelRow.id)):
            parcels.setdefault(p.order_id, []).append(
                record_from(Parcel, p, status=ParcelStatus(p.status))
            )
        orders = [
            _order(r, parcels.get(r.id, []))
            for r in session.scalars(select(OrderRow).where(or_(*of_days)).order_by(OrderRow.id))
        ]
        stops = [
            record_from(Stop, r, vehicle_id=r.vehicle_id or "", status=StopStatus(r.status))
            for r in session.scalars(
                select(StopRow)
                .where(StopRow.order_id.in_(of_day))
                .order_by(StopRow.vehicle_id, StopRow.sequence)
            )
        ]
    return FleetSnapshot(depots, vehicles, drivers, orders, stops)


def _order(r: OrderRow, parcels: list[Parcel]) -> Order:
    windows = [TimeWindow(r.window1_start, r.window1_end)]
    if r.window2_start is not None and r.window2_end is not None:
        windows.append(TimeWindow(r.window2_start, r.window2_end))
    return record_from(Order, r, windows=tuple(windows), parcels=tuple(parcels))
