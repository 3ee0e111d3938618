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
