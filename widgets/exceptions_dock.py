"""The exceptions panel: sortable, filterable, coloured by severity, acted on by keyboard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.rules.records import ExceptionRecord, ExceptionState
from app.foundation.time_text import TimeText
from widgets.table_docks import ColumnsModel, Index, TableDock

COLUMNS = ("Severity", "Rule", "Subject", "Vehicle", "State", "Raised", "Detail")
SEVERITY_COLOURS = {
    "critical": QColor(190, 40, 40),
    "warning": QColor(170, 120, 20),
    "info": QColor(50, 100, 160),
}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
FIT_COLUMNS_UP_TO = 50  # rows: columns are fitted to their contents until the list is this long


class ExceptionTableModel(ColumnsModel[ExceptionRecord, int]):
    """Exceptions by id; ``apply`` inserts, updates and removes rows incrementally."""

    columns = COLUMNS

    def __init__(self, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._times = times
        self._counts = {"critical": 0, "warning": 0, "info": 0}  # open rows per severity

    def cell(self, e: ExceptionRecord, column: int, role: int) -> Any:
        """Text, sort key, severity colour, id and tooltip of an exception's cell."""
        if role == Qt.ItemDataRole.DisplayRole:
            return _cells(e, self._times)[column]
        if role == SORT_ROLE:
            return _sort_keys(e)[column]
        if role == Qt.ItemDataRole.BackgroundRole and column == 0:
            return SEVERITY_COLOURS.get(e.severity.value)
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return QColor(255, 255, 255)
        if role == Qt.ItemDataRole.UserRole:
            return e.id
        if role == Qt.ItemDataRole.ToolTipRole:
            return e.detail
        return None

    def apply(self, changed: list[ExceptionRecord], removed: Sequence[int] = ()) -> None:
        """Insert or update ``changed``; drop the ids in ``removed``."""
        for exception_id in removed:
            row = self._row_of.get(exception_id)
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            self._count(self._rows.pop(row), -1)
            self.endRemoveRows()
            self._row_of = {e.id: i for i, e in enumerate(self._rows)}
        for e in changed:
            row = self._row_of.get(e.id)
            if row is None:
                self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
                self._row_of[e.id] = len(self._rows)
                self._rows.append(e)
                self._count(e, +1)
                self.endInsertRows()
            else:
                self._update(row, e)

    def _update(self, row: int, e: ExceptionRecord) -> None:
        """Replace a row, signalling only the columns whose cells changed: a change that
        spans the sort column makes the sort proxy move the row and the view lay itself
        out again, work that grows with the list, and most updates only touch the detail."""
        old, self._rows[row] = self._rows[row], e
        self._count(old, -1)
        self._count(e, +1)
        if old.depot_id != e.depot_id:  # filtered on but not shown: the whole row
            changed = list(range(len(COLUMNS)))
        else:
            before, after = _cells(old, self._times), _cells(e, self._times)
            changed = [c for c in range(len(COLUMNS)) if before[c] != after[c]]
        if changed:
            self.dataChanged.emit(self.index(row, changed[0]), self.index(row, changed[-1]))

    def _count(self, e: ExceptionRecord, step: int) -> None:
        if e.state is not ExceptionState.RESOLVED:
            severity = e.severity.value
            self._counts[severity] = self._counts.get(severity, 0) + step

    def exception(self, exception_id: int) -> ExceptionRecord | None:
        """The row's data, by id."""
        row = self._row_of.get(exception_id)
        return None if row is None else self._rows[row]

    def counts(self) -> dict[str, int]:
        """Open (not resolved) exceptions per severity (kept as rows change: the title
        asks at every change, and the list only grows through the day)."""
        return dict(self._counts)


def _cells(e: ExceptionRecord, times: TimeText) -> tuple[str, ...]:
    """The row's texts, column by column."""
    state = e.state.value
    return (
        e.severity.value,
        e.rule.value.replace("_", " "),
        f"{e.subject_kind.value} {e.subject_id}",
        e.vehicle_id or "",
        state if not e.acknowledged_by else f"{state} ({e.acknowledged_by})",
        times.hm(e.raised_at),
        e.detail,
    )


def _sort_keys(e: ExceptionRecord) -> tuple[Any, ...]:
    """What each column sorts by."""
    return (
        -e.severity.rank,  # critical first
        e.rule.value,
        e.subject_id,
        e.vehicle_id or "",
        e.state.value,
        e.raised_at,
        e.detail,
    )


class ExceptionFilter(QSortFilterProxyModel):
    """Filters by severity, rule, vehicle, depot, state and free text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.severity = ""
        self.state = "active"  # active = open or acknowledged; "" = all
        self.text = ""
        self.setSortRole(SORT_ROLE)

    def set_filters(
        self, *, severity: str | None = None, state: str | None = None, text: str | None = None
    ) -> None:
        """Change one or more filters and refilter."""
        self.beginFilterChange()
        if severity is not None:
            self.severity = severity
        if state is not None:
            self.state = state
        if text is not None:
            self.text = text.lower()
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, ExceptionTableModel)
        e = model.exception(int(model.index(source_row, 0).data(Qt.ItemDataRole.UserRole)))
        if e is None:
            return False
        if self.severity and e.severity != self.severity:
            return False
        if self.state == "active" and e.state == "resolved":
            return False
        if self.state not in ("", "active") and e.state != self.state:
            return False
        haystack = f"{e.rule} {e.subject_id} {e.vehicle_id or ''} {e.depot_id or ''} {e.detail}"
        return not self.text or self.text in haystack.lower()


class ExceptionsDock(TableDock[ExceptionTableModel, ExceptionFilter]):
    """The exceptions panel.

    Signals:
        exception_selected(int): a row was clicked; the window focuses the map on it.
        acknowledge_requested(int), resolve_requested(int, str), replan_requested(int).
    """

    exception_selected = Signal(int)
    acknowledge_requested = Signal(int)
    resolve_requested = Signal(int, str)
    replan_requested = Signal(int)
    counts_changed = Signal(dict)

    def __init__(self, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__(
            "Exceptions", "ExceptionsDock", ExceptionTableModel(times), ExceptionFilter(), parent
        )
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        filters = QHBoxLayout()
        self.severity_box = QComboBox(body)
        self.severity_box.addItems(["all severities", "critical", "warning", "info"])
        self.state_box = QComboBox(body)
        self.state_box.addItems(["open + acknowledged", "open", "acknowledged", "resolved", "all"])
        self.search = QLineEdit(body)
        self.search.setPlaceholderText("Filter: rule, vehicle, stop, depot…")
        for widget in (self.severity_box, self.state_box, self.search):
            filters.addWidget(widget)
        layout.addLayout(filters)
        self.table.horizontalHeader().setStretchLastSection(True)
        # Fitted to the contents while the list is short only.
        self.model.rowsInserted.connect(self._fit_columns)
        self._fit_columns()  # to the headings, before the first exception
        layout.addWidget(self.table)
        self.setWidget(body)

        self.severity_box.currentTextChanged.connect(
            lambda t: self.proxy.set_filters(severity="" if t.startswith("all") else t)
        )
        self.state_box.currentTextChanged.connect(self._on_state_filter)
        self.search.textChanged.connect(lambda t: self.proxy.set_filters(text=t))
        self.table.clicked.connect(self._on_clicked)
        self.acknowledge_action = self._action("&Acknowledge", "Ctrl+K", self._acknowledge)
        self.resolve_action = self._action("&Resolve…", "Ctrl+Shift+K", self._resolve)
        self.replan_action = self._action("&Propose a fix", "Ctrl+P", self._replan)
        self._update_title()

    def _action(self, text: str, keys: str, slot: Any) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.table.addAction(action)
        self.addAction(action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        return action

    def _on_state_filter(self, text: str) -> None:
        state = {"open + acknowledged": "active", "all": ""}.get(text, text)
        self.proxy.set_filters(state=state)

    def _on_clicked(self, index: QModelIndex) -> None:
        self.exception_selected.emit(int(index.data(Qt.ItemDataRole.UserRole)))

    def current_id(self) -> int | None:
        """The selected exception's id."""
        index = self.table.currentIndex()
        return None if not index.isValid() else int(index.data(Qt.ItemDataRole.UserRole))

    def _acknowledge(self) -> None:
        if (exception_id := self.current_id()) is not None:
            self.acknowledge_requested.emit(exception_id)

    def _resolve(self) -> None:
        exception_id = self.current_id()
        if exception_id is None:
            return
        note, ok = QInputDialog.getText(self, "Resolve exception", "Note (what was done):")
        if ok:
            self.resolve_requested.emit(exception_id, note)

    def _replan(self) -> None:
        if (exception_id := self.current_id()) is not None:
            self.replan_requested.emit(exception_id)

    def apply(self, changed: list[ExceptionRecord], removed: Sequence[int] = ()) -> None:
        """Show new and changed exceptions; update the counts in the title."""
        self.model.apply(changed, list(removed))
        self._update_title()

    def _fit_columns(self) -> None:
        # The detail (last) column takes the rest of the width, its text whole in the
        # row's tooltip: fitted too, it pushed the other columns out of sight.
        if self.model.rowCount() <= FIT_COLUMNS_UP_TO:
            for column in range(len(COLUMNS) - 1):
                self.table.resizeColumnToContents(column)

    def _update_title(self) -> None:
        counts = self.model.counts()
        self.setWindowTitle(
            f"Exceptions — {counts['critical']} critical · {counts['warning']} warning · "
            f"{counts['info']} info"
        )
        self.counts_changed.emit(counts)
