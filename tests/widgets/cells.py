"""Reading what a table or a tree shows, failing the test where a row is missing."""

from __future__ import annotations

from PySide6.QtWidgets import QTableWidget, QTreeWidget, QTreeWidgetItem


def cell(table: QTableWidget, row: int, column: int) -> str:
    """The text of one cell of ``table``."""
    item = table.item(row, column)
    assert item is not None, f"no cell at row {row}, column {column}"
    return item.text()


def top_item(tree: QTreeWidget, index: int) -> QTreeWidgetItem:
    """The ``index``-th top-level row of ``tree``."""
    item = tree.topLevelItem(index)
    assert item is not None, f"no top-level row {index}"
    return item


def child(parent: QTreeWidgetItem, index: int) -> QTreeWidgetItem:
    """The ``index``-th child row of ``parent``."""
    item = parent.child(index)
    assert item is not None, f"no child row {index} under {parent.text(0)!r}"
    return item
