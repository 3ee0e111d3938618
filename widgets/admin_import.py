"""Admin: import a file with a preview: its rows, its errors by line and column, and
what writing it would create, update or leave alone, before anything is written.

"Import" writes only a file the preview found no error in (the import is all or nothing
anyway). Reading and checking run on the admin desk's thread, never on the GUI's.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.imports.changes import KINDS, ImportOutcome
from app.tower.admin import AdminDesk, ImportPreview
from widgets.admin_page import AdminPage
from widgets.buttons import add_button
from widgets.table_docks import read_only_table

ERROR_ROW = QColor(180, 60, 60, 90)
# The preview shows the file's first rows; the errors and counts cover all of them.
SHOWN_ROWS = 500


def _item(text: str) -> QTableWidgetItem:
    return QTableWidgetItem(text)


def counts_text(outcome: ImportOutcome, *, done: bool) -> str:
    """'3 to create, 1 to update, 4 left alone' (or, once written, 'created', ...)."""
    verbs = (
        ("created", "updated", "left alone") if done else ("to create", "to update", "left alone")
    )
    parts = [
        f"{outcome.created} {verbs[0]}",
        f"{outcome.updated} {verbs[1]}",
        f"{outcome.unchanged} {verbs[2]}",
    ]
    if outcome.new_drivers:
        parts.append(f"{outcome.new_drivers} new driver(s)")
    if outcome.in_live_plan:
        parts.append(f"{len(outcome.in_live_plan)} in a live plan (changed only by a re-plan)")
    return ", ".join(parts)


class ImportPage(AdminPage):
    """Kind and file, the preview, and the Import button.

    Signals:
        previewed (object): the ImportPreview shown.
        imported (object): the ImportOutcome of a write.
    """

    previewed = Signal(object)
    imported = Signal(object)

    def __init__(self, desk: AdminDesk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.preview: ImportPreview | None = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Kind:"))
        self.kind = QComboBox(self)
        self.kind.addItems(list(KINDS))
        row.addWidget(self.kind)
        self.path = QLineEdit(self)
        self.path.setPlaceholderText("a .csv, .xlsx or .json file (docs/import.md)")
        row.addWidget(self.path, 1)
        add_button(row, "&Choose file…", self._choose, self)
        self.preview_button = add_button(row, "&Preview", self.show_preview, self)
        layout.addLayout(row)
        self.summary = QLabel("Choose what the file holds and the file: nothing is written yet.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("Errors (line as a spreadsheet shows it, the header is line 1):"))
        self.errors = read_only_table((), self)
        layout.addWidget(self.errors, 1)
        layout.addWidget(QLabel("The file's rows:"))
        self.rows = read_only_table((), self)
        layout.addWidget(self.rows, 2)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.import_button = QPushButton("I&mport", self)
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.write)
        buttons.addWidget(self.import_button)
        layout.addLayout(buttons)
        # A changed kind or file makes the preview shown stale: preview again first.
        self.kind.currentTextChanged.connect(lambda _t: self._stale())
        self.path.textEdited.connect(lambda _t: self._stale())

    def set_file(self, kind: str, path: Path) -> None:
        """Choose ``kind`` and ``path`` and preview them."""
        self.kind.setCurrentText(kind)
        self.path.setText(str(path))
        self.show_preview()

    def _choose(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(
            self, "Import file", "", "Tables (*.csv *.xlsx *.json)"
        )
        if name:
            self.set_file(self.kind.currentText(), Path(name))

    def _stale(self) -> None:
        self.preview = None
        self.import_button.setEnabled(False)

    def show_preview(self) -> None:
        """Read and check the file off the GUI thread; show it when done."""
        text = self.path.text().strip()
        if not text:
            return
        self._stale()
        self.summary.setText("Reading and checking the file…")
        future = self.desk.preview_import(self.kind.currentText(), Path(text))
        self._bridge.when_ok(
            future, self._show, self.summary.setText, "The file could not be checked"
        )

    def _show(self, preview: ImportPreview) -> None:
        if preview.kind != self.kind.currentText() or str(preview.path) != self.path.text().strip():
            return  # an answer to a choice since changed
        self.preview = preview
        outcome = preview.outcome
        bad_lines = {e.line for e in outcome.errors}
        self._fill_errors(preview)
        self._fill_rows(preview, bad_lines)
        if outcome.errors:
            self.summary.setText(
                f"{len(outcome.errors)} problem(s) in {preview.path.name}: nothing can be "
                "written until the file is corrected."
            )
        else:
            self.summary.setText(f"{preview.path.name}: {counts_text(outcome, done=False)}.")
        self.import_button.setEnabled(preview.can_import)
        self.previewed.emit(preview)

    def _fill_errors(self, preview: ImportPreview) -> None:
        errors = preview.outcome.errors
        self.errors.setColumnCount(3)
        self.errors.setHorizontalHeaderLabels(["Line", "Column", "Problem"])
        self.errors.setRowCount(len(errors))
        for r, e in enumerate(errors):
            for c, text in enumerate([str(e.line) if e.line else "file", e.column, e.message]):
                self.errors.setItem(r, c, _item(text))
        self.errors.resizeColumnsToContents()

    def _fill_rows(self, preview: ImportPreview, bad_lines: set[int]) -> None:
        columns = list(preview.table.columns)
        shown = preview.table.rows[:SHOWN_ROWS]
        self.rows.setColumnCount(len(columns) + 1)
        self.rows.setHorizontalHeaderLabels(["Line", *columns])
        self.rows.setRowCount(len(shown))
        for r, row in enumerate(shown):
            texts = [str(row.line)] + [_cell_text(row.cells.get(c)) for c in columns]
            for c, text in enumerate(texts):
                item = _item(text)
                if row.line in bad_lines:
                    item.setBackground(ERROR_ROW)
                self.rows.setItem(r, c, item)
        self.rows.resizeColumnsToContents()

    def write(self) -> None:
        """Import the previewed file (refused while it has errors)."""
        preview = self.preview
        if preview is None or not preview.can_import:
            return
        self.import_button.setEnabled(False)
        self.summary.setText(f"Importing {preview.path.name}…")
        future = self.desk.import_file(preview.kind, preview.path, self.user)
        self._bridge.when_ok(
            future, self._written, self.summary.setText, "The import failed, nothing was written"
        )

    def _written(self, outcome: ImportOutcome) -> None:
        if outcome.errors:
            self.summary.setText(
                f"Nothing written: {len(outcome.errors)} problem(s) (the file changed?)."
            )
        else:
            self.summary.setText(f"Imported: {counts_text(outcome, done=True)}.")
        self.preview = None
        self.imported.emit(outcome)


def _cell_text(value: object) -> str:
    return "" if value is None else str(value)
