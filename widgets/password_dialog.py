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

from app.foundation.clock import Clock
from app.foundation.failures import ConfigurationError
from app.foundation.settings import Settings
from app.tower.control_tower import ControlTower
from app.tower.db_password import (
    KeyringState,
    account,
    asks_password,
    keyring_state,
    remember,
    remembered,
    signed_with,
)
from app.tower.sign_in import SignedIn, open_signed_in

log = logging.getLogger(__name__)
# libpq's words when the server wants another password (not a refused grant).
BAD_PASSWORD = ("password authentication failed", "no password supplied")


class PasswordDialog(QDialog):
    """Sign in: the password of ``account`` (``user@host:port/database``)."""

    def __init__(
        self, who: str, keyring: KeyringState, refused: str = "", parent: QWidget | None = None
    ) -> None:
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
        # Why the last password did not sign in (the server's one line).
        self.notice = QLabel(refused, self)
        self.notice.setObjectName("SignInRefused")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.setVisible(bool(refused))
        layout.addWidget(self.notice)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.password.setFocus()


def with_database_password(
    settings: Settings, parent: QWidget | None = None, refused: str = ""
) -> Settings | None:
    """``settings`` with the database password when its URL has none: the one remembered
    in the keyring, else the one the person types (kept there if they ask); None when
    they cancel. Settings whose URL needs no password come back as they are. After the
    server ``refused`` a password, the person is asked again, told why."""
    if not asks_password(settings):
        return settings
    if not refused and (kept := remembered(settings)) is not None:
        return signed_with(settings, kept)
    dialog = PasswordDialog(account(settings), keyring_state(), refused, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    password = dialog.password.text()
    if dialog.remember.isChecked() and password and (why := remember(settings, password)):
        log.warning("%s: the window asks again next time", why)  # it still signs in
    return signed_with(settings, password)


def sign_in(settings: Settings, wall: Clock) -> tuple[ControlTower, SignedIn, Settings] | None:
    """The tower under the person's login, who they are, and the settings they signed in
    with; asked again while the server refuses the password; None when they cancel."""
    refused = ""
    while True:
        signing_in = with_database_password(settings, refused=refused)
        if signing_in is None:
            return None
        try:
            tower, person = open_signed_in(signing_in, wall)
        except ConfigurationError as exc:
            if not asks_password(settings) or not any(w in str(exc) for w in BAD_PASSWORD):
                raise
            refused = str(exc)
            continue
        return tower, person, signing_in
