"""A dispatcher's tweak of a proposal: stops moved to other vans, stops locked, and the
live problem re-solved around them. ``TweakJudge`` judges each move as it is made (the
tweak dialog asks it while a stop is dragged), with the rules the re-solve holds to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from app.domain.schedule import LATE, service_start, timeliness
from app.foundation.time_text import TimeText
from app.planning.checker import RouteFault, check_route
from app.planning.problem import PositionLock, VehicleLock
from app.tower.replan_proposal import schedule
from app.tower.replanning import LiveProblem

Spans = tuple[tuple[float, float], ...]


class LockKind(StrEnum):
    """How a dispatcher pins a stop in a tweak."""

    VEHICLE = "vehicle"
    """The stop stays on its van; the solver may move it within the route."""
    POSITION = "position"
    """The stop stays on its van at its place in the sequence."""


class TweakError(ValueError):
    """A tweak that no plan could honour (e.g. on-board parcels moved to another van)."""


@dataclass(frozen=True)
class Tweak:
    """A dispatcher's edit of a proposal before re-solving around it.

    ``routes`` are the vans' sequences as the dispatcher left them (stop ids, rescue
    pickups included); a stop in no route is left to the solver. A stop dragged to another
    van than the proposal had it on stays on that van: moving it was the decision.
    """

    routes: dict[str, tuple[str, ...]]
    locks: dict[str, LockKind] = field(default_factory=dict)

    def describe(self, proposal_routes: dict[str, tuple[str, ...]]) -> str:
        """The tweak in a line for the audit log: moves and locks."""
        moved = sorted(moved_stops(proposal_routes, self).items())
        parts = [f"{sid} to {vid}" for sid, vid in moved]
        parts += [f"{sid} locked to {kind.value}" for sid, kind in sorted(self.locks.items())]
        return "; ".join(parts) or "re-solved as is"


def moved_stops(proposal_routes: dict[str, tuple[str, ...]], tweak: Tweak) -> dict[str, str]:
    """Stops the tweak puts on another van than the proposal: stop id -> its new van."""
    before = {sid: vid for vid, ordered in proposal_routes.items() for sid in ordered}
    return {
        sid: vid
        for vid, ordered in tweak.routes.items()
        for sid in ordered
        if before.get(sid) != vid
    }


def tweak_problem(live: LiveProblem, tweak: Tweak, moved: dict[str, str]) -> LiveProblem:
    """``live`` re-solved around a tweak: its routes as the warm start, its locks as rules.

    ``moved`` names the stops the dispatcher put on another van (they stay there). Stops
    the tweak names that are no longer in ``live`` (served since) are left out.
    """
    problem = live.problem
    first_stop = 1 + len(live.vehicles)
    node_of = {sid: first_stop + k for k, sid in enumerate(live.stop_ids)}
    van_of = {v.id: k for k, v in enumerate(live.vehicles)}
    unknown = set(tweak.routes) - set(van_of)
    if unknown:
        raise TweakError(f"vehicle(s) not in this re-plan: {', '.join(sorted(unknown))}")
    routes = {
        vid: [sid for sid in ordered if sid in node_of] for vid, ordered in tweak.routes.items()
    }
    owner = {sid: vid for vid, ordered in routes.items() for sid in ordered}
    on_board = {lock.node: lock.van for lock in problem.vehicle_locks}
    for sid, vid in owner.items():
        node = node_of[sid]
        if node in on_board and on_board[node] != van_of[vid]:
            carrier = live.vehicles[on_board[node]].id
            raise TweakError(f"{sid}: its parcels are on board {carrier}; it cannot go on {vid}")
    for pair in problem.pairs:
        pickup, delivery = live.stop_of(pair.pickup), live.stop_of(pair.delivery)
        if pickup in owner and delivery in owner and owner[pickup] != owner[delivery]:
            raise TweakError(
                f"{delivery}: its parcels must be collected by the van that delivers it"
            )
    vehicle_locks = list(problem.vehicle_locks)
    position_locks = []
    for sid, vid in owner.items():
        kind = tweak.locks.get(sid)
        if kind is LockKind.POSITION:
            position = routes[vid].index(sid)
            position_locks.append(PositionLock(node_of[sid], van_of[vid], position))
        elif kind is LockKind.VEHICLE or sid in moved:
            vehicle_locks.append(VehicleLock(node_of[sid], van_of[vid]))
    vans = tuple(
        replace(van, initial_route=tuple(node_of[sid] for sid in routes.get(van.id, ())))
        if van.id in routes
        else van
        for van in problem.vans
    )
    tweaked = replace(
        problem,
        vans=vans,
        vehicle_locks=tuple(vehicle_locks),
        position_locks=tuple(position_locks),
    )
    return replace(live, problem=tweaked)


@dataclass(frozen=True)
class TweakCheck:
    """A tweak judged: why it cannot be made (None: it can), and when each stop of its
    routes would be reached in the order the dispatcher left them (epoch seconds)."""

    refusal: str | None
    arrivals: dict[str, float]


@dataclass(frozen=True)
class TweakJudge:
    """Judges a proposal's tweaks move by move, on the problem the proposal was solved on.

    A move is refused when the re-solve could not honour it (parcels on board another
    van, a rescue's pickup and delivery split, a resequence-only re-plan), when the
    planning checker finds a van it changes over capacity or back past its shift (and
    the overtime allowed), or when it makes a stop miss its window that the routes
    before it met (``windows``: each stop's promised windows, epoch seconds).
    """

    live: LiveProblem
    routes: dict[str, tuple[str, ...]]  # the proposal's
    windows: Mapping[str, Spans]
    times: TimeText

    def arrivals(self, tweak: Tweak) -> dict[str, float]:
        """Each routed stop's arrival, walked as the proposal's (app.domain.schedule)."""
        out: dict[str, float] = {}
        nodes = self._nodes()
        for vid, ordered in tweak.routes.items():
            van = self._van(vid)
            route = [nodes[sid] for sid in ordered if sid in nodes]
            if van is not None:
                arrivals, _back = schedule(self.live, van, route)
                out.update(zip((self.live.stop_of(n) for n in route), arrivals, strict=True))
        return out

    def check(self, tweak: Tweak, was: Tweak | None = None) -> TweakCheck:
        """``tweak`` judged against ``was`` (the edit before this move; None: the proposal)."""
        before = was or Tweak(self.routes)
        arrivals = self.arrivals(tweak)
        moved = moved_stops(self.routes, tweak)
        refusal = None
        try:
            tweak_problem(self.live, tweak, moved)
        except TweakError as exc:
            refusal = str(exc)
        if refusal is None and self.live.resequence_only and moved:
            sid = min(moved)
            refusal = f"{sid}: this re-plan only resequences; every stop stays on its van"
        changed = [vid for vid, r in tweak.routes.items() if before.routes.get(vid) != r]
        for vid in changed:
            if refusal is None:
                refusal = self._fault(vid, tweak.routes[vid], before.routes.get(vid, ()))
        if refusal is None:
            refusal = self._missed(tweak, changed, arrivals, self.arrivals(before))
        return TweakCheck(refusal, arrivals)

    def _nodes(self) -> dict[str, int]:
        first_stop = 1 + len(self.live.vehicles)
        return {sid: first_stop + k for k, sid in enumerate(self.live.stop_ids)}

    def _van(self, vehicle_id: str) -> int | None:
        return next((k for k, v in enumerate(self.live.vehicles) if v.id == vehicle_id), None)

    def _faults(self, van: int, ordered: tuple[str, ...]) -> dict[str, RouteFault]:
        nodes = self._nodes()
        route = [nodes[sid] for sid in ordered if sid in nodes]
        return {f.kind: f for f in check_route(self.live.problem, van, route).faults}

    def _fault(self, vid: str, ordered: tuple[str, ...], was: tuple[str, ...]) -> str | None:
        """What the checker finds wrong with the van's new route and not with its old."""
        van = self._van(vid)
        if van is None:
            return None
        new = self._faults(van, ordered)
        for kind in sorted(set(new) - set(self._faults(van, was))):
            fault = new[kind]
            value, limit = fault.value / 1000, fault.limit / 1000  # kg and m³ in grams and litres
            if kind == "weight":
                return f"over {vid}'s capacity: {value:,.0f} kg of {limit:,.0f}"
            if kind == "volume":
                return f"over {vid}'s volume: {value:,.1f} m³ of {limit:,.1f}"
            if kind == "shift":
                back, end = (self.live.day_start + x for x in (fault.value, fault.limit))
                return (
                    f"{vid} would be back at {self.times.hm(back)}, "
                    f"after its shift and the overtime allowed ({self.times.hm(end)})"
                )
            return f"{vid} cannot drive this route ({fault.text})"
        return None

    def _missed(
        self,
        tweak: Tweak,
        changed: list[str],
        arrivals: Mapping[str, float],
        before: Mapping[str, float],
    ) -> str | None:
        """The first stop of a changed route the move makes late: its window, its arrival."""
        for vid in changed:
            for sid in tweak.routes[vid]:
                spans = self.windows.get(sid, ())
                if not spans or sid not in arrivals:
                    continue
                late_now = _late(arrivals[sid], spans)
                if late_now and not (sid in before and _late(before[sid], spans)):
                    opens, closes = next((w for w in spans if w[1] < arrivals[sid]), spans[-1])
                    return (
                        f"{sid}: window {self.times.span(opens, closes)} cannot be met on "
                        f"{vid}: arrival {self.times.hm(arrivals[sid])}"
                    )
        return None


def _late(arrival: float, spans: Spans) -> bool:
    """Whether a van at the door at ``arrival`` serves after the windows (it waits for
    one to open: that is on time)."""
    return timeliness(service_start(arrival, spans), spans)[0] == LATE
