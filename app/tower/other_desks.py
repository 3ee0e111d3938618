"""The open proposals other workstations made, and this desk's decisions on them.

Live sync (workstation_sync.py) re-reads the day's proposals when another desk stores
one; those still open and not this desk's own are listed here, with their stored diff.
A decision is the command line's one transaction (proposal_commands.py): an accept
writes only if the proposal is still open and its vans still at the versions it was
built on, so a conflict says who changed what, as everywhere else; the proposal is then
listed stale here with that reason, and :meth:`OtherDesks.replan` asks this desk for its
re-plan from the new state. The accepted plan's routes are sent to the drivers once
stored; this desk's live day adopts the new plan version through the next sync, like any
other workstation's (not announced as theirs: this desk said so already).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.domain.plan_diff import DayFigures, EtaChange, PlanDiff, StopMove
from app.foundation.settings import Settings
from app.storage.database import SessionFactory
from app.tower.proposal_commands import (
    CONFLICT,
    DONE,
    accept_stored,
    reject_stored,
    send_accepted,
)
from app.tower.proposal_currency import OPEN, STALE, ReplanRequest
from app.tower.replanning import NEIGHBOURS
from app.tower.route_sending import RoutePublisher
from app.tower.workstation_sync import WorkstationSync

if TYPE_CHECKING:  # proposal_commands opens towers itself
    from app.tower.control_tower import ControlTower

ANOTHER_DESK = "another desk"  # who made it, for a proposal stored with no author


@dataclass(frozen=True)
class OtherProposal:
    """An open proposal another workstation made, as the dock lists it."""

    id: int
    trigger: str
    created_at: float
    diff: PlanDiff
    by: str
    unserved_reasons: Mapping[str, str]
    request: ReplanRequest  # its re-plan, asked again by this desk from the new state
    status: str = OPEN  # stale: an accept here found its vans changed since
    closed_reason: str = ""  # why it is stale: who changed which van, when


class OtherDesks:
    """Lists and decides other workstations' open proposals (see the module doc)."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        sync: WorkstationSync,
        publisher: RoutePublisher,
    ) -> None:
        self.settings, self.sessions, self.sync = settings, sessions, sync
        self.publisher = publisher
        self._stale: dict[int, str] = {}  # refused here: why (the database keeps it open)

    @classmethod
    def of(cls, tower: ControlTower) -> OtherDesks:
        """The other desks as ``tower`` sees them (its sync, its broker link)."""
        return cls(tower.settings, tower.sessions, tower.sync, tower.feed)

    def open(self) -> list[OtherProposal]:
        """Their open proposals for this depot, as of the last sync (oldest first)."""
        depot_id, own = self.sync.live.depot.id, self.sync.desk.proposals
        # (a read may come before this desk's own proposal joined its desk)
        rows = (r for r in self.sync.others_open if r["depot_id"] == depot_id)
        rows = (r for r in rows if r["id"] not in own)
        listed = [other_proposal(r) for r in rows]
        stale = self._stale
        return [
            replace(o, status=STALE, closed_reason=stale[o.id]) if o.id in stale else o
            for o in listed
        ]

    def accept(self, proposal_id: int) -> int:
        """Accept it in one transaction and send its routes; its plan version. ValueError
        says why nothing was written; on a conflict (who changed the plan, and when) it is
        listed stale with that reason, for :meth:`replan`."""
        self.sync.decided_here.add(proposal_id)  # before: its notice may come first
        result = accept_stored(self.sessions, proposal_id)
        if result.code != DONE:
            self.sync.decided_here.discard(proposal_id)
            if result.code == CONFLICT:
                self._stale[proposal_id] = result.error
            raise ValueError(result.error)
        prefix = self.settings.broker.topic_prefix
        send_accepted(self.sessions, self.publisher, prefix, result.body)
        self._forget(proposal_id)
        return int(result.body["version"])

    def reject(self, proposal_id: int, reason: str) -> None:
        """Turn it down with a reason; ValueError when someone decided it first."""
        result = reject_stored(self.sessions, proposal_id, reason)
        if result.code != DONE:
            raise ValueError(result.error)
        self._forget(proposal_id)

    def replan(self, proposal_id: int) -> ReplanRequest:
        """Its re-plan, for this desk to ask again from now (ProposalDesk.ask_again): the
        same van, neighbours, new stops and trigger."""
        listed = {o.id: o for o in self.open()}
        if proposal_id not in listed:
            raise ValueError(f"proposal {proposal_id} is no longer open")
        return listed[proposal_id].request

    def _forget(self, proposal_id: int) -> None:
        """Decided here: no longer listed, before the sync's re-read says so too."""
        self.sync.others_open = [r for r in self.sync.others_open if r["id"] != proposal_id]


def other_proposal(row: Mapping[str, Any]) -> OtherProposal:
    """A stored proposal (the CLI's JSON shape) with its diff rebuilt."""
    diff = row.get("diff") or {}
    return OtherProposal(
        id=int(row["id"]),
        trigger=str(row["trigger"]),
        created_at=float(row["created_at"]),
        diff=stored_diff(diff, row.get("figures_before") or {}, row.get("figures_after") or {}),
        by=str(row.get("author") or ANOTHER_DESK),
        unserved_reasons=dict(diff.get("unserved_reasons") or {}),
        request=asked_again(row),
    )


def asked_again(row: Mapping[str, Any]) -> ReplanRequest:
    """The re-plan a stored proposal answered (``asked`` in its row); a row stored
    without it: its first van and as many neighbours as it had."""
    asked = row.get("asked") or {}
    trigger = str(row["trigger"])
    if not asked:
        scope = list(row.get("built_on") or {}) or list(row.get("vehicles") or ())
        first = scope[0] if scope else None
        return ReplanRequest(first, trigger, neighbours=max(len(scope) - 1, NEIGHBOURS))
    adding = tuple((str(s), str(v)) for s, v in asked.get("adding", ()))
    return ReplanRequest(
        asked.get("vehicle_id"),
        trigger,
        bool(asked.get("resequence_only", False)),
        int(asked.get("neighbours", NEIGHBOURS)),
        adding,
    )


def stored_diff(
    diff: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]
) -> PlanDiff:
    """The PlanDiff a proposal's row stores (plan_adoption.diff_json and its figures)."""
    moves = tuple(
        StopMove(str(m["stop"]), str(m["from"]), str(m["to"]), str(m.get("reason", "")))
        for m in diff.get("moves", ())
    )
    etas = tuple(
        EtaChange(str(e["stop"]), float(e["before"]), float(e["after"]))
        for e in diff.get("eta_changes", ())
    )
    return PlanDiff(
        moves=moves,
        resequenced_vehicles=tuple(diff.get("resequenced", ())),
        eta_changes=etas,
        newly_unserved=(),  # the row keeps all unserved stops (with why), not the new ones
        newly_served=(),
        before=_figures(before),
        after=_figures(after),
        changed_vehicles=tuple(diff.get("changed_vehicles", ())),
        retried=tuple(diff.get("retried", ())),
    )


def _figures(d: Mapping[str, Any]) -> DayFigures:
    return DayFigures(
        stops_late=int(d.get("stops_late", 0)),
        minutes_late=float(d.get("minutes_late", 0.0)),
        km=float(d.get("km", 0.0)),
        overtime_min=float(d.get("overtime_min", 0.0)),
        unserved=int(d.get("unserved", 0)),
    )
