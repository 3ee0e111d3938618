"""The tower's vans and drivers by id, and the vehicles panel's columns that change only
with the fleet (an admin adding or editing a van is such a change)."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.model import Driver, FleetSnapshot, Vehicle
from app.foundation.time_text import clock_text


class Roster:
    """Vans by id and drivers' names, kept with ``snapshot`` (whose lists it updates)."""

    def __init__(self, snapshot: FleetSnapshot) -> None:
        self.snapshot = snapshot
        self.by_id = {v.id: v for v in snapshot.vehicles}
        self._drivers = {d.id: d.name for d in snapshot.drivers}
        self._fixed: dict[str, tuple[Vehicle, tuple[str, str, str]]] = {}

    def learn(self, vehicles: Sequence[Vehicle], driver: Driver | None = None) -> None:
        """The fleet is ``vehicles`` now (the live day's, in order); ``driver`` is new."""
        if driver is not None:
            self.snapshot.drivers.append(driver)
            self._drivers[driver.id] = driver.name
        self.snapshot.vehicles = list(vehicles)
        self.by_id = {v.id: v for v in vehicles}

    def fixed_columns(self, v: Vehicle) -> tuple[str, str, str]:
        """The van's plate, driver's name and shift, made once per van (the window asks
        for 2,000 rows a second, and these change only with the fleet)."""
        fixed = self._fixed.get(v.id)
        if fixed is None or fixed[0] is not v:
            text = f"{clock_text(v.shift_start_s)}–{clock_text(v.shift_end_s)}"
            fixed = (v, (v.plate, self._drivers.get(v.driver_id or "", ""), text))
            self._fixed[v.id] = fixed
        return fixed[1]
