"""A dock that says what will come there, until its feature lands."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QWidget


def placeholder_dock(title: str, object_name: str, text: str, parent: QWidget) -> QDockWidget:
    """A dock titled ``title`` holding a centred explanatory label."""
    dock = QDockWidget(title, parent)
    dock.setObjectName(object_name)
    label = QLabel(text, dock)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setMargin(12)
    dock.setWidget(label)
    return dock
