"""A dispatcher's tweak of a proposal: stops moved to other vans, stops locked, and the
live problem re-solved around them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from app.planning.problem import PositionLock, VehicleLock
from app.tower.replanning import LiveProblem


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
