"""WISMO from the database: an order's answer rebuilt from what is stored.

Used by ``main.py order ID``. The order's day is read back (fleet, orders, stops), the
day's stored execution events are replayed through an ``ExecutionTracker`` (which learns
speed and service times on the way) and, while the day is not over, the remaining stops
get ETAs from each van's newest stored position. The answer is ``order_answer``'s, plus
``as_of`` (the time it describes), ``day`` and ``timezone`` (the order's depot's: the
day runs from its local midnight, and its times are read on its clock).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.domain.eta import EtaPredictor
from app.domain.order_search import order_answer
from app.foundation.days import OperatingDay
from app.storage.database import SessionFactory
from app.storage.execution_repository import events_between, order_day
from app.storage.fleet_repository import load_fleet
from app.storage.operations_repository import retried_stops
from app.storage.telemetry_repository import latest_fixes
from app.tower.live_day import LiveDay


def lookup_order(
    sessions: SessionFactory, order_id: str, now: float, at: float | None = None
) -> dict[str, Any] | None:
    """The WISMO answer for ``order_id`` as of ``at``; None when the order is unknown.

    Without ``at`` the answer is as of ``now``, or as of the newest stored telemetry of the
    order's day when that is later (a demo clock runs ahead of the wall clock).
    """
    placed = order_day(sessions, order_id)
    if placed is None:
        return None
    day_iso, timezone = placed
    day = OperatingDay.of(date.fromisoformat(day_iso), timezone)
    start, end = day.start, day.end
    events = events_between(sessions, start, end)
    fixes = latest_fixes(sessions, start, end if at is None else at + 1e-6)
    if at is None:
        newest = max([e.ts for e in events] + [f.ts for f in fixes], default=now)
        at = max(now, newest)
    fleet = load_fleet(sessions, day_iso)
    live = LiveDay(fleet, day)  # the stored day, replayed to ``at``
    live.apply_all(e for e in events if e.ts <= at)
    tracker = live.tracker
    positions = {f.vehicle_id: f for f in fixes if f.ts <= at}
    etas = {}
    if at < end:  # a finished day has no ETAs left to tell
        predictor = EtaPredictor(tz=timezone)
        predictor.learn(tracker)
        etas = predictor.predict_all(tracker, positions, at)
    retried = retried_stops(sessions, start, at + 1e-6)
    answer = order_answer(order_id, tracker, etas, positions, retried)
    if answer is not None:
        answer["as_of"] = at
        answer["day"] = day_iso
        answer["timezone"] = timezone
    return answer
