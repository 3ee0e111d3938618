"""Non-modal dialogs that exist once: asking again brings the open one to the front."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

D = TypeVar("D", bound=QDialog)


class OpenDialogs:
    """At most one open dialog of each class.

    A closed dialog is deleted (it held a snapshot, and each copy kept its tables alive
    as long as the window); the next request builds a fresh one.
    """

    def __init__(self) -> None:
        self._open: dict[type[QDialog], QDialog] = {}

    def show(self, kind: type[D], build: Callable[[], D]) -> D:
        """The open ``kind`` dialog raised and focused, or a new one from ``build``."""
        dialog = self._open.get(kind)
        if not isinstance(dialog, kind):
            dialog = build()
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.finished.connect(lambda _result: self._open.pop(kind, None))
            self._open[kind] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog
