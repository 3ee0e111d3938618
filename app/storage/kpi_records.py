"""Exceptions and proposals of a day range, for the KPIs: few, read row by row.

Always read afresh, never from stored day totals: they are acknowledged and decided
after the day.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from app.domain.kpi_rows import (
    UNASSIGNED,
    DayBounds,
    Directory,
    ExceptionRecord,
    ProposalRecord,
    day_index,
)
from app.storage.orm import ExceptionRow, ProposalRow


def exception_records(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None, directory: Directory
) -> tuple[ExceptionRecord, ...]:
    """The exceptions raised in ``days`` (of one depot), each with its day and driver."""
    query = select(
        ExceptionRow.id,
        ExceptionRow.rule,
        ExceptionRow.severity,
        ExceptionRow.state,
        ExceptionRow.depot_id,
        ExceptionRow.vehicle_id,
        ExceptionRow.stop_id,
        ExceptionRow.raised_at,
        ExceptionRow.acknowledged_at,
        ExceptionRow.resolved_at,
        ExceptionRow.detail,
    ).where(ExceptionRow.raised_at >= days[0].start, ExceptionRow.raised_at < days[-1].end)
    if depot_id is not None:
        # Older rows may lack the depot: then the vehicle says where they belong.
        own = [v for v, d in directory.vehicle_depot.items() if d == depot_id]
        query = query.where(
            or_(
                ExceptionRow.depot_id == depot_id,
                and_(ExceptionRow.depot_id.is_(None), ExceptionRow.vehicle_id.in_(own)),
            )
        )
    depot_of, driver_of = directory.vehicle_depot, directory.vehicle_driver
    out = []
    rows = connection.execute(query.order_by(ExceptionRow.raised_at, ExceptionRow.id)).all()
    for (
        id_,
        rule,
        severity,
        state,
        depot,
        vehicle_id,
        stop,
        raised,
        acked,
        resolved,
        detail,
    ) in rows:
        index = day_index(days, raised)
        if index is None:
            continue
        vehicle = vehicle_id or UNASSIGNED
        out.append(
            ExceptionRecord(
                id_,
                rule,
                severity,
                state,
                days[index].iso,
                depot or depot_of.get(vehicle, UNASSIGNED),
                vehicle,
                driver_of.get(vehicle, UNASSIGNED),
                stop,
                raised,
                acked,
                resolved,
                detail,
            )
        )
    return tuple(out)


def proposal_records(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None, directory: Directory
) -> tuple[ProposalRecord, ...]:
    """The proposals made in ``days`` (of one depot), with the vans and drivers they change."""
    query = select(
        ProposalRow.id,
        ProposalRow.depot_id,
        ProposalRow.created_at,
        ProposalRow.status,
        ProposalRow.auto_accepted,
        ProposalRow.figures_before,
        ProposalRow.figures_after,
        ProposalRow.trigger,
        ProposalRow.diff,
    ).where(ProposalRow.created_at >= days[0].start, ProposalRow.created_at < days[-1].end)
    if depot_id is not None:
        query = query.where(ProposalRow.depot_id == depot_id)
    out = []
    for r in connection.execute(query.order_by(ProposalRow.created_at, ProposalRow.id)):
        index = day_index(days, r.created_at)
        if index is None:
            continue
        vehicles = _changed_vehicles(r.diff)
        out.append(
            ProposalRecord(
                r.id,
                r.depot_id,
                days[index].iso,
                r.created_at,
                r.status,
                bool(r.auto_accepted),
                _minutes_late(r.figures_before),
                _minutes_late(r.figures_after),
                r.trigger,
                vehicles,
                tuple(sorted({directory.vehicle_driver.get(v, UNASSIGNED) for v in vehicles})),
            )
        )
    return tuple(out)


def _changed_vehicles(diff: Any) -> tuple[str, ...]:
    """The vehicles a stored diff changes (``changed_vehicles``, else its moves)."""
    if not isinstance(diff, dict):
        return ()
    named = diff.get("changed_vehicles")
    if isinstance(named, list):
        return tuple(sorted({str(v) for v in named}))
    moves = diff.get("moves")
    found: set[str] = set()
    if isinstance(moves, list):
        for m in moves:
            if isinstance(m, dict):
                found.update(str(m[k]) for k in ("from_vehicle", "to_vehicle") if m.get(k))
    return tuple(sorted(found))


def _minutes_late(figures: Any) -> float | None:
    if isinstance(figures, dict):
        value = figures.get("minutes_late")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
