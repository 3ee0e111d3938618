"""Re-plan proposals between the tower and the window: request, review, decide.

A proposal arrives in a tick; the dock lists it with its diff, the map draws its routes
dashed beside the current ones, and the dispatcher accepts (the new plan is live at once,
and stored and published to the drivers behind), rejects it with a reason, or tweaks it
(moves and locks stops, re-solves: the result is a new proposal that replaces it). A
proposal accepted (by the dispatcher or the depot's policy) stays listed as such, and can
be undone. Other workstations' open proposals are listed after each sync; accepting or
rejecting one is the database's one transaction (app/tower/other_desks.py), and one
decided anywhere leaves the list; one whose accept found the plan changed since is
listed stale, saying who changed what, and re-solved here from now. The desk closes
proposals that are no longer current (stale, expired, superseded); the dock marks them,
and a stale one can be re-solved from now. Nothing here waits: the desk's ``decided``
event, in a later tick, says when a plan version is stored, and the window says so then.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app.foundation.time_text import TimeText
from app.planning.problem import SolveProgress
from app.tower.control_tower import ControlTower
from app.tower.decisions import ProposalRecord
from app.tower.other_desks import OtherDesks, OtherProposal
from app.tower.replanning import PICKUP, WIDE_NEIGHBOURS
from app.tower.tweaks import Tweak, TweakJudge
from widgets.call_on_main import MainThreadBridge
from widgets.dock_link import DockLink
from widgets.map_data import RouteLine
from widgets.proposals_dock import UNDOABLE, ProposalsDock, ProposalView
from widgets.tweak_dialog import TweakDialog


class ProposalReview(DockLink[ProposalsDock]):
    """Connects the proposals dock and the map to the tower's proposal desk.

    Signals:
        plan_changed(): an accepted (or undone) proposal's plan version is stored and
            live (redraw the routes).
    """

    plan_changed = Signal()

    def _connect(self, dock: ProposalsDock) -> None:
        dock.accept_requested.connect(self.accept)
        dock.reject_requested.connect(self.reject)
        dock.tweak_requested.connect(self.tweak)
        dock.undo_requested.connect(self.undo)
        dock.proposal_selected.connect(self.show_on_map)
        dock.resolve_requested.connect(self.resolve_again)
        # Emitted in the tower's tick, on the GUI thread (the window's timer drives it).
        self.tower.proposals.decided.connect(self._decided)
        # Emitted by the desk's poll (the tick) or by a decision, on the GUI thread.
        self.tower.proposals.closed.connect(self._closed)
        self.tweak_dialog: TweakDialog | None = None
        self.others = OtherDesks.of(self.tower)
        self._others: set[int] = set()  # the ids of theirs the dock lists
        # A decision on theirs is a database transaction (and a publish): never on the
        # GUI thread; its answer comes back through the bridge.
        self._deciding = ThreadPoolExecutor(max_workers=1, thread_name_prefix="other-desks")
        self._bridge = MainThreadBridge(self)
        self.destroyed.connect(lambda: self._deciding.shutdown(wait=False))

    def refresh_others(self) -> None:
        """After a sync: list the other workstations' open proposals, drop those decided."""
        listed = self.others.open()
        for other in listed:
            self.dock.show_proposal(other_view(other))
        for gone in self._others - {o.id for o in listed}:
            self.dock.remove_proposal(gone)
        self._others = {o.id for o in listed}

    def request(self, vehicle_id: str | None, *, resequence_only: bool = False) -> None:
        """Ask for a re-plan of a vehicle and its neighbours, or (None) of the depot.

        ``resequence_only`` keeps every stop on its van: only the orders change."""
        who = vehicle_id or "the whole depot"
        what = "resequence" if resequence_only else "re-plan"
        trigger = f"dispatcher's {what} of {who}"
        # The dispatcher's own van re-plan looks wider than the tower's self-healing one.
        asked = self.tower.proposals.request(
            vehicle_id, trigger, resequence_only=resequence_only, neighbours=WIDE_NEIGHBOURS
        )
        self._say_started(asked, f"{what.capitalize()} of {who} running…")

    def _say_started(self, started: bool, running: str) -> None:
        """Say the re-plan asked for runs, or that another one holds the solver."""
        if started:
            self.status.showMessage(running, 10_000)
        else:
            self.status.showMessage("A re-plan is already running; try again shortly", 8000)

    def show_progress(self) -> None:
        """While a re-plan runs: its elapsed time and best plan so far (each tick)."""
        runs = self.tower.proposals.runs
        if runs.solving and runs.progress is not None:
            self.status.showMessage(
                f"Re-planning… {progress_text(runs.progress)} "
                "(Ctrl+Shift+C stops it and keeps the best plan)",
                2000,
            )

    def cancel(self) -> None:
        """Stop the running re-plan; its best plan so far still becomes a proposal."""
        if self.tower.proposals.runs.solving:
            self.tower.proposals.runs.cancel()
            self.status.showMessage("Stopping the re-plan; its best plan so far follows", 8000)

    def arrived(self, record: ProposalRecord) -> None:
        """A solve finished: list the proposal (auto-accepted ones are listed as such),
        without taking the selection, unless it is the tweak of the one being read."""
        view = proposal_view(record)
        reading = self.dock.current_id()
        select = False
        for other in self.tower.proposals.proposals.values():
            if other.status == "tweaked" and self.dock.status_of(other.id) != "tweaked":
                self.dock.set_status(other.id, "tweaked")  # replaced by its tweak's result
                select = select or other.id == reading
        self.dock.show_proposal(view, select=select)
        self.dock.show()
        self.dock.raise_()
        if record.status == "auto_accepted":
            self.status.showMessage(f"Proposal #{record.id} auto-accepted: {record.auto_reason}")
        else:
            self.status.showMessage(f"Proposal #{record.id} ready for review", 10_000)

    def tweak(self, proposal_id: int) -> TweakDialog | None:
        """Open the proposal's routes for editing; Re-solve sends the tweak to the desk."""
        record = self.tower.proposals.proposals.get(proposal_id)
        if record is None or record.status != "open":
            return None
        dialog = make_tweak_dialog(self.tower, record, self.dock)
        dialog.resolve_requested.connect(
            lambda tweak: self._resolve_tweak(record.id, dialog, tweak)
        )
        dialog.open()
        self.tweak_dialog = dialog
        return dialog

    def _resolve_tweak(self, proposal_id: int, dialog: TweakDialog, tweak: Tweak) -> None:
        """Send the tweak; the dialog closes once it is on its way, and stays open with the
        edit (and says why) when the desk cannot take it."""
        try:
            started = self.tower.proposals.tweak(proposal_id, tweak, self.user)
        except ValueError as exc:
            dialog.say(f"Cannot tweak #{proposal_id}: {exc}")
            return
        if not started:
            dialog.say("A re-plan is already running; try again shortly")
            return
        dialog.accept()
        self.status.showMessage(f"Re-solving #{proposal_id} around your changes…", 10_000)

    def failed(self, message: str) -> None:
        """A re-plan (or a tweak) found no plan: say so; any proposal it tweaked stays."""
        self.status.showMessage(message, 15_000)

    def show_on_map(self, proposal_id: int) -> None:
        """Draw the proposal's routes dashed beside the current ones."""
        record = self.tower.proposals.proposals.get(proposal_id)
        if record is None:
            self.map.set_proposal([])
            return
        depot = self.tower.depot
        live = record.proposal.live
        lines = []
        for vehicle_id, ordered in record.proposal.routes.items():
            points = [(depot.lat, depot.lon)]
            fix = self.tower.feed.fleet.latest_fixes().get(vehicle_id)
            if fix is not None:
                points = [(fix.lat, fix.lon)]
            for stop_id in ordered:
                if stop_id.startswith(PICKUP):
                    # A rescue: collect the parcels where the broken-down van stands.
                    points.append(live.rescue_site[live.rescued_from[stop_id[len(PICKUP) :]]])
                    continue
                order = self.tower.order_at(stop_id)
                points.append((order.lat, order.lon))
            points.append((depot.lat, depot.lon))
            lines.append(RouteLine(vehicle_id, tuple(points)))
        self.map.set_proposal(lines)

    def accept(self, proposal_id: int) -> None:
        """The dispatcher accepts: new plan version, stored, applied, published."""
        if proposal_id in self._others:
            self._accept_other(proposal_id)
            return
        try:
            record = self.tower.proposals.accept(proposal_id, self.user)
        except ValueError as exc:
            self.status.showMessage(str(exc), 8000)
            return
        # It stays listed as accepted: the dispatcher can still read its diff, or undo it.
        self.dock.set_status(proposal_id, record.status)
        self.map.set_proposal([])
        self.status.showMessage(f"Proposal #{proposal_id} accepted; storing its plan…", 10_000)

    def _accept_other(self, proposal_id: int) -> None:
        """Accept another workstation's proposal (stored in the background; this desk's
        live day adopts its routes in the next sync, as any other workstation's)."""
        self.status.showMessage(f"Accepting proposal #{proposal_id}…", 10_000)
        future = self._deciding.submit(self.others.accept, proposal_id)
        self._bridge.when_done(future, lambda done: self._other_accepted(proposal_id, done))

    def _other_accepted(self, proposal_id: int, done: Future[int]) -> None:
        try:
            version = done.result()
        except ValueError as exc:  # a conflict says who changed the plan, and when
            self.refresh_others()  # listed stale with why: "Re-solve from now" re-plans it
            self.status.showMessage(f"Proposal #{proposal_id} was not accepted: {exc}", 15_000)
            return
        except Exception as exc:  # the database or the broker failed: nothing decided
            self.status.showMessage(f"Proposal #{proposal_id} was not accepted: {exc}", 15_000)
            return
        self.refresh_others()
        self.map.set_proposal([])
        self.status.showMessage(
            f"Proposal #{proposal_id} accepted: plan version {version} stored", 10_000
        )

    def _reject_other(self, proposal_id: int, reason: str) -> None:
        future = self._deciding.submit(self.others.reject, proposal_id, reason)
        self._bridge.when_done(future, lambda done: self._other_rejected(proposal_id, reason, done))

    def _other_rejected(self, proposal_id: int, reason: str, done: Future[None]) -> None:
        try:
            done.result()
        except Exception as exc:  # someone decided it first, or the database failed
            self.status.showMessage(f"Proposal #{proposal_id} was not rejected: {exc}", 8000)
            return
        self.refresh_others()
        self._rejected(proposal_id, reason)

    def _closed(self, record: ProposalRecord) -> None:
        """The desk closed a proposal (stale, expired, superseded): mark it, say why."""
        newly = self.dock.status_of(record.id) != record.status  # not a restated reason
        self.dock.set_status(record.id, record.status, record.closed_reason)
        if record.status == "stale" and newly:
            self.status.showMessage(
                f"Proposal #{record.id} is stale: {record.closed_reason}", 10_000
            )

    def resolve_again(self, proposal_id: int) -> None:
        """Re-solve a stale proposal's re-plan from now (its result supersedes it); another
        desk's is re-planned here, as this desk's own proposal."""
        try:
            if proposal_id in self._others:
                started = self.tower.proposals.ask_again(self.others.replan(proposal_id))
            else:
                started = self.tower.proposals.resolve_again(proposal_id)
        except ValueError as exc:
            self.status.showMessage(str(exc), 8000)
            return
        self._say_started(started, f"Re-solving #{proposal_id} from now…")

    def _decided(self, record: ProposalRecord) -> None:
        """A decision's plan version is stored and its routes published: say so."""
        self.dock.set_status(record.id, record.status)
        if record.status == "undone":
            text = f"Proposal #{record.id} undone: plan version {record.plan_version} is live"
        elif record.status == "auto_accepted":
            text = (
                f"Proposal #{record.id} auto-accepted: {record.auto_reason}; "
                f"plan version {record.plan_version} is live"
            )
        else:
            text = f"Plan version {record.plan_version} is live"
        self.status.showMessage(text, 10_000)
        self.plan_changed.emit()

    def _last_accepted(self) -> ProposalRecord | None:
        """The accepted (or auto-accepted) proposal whose plan came last."""
        accepted = [r for r in self.tower.proposals.proposals.values() if r.status in UNDOABLE]
        return max(accepted, key=lambda r: r.plan_version or 0, default=None)

    def undo_last(self) -> None:
        """Put back the day as it was before the last accepted (or auto-accepted) plan."""
        record = self._last_accepted()
        if record is None:
            self.status.showMessage("No accepted re-plan to undo", 8000)
            return
        self.dock.ask_undo(record.id)  # yes comes back as the dock's undo_requested

    def undo(self, proposal_id: int) -> None:
        """Put back the day as it was before this accepted (or auto-accepted) proposal.

        Only the last one: undoing an earlier one would also throw away the plans
        adopted after it, while they still say "accepted"."""
        record = self.tower.proposals.proposals.get(proposal_id)
        last = self._last_accepted()
        if record is None or record.status not in UNDOABLE or last is None:
            self.status.showMessage(f"Proposal #{proposal_id} is not an accepted plan", 8000)
            return
        if last.id != record.id:
            self.status.showMessage(
                f"Undo #{last.id} first: its plan came after #{proposal_id}'s", 10_000
            )
            return
        try:
            self.tower.proposals.undo(proposal_id, self.user)
        except ValueError as exc:
            self.status.showMessage(str(exc), 8000)
            return
        self.dock.set_status(proposal_id, record.status)
        self.status.showMessage(f"Undoing proposal #{record.id}; storing the plan…", 10_000)

    def reject(self, proposal_id: int, reason: str) -> None:
        """The dispatcher rejects, with a reason for the audit log (one is required)."""
        reason = reason.strip()
        if not reason:
            self.status.showMessage(
                f"Proposal #{proposal_id} was not rejected: a rejection needs a reason", 10_000
            )
            return
        if proposal_id in self._others:
            self._reject_other(proposal_id, reason)
            return
        try:
            self.tower.proposals.reject(proposal_id, self.user, reason)
        except ValueError as exc:
            self.status.showMessage(str(exc), 8000)
            return
        self._rejected(proposal_id, reason)

    def _rejected(self, proposal_id: int, reason: str) -> None:
        self.dock.set_status(proposal_id, "rejected", reason)
        self.map.set_proposal([])
        self.status.showMessage(f"Proposal #{proposal_id} rejected: {reason}", 10_000)


def make_tweak_dialog(
    tower: ControlTower, record: ProposalRecord, parent: QWidget | None = None
) -> TweakDialog:
    """The tweak dialog of a proposal: its routes, each stop by its customer and address,
    and the judge of each move (capacities, shifts, windows as promised)."""
    proposal = record.proposal
    live = proposal.live
    labels, windows = {}, {}
    for sid in live.stop_ids:
        if sid.startswith(PICKUP):
            stop_id = sid[len(PICKUP) :]
            labels[sid] = f"Collect {stop_id}'s parcels from {live.rescued_from[stop_id]}"
            continue
        order = tower.order_at(sid)
        labels[sid] = f"{sid} · {order.customer_name} · {order.address}"
        windows[sid] = order.spans
    times = TimeText(tower.timezone)
    judge = TweakJudge(live, proposal.routes, windows, times)
    return TweakDialog(record.id, proposal.routes, proposal.unserved, labels, parent, judge)


def proposal_view(record: ProposalRecord) -> ProposalView:
    """A desk's proposal as the dock lists it: its diff, status and unserved stops."""
    proposal = record.proposal
    return ProposalView(
        id=record.id,
        trigger=proposal.live.trigger,
        created_at=record.created_at,
        diff=proposal.diff,
        status=record.status,
        auto_verdict=record.auto_reason,
        closed_reason=record.closed_reason,
        unserved_reasons=dict(proposal.unserved_reasons),
        retries=dict(proposal.live.retries),
    )


def other_view(other: OtherProposal) -> ProposalView:
    """Another workstation's open proposal as the dock lists it."""
    return ProposalView(
        id=other.id,
        trigger=other.trigger,
        created_at=other.created_at,
        diff=other.diff,
        status=other.status,
        closed_reason=other.closed_reason,
        unserved_reasons=dict(other.unserved_reasons),
        by=other.by,
    )


def progress_text(p: SolveProgress) -> str:
    """``4.2 s, best plan so far: 412 km, 3 late stops`` (a live problem's distances are
    metres); the raw cost only from an engine that tells no more."""
    if p.distance is None or p.late_stops is None:
        return f"{p.elapsed:.1f} s, best cost so far {p.best_cost:,}"
    late = f"{p.late_stops} late stop{'' if p.late_stops == 1 else 's'}"
    return f"{p.elapsed:.1f} s, best plan so far: {p.distance / 1000:,.0f} km, {late}"
