"""View -> Watched depot, for a company of several depots: which depot's day the window
shows, reads its times in and re-plans (app/tower/watching.py). Shown only where the
tower has more than one depot.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from app.tower.control_tower import ControlTower
from app.tower.watching import watch


class DepotPicker(QObject):
    """One checkable action per depot in ``menu``'s *Watched depot* submenu.

    Signals:
        watched (str): the tower watches this depot now.
        refused (str): the depot was not changed, and why.
    """

    watched = Signal(str)
    refused = Signal(str)

    def __init__(self, tower: ControlTower, menu: QMenu, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tower = tower
        self.menu = menu.addMenu("Watched de&pot")
        self._group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for depot in sorted(tower.live.depots, key=lambda d: d.id):
            action = QAction(f"{depot.id}  {depot.name} ({depot.timezone})", self, checkable=True)
            action.setChecked(depot.id == tower.depot.id)
            action.triggered.connect(lambda _=False, d=depot.id: self.pick(d))
            self._group.addAction(action)
            self.menu.addAction(action)
            self.actions[depot.id] = action

    def pick(self, depot_id: str) -> str | None:
        """Watch ``depot_id``; None when done, else why not (the check stays where it was)."""
        why = watch(self.tower, depot_id)
        self.actions[self.tower.depot.id].setChecked(True)
        if why is not None:
            self.refused.emit(f"Still watching {self.tower.depot.id}: {why}")
            return why
        self.watched.emit(depot_id)
        return None
