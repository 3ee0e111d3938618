"""The database password, asked before the window connects when the URL has none (#22).

It is never written to the TOML file; "Remember" keeps it in the OS keyring
(app/tower/db_password.py), disabled with the reason when no keyring is available.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.foundation.settings import Settings
from app.tower.db_password import (
    KeyringState,
    account,
    asks_password,
    keyring_state,
    remember,
    remembered,
    signed_with,
)

log = logging.getLogger(__name__)


class PasswordDialog(QDialog):
    """Sign in: the password of ``account`` (``user@host:port/database``)."""

    def __init__(self, who: str, keyring: KeyringState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Control tower — sign in")
        layout = QVBoxLayout(self)
        prompt = QLabel(f"Password of {who}:", self)
        prompt.setTextFormat(Qt.TextFormat.PlainText)  # the URL's parts are data
        layout.addWidget(prompt)
        self.password = QLineEdit(self)
        self.password.setObjectName("DatabasePassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("empty: the server's own sign-in (.pgpass, trust)")
        layout.addWidget(self.password)
        self.remember = QCheckBox("&Remember it in the OS keyring", self)
        self.remember.setEnabled(keyring.available)
        self.remember.setToolTip(
            "Kept by the operating system, never in the settings file"
            if keyring.available
            else f"Cannot remember it: {keyring.why_not}"
        )
        layout.addWidget(self.remember)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.password.setFocus()


def with_database_password(settings: Settings, parent: QWidget | None = None) -> Settings | None:
    """``settings`` with the database password when its URL has none: the one remembered
    in the keyring, else the one the person types (kept there if they ask); None when
    they cancel. Settings whose URL needs no password come back as they are."""
    if not asks_password(settings):
        return settings
    if (kept := remembered(settings)) is not None:
        return signed_with(settings, kept)
    dialog = PasswordDialog(account(settings), keyring_state(), parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    password = dialog.password.text()
    if dialog.remember.isChecked() and password and (why := remember(settings, password)):
        log.warning("%s: the window asks again next time", why)  # it still signs in
    return signed_with(settings, password)
