"""Scroll areas for the docks whose bodies are bigger than the room they get."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget


def make_scroll_area(body: QWidget, parent: QWidget) -> QScrollArea:
    """``body`` in a frameless scroll area that resizes it."""
    scroll = QScrollArea(parent)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(body)
    return scroll


def make_scrollable(dock: QDockWidget) -> None:
    """Let a dock with a big body shrink (it scrolls) instead of squeezing the map away."""
    dock.setWidget(make_scroll_area(dock.widget(), dock))
