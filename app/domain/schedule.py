"""A route's schedule, stop after stop: drive, arrive, wait for the window, serve, leave.

The one walk of a route that the planner's schedules (app.planning.schedules), the live
re-plan's ETAs (app.tower.replanning), the urgent-order offers (app.tower.urgent_orders),
the demo's morning plan (app.domain.demo), the ETA (app.domain.eta) and the fleet
simulator (app.telemetry.van_day) all follow, so they agree on when a van is where.
What differs between them is only how long a drive takes (a matrix, the road model with
learned factors, a simulated drive), which the caller passes in.

The planning checker (app.planning.checker) keeps its own walk on purpose: it checks a
plan independently of the code that made it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, NamedTuple, TypeVar

Place = TypeVar("Place")
"""Whatever names a place on the route: a matrix node, an index, a point."""

Time = TypeVar("Time", int, float)
"""Integer time units (a planning problem) or epoch seconds."""


def service_start(arrival: Time, windows: Iterable[tuple[Time, Time]]) -> Time:
    """When service begins for a van at the door at ``arrival``.

    Inside a window: at once. Early for a window, or in the gap between two: when the next
    window still open opens (the van waits). After the last window: at once (late).
    ``windows`` are (opens, closes) in time order.
    """
    for opens, closes in windows:
        if arrival <= closes:
            return max(arrival, opens)
    return arrival


ON_TIME = "on_time"
LATE = "late"
EARLY = "early"


def service_began(
    arrived: float | None, completed: float | None, windows: Iterable[tuple[float, float]]
) -> float | None:
    """When service began at a stop, as recorded: the van at the door waits for the
    window (:func:`service_start` of its arrival), unless it finished before that, so
    it did not wait. Without an arrival, the completion; None when neither is known.

    This is the one time every punctuality judgement reads (the KPIs, their SQL in
    app.storage.kpi_sql, the ``late`` rule), so waiting for a window is on time everywhere.
    """
    if arrived is None:
        return completed
    start = service_start(arrived, windows)
    return arrived if completed is not None and completed < start else start


def timeliness(began: float, windows: Iterable[tuple[float, float]]) -> tuple[str, float]:
    """``(on_time|late|early, minutes late)`` of a service that began at ``began``.

    On time: inside a window (ends included). Late: after the end of a window and inside
    none; minutes count from the latest window end before ``began``. Early: before every
    window (the driver served without waiting for it to open).
    """
    spans = list(windows)
    if any(opens <= began <= closes for opens, closes in spans):
        return ON_TIME, 0.0
    ended = [closes for _, closes in spans if closes < began]
    if ended:
        return LATE, (began - max(ended)) / 60
    return EARLY, 0.0


class Visit(NamedTuple, Generic[Place, Time]):
    """One stop of a walked route: at the door, service begins, the van leaves."""

    stop: Place
    arrival: Time
    start: Time
    departure: Time


def walk(
    start: Place,
    leave: Time,
    stops: Iterable[Place],
    drive: Callable[[Place, Place, Time], Time | None],
    windows: Callable[[Place], Iterable[tuple[Time, Time]]],
    service: Callable[[Place], Time],
) -> Iterator[Visit[Place, Time]]:
    """The visits of ``stops`` in order, leaving ``start`` at ``leave``.

    ``drive(a, b, t)`` is the arrival at ``b`` leaving ``a`` at ``t``, or None when the
    van never gets there (a breakdown): the walk ends. The visits come one at a time, so a
    caller can act on each before the next drive is laid out.
    """
    at, t = start, leave
    for stop in stops:
        arrival = drive(at, stop, t)
        if arrival is None:
            return
        begin = service_start(arrival, windows(stop))
        t = begin + service(stop)
        yield Visit(stop, arrival, begin, t)
        at = stop
