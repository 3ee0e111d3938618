"""F1: every key of the window, read off its actions, and where the documentation is."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from widgets.buttons import add_close_button
from widgets.key_bindings import KeyBinding
from widgets.table_docks import set_rows

# A source checkout or an unpacked install: README.md and docs/ sit beside widgets/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DocPage:
    """One page of the documentation: its title (its first heading) and its file."""

    title: str
    path: Path


def doc_pages(root: Path = PROJECT_ROOT) -> list[DocPage]:
    """README.md, then docs/*.md by name; only the pages that are there."""
    paths = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    return [DocPage(_heading(path), path) for path in paths if path.is_file()]


def _heading(path: Path) -> str:
    with path.open(encoding="utf-8") as text:
        for line in text:
            if line.startswith("# "):
                return line[2:].strip()
    return path.stem


class HelpDialog(QDialog):
    """The window's keys (keys, what they do, where) and links to the documentation."""

    def __init__(
        self,
        bindings: Sequence[KeyBinding],
        pages: Sequence[DocPage],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts and documentation")
        self.setObjectName("HelpDialog")
        self.resize(720, 640)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Keyboard shortcuts of this window:", self))
        self.keys = QTableWidget(len(bindings), 3, self)
        self.keys.setHorizontalHeaderLabels(["Keys", "Does", "Where"])
        self.keys.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.keys.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.keys.verticalHeader().setVisible(False)
        set_rows(self.keys, [(b.text, b.what, b.where) for b in bindings])
        self.keys.resizeColumnsToContents()
        self.keys.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.keys, 1)

        layout.addWidget(QLabel("Documentation (opens in your viewer):", self))
        self.docs = QLabel(_links(pages), self)
        self.docs.setTextFormat(Qt.TextFormat.RichText)
        self.docs.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.docs.setOpenExternalLinks(True)
        self.docs.setWordWrap(True)
        layout.addWidget(self.docs)
        add_close_button(layout, self)


def _links(pages: Sequence[DocPage]) -> str:
    """One line per page: its title as a link, and its path to copy (paths are escaped)."""
    if not pages:
        return "The documentation is not installed beside the program (README.md, docs/)."
    lines = (
        f'<a href="{html.escape(QUrl.fromLocalFile(str(page.path)).toString())}">'
        f"{html.escape(page.title)}</a> — {html.escape(str(page.path))}"
        for page in pages
    )
    return "<br>".join(lines)
