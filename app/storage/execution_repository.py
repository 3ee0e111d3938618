"""Reading the execution record back: an order's day, the stored events, the last fixes.

``main.py order ID`` rebuilds an order's story from these: the day's fleet (see
``fleet_repository.load_fleet``), the events stored in ``execution_events`` replayed
through the tracker, and each van's newest position.
"""

from __future__ import annotations

from sqlalchemy import select

from app.domain.model import EventType, ExecutionEvent, FailureReason, ProofOfDelivery
from app.storage.database import SessionFactory
from app.storage.orm import DepotRow, ExecutionEventRow, OrderRow


def order_day(sessions: SessionFactory, order_id: str) -> tuple[str, str] | None:
    """The ISO delivery day of a stored order (its depot's local date) and that depot's
    zone, or None when no such order exists."""
    query = select(OrderRow.day, DepotRow.timezone).join(DepotRow, DepotRow.id == OrderRow.depot_id)
    with sessions() as session:
        row = session.execute(query.where(OrderRow.id == order_id)).first()
    return None if row is None else (row[0], row[1])


def events_between(sessions: SessionFactory, since: float, until: float) -> list[ExecutionEvent]:
    """The stored execution events with ``since <= ts < until``, oldest first.

    A row whose type or reason this version does not know is skipped (a newer device
    contract); everything else comes back as it was stored, inferred events included.
    """
    query = (
        select(ExecutionEventRow)
        .where(ExecutionEventRow.ts >= since, ExecutionEventRow.ts < until)
        .order_by(ExecutionEventRow.ts, ExecutionEventRow.event_id)
    )
    events = []
    with sessions() as session:
        for r in session.scalars(query):
            event = _event(r)
            if event is not None:
                events.append(event)
    return events


def _event(r: ExecutionEventRow) -> ExecutionEvent | None:
    try:
        kind = EventType(r.type)
        reason = FailureReason(r.reason) if r.reason else None
    except ValueError:
        return None
    pod = ProofOfDelivery(r.pod_kind, r.pod_ref or "") if r.pod_kind else None
    return ExecutionEvent(
        event_id=r.event_id,
        vehicle_id=r.vehicle_id,
        ts=r.ts,
        type=kind,
        stop_id=r.stop_id,
        order_id=r.order_id,
        parcel_ids=tuple(str(p) for p in r.parcel_ids or ()),
        reason=reason,
        pod=pod,
        lat=r.lat,
        lon=r.lon,
        inferred=bool(r.inferred),
    )
