"""The base of the objects that connect one dock and the map to the tower.

ExceptionAlerts and ProposalReview each keep a dock, the map and the status bar in step
with the tower and turn the dispatcher's clicks into the tower's actions; this holds what
they share and calls their own ``_connect`` once it is in place.
"""

from __future__ import annotations

import getpass
from typing import Generic, TypeVar

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget

from widgets.window_parts import WindowParts

DockT = TypeVar("DockT", bound=QDockWidget)


class DockLink(QObject, Generic[DockT]):
    """One dock, and the window's map and status bar, kept in step with its tower.

    ``user`` is who the dispatcher's decisions and acknowledgements are recorded for.
    """

    def __init__(self, parts: WindowParts, dock: DockT, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tower, self.map, self.status = parts.tower, parts.map, parts.status
        self.dock = dock
        self.user = getpass.getuser()
        self._connect(dock)

    def _connect(self, dock: DockT) -> None:
        """Listen to ``dock``'s requests and show what the tower holds now."""
        raise NotImplementedError
