"""The proposals panel: a re-plan's diff, and the dispatcher's accept / reject / tweak / undo.

A new proposal joins the list without taking the selection; other workstations' open
ones are listed too, marked "by" whom (accept or reject only: no tweak here). Proposals
the tower closed (stale, expired, superseded) and the dispatcher's rejected ones stay
listed; the "Show" filter picks current ones, closed ones or all. A stale proposal says
why and offers "Re-solve from now"; Accept asks first when it moves a customer's ETA by
more than ``CONFIRM_ETA_SHIFT_MIN``, Undo always asks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.plan_diff import BIG_ETA_MOVE_MIN, DayFigures, PlanDiff
from app.foundation.time_text import TimeText
from widgets.table_docks import fit_beside


@dataclass(frozen=True)
class ProposalView:
    """A proposal as the panel lists it.

    ``unserved_reasons``: every stop the proposal leaves unserved, and why.
    ``retries``: failed attempts (stop id -> why it failed) a newly served stop retries.
    """

    id: int
    trigger: str
    created_at: float
    diff: PlanDiff
    # open, accepted, rejected, auto_accepted, undone, tweaked, stale, expired, superseded
    status: str = "open"
    auto_verdict: str = ""
    closed_reason: str = ""  # why the tower closed it (stale, expired, superseded)
    unserved_reasons: Mapping[str, str] = field(default_factory=dict)
    retries: Mapping[str, str] = field(default_factory=dict)
    by: str = ""  # another workstation's proposal: who made it ("" for this desk's own)

    @property
    def is_open(self) -> bool:
        """Still waiting for the dispatcher's decision."""
        return self.status == "open"

    @property
    def can_undo(self) -> bool:
        """Its plan was adopted (by the dispatcher or by the depot's policy)."""
        return self.status in UNDOABLE

    @property
    def is_current(self) -> bool:
        """Still something to act on or to read again (the "Current" filter shows it)."""
        return self.status in CURRENT

    def big_eta_moves(self) -> list[float]:
        """The ETA shifts (minutes) over CONFIRM_ETA_SHIFT_MIN, largest first."""
        shifts = (abs(c.shift_min) for c in self.diff.eta_changes)
        return sorted((m for m in shifts if m > CONFIRM_ETA_SHIFT_MIN), reverse=True)


UNDOABLE = ("accepted", "auto_accepted")
# Stale stays current: it offers "Re-solve from now". The rest are closed.
CURRENT = ("open", "stale", *UNDOABLE, "undone")
CONFIRM_ETA_SHIFT_MIN = BIG_ETA_MOVE_MIN  # Accept asks first when an ETA moves by more
STATUS_LABELS = {
    "open": "open",
    "accepted": "accepted",
    "rejected": "rejected",
    "auto_accepted": "auto-accepted",
    "undone": "undone",
    "tweaked": "tweaked",
    "stale": "STALE",
    "expired": "expired",
    "superseded": "superseded",
}
SHOW_CURRENT, SHOW_CLOSED, SHOW_ALL = "Current", "Closed", "All"


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
    """Lists proposals (see the module docstring); the selected one's diff is a tree.

    Signals:
        proposal_selected(int): show it on the map beside the current routes.
        accept_requested(int), reject_requested(int, str), tweak_requested(int): a
            decision on an open proposal (a rejection always carries a reason; an
            accept that moves ETAs much was confirmed).
        undo_requested(int): put the day back as it was before an accepted proposal
            (confirmed).
        resolve_requested(int): re-solve a stale proposal's re-plan from now.
    """

    proposal_selected = Signal(int)
    accept_requested = Signal(int)
    reject_requested = Signal(int, str)
    tweak_requested = Signal(int)
    undo_requested = Signal(int)
    resolve_requested = Signal(int)

    def __init__(self, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__("Proposals", parent)
        self.setObjectName("ProposalsDock")
        self._times = times
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        self.list = QListWidget(body)
        self.list.setObjectName("ProposalList")
        shown = QHBoxLayout()
        shown.addWidget(QLabel("Show:", body))
        self.filter = QComboBox(body)
        self.filter.setObjectName("ProposalFilter")
        self.filter.addItems([SHOW_CURRENT, SHOW_CLOSED, SHOW_ALL])
        self.filter.setToolTip(
            "Current: open, stale and adopted proposals. "
            "Closed: rejected, expired, superseded and tweaked ones."
        )
        shown.addWidget(self.filter, 1)
        self.summary = QLabel("No proposal waiting.", body)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.diff_tree = QTreeWidget(body)
        self.diff_tree.setObjectName("ProposalDiff")
        self.diff_tree.setHeaderLabels(["Change", "Before", "After", "Δ"])
        fit_beside(self.diff_tree.header(), stretch=(0,))
        buttons = QHBoxLayout()
        self.accept_button = QPushButton("&Accept", body)
        self.reject_button = QPushButton("Re&ject…", body)
        self.tweak_button = QPushButton("&Tweak…", body)
        self.undo_button = QPushButton("&Undo", body)
        self.undo_button.setToolTip("Put the day back as it was before this plan")
        self.resolve_button = QPushButton("Re-&solve from now", body)
        self.resolve_button.setToolTip(
            "Ask this re-plan again, for the same trigger and vans, from the live plan"
        )
        for button in self._buttons():
            button.setEnabled(False)
            buttons.addWidget(button)
        self._read_only = False  # a supervisor's: no decision buttons at all
        # Why the last action did nothing (a rejection without a reason).
        self.notice = QLabel("", body)
        self.notice.setObjectName("ProposalNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.hide()
        layout.addLayout(shown)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.notice)
        layout.addWidget(self.diff_tree, 3)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._proposals: dict[int, ProposalView] = {}
        # The question an Accept or Undo waits on (answered through its buttons).
        self.confirm: QMessageBox | None = None
        self.list.currentItemChanged.connect(self._on_current)
        self.filter.currentTextChanged.connect(lambda _text: self._apply_filter())
        self.accept_button.clicked.connect(self._accept)
        self.tweak_button.clicked.connect(lambda: self._emit(self.tweak_requested))
        self.undo_button.clicked.connect(self._undo)
        self.resolve_button.clicked.connect(lambda: self._emit(self.resolve_requested))
        self.reject_button.clicked.connect(self._reject)

    def _buttons(self) -> tuple[QPushButton, ...]:
        return (
            self.accept_button,
            self.reject_button,
            self.tweak_button,
            self.undo_button,
            self.resolve_button,
        )

    def current_id(self) -> int | None:
        """The selected proposal's id."""
        item = self.list.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def _emit(self, signal: SignalInstance) -> None:
        proposal_id = self.current_id()
        if proposal_id is not None:
            signal.emit(proposal_id)

    def _accept(self) -> None:
        proposal_id = self.current_id()
        if proposal_id is None:
            return
        moves = self._proposals[proposal_id].big_eta_moves()
        if not moves:
            self.accept_requested.emit(proposal_id)
            return
        self._ask(
            f"Accept proposal #{proposal_id}?",
            f"It moves {len(moves)} customer ETA(s) by more than "
            f"{CONFIRM_ETA_SHIFT_MIN:g} min (up to {moves[0]:.0f} min); "
            "those customers are told the new time.",
            lambda: self.accept_requested.emit(proposal_id),
        )

    def _undo(self) -> None:
        proposal_id = self.current_id()
        if proposal_id is not None:
            self.ask_undo(proposal_id)

    def ask_undo(self, proposal_id: int) -> None:
        """Ask before undoing an adopted proposal; yes emits ``undo_requested``."""
        self._ask(
            f"Undo proposal #{proposal_id}?",
            "The day goes back to the plan before it, and its drivers are sent their "
            "earlier routes.",
            lambda: self.undo_requested.emit(proposal_id),
        )

    def _ask(self, question: str, detail: str, then: Callable[[], None]) -> None:
        """A yes/no question that does not block the window; ``then`` on yes."""
        if self.confirm is not None:
            self.confirm.close()
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Confirm",
            question,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setInformativeText(detail)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        yes = box.button(QMessageBox.StandardButton.Yes)

        def answered(_result: int) -> None:
            if self.confirm is box:
                self.confirm = None
            if box.clickedButton() is yes:
                then()
            box.deleteLater()

        box.finished.connect(answered)
        self.confirm = box
        box.open()

    def _reject(self) -> None:
        proposal_id = self.current_id()
        if proposal_id is None:
            return
        reason, ok = QInputDialog.getText(
            self, "Reject proposal", "Reason (it goes to the audit log):"
        )
        if not ok:
            return
        reason = reason.strip()
        if not reason:
            self.show_notice(f"Proposal #{proposal_id} was not rejected: give a reason.")
            return
        self.show_notice("")
        self.reject_requested.emit(proposal_id, reason)

    def show_notice(self, text: str) -> None:
        """Say (or, with "", stop saying) why the last action did nothing."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def set_status(self, proposal_id: int, status: str, reason: str = "") -> None:
        """A listed proposal was decided, undone or closed by the tower (``reason``
        says why): retitle it, update the buttons."""
        view = self._proposals.get(proposal_id)
        if view is None:
            return
        view = replace(view, status=status, closed_reason=reason or view.closed_reason)
        self._proposals[proposal_id] = view
        item = self._item(proposal_id)
        if item is not None:
            self._dress(item, view)
        if self.current_id() == proposal_id:
            self._show_diff(view)

    def status_of(self, proposal_id: int) -> str | None:
        """A listed proposal's status as the dock shows it (None: not listed)."""
        view = self._proposals.get(proposal_id)
        return None if view is None else view.status

    def _dress(self, item: QListWidgetItem, view: ProposalView) -> None:
        """The item's title, why it was closed, and whether the filter shows it."""
        item.setText(self._title(view))
        item.setToolTip(view.closed_reason)
        font = item.font()
        font.setBold(view.status == "stale")  # the badge stands out in either theme
        item.setFont(font)
        shown = self.filter.currentText()
        item.setHidden(
            (shown == SHOW_CURRENT and not view.is_current)
            or (shown == SHOW_CLOSED and view.is_current)
        )

    def _apply_filter(self) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            view = self._proposals.get(int(item.data(Qt.ItemDataRole.UserRole)))
            if view is not None:
                self._dress(item, view)

    def _item(self, proposal_id: int) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == proposal_id:
                return item
        return None

    def show_proposal(self, proposal: ProposalView, *, select: bool = False) -> None:
        """Add or refresh a proposal in the list. It takes the selection only when
        ``select`` says so: the dispatcher keeps reading what they read."""
        self._proposals[proposal.id] = proposal
        item = self._item(proposal.id)
        if item is None:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, proposal.id)
            self.list.addItem(item)
        self._dress(item, proposal)
        if select:
            self.list.setCurrentItem(item)
        if self.current_id() == proposal.id:
            self._show_diff(proposal)
        elif self.current_id() is None:
            self._show_diff(None)  # the summary counts what waits

    def remove_proposal(self, proposal_id: int) -> None:
        """No longer list it (another workstation's, decided)."""
        self._proposals.pop(proposal_id, None)
        item = self._item(proposal_id)
        if item is not None:
            self.list.takeItem(self.list.row(item))
        if self.current_id() is None:
            self._show_diff(None)

    def _title(self, p: ProposalView) -> str:
        status = STATUS_LABELS.get(p.status, p.status)
        if p.status == "stale" and p.closed_reason:
            status = f"{status}: {p.closed_reason}"  # the badge says why
        when = self._times.hm(p.created_at)
        by = f" — by {p.by}" if p.by else ""
        return f"#{p.id} [{status}] {when}{by} — {p.trigger} — {p.diff.headline()}"

    def _on_current(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is None:
            self._show_diff(None)
            return
        proposal = self._proposals[int(current.data(Qt.ItemDataRole.UserRole))]
        self._show_diff(proposal)
        self.proposal_selected.emit(proposal.id)

    def _enable_for(self, proposal: ProposalView | None) -> None:
        """Decisions only on an open proposal; undo only of an adopted one."""
        is_open = proposal is not None and proposal.is_open
        is_open = is_open and not self._read_only
        for button in (self.accept_button, self.reject_button):
            button.setEnabled(is_open)
        self.tweak_button.setEnabled(is_open and proposal is not None and not proposal.by)
        can_undo = proposal is not None and proposal.can_undo and not self._read_only
        self.undo_button.setEnabled(can_undo)
        stale = proposal is not None and proposal.status == "stale" and not self._read_only
        self.resolve_button.setEnabled(stale)
        self.resolve_button.setVisible(stale)

    def set_read_only(self) -> None:
        """For a role that decides nothing (a supervisor): the proposals and their diffs
        without the decision buttons, for good."""
        self._read_only = True
        for button in self._buttons():
            button.setEnabled(False)
            button.hide()

    def _show_diff(self, proposal: ProposalView | None) -> None:
        self.diff_tree.clear()
        self.show_notice("")
        self._enable_for(proposal)
        if proposal is None:
            waiting = sum(1 for p in self._proposals.values() if p.is_open)
            self.summary.setText(
                f"{waiting} proposal(s) waiting: pick one to read it."
                if waiting
                else "No proposal waiting."
            )
            return
        d = proposal.diff
        kind = "resequencing only" if d.resequence_only else f"{len(d.moves)} stop(s) moved"
        vehicles = ", ".join(d.changed_vehicles) or "none"
        closed = ""
        if proposal.status == "stale":
            closed = (
                f"STALE: {proposal.closed_reason}. It no longer fits the live plan and "
                "cannot be accepted; re-solve from now. "
            )
        elif proposal.closed_reason:
            closed = f"{STATUS_LABELS.get(proposal.status, proposal.status)}: "
            closed += f"{proposal.closed_reason}. "
        self.summary.setText(
            f"{closed}{proposal.trigger}: {kind}; vehicles changed: {vehicles}.\n"
            f"{d.headline()}.\nAuto-accept: {proposal.auto_verdict}"
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
                    etas,
                    [
                        c.stop_id,
                        self._times.hm(c.before),
                        self._times.hm(c.after),
                        f"{c.shift_min:+.0f} min",
                    ],
                )
        if d.newly_served:
            served = QTreeWidgetItem(self.diff_tree, [f"Newly served ({len(d.newly_served)})"])
            for sid in d.newly_served:
                why = proposal.retries.get(sid)
                text = f"{sid}: retry of a failed attempt ({why})" if why else sid
                QTreeWidgetItem(served, [text, "unserved", "served", ""])
        self._show_unserved(proposal)
        self.diff_tree.expandAll()

    def _show_unserved(self, proposal: ProposalView) -> None:
        """Every stop the proposal leaves unserved, and why; "served" before when the
        live plan serves it now (the proposal drops it)."""
        dropped = set(proposal.diff.newly_unserved)
        reasons = dict(proposal.unserved_reasons)
        for sid in dropped - set(reasons):
            reasons[sid] = "no longer served"
        if not reasons:
            return
        unserved = QTreeWidgetItem(self.diff_tree, [f"Unserved ({len(reasons)})"])
        for sid in sorted(reasons):
            before = "served" if sid in dropped else "unserved"
            QTreeWidgetItem(unserved, [f"{sid}: {reasons[sid]}", before, "unserved", ""])
