"""Reading the execution record back: an order's day, the stored events, the last fixes.

``main.py order ID`` rebuilds an order's story from these: the day's fleet (see
``fleet_repository.load_fleet``), the events stored in ``execution_events`` replayed
through the tracker, and each van's newest position.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, Subquery, func, select
from sqlalchemy.orm import aliased

from app.domain.live_fleet import STORED_EVENTS_PER_VAN, within_cap
from app.domain.model import EventType, ExecutionEvent, FailureReason, ProofOfDelivery
from app.storage.database import SessionFactory
from app.storage.orm import DepotRow, ExecutionEventRow, OrderRow
from app.storage.records import record_from


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
    return _events(sessions, query)


def capped_events_between(
    sessions: SessionFactory, since: float, until: float, zones: Mapping[str, str] | None = None
) -> list[ExecutionEvent]:
    """The same, as the live day took them at the time (``within_cap``, its days those of
    ``zones``: vehicle id -> depot zone): a restart does not load back a flooding van's
    stored events past its daily cap."""
    where = (ExecutionEventRow.ts >= since, ExecutionEventRow.ts < until)
    rows = aliased(ExecutionEventRow, first_per_van(select(ExecutionEventRow).where(*where)))
    return within_cap(_events(sessions, select(rows).order_by(rows.ts, rows.event_id)), zones)


def first_per_van(query: Select[*tuple[Any, ...]]) -> Subquery:
    """``query`` of execution_events limited to each van's oldest STORED_EVENTS_PER_VAN
    (its columns as they were), for a select ordered by time."""
    rank = func.row_number().over(
        partition_by=ExecutionEventRow.vehicle_id,
        order_by=(ExecutionEventRow.ts, ExecutionEventRow.event_id),
    )
    ranked = query.add_columns(rank.label("van_rank")).subquery()
    kept = [c for c in ranked.c if c.name != "van_rank"]
    return select(*kept).where(ranked.c.van_rank <= STORED_EVENTS_PER_VAN).subquery()


def _events(sessions: SessionFactory, query: Select[ExecutionEventRow]) -> list[ExecutionEvent]:
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
    return record_from(
        ExecutionEvent,
        r,
        type=kind,
        parcel_ids=tuple(str(p) for p in r.parcel_ids or ()),
        reason=reason,
        pod=pod,
        inferred=bool(r.inferred),
    )
