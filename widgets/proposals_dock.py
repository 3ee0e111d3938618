"""The proposals panel: a re-plan's diff, and the dispatcher's accept / reject / tweak."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.plan_diff import DayFigures, PlanDiff


@dataclass(frozen=True)
class ProposalView:
    """A proposal as the panel lists it."""

    id: int
    trigger: str
    created_at: float
    diff: PlanDiff
    status: str = "open"
    auto_verdict: str = ""


def _clock(ts: float) -> str:
    return time.strftime("%H:%M", time.localtime(ts))


FIGURE_LABELS = (
    ("stops_late", "Stops late"),
    ("minutes_late", "Minutes late"),
    ("km", "Distance (km)"),
    ("overtime_min", "Overtime (min)"),
    ("unserved", "Unserved stops"),
)


def figures_rows(before: DayFigures, after: DayFigures) -> list[tuple[str, str, str, str]]:
    """(label, before, after, change) for the day's figures; lower is better for all."""
    rows = []
    b, a = before.as_dict(), after.as_dict()
    for key, label in FIGURE_LABELS:
        change = a[key] - b[key]
        sign = "▼" if change < 0 else "▲" if change > 0 else "="
        rows.append((label, f"{b[key]:g}", f"{a[key]:g}", f"{sign} {abs(change):g}"))
    return rows


class ProposalsDock(QDockWidget):
    """Lists open proposals; the selected one's diff is shown as a tree.

    Signals:
        proposal_selected(int): show it on the map beside the current routes.
        accept_requested(int), reject_requested(int, str), tweak_requested(int).
    """

    proposal_selected = Signal(int)
    accept_requested = Signal(int)
    reject_requested = Signal(int, str)
    tweak_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Proposals", parent)
        self.setObjectName("ProposalsDock")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        self.list = QListWidget(body)
        self.list.setObjectName("ProposalList")
        self.summary = QLabel("No proposal waiting.", body)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.diff_tree = QTreeWidget(body)
        self.diff_tree.setObjectName("ProposalDiff")
        self.diff_tree.setHeaderLabels(["Change", "Before", "After", "Δ"])
        buttons = QHBoxLayout()
        self.accept_button = QPushButton("&Accept", body)
        self.reject_button = QPushButton("Re&ject…", body)
        self.tweak_button = QPushButton("&Tweak…", body)
        for button in (self.accept_button, self.reject_button, self.tweak_button):
            button.setEnabled(False)
            buttons.addWidget(button)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.diff_tree, 3)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._proposals: dict[int, ProposalView] = {}
        self.list.currentItemChanged.connect(self._on_current)
        self.accept_button.clicked.connect(lambda: self._emit(self.accept_requested))
        self.tweak_button.clicked.connect(lambda: self._emit(self.tweak_requested))
        self.reject_button.clicked.connect(self._reject)

    def current_id(self) -> int | None:
        """The selected proposal's id."""
        item = self.list.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def _emit(self, signal: Signal) -> None:
        proposal_id = self.current_id()
        if proposal_id is not None:
            signal.emit(proposal_id)  # type: ignore[attr-defined]

    def _reject(self) -> None:
        proposal_id = self.current_id()
        if proposal_id is None:
            return
        reason, ok = QInputDialog.getText(self, "Reject proposal", "Reason:")
        if ok:
            self.reject_requested.emit(proposal_id, reason)

    def show_proposal(self, proposal: ProposalView) -> None:
        """Add or refresh a proposal in the list and select it."""
        self._proposals[proposal.id] = proposal
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == proposal.id:
                item.setText(self._title(proposal))
                self.list.setCurrentItem(item)
                self._show_diff(proposal)
                return
        item = QListWidgetItem(self._title(proposal))
        item.setData(Qt.ItemDataRole.UserRole, proposal.id)
        self.list.addItem(item)
        self.list.setCurrentItem(item)

    def remove_proposal(self, proposal_id: int) -> None:
        """Take a decided proposal off the list."""
        self._proposals.pop(proposal_id, None)
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == proposal_id:
                self.list.takeItem(row)
                break
        if self.list.count() == 0:
            self._show_diff(None)

    @staticmethod
    def _title(p: ProposalView) -> str:
        saved = p.diff.before.minutes_late - p.diff.after.minutes_late
        return f"#{p.id} {_clock(p.created_at)} — {p.trigger} — saves {saved:.0f} min late"

    def _on_current(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is None:
            self._show_diff(None)
            return
        proposal = self._proposals[int(current.data(Qt.ItemDataRole.UserRole))]
        self._show_diff(proposal)
        self.proposal_selected.emit(proposal.id)

    def _show_diff(self, proposal: ProposalView | None) -> None:
        self.diff_tree.clear()
        for button in (self.accept_button, self.reject_button, self.tweak_button):
            button.setEnabled(proposal is not None)
        if proposal is None:
            self.summary.setText("No proposal waiting.")
            return
        d = proposal.diff
        kind = "resequencing only" if d.resequence_only else f"{len(d.moves)} stop(s) moved"
        vehicles = ", ".join(d.changed_vehicles) or "none"
        self.summary.setText(
            f"{proposal.trigger}: {kind}; vehicles changed: {vehicles}. {proposal.auto_verdict}"
        )
        figures = QTreeWidgetItem(self.diff_tree, ["Day figures"])
        for row in figures_rows(d.before, d.after):
            QTreeWidgetItem(figures, list(row))
        if d.moves:
            moves = QTreeWidgetItem(self.diff_tree, [f"Stops moved ({len(d.moves)})"])
            for m in d.moves:
                QTreeWidgetItem(
                    moves, [f"{m.stop_id}: {m.reason}", m.from_vehicle, m.to_vehicle, ""]
                )
        if d.resequenced_vehicles:
            reseq = QTreeWidgetItem(self.diff_tree, ["Sequence changes"])
            for vehicle_id in d.resequenced_vehicles:
                QTreeWidgetItem(reseq, [vehicle_id, "", "", "new order"])
        if d.eta_changes:
            etas = QTreeWidgetItem(self.diff_tree, [f"ETA changes ({len(d.eta_changes)})"])
            for c in sorted(d.eta_changes, key=lambda c: -abs(c.shift_min)):
                QTreeWidgetItem(
                    etas, [c.stop_id, _clock(c.before), _clock(c.after), f"{c.shift_min:+.0f} min"]
                )
        for dropped in d.newly_unserved:
            QTreeWidgetItem(self.diff_tree, [f"No longer served: {dropped}", "", "", ""])
        self.diff_tree.expandAll()
        for column in range(4):
            self.diff_tree.resizeColumnToContents(column)
