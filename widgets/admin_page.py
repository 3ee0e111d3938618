"""What every admin page shares: the desk it works through, the person using it (the
audit log names them) and the bridge that brings the desk's background answers back to
the GUI thread."""

from __future__ import annotations

import getpass

from PySide6.QtWidgets import QWidget

from app.tower.admin import AdminDesk
from widgets.call_on_main import MainThreadBridge


class AdminPage(QWidget):
    """A page of the admin dialog."""

    def __init__(self, desk: AdminDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.user = getpass.getuser()
        self._bridge = MainThreadBridge(self)
