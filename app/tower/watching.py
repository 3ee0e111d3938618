"""Which depot a workstation watches, for a company of several: the day the window shows
and reads times in, the self-healing policy the tower follows, the plan its re-plans
change and the ETA predictor it names as its own.

Switched only between decisions: with a re-plan running, a proposal open or a decided
plan still being stored, the proposal belongs to the depot it was made for.
"""

from __future__ import annotations

from app.storage.operations_repository import active_plan_version
from app.tower.control_tower import ControlTower
from app.tower.depot_editor import follow_policy
from app.tower.proposal_currency import OPEN, STALE


def why_not_watch(tower: ControlTower) -> str | None:
    """Why the watched depot cannot change now (None: it can)."""
    desk = tower.proposals
    if desk.runs.busy:
        return "a re-plan is running: let it finish or stop it first"
    undecided = [r.id for r in desk.proposals.values() if r.status in (OPEN, STALE)]
    if undecided:
        return f"proposal #{undecided[0]} is open: accept or reject it first"
    if desk.decisions.deciding:
        return "a decided plan is still being stored"
    return None


def watch(tower: ControlTower, depot_id: str) -> str | None:
    """Watch ``depot_id`` from now on; None when done, else why not (nothing changed)."""
    if depot_id == tower.depot.id:
        return None
    if depot_id not in {d.id for d in tower.live.depots}:
        return f"no depot {depot_id!r} in this tower"
    why = why_not_watch(tower)
    if why is not None:
        return why
    # One indexed read, asked for by the dispatcher: the day's active plan version.
    version = active_plan_version(tower.sessions, depot_id, tower.live.day_of(depot_id).iso)
    tower.live.watch(depot_id, version)
    tower.snapshot.depots.sort(key=lambda d: d.id != depot_id)
    follow_policy(tower)
    tower.proposals.times.set_timezone(tower.timezone)
    etas = tower.operations.etas_by_depot
    etas.watched = etas.by_depot[depot_id]
    tower.operations.predictor = etas.watched
    return None
