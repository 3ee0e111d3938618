"""The proposal desk: re-plans asked for, reviewed, decided.

The re-plan itself (travel times, the solve in a child process, the proposal's row) runs
in replan_runs.py, one at a time. A stored result becomes a proposal here, with the
depot's auto-accept verdict; the dispatcher accepts or rejects it. An accepted proposal
becomes a new plan version: stored, applied to the live day, and each changed vehicle's
route is published retained to ``{prefix}/vehicles/{id}/route``.

An open proposal is kept current (proposal_currency.py): it turns stale the moment a van
of its scope gets another route, expires after ``[replan] proposal_ttl_min`` or when its
trigger is resolved, and is superseded by a newer proposal for the same trigger. A stale
proposal cannot be accepted; ``resolve_again`` asks its re-plan anew, from now.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Mapping
from dataclasses import replace

from app.domain.plan_diff import AutoAcceptPolicy
from app.foundation.events import Event
from app.foundation.settings import Settings
from app.foundation.time_text import TimeText
from app.storage.operations_repository import expire_open_proposals, note_proposal_reason
from app.storage.proposal_repository import decide_stored
from app.tower.decisions import PlanDecisions, ProposalRecord
from app.tower.proposal_currency import (
    EXPIRED,
    OPEN,
    STALE,
    SUPERSEDED,
    TOWER_USER,
    ReplanRequest,
    why_expired,
    why_stale,
)
from app.tower.replan_runs import ReplanRuns, Stored, TweakOf
from app.tower.replanning import NEIGHBOURS
from app.tower.tweaks import Tweak

log = logging.getLogger(__name__)


class ProposalDesk:
    """Asks for re-plans (``runs``), turns results into proposals and applies decisions.

    Nothing here waits for the network, a solve or storage: a re-plan runs in the
    background (replan_runs.py), a decision is live at once and ``decided`` announces it
    (on the thread that polls) once its plan version is stored and published.

    Signals:
        decided (Event[ProposalRecord]): an accepted, auto-accepted or undone proposal's
            plan version is stored (``plan_version`` set) and its routes published.
        closed (Event[ProposalRecord]): the tower closed a proposal no one decided on:
            stale, expired or superseded (``closed_reason`` says why).
    """

    def __init__(
        self, settings: Settings, runs: ReplanRuns, policy: AutoAcceptPolicy | None = None
    ) -> None:
        self.runs = runs
        live, clock, feed = runs.live, runs.clock, runs.feed  # the day its re-plans solve
        self.live, self.clock, self.feed = live, clock, feed
        replan = settings.replan_for(live.depot.id)
        self.policy = policy or AutoAcceptPolicy(
            enabled=replan.auto_accept, min_minutes_saved=replan.min_minutes_saved
        )
        self.ttl_min = replan.proposal_ttl_min
        self.times = TimeText(live.depot.timezone)  # the watched depot's (it may change)
        self.closed: Event[ProposalRecord] = Event()
        self.proposals: dict[int, ProposalRecord] = {}
        # Who is at this desk: the author of the re-plans asked without a ``by`` (the
        # window sets the signed-in login; the local user otherwise, as on SQLite).
        self.person = getpass.getuser()
        self.decisions = PlanDecisions(settings, live, clock, feed)
        # Emitted by poll(), on the thread that polls (the GUI timer's).
        self.decided: Event[ProposalRecord] = self.decisions.decided

    def request(
        self,
        vehicle_id: str | None,
        trigger: str,
        *,
        resequence_only: bool = False,
        neighbours: int = NEIGHBOURS,
        adding: Mapping[str, str] | None = None,
        by: str | None = None,
        keep_order: bool = False,
    ) -> bool:
        """Start a re-plan (ReplanRuns.request): the vehicle and its ``neighbours``
        nearest others, or (None) the depot; ``adding`` (stop id -> van of the re-plan)
        puts stops on no van yet on those vans (an urgent order assigned to one); ``by``
        who asks (its proposal's author; ``person`` when None); ``keep_order``: the
        tower's own (ReplanRequest). False while another re-plan is running."""
        added = tuple(sorted((adding or {}).items()))
        who = by or self.person
        request = ReplanRequest(
            vehicle_id, trigger, resequence_only, neighbours, added, who, keep_order
        )
        return self.runs.request(request)

    def resolve_again(self, proposal_id: int) -> bool:
        """Re-solve from now: ask a stale (or any) proposal's re-plan again, for the same
        trigger and scope, by this desk's person; its result supersedes it. False while
        another re-plan runs."""
        record = self.proposals.get(proposal_id)
        if record is None or record.request is None:
            raise ValueError(f"proposal {proposal_id} is not on the desk")
        return self.ask_again(record.request)

    def ask_again(self, request: ReplanRequest) -> bool:
        """Ask a re-plan asked before (here, or by another desk: other_desks.py) again
        from now, by this desk's person. False while another re-plan runs."""
        return self.runs.request(replace(request, by=self.person))

    def tweak(self, proposal_id: int, tweak: Tweak, user: str) -> bool:
        """Re-solve an open proposal around the dispatcher's moves and locks
        (ReplanRuns.tweak); its result replaces it when it arrives. False while another
        re-plan is running; TweakError when the tweak cannot be honoured on the proposal
        (the proposal stays open)."""
        return self.runs.tweak(self._open(proposal_id), tweak, user)

    def take_failure(self) -> str | None:
        """Why the last re-plan gave no proposal, once (None when nothing failed)."""
        return self.runs.take_failure() or self.decisions.take_failure()

    def poll(self) -> ProposalRecord | None:
        """Collect stored decisions and move the re-plan on (call from the GUI timer); the
        new proposal, if any, once it is stored (a later call when storage is behind)."""
        self.decisions.poll()
        self.review()
        stored = self.runs.poll()
        return None if stored is None else self._arrived(*stored)

    def _arrived(self, proposal_id: int, stored: Stored) -> ProposalRecord:
        """A stored re-plan on the desk: it supersedes the open proposals of its trigger,
        replaces the one it tweaked, and is auto-accepted if the policy says so."""
        proposal = stored.proposal
        auto_ok, reason = self.policy.verdict(proposal.diff, proposal.before, proposal.after)
        record = ProposalRecord(
            proposal_id,
            proposal,
            stored.created_at,
            auto_ok,
            reason,
            request=stored.asked.request,
            built_on={v: stored.asked.revisions.get(v, 0) for v in proposal.live.scope},
        )
        trigger = proposal.live.trigger
        for other in self.proposals.values():
            if other.status in (OPEN, STALE) and other.proposal.live.trigger == trigger:
                self._close(other, SUPERSEDED, f"replaced by #{record.id}")
        self.proposals[record.id] = record
        tweaked = stored.asked.tweak
        if tweaked is not None:
            self._retire(tweaked, record.id, stored.created_at)
        self.review()  # a plan accepted while it was solved makes it stale at once
        if auto_ok and tweaked is None and record.status == OPEN:
            # A tweak's result goes back to the dispatcher who asked for it.
            self.accept(record.id, "policy", auto=True)
        return record

    def _retire(self, tweaked: TweakOf, by: int, now: float) -> None:
        """A tweak's result replaces the proposal it tweaked (if still open)."""
        record = self.proposals.get(tweaked.proposal_id)
        if record is None or record.status != OPEN:
            return
        reason = f"tweaked ({tweaked.what}); replaced by #{by}"
        # Not awaited: the storage worker keeps jobs in order, and logs a failure.
        self.feed.storage.submit(
            lambda s: decide_stored(s, tweaked.proposal_id, "tweaked", now, tweaked.user, reason)
        )
        record.status = "tweaked"

    def review(self) -> None:
        """Close the open proposals that are no longer current: stale (a van of their
        scope got another route), expired (too old); a stale one expires too."""
        now = self.clock.now()
        for record in list(self.proposals.values()):
            if record.status == OPEN and (why := self.why_stale(record)) is not None:
                self._close(record, STALE, why)
            elif record.status == STALE and (why := self.why_stale(record)) != record.closed_reason:
                self._restate(record, why or record.closed_reason)
            expired = why_expired(record.created_at, now, self.ttl_min)
            if record.status in (OPEN, STALE) and expired is not None:
                self._close(record, EXPIRED, expired)

    def why_stale(self, record: ProposalRecord) -> str | None:
        """Why the proposal no longer fits the live plan (None: it does)."""
        return why_stale(record.built_on, self.live.route_stamps, self.times.hm)

    def trigger_resolved(self, trigger: str) -> None:
        """The exception that set these re-plans off is resolved: their proposals expire."""
        for record in list(self.proposals.values()):
            if record.status in (OPEN, STALE) and record.proposal.live.trigger == trigger:
                self._close(record, EXPIRED, "its trigger was resolved")

    def _close(self, record: ProposalRecord, status: str, reason: str) -> None:
        """The tower closes an undecided proposal: stored, audited, announced."""
        proposal_id, now = record.id, self.clock.now()
        # Not awaited: the storage worker keeps jobs in order, and logs a failure.
        self.feed.storage.submit(
            lambda s: decide_stored(s, proposal_id, status, now, TOWER_USER, reason)
        )
        record.status, record.closed_reason = status, reason
        log.info("proposal %d %s: %s", proposal_id, status, reason)
        self.closed.emit(record)

    def restore(self) -> None:
        """At a start: the proposals left open past ``proposal_ttl_min`` (by an earlier
        run, or another workstation) were solved for a road that has moved on; storage
        says they expired. Younger ones stay open: the database can still accept them
        (``main.py accept``), refusing any whose vans changed since."""
        depot_id, now = self.live.depot.id, self.clock.now()
        reason = why_expired(0.0, self.ttl_min * 60, self.ttl_min) or ""
        before = now - self.ttl_min * 60
        self.feed.storage.submit(
            lambda s: expire_open_proposals(s, depot_id, now, TOWER_USER, reason, before)
        )

    def _restate(self, record: ProposalRecord, reason: str) -> None:
        """A stale proposal's reason grew (the plan version that made it stale is stored)."""
        proposal_id = record.id
        self.feed.storage.submit(lambda s: note_proposal_reason(s, proposal_id, reason))
        record.closed_reason = reason
        self.closed.emit(record)

    def close(self) -> None:
        """Cancel what runs and let the travel-time thread go (the tower stops)."""
        self.runs.close()

    def accept(self, proposal_id: int, user: str, *, auto: bool = False) -> ProposalRecord:
        """Make the proposal the plan: live at once; its version is stored and its routes
        published behind (``decided`` says when). A proposal no longer current is
        refused (ValueError, with why) and marked so; nothing changes."""
        record = self._open(proposal_id)
        if (why := self.why_stale(record)) is not None:
            self._close(record, STALE, why)
            record = self._open(proposal_id)  # raises, saying why
        accepted = self.decisions.accept(record, user, auto=auto)
        self.review()  # the proposals built on the routes it replaced are stale now
        return accepted

    def undo(self, proposal_id: int, user: str) -> ProposalRecord:
        """Put the day back as it was before an accepted proposal (a new plan version)."""
        record = self.proposals.get(proposal_id)
        if record is None or record.status not in ("accepted", "auto_accepted"):
            raise ValueError(f"proposal {proposal_id} was not accepted")
        undone = self.decisions.undo(record, user)
        self.review()
        return undone

    def reject(self, proposal_id: int, user: str, reason: str) -> ProposalRecord:
        """Turn the proposal down; the reason goes to the audit log."""
        return self.decisions.reject(self._open(proposal_id), user, reason)

    def _open(self, proposal_id: int) -> ProposalRecord:
        record = self.proposals.get(proposal_id)
        if record is not None and record.status == STALE:
            raise ValueError(
                f"proposal {proposal_id} is stale: {record.closed_reason}; re-solve from now"
            )
        if record is None or record.status != OPEN:
            why = (
                f" ({record.status}: {record.closed_reason})"
                if record and record.closed_reason
                else ""
            )
            raise ValueError(f"proposal {proposal_id} is not open{why}")
        return record
