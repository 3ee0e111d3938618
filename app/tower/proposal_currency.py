"""Is a proposal still current? The plan it was built on, its age, and its trigger.

A proposal is solved from the live plan of the vans in its scope as it stood when the
re-plan was asked for. Once any of those vans' routes changes (another proposal accepted,
an undo), its diff and "Before" figures describe a plan that no longer exists: it is
*stale* and cannot be accepted. It also *expires* after ``[replan] proposal_ttl_min`` (the
road moved on) and when the exception that set it off is resolved, and a newer proposal
for the same trigger *supersedes* it.

:func:`why_stale` is the one check of the first rule; the desk calls it for each open
proposal whenever the live plan changes and again right before an accept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.storage.plan_heads import PlanConflict
from app.tower.replanning import NEIGHBOURS

OPEN = "open"
STALE = "stale"
EXPIRED = "expired"
SUPERSEDED = "superseded"
CLOSED_BY_THE_TOWER = (STALE, EXPIRED, SUPERSEDED)
"""The states the tower itself closes an open proposal with (no dispatcher decided)."""
TOWER_USER = "tower"  # who the audit log names for those
SELF_HEALING = "self-healing"  # who asked for the tower's own re-plans (their author)


@dataclass(frozen=True)
class RouteStamp:
    """When a van's route last changed in the live plan.

    ``revision`` counts the plans the live day adopted (0: the day's first plan);
    ``version`` is the stored plan version that made the change (None until stored).
    """

    revision: int = 0
    changed_at: float | None = None
    version: int | None = None


@dataclass(frozen=True)
class ReplanRequest:
    """What a re-plan was asked for: re-asking it is "re-solve from now"."""

    vehicle_id: str | None  # None: the whole depot
    trigger: str
    resequence_only: bool = False
    neighbours: int = NEIGHBOURS  # the van's nearest others in the re-plan
    adding: tuple[tuple[str, str], ...] = ()  # new stops put on a van: (stop id, van)
    by: str = SELF_HEALING  # who asked: the proposal's author
    # The tower's own re-plan (an exception's, an urgent order's): each van keeps its
    # order unless the new one is worth the ETAs it moves (app.tower.kept_order).
    keep_order: bool = False


def why_stale(
    built_on: Mapping[str, int],
    current: Mapping[str, RouteStamp],
    hm: Callable[[float], str],
) -> str | None:
    """Why a proposal built on these vans' route revisions is stale now (None: current).

    ``built_on`` maps each van of the proposal's scope to the revision of its route when
    the re-plan started; ``current`` is the live day's stamps. The reason names the van
    whose route changed first, when, and the plan version that changed it, e.g.
    "V03's plan changed at 10:42 (plan v5)".
    """
    changed = [
        (stamp, vehicle_id)
        for vehicle_id, revision in built_on.items()
        if (stamp := current.get(vehicle_id, RouteStamp())).revision != revision
    ]
    if not changed:
        return None
    stamp, vehicle_id = min(changed, key=lambda c: (c[0].changed_at or 0.0, c[1]))
    when = f" at {hm(stamp.changed_at)}" if stamp.changed_at is not None else ""
    version = f" (plan v{stamp.version})" if stamp.version is not None else ""
    others = len(changed) - 1
    more = f"; {others} more van{'s' if others > 1 else ''} too" if others else ""
    return f"{vehicle_id}'s plan changed{when}{version}{more}"


_DID = {"accepted": "accepted", "auto_accepted": "auto-accepted", "undone": "undid"}


def conflict_text(conflict: PlanConflict, hm: Callable[[float], str]) -> str:
    """What storage's refusal tells the dispatcher: who changed which van's plan, when
    and how ("V03's plan changed at 10:42 (alice accepted #41): re-plan"), or who
    decided the proposal first."""
    head = conflict.head
    if head is None:
        return str(conflict)
    if not head.vehicle_id:  # the proposal itself was decided elsewhere
        return f"{conflict} at {hm(head.changed_at)}" if head.changed_at else str(conflict)
    if head.proposal_id is not None:
        how = f"{head.changed_by} {_DID.get(head.action, head.action)} #{head.proposal_id}"
    else:
        how = f"plan v{head.version}, {head.action}, by {head.changed_by}"
    when = f" at {hm(head.changed_at)}" if head.changed_at else ""
    return f"{head.vehicle_id}'s plan changed{when} ({how}): re-plan"


def why_expired(created_at: float, now: float, ttl_min: float) -> str | None:
    """Why a proposal created then has expired by now (None: not yet)."""
    if now - created_at < ttl_min * 60:
        return None
    return f"open over {ttl_min:g} min: the road has moved on since"
