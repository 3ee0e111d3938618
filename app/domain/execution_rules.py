"""The transition rules: what one execution event does to a vehicle's stops and parcels.

Each rule changes the live records of ``ExecutionTracker`` and returns ``None`` or a flag
(why the event contradicts the state). Rules that describe something that physically
happened (a delivery whose loading scan is missing) are applied and flagged; rules that
cannot be true as reported (a second delivery, another van's stop) are flagged and change
nothing. docs/execution.md lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.domain.model import (
    EventType,
    ExecutionEvent,
    FailureReason,
    Order,
    ParcelStatus,
    Stop,
    StopStatus,
)
from app.domain.progress import ON_BOARD, OPEN, VehicleProgress

if TYPE_CHECKING:
    from app.domain.execution import ExecutionTracker


def apply_rules(
    t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent, stop_id: str | None
) -> str | None:
    """Apply one event to the tracker's live state; return a contradiction flag or None."""
    if e.type in _STOP_RULES:
        if stop_id is None:
            if e.order_id:
                return f"order {e.order_id} is not planned on any vehicle"
            if e.type in (EventType.ARRIVED, EventType.DEPARTED):
                return _depot_event(t, v, e)
            return "no stop or order given"
        stop = t.stops.get(stop_id)
        if stop is None:
            return f"unknown stop {stop_id}"
        if stop.vehicle_id != e.vehicle_id:
            return f"stop {stop_id} belongs to vehicle {stop.vehicle_id}"
        if e.order_id and e.order_id != stop.order_id:
            return f"order {e.order_id} is not served at stop {stop_id}"
        return _STOP_RULES[e.type](t, v, e, stop)
    return _VEHICLE_RULES[e.type](t, v, e)


# -- stop events -----------------------------------------------------------------------


def _arrived(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent, stop: Stop) -> str | None:
    p = t.progress_ref(stop.id)
    if p.status in (StopStatus.DELIVERED, StopStatus.SKIPPED):
        return f"arrived at a stop already {p.status.value}"
    if p.status is StopStatus.ARRIVED and p.departed_at is None:
        return "already arrived at this stop"
    flag = None
    order = t.orders[stop.order_id]
    if p.status is StopStatus.FAILED:  # a re-attempt: the parcels go out again
        for parcel in order.parcels:
            status = t.parcel_status(parcel.id)
            if status is ParcelStatus.FAILED_ATTEMPT:
                t.set_parcel(v.vehicle_id, parcel.id, ParcelStatus.OUT_FOR_DELIVERY, e)
            elif status is ParcelStatus.RETURNED:
                flag = f"parcel {parcel.id} was already returned to the depot"
    _on_road(t, v, e)
    _settle_en_route(t, v, stop.id)
    p.status, p.arrived_at, p.departed_at = StopStatus.ARRIVED, e.ts, None
    v.current_stop_id = stop.id
    t.observe_arrival(stop, e.ts, v.leg_from, inferred=e.inferred)
    v.leg_from = None
    return flag


def _departed(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent, stop: Stop) -> str | None:
    p = t.progress_ref(stop.id)
    if p.arrived_at is not None and p.departed_at is not None:
        return "already departed from this stop"
    flag = None if p.arrived_at is not None else "departed from a stop it had not arrived at"
    p.departed_at = e.ts
    if p.arrived_at is not None:
        t.observe_service(stop, p.arrived_at, e.ts)
    if v.current_stop_id == stop.id:
        v.current_stop_id = None
    order = t.orders[stop.order_id]
    lat, lon = (e.lat, e.lon) if e.lat is not None and e.lon is not None else (order.lat, order.lon)
    v.leg_from = (lat, lon, e.ts) if v.on_break_since is None else None
    _advance(t, v)
    return flag


def _delivered(
    t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent, stop: Stop
) -> str | None:
    p = t.progress_ref(stop.id)
    if p.status is StopStatus.DELIVERED:
        return "already delivered"
    flag = "delivered at a skipped stop" if p.status is StopStatus.SKIPPED else None
    _complete(t, v, e, stop, StopStatus.DELIVERED)
    parcels = _move_parcels(t, v, e, t.orders[stop.order_id], ParcelStatus.DELIVERED)
    return _join(flag, parcels)


def _failed(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent, stop: Stop) -> str | None:
    p = t.progress_ref(stop.id)
    if p.status is StopStatus.DELIVERED:
        order = t.orders[stop.order_id]
        if e.parcel_ids and all(
            t.parcel_status(x) is not ParcelStatus.DELIVERED
            for x in e.parcel_ids
            if t.parcel_order(x) == order.id
        ):
            # A partial delivery: the stop stays delivered, these parcels failed.
            return _move_parcels(t, v, e, order, ParcelStatus.FAILED_ATTEMPT)
        return "failed at a stop already delivered"
    flag = "failed at a skipped stop" if p.status is StopStatus.SKIPPED else None
    if e.reason is None:
        flag = _join(flag, "failed without a reason")
    _complete(t, v, e, stop, StopStatus.FAILED)
    p.reason = e.reason or FailureReason.OTHER
    parcels = _move_parcels(t, v, e, t.orders[stop.order_id], ParcelStatus.FAILED_ATTEMPT)
    return _join(flag, parcels)


def _complete(
    t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent, stop: Stop, status: StopStatus
) -> None:
    p = t.progress_ref(stop.id)
    _on_road(t, v, e)
    _settle_en_route(t, v, stop.id)
    if p.arrived_at is None or p.status in OPEN:  # devices that only report the outcome
        p.arrived_at, p.departed_at = e.ts, None
    p.status, p.completed_at, p.attempts = status, e.ts, p.attempts + 1
    p.reason = None
    p.pod = e.pod or p.pod
    if p.departed_at is None:
        v.current_stop_id = stop.id


def _move_parcels(
    t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent, order: Order, target: ParcelStatus
) -> str | None:
    problems: list[str] = []
    verb = "delivered" if target is ParcelStatus.DELIVERED else "failed"
    for pid in e.parcel_ids or tuple(p.id for p in order.parcels):
        if t.parcel_order(pid) != order.id:
            problems.append(f"parcel {pid} is not part of order {order.id}")
            continue
        status = t.parcel_status(pid)
        if status is ParcelStatus.DELIVERED:
            problems.append(f"parcel {pid} was already delivered")
            continue
        if status is ParcelStatus.AT_DEPOT:
            problems.append(f"parcel {pid} {verb} before it was loaded")
        elif status is ParcelStatus.RETURNED:
            problems.append(f"parcel {pid} {verb} after it was returned to the depot")
        t.set_parcel(v.vehicle_id, pid, target, e)
    return "; ".join(problems) or None


# -- depot and vehicle events ----------------------------------------------------------


def _depot_event(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent) -> str | None:
    if e.type is EventType.ARRIVED:
        v.at_depot, v.leg_from, v.current_stop_id = True, None, None
        for pid in t.vehicle_parcels(v.vehicle_id):
            if t.parcel_status(pid) is ParcelStatus.FAILED_ATTEMPT:
                t.set_parcel(v.vehicle_id, pid, ParcelStatus.RETURNED, e)
        return None
    _on_road(t, v, e)
    depot = t.depot_of(v.vehicle_id)
    if e.lat is not None and e.lon is not None:
        v.leg_from = (e.lat, e.lon, e.ts)
    elif depot is not None:
        v.leg_from = (depot.lat, depot.lon, e.ts)
    v.current_stop_id = None
    _advance(t, v)
    return None


def _scan(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent) -> str | None:
    problems: list[str] = []
    for pid in e.parcel_ids:
        order_id = t.parcel_order(pid)
        stop = t.stop_of_order(order_id) if order_id else None
        if order_id is None:
            problems.append(f"unknown parcel {pid}")
            continue
        if stop is None or stop.vehicle_id != v.vehicle_id:
            owner = stop.vehicle_id if stop else "no vehicle"
            problems.append(f"parcel {pid} is planned on {owner}")
            continue
        status = t.parcel_status(pid)
        if status is ParcelStatus.DELIVERED:
            problems.append(f"scan of delivered parcel {pid}")
        elif v.at_depot and status in (ParcelStatus.AT_DEPOT, ParcelStatus.RETURNED):
            t.set_parcel(v.vehicle_id, pid, ParcelStatus.LOADED, e)
        elif v.at_depot and status is ParcelStatus.FAILED_ATTEMPT:
            t.set_parcel(v.vehicle_id, pid, ParcelStatus.RETURNED, e)
        elif not v.at_depot and status is ParcelStatus.AT_DEPOT:
            problems.append(f"parcel {pid} scanned on the road before it was loaded")
            t.set_parcel(v.vehicle_id, pid, ParcelStatus.OUT_FOR_DELIVERY, e)
    return "; ".join(problems) or None


def _break_start(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent) -> str | None:
    flag = "break already started" if v.on_break_since is not None else None
    v.on_break_since, v.leg_from = e.ts, None  # a leg with a break in it teaches nothing
    return flag


def _break_end(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent) -> str | None:
    flag = "break end without a start" if v.on_break_since is None else None
    v.on_break_since = None
    return flag


def _breakdown(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent) -> str | None:
    v.broken_down_at, v.leg_from = e.ts, None
    return None


def _shift_start(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent) -> str | None:
    flag = "shift already started" if v.shift_started_at is not None else None
    v.shift_started_at = v.shift_started_at or e.ts
    return flag


def _shift_end(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent) -> str | None:
    flag = "shift already ended" if v.shift_ended_at is not None else None
    v.shift_ended_at, v.at_depot, v.current_stop_id, v.leg_from = e.ts, True, None, None
    for sid in t.route_ids(v.vehicle_id):
        p = t.progress_ref(sid)
        if p.remaining:
            p.status = StopStatus.SKIPPED
    for pid in t.vehicle_parcels(v.vehicle_id):
        if t.parcel_status(pid) in (*ON_BOARD, ParcelStatus.FAILED_ATTEMPT):
            t.set_parcel(v.vehicle_id, pid, ParcelStatus.RETURNED, e)
    return flag


# -- helpers ---------------------------------------------------------------------------


def _on_road(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent) -> None:
    """The van has left the depot: what it loaded is now out for delivery."""
    if not v.at_depot:
        return
    v.at_depot = False
    v.left_depot_at = v.left_depot_at if v.left_depot_at is not None else e.ts
    for pid in t.vehicle_parcels(v.vehicle_id):
        if t.parcel_status(pid) is ParcelStatus.LOADED:
            t.set_parcel(v.vehicle_id, pid, ParcelStatus.OUT_FOR_DELIVERY, e)


def _route_received(t: ExecutionTracker, v: VehicleProgress, e: ExecutionEvent) -> str | None:
    """The driver app's acknowledgement of a route: news for the dispatcher (the tower
    records it), nothing for the stops or parcels."""
    return None


def _settle_en_route(t: ExecutionTracker, v: VehicleProgress, keep: str | None) -> None:
    for sid in t.route_ids(v.vehicle_id):
        p = t.progress_ref(sid)
        if p.status is StopStatus.EN_ROUTE and sid != keep:
            p.status = StopStatus.PENDING


def _advance(t: ExecutionTracker, v: VehicleProgress) -> None:
    """After a departure the next pending stop in sequence is the one the van heads to."""
    _settle_en_route(t, v, None)
    if v.shift_ended_at is not None:
        return
    for sid in t.route_ids(v.vehicle_id):
        p = t.progress_ref(sid)
        if p.status is StopStatus.PENDING:
            p.status = StopStatus.EN_ROUTE
            return


def _join(a: str | None, b: str | None) -> str | None:
    return "; ".join(x for x in (a, b) if x) or None


_StopRule = Callable[["ExecutionTracker", "VehicleProgress", ExecutionEvent, Stop], "str | None"]
_VehicleRule = Callable[["ExecutionTracker", "VehicleProgress", ExecutionEvent], "str | None"]

_STOP_RULES: dict[EventType, _StopRule] = {
    EventType.ARRIVED: _arrived,
    EventType.DEPARTED: _departed,
    EventType.DELIVERED: _delivered,
    EventType.FAILED: _failed,
}
_VEHICLE_RULES: dict[EventType, _VehicleRule] = {
    EventType.SCAN: _scan,
    EventType.BREAK_START: _break_start,
    EventType.BREAK_END: _break_end,
    EventType.BREAKDOWN: _breakdown,
    EventType.SHIFT_START: _shift_start,
    EventType.SHIFT_END: _shift_end,
    EventType.ROUTE_RECEIVED: _route_received,
}
