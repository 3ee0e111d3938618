"""Exception detection: rules over a live fleet view, and the exceptions' lifecycle.

Wiring (see docs/exceptions.md)::

    state = FleetState(RuleThresholds.from_settings(settings.thresholds), per_depot)
    state.add_vehicle(vehicle, depot, day); state.set_route(vehicle.id, stops)
    book = ExceptionBook(ids); book.restore(stored_rows)  # ids: () -> int | None
    engine = RuleEngine(state, book)
    # each tick, after feeding fixes, statuses, events and ETAs into `state`:
    changes = engine.evaluate(clock.now())
    # a dispatcher:
    change = book.acknowledge(exception_id, user, now)
    change = book.resolve(exception_id, user, note, now)
"""

from app.domain.rules.book import ExceptionBook, LifecycleError
from app.domain.rules.engine import RuleEngine
from app.domain.rules.fleet_state import FleetState, route_stops, window_end_for
from app.domain.rules.records import (
    ChangeKind,
    ExceptionChange,
    ExceptionRecord,
    ExceptionState,
    Finding,
    Rule,
    Severity,
    SubjectKind,
)
from app.domain.rules.thresholds import RuleThresholds
from app.domain.rules.tracking import RouteStop, VehicleTrack

__all__ = [
    "ChangeKind",
    "ExceptionBook",
    "ExceptionChange",
    "ExceptionRecord",
    "ExceptionState",
    "Finding",
    "FleetState",
    "LifecycleError",
    "RouteStop",
    "Rule",
    "RuleEngine",
    "RuleThresholds",
    "Severity",
    "SubjectKind",
    "VehicleTrack",
    "route_stops",
    "window_end_for",
]
