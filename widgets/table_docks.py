"""What the table docks share (the vehicles and the exceptions docks): a model with fixed
columns, and a dock that shows it through a sorting proxy in a one-row-selection table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

Index = QModelIndex | QPersistentModelIndex
RowT = TypeVar("RowT")
KeyT = TypeVar("KeyT")
ModelT = TypeVar("ModelT", bound=QAbstractTableModel)
ProxyT = TypeVar("ProxyT", bound=QSortFilterProxyModel)


class ColumnsModel(QAbstractTableModel, Generic[RowT, KeyT]):
    """A table model of ``columns`` over rows kept in ``_rows``, ``_row_of`` finding a
    row by its key; a subclass names its columns, says what each cell holds (``cell``)
    and keeps both lists."""

    columns: Sequence[str] = ()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowT] = []
        self._row_of: dict[KeyT, int] = {}

    def cell(self, row: RowT, column: int, role: int) -> Any:
        """What ``row`` shows in ``column`` for ``role`` (None: nothing)."""
        raise NotImplementedError

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        return self.cell(self._rows[index.row()], index.column(), role)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None


def sorted_table(
    name: str, model: QAbstractItemModel, proxy: QSortFilterProxyModel, parent: QWidget
) -> QTableView:
    """A table of ``model`` through its sorting (and filtering) ``proxy``, sorted by the
    first column, one whole row selected at a time.

    Columns are interactive, never sized to their contents on every change: that
    re-measures every row, work that grows with the list.
    """
    table = QTableView(parent)
    table.setObjectName(name)
    proxy.setSourceModel(model)
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return table


def read_only_table(headers: Sequence[str], parent: QWidget) -> QTableWidget:
    """A read-only table of ``headers`` (no row numbers, the last column stretched)."""
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def set_rows(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    """Show ``rows`` in ``table``, one plain-text item a cell (data, never markup)."""
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            table.setItem(r, c, QTableWidgetItem(text))


def row_table(headers: Sequence[str], parent: QWidget) -> QTableWidget:
    """A ``read_only_table`` in which one whole row is picked at a time: the admin pages'
    lists."""
    table = read_only_table(headers, parent)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    return table


def fit_beside(header: QHeaderView, stretch: Sequence[int]) -> None:
    """Columns fitted to their contents but those of ``stretch`` (free text), which share
    the rest of the width: every column stays in sight, none is scrolled off. For short
    lists (a proposal's diff, an order's timeline): fitting re-measures every row."""
    header.setStretchLastSection(False)
    for column in range(header.count()):
        mode = (
            QHeaderView.ResizeMode.Stretch
            if column in stretch
            else QHeaderView.ResizeMode.ResizeToContents
        )
        header.setSectionResizeMode(column, mode)


class TableDock(QDockWidget, Generic[ModelT, ProxyT]):
    """A dock named ``name`` around a ``sorted_table`` of ``model`` through ``proxy``;
    the subclass places ``table`` (alone, or under its own filters)."""

    def __init__(
        self, title: str, name: str, model: ModelT, proxy: ProxyT, parent: QWidget | None
    ) -> None:
        super().__init__(title, parent)
        self.setObjectName(name)
        model.setParent(self)
        proxy.setParent(self)
        self.model = model
        self.proxy = proxy
        self.table = sorted_table(name.removesuffix("Dock") + "Table", model, proxy, self)
