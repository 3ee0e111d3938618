"""Re-plan proposals between the tower and the window: request, review, decide.

A proposal arrives in a tick; the dock lists it with its diff, the map draws its routes
dashed beside the current ones, and the dispatcher accepts (the new plan is stored,
applied and published to the drivers) or rejects it with a reason.
"""

from __future__ import annotations

import getpass

from PySide6.QtCore import QObject, Signal

from app.tower.control_tower import ControlTower
from app.tower.proposals import ProposalRecord
from widgets.map_data import RouteLine
from widgets.map_view import MapView
from widgets.proposals_dock import ProposalsDock, ProposalView
from widgets.status_bar import TowerStatusBar


class ProposalReview(QObject):
    """Connects the proposals dock and the map to the tower's proposal desk.

    Signals:
        plan_changed(): an accepted proposal changed the routes (redraw them).
    """

    plan_changed = Signal()

    def __init__(
        self,
        tower: ControlTower,
        dock: ProposalsDock,
        map_view: MapView,
        status: TowerStatusBar,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.tower = tower
        self.dock = dock
        self.map = map_view
        self.status = status
        self.user = getpass.getuser()
        dock.accept_requested.connect(self.accept)
        dock.reject_requested.connect(self.reject)
        # Tweaking (drag a stop, lock, re-solve around it) is not built yet: no button.
        dock.tweak_button.hide()
        dock.proposal_selected.connect(self.show_on_map)

    def request(self, vehicle_id: str | None) -> None:
        """Ask for a re-plan of a vehicle and its neighbours, or (None) of the depot."""
        who = vehicle_id or "the whole depot"
        if self.tower.proposals.request(vehicle_id, f"dispatcher's request for {who}"):
            self.status.showMessage(f"Re-planning {who}…", 10_000)
        else:
            self.status.showMessage("A re-plan is already running; try again shortly", 8000)

    def show_progress(self) -> None:
        """While a re-plan runs: its elapsed time and best cost so far (each tick)."""
        desk = self.tower.proposals
        if desk.busy and desk.progress is not None:
            p = desk.progress
            self.status.showMessage(
                f"Re-planning… {p.elapsed:.1f} s, best cost {p.best_cost:,} "
                "(Ctrl+Shift+C stops it and keeps the best plan)",
                2000,
            )

    def cancel(self) -> None:
        """Stop the running re-plan; its best plan so far still becomes a proposal."""
        if self.tower.proposals.busy:
            self.tower.proposals.cancel()
            self.status.showMessage("Stopping the re-plan; its best plan so far follows", 8000)

    def arrived(self, record: ProposalRecord) -> None:
        """A solve finished: list the proposal (auto-accepted ones are listed as such)."""
        view = ProposalView(
            id=record.id,
            trigger=record.proposal.live.trigger,
            created_at=record.created_at,
            diff=record.proposal.diff,
            status=record.status,
            auto_verdict=record.auto_reason,
        )
        self.dock.show_proposal(view)
        self.dock.show()
        self.dock.raise_()
        if record.status == "auto_accepted":
            self.status.showMessage(f"Proposal #{record.id} auto-accepted: {record.auto_reason}")
            self.plan_changed.emit()
        else:
            self.status.showMessage(f"Proposal #{record.id} ready for review", 10_000)

    def show_on_map(self, proposal_id: int) -> None:
        """Draw the proposal's routes dashed beside the current ones."""
        record = self.tower.proposals.proposals.get(proposal_id)
        if record is None:
            self.map.set_proposal([])
            return
        depot = self.tower.depot
        lines = []
        for vehicle_id, ordered in record.proposal.routes.items():
            points = [(depot.lat, depot.lon)]
            fix = self.tower.feed.fleet.latest_fixes().get(vehicle_id)
            if fix is not None:
                points = [(fix.lat, fix.lon)]
            for stop_id in ordered:
                order = self.tower.orders[self.tower.stops[stop_id].order_id]
                points.append((order.lat, order.lon))
            points.append((depot.lat, depot.lon))
            lines.append(RouteLine(vehicle_id, tuple(points)))
        self.map.set_proposal(lines)

    def accept(self, proposal_id: int) -> None:
        """The dispatcher accepts: new plan version, stored, applied, published."""
        try:
            record = self.tower.proposals.accept(proposal_id, self.user)
        except ValueError as exc:
            self.status.showMessage(str(exc), 8000)
            return
        self.dock.remove_proposal(proposal_id)
        self.map.set_proposal([])
        self.status.showMessage(f"Plan version {record.plan_version} is live", 10_000)
        self.plan_changed.emit()

    def undo_last(self) -> None:
        """Put back the day as it was before the last accepted (or auto-accepted) plan."""
        accepted = [
            r
            for r in self.tower.proposals.proposals.values()
            if r.status in ("accepted", "auto_accepted")
        ]
        if not accepted:
            self.status.showMessage("No accepted re-plan to undo", 8000)
            return
        record = max(accepted, key=lambda r: r.plan_version or 0)
        self.tower.proposals.undo(record.id, self.user)
        self.status.showMessage(
            f"Proposal #{record.id} undone: plan version {record.plan_version} is live", 10_000
        )
        self.plan_changed.emit()

    def reject(self, proposal_id: int, reason: str) -> None:
        """The dispatcher rejects, with a reason for the audit log."""
        try:
            self.tower.proposals.reject(proposal_id, self.user, reason)
        except ValueError as exc:
            self.status.showMessage(str(exc), 8000)
            return
        self.dock.remove_proposal(proposal_id)
        self.map.set_proposal([])
