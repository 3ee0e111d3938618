"""What the objects that keep the window in step with the tower share."""

from __future__ import annotations

from dataclasses import dataclass

from app.foundation.time_text import TimeText
from app.tower.control_tower import ControlTower
from widgets.map_view import MapView
from widgets.status_bar import TowerStatusBar


@dataclass(frozen=True)
class WindowParts:
    """The tower, the map, the status bar and how times read (the depot's local time):
    the main window builds them once; the live pump and each dock's link work on them."""

    tower: ControlTower
    map: MapView
    status: TowerStatusBar
    times: TimeText
