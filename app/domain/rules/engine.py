"""One tick of exception detection: read the FleetState, report to the ExceptionBook.

Per tick the work is the events since the last tick, the stops that changed, the
windows that closed (a heap), the vehicles with a new ETA, and a pass over the given
vehicles (all, or a big fleet's slice) for the time-based vehicle rules, each a handful
of comparisons on the trackers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.domain.model import StopStatus
from app.domain.rules import conditions as c
from app.domain.rules.book import ExceptionBook
from app.domain.rules.fleet_state import FleetState, NoteKind, RoadNote
from app.domain.rules.records import (
    ExceptionChange,
    Finding,
    Rule,
    Severity,
    SubjectKind,
)
from app.domain.rules.thresholds import RuleThresholds
from app.domain.rules.tracking import NOT_REACHED, VehicleTrack

VehicleCheck = Callable[[VehicleTrack, float, bool], Finding | None]
Hold = Callable[[RuleThresholds], float]


def _hold(th: RuleThresholds) -> float:
    return th.clear_hold_s


def _lost_hold(th: RuleThresholds) -> float:
    # Fixes must flow for as long as it took to call the signal lost: a device that
    # reports just slower than the threshold then keeps one exception instead of flapping.
    return max(th.clear_hold_s, th.lost_signal_s)


def _no_hold(th: RuleThresholds) -> float:
    return 0.0


# (rule, condition, clear hold, note when it clears). late_start clears for good (a van
# leaves the depot once), so it needs no hold.
VEHICLE_RULES: tuple[tuple[Rule, VehicleCheck, Hold, str], ...] = (
    (Rule.LOST_SIGNAL, c.lost_signal, _lost_hold, "positions arriving again"),
    (Rule.STOPPED_OFF_ROUTE, c.stopped_off_route, _hold, "moving again or at a planned place"),
    (Rule.OFF_ROUTE, c.off_route, _hold, "back on the planned route"),
    (Rule.LATE_START, c.late_start, _no_hold, "left the depot"),
    (Rule.OVERTIME_RISK, c.overtime_risk, _hold, "predicted back within the shift"),
)
OUT_OF_SERVICE_NOTE = "no longer applies: the vehicle's day is over or it has no stops"


class RuleEngine:
    """Evaluates the rules over a :class:`FleetState` into an :class:`ExceptionBook`: the
    event, stop and ETA rules in full, the vehicle rules for the vehicles asked for."""

    def __init__(self, state: FleetState, book: ExceptionBook) -> None:
        self.state = state
        self.book = book
        self._attempts: dict[str, int] = {}
        # Stops that have had a ``late`` (each gets one a day; a restart seeds it from
        # the stored exceptions, see app.tower.operations).
        self.late_stops: set[str] = set()

    def evaluate(self, now: float, vehicles: Iterable[str] | None = None) -> list[ExceptionChange]:
        """Run one tick at ``now`` (epoch seconds); the changes to store and show.

        The vehicle rules look at ``vehicles`` only (default: every vehicle), so a big
        fleet's pass can be spread over the ticks; events, stops and ETAs are always
        handled in full."""
        changes = self.book.raise_waiting(now)
        self._road_notes(now, changes)
        self._changed_stops(now, changes)
        self._closed_windows(now, changes)
        self._new_etas(now, changes)
        self._vehicles(now, changes, vehicles)
        changes.extend(self.book.settle(now))
        return changes

    # -- events -------------------------------------------------------------------------

    def _road_notes(self, now: float, changes: list[ExceptionChange]) -> None:
        book, stops, vehicles = self.book, self.state.stops, self.state.vehicles
        for note in self.state.drain_notes():
            v = vehicles.get(note.vehicle_id)
            if v is None:
                continue
            if note.kind is NoteKind.BREAKDOWN:
                finding = Finding(Severity.CRITICAL, "breakdown reported", v.lat, v.lon)
                self._report(changes, Rule.BREAKDOWN, v, finding, now, force=True)
            elif note.kind is NoteKind.OUT_OF_SEQUENCE:
                finding = Finding(Severity.INFO, self._sequence_detail(note), v.lat, v.lon)
                self._report(changes, Rule.OUT_OF_SEQUENCE, v, finding, now, force=True)
            elif note.kind in (NoteKind.IN_SEQUENCE, NoteKind.ROUTE_CHANGED):
                record = book.open_for(Rule.OUT_OF_SEQUENCE, v.vehicle_id)
                if record is not None:
                    why = "back in sequence" if note.kind is NoteKind.IN_SEQUENCE else "re-planned"
                    changes.append(book.resolve_auto(record, now, why))
            elif note.stop_id is not None and note.kind is NoteKind.FAILED:
                stop = stops.get(note.stop_id)
                if stop is None:
                    continue
                attempts = self._attempts[stop.stop_id] = self._attempts.get(stop.stop_id, 0) + 1
                finding = c.failed_attempt(stop, note.reason, attempts, note.ts, v.shift_end)
                self._report(
                    changes, Rule.FAILED_ATTEMPT, v, finding, now, stop_id=stop.stop_id, force=True
                )
            elif note.kind is NoteKind.SHIFT_ENDED:
                self._undelivered_rescues(changes, v, now)
            elif note.stop_id is not None and note.kind is NoteKind.DELIVERED:
                record = book.open_for(Rule.FAILED_ATTEMPT, note.stop_id)
                if record is not None:
                    changes.append(book.resolve_auto(record, now, "delivered"))

    def _undelivered_rescues(
        self, changes: list[ExceptionChange], v: VehicleTrack, now: float
    ) -> None:
        """The van's day is over (back at the depot): each stop it rescued from a
        broken-down van and did not deliver raises undelivered_rescue."""
        rescued = self.state.rescued
        for stop in v.route:
            broken = rescued.get(stop.stop_id)
            if broken is None or stop.status is StopStatus.DELIVERED:
                continue
            finding = c.undelivered_rescue(stop, broken, v.vehicle_id)
            self._report(
                changes, Rule.UNDELIVERED_RESCUE, v, finding, now, stop_id=stop.stop_id, force=True
            )

    def _sequence_detail(self, note: RoadNote) -> str:
        def label(stop_id: str | None) -> str:
            stop = None if stop_id is None else self.state.stops.get(stop_id)
            return "?" if stop is None else f"{stop.stop_id} (#{stop.sequence})"

        return f"served {label(note.stop_id)} before {label(note.expected_stop_id)}"

    # -- stops --------------------------------------------------------------------------

    def _changed_stops(self, now: float, changes: list[ExceptionChange]) -> None:
        """A stop reached, done or removed settles its late and late_risk at once; one
        delivered after its windows without a ``late`` yet raises it first, so the day's
        ``late`` exceptions name the KPIs' late stops."""
        book, stops, vehicles = self.book, self.state.stops, self.state.vehicles
        for stop_id in self.state.drain_dirty_stops():
            stop = stops.get(stop_id)
            v = None if stop is None else vehicles.get(stop.vehicle_id)
            if (
                stop is not None
                and v is not None
                and stop.status is StopStatus.DELIVERED
                and stop_id not in self.late_stops
            ):
                finding = c.served_late(stop)
                if finding is not None:
                    self._raise_late(changes, v, stop_id, finding, now)
            for rule in (Rule.LATE_RISK, Rule.LATE, Rule.FAILED_ATTEMPT):
                if stop is None:
                    note = "removed from the plan"
                elif rule is Rule.FAILED_ATTEMPT:
                    continue  # only a delivery settles it (see _road_notes)
                elif stop.status not in NOT_REACHED:
                    note = f"stop {stop.status.value}"
                else:
                    continue
                book.suppressed(rule).discard(stop_id)
                record = book.open_for(rule, stop_id)
                if record is not None:
                    changes.append(book.resolve_auto(record, now, note))

    def _closed_windows(self, now: float, changes: list[ExceptionChange]) -> None:
        """late: the window (plus grace) closed with the stop not reached. It supersedes
        the stop's late_risk, which resolves pointing at it."""
        vehicles = self.state.vehicles
        for stop in self.state.pop_due_windows(now):
            v = vehicles.get(stop.vehicle_id)
            if v is None or stop.status not in NOT_REACHED:
                continue
            self._raise_late(changes, v, stop.stop_id, c.late(stop, now), now)

    def _raise_late(
        self,
        changes: list[ExceptionChange],
        v: VehicleTrack,
        stop_id: str,
        finding: Finding,
        now: float,
    ) -> None:
        """Raise ``late`` on the stop; it supersedes the stop's open late_risk, which
        resolves pointing at it."""
        book = self.book
        risk = book.open_for(Rule.LATE_RISK, stop_id)
        supersedes = None if risk is None else risk.id
        self.late_stops.add(stop_id)
        self._report(changes, Rule.LATE, v, finding, now, stop_id=stop_id, supersedes=supersedes)
        if risk is not None:
            late = book.open_for(Rule.LATE, stop_id)
            note = "superseded by late" + ("" if late is None else f" #{late.id}")
            changes.append(book.resolve_auto(risk, now, note))

    def _new_etas(self, now: float, changes: list[ExceptionChange]) -> None:
        """late_risk for the stops of vehicles with a new ETA."""
        book, stops, vehicles = self.book, self.state.stops, self.state.vehicles
        risks, lates = book.open_map(Rule.LATE_RISK), book.open_map(Rule.LATE)
        suppressed = book.suppressed(Rule.LATE_RISK)
        for vehicle_id in self.state.drain_new_etas():
            v = vehicles[vehicle_id]
            if v.eta is None:
                continue
            th = v.th
            for predicted in v.eta.stops:
                stop_id = predicted.stop_id
                stop = stops.get(stop_id)
                if (
                    stop is None
                    or stop.vehicle_id != vehicle_id
                    or stop.status not in NOT_REACHED
                    or stop_id in lates
                ):
                    continue
                record = risks.get(stop_id)
                finding = c.late_risk(stop, predicted.eta, th, record is not None)
                if finding is None:
                    if record is not None or stop_id in suppressed:
                        note = "predicted inside the window again"
                        book.report_clear(Rule.LATE_RISK, stop_id, now, th.clear_hold_s, note)
                    continue
                self._report(changes, Rule.LATE_RISK, v, finding, now, stop_id=stop_id)

    # -- vehicles -----------------------------------------------------------------------

    def _vehicles(
        self, now: float, changes: list[ExceptionChange], chosen: Iterable[str] | None
    ) -> None:
        book = self.book
        tracks = self.state.vehicles
        checked = tracks.values() if chosen is None else [tracks[k] for k in chosen if k in tracks]
        specs = [
            (rule, check, book.open_map(rule), book.suppressed(rule), hold, note)
            for rule, check, hold, note in VEHICLE_RULES
        ]
        breakdowns = book.open_map(Rule.BREAKDOWN)
        stopped = Rule.STOPPED_OFF_ROUTE
        for v in checked:
            vehicle_id = v.vehicle_id
            active = v.in_service(now)
            broken = vehicle_id in breakdowns
            for rule, check, opened, suppressed, hold, note in specs:
                record = opened.get(vehicle_id)
                # A broken-down van standing still is explained: no stopped_off_route.
                finding = (
                    check(v, now, record is not None)
                    if active and not (broken and rule is stopped)
                    else None
                )
                if finding is not None:
                    self._report(changes, rule, v, finding, now)
                elif record is not None or (suppressed and vehicle_id in suppressed):
                    wait = hold(v.th)
                    why = note if active else OUT_OF_SERVICE_NOTE
                    book.report_clear(rule, vehicle_id, now, wait, why)
            if broken:
                record = breakdowns[vehicle_id]
                since = record.raised_at if v.breakdown_at is None else v.breakdown_at
                if c.breakdown_cleared(v, now, since):
                    changes.append(book.resolve_auto(record, now, "driving normally again"))

    def _report(
        self,
        changes: list[ExceptionChange],
        rule: Rule,
        v: VehicleTrack,
        finding: Finding,
        now: float,
        *,
        stop_id: str | None = None,
        force: bool = False,
        supersedes: int | None = None,
    ) -> None:
        """Report ``finding`` about ``v``'s stop ``stop_id``, or about ``v`` itself when None."""
        kind = SubjectKind.VEHICLE if stop_id is None else SubjectKind.STOP
        change = self.book.report(
            rule,
            kind,
            v.vehicle_id if stop_id is None else stop_id,
            finding,
            now,
            vehicle_id=v.vehicle_id,
            stop_id=stop_id,
            depot_id=v.depot_id,
            supersedes=supersedes,
            force_update=force,
        )
        if change is not None:
            changes.append(change)
