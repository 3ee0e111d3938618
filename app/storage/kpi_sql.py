"""The KPI arithmetic of docs/kpis.md in SQL, and the clauses every history query shares.

``service_time`` is when service began at a stop (a van early at the door waits for the
window; see app.domain.schedule.service_began); ``in_window`` and
``is_late`` judge it against the order's one or two windows, ``lateness_s`` says by how
much.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, not_, or_

from app.domain.kpi_rows import DayBounds
from app.storage.orm import ExecutionEventRow, OrderRow, StopRow

# A failed stop may be retried at night: attempts are read this far around the days.
ATTEMPT_MARGIN_S = 12 * 3600


def orders_of(days: Sequence[DayBounds], depot_id: str | None) -> list[Any]:
    """WHERE clauses for the orders of ``days`` (and of one depot)."""
    clauses: list[Any] = [OrderRow.day >= days[0].iso, OrderRow.day <= days[-1].iso]
    if depot_id is not None:
        # Read through ix_orders_depot_id_day (equality on the depot, range of days).
        clauses.append(OrderRow.depot_id == depot_id)
    return clauses


def attempts_between(days: Sequence[DayBounds]) -> list[Any]:
    """Delivery attempts recorded around ``days`` (a failed stop may be retried at night)."""
    return [
        ExecutionEventRow.type.in_(("delivered", "failed")),
        ExecutionEventRow.ts >= days[0].start - ATTEMPT_MARGIN_S,
        ExecutionEventRow.ts < days[-1].end + ATTEMPT_MARGIN_S,
    ]


def _waited(arrived: Any, opens: Any) -> Any:
    """The later of the arrival and the window's opening (portable: no GREATEST/MAX)."""
    return case((arrived < opens, opens), else_=arrived)


# The punctuality of docs/kpis.md, in SQL: t is when service began, exactly as
# app.domain.schedule.service_began says it: the van at the door waits for the first
# window still open, unless it finished before that opened (it did not wait).
_arrived, _completed = StopRow.arrived_at, StopRow.completed_at
_w2_start, _w2_end = OrderRow.window2_start, OrderRow.window2_end
_has_second = and_(_w2_start.is_not(None), _w2_end.is_not(None))
_start = case(
    (_arrived <= OrderRow.window1_end, _waited(_arrived, OrderRow.window1_start)),
    (and_(_has_second, _arrived <= _w2_end), _waited(_arrived, _w2_start)),
    else_=_arrived,
)
service_time = case(
    (_arrived.is_(None), _completed),
    (and_(_completed.is_not(None), _completed < _start), _arrived),
    else_=_start,
)
in_window = or_(
    and_(service_time >= OrderRow.window1_start, service_time <= OrderRow.window1_end),
    and_(
        OrderRow.window2_start.is_not(None),
        OrderRow.window2_end.is_not(None),
        service_time >= OrderRow.window2_start,
        service_time <= OrderRow.window2_end,
    ),
)
_after_first = service_time > OrderRow.window1_end
_after_second = and_(OrderRow.window2_end.is_not(None), service_time > OrderRow.window2_end)
is_late = and_(service_time.is_not(None), not_(in_window), or_(_after_first, _after_second))
lateness_s = case(
    (
        and_(_after_second, or_(not_(_after_first), OrderRow.window2_end > OrderRow.window1_end)),
        service_time - OrderRow.window2_end,
    ),
    else_=service_time - OrderRow.window1_end,
)
is_delivered = StopRow.status == "delivered"
is_finished = StopRow.status.in_(("delivered", "failed"))


def count_where(condition: Any) -> Any:
    """SUM of 1 where ``condition`` holds: a count inside a GROUP BY."""
    return func.sum(case((condition, 1), else_=0))


def chunks(values: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """Bound the IN lists (SQLite allows a limited number of parameters)."""
    return [values[i : i + size] for i in range(0, len(values), size)]
