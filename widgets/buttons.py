"""A push button made, wired to what it does and laid out in one call (the admin pages'
rows of buttons), and a dialog's Close button."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QBoxLayout, QDialog, QDialogButtonBox, QPushButton, QWidget


def add_button(
    layout: QBoxLayout, text: str, clicked: Callable[[], object], parent: QWidget
) -> QPushButton:
    """A button reading ``text`` (with its ``&`` mnemonic) that calls ``clicked``, added
    at the end of ``layout``."""
    button = QPushButton(text, parent)
    button.clicked.connect(clicked)
    layout.addWidget(button)
    return button


def add_close_button(layout: QBoxLayout, dialog: QDialog) -> QDialogButtonBox:
    """A Close button that closes ``dialog`` (as Escape does), at the end of ``layout``."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    return buttons
