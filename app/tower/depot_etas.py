"""ETA learning per depot: each depot's predictor has its rush hours on its own clock and
learns pace and service times from its own vans only, so a Chicago morning jam says
nothing about Los Angeles, and "8:00" is each city's own eight o'clock.

One accuracy record is shared (its samples are per stop, whichever depot predicted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from app.domain.eta import EtaPredictor
from app.domain.eta_accuracy import EtaAccuracy
from app.domain.execution import ExecutionTracker
from app.domain.model import Depot, Order
from app.domain.progress import Observation
from app.domain.road import RoadModel


class DepotEtas:
    """One :class:`EtaPredictor` per depot; ``watched`` is the one for a van of no known
    depot (and the window's default)."""

    def __init__(self, depots: Iterable[Depot], watched: Depot, road: RoadModel) -> None:
        self.accuracy = EtaAccuracy()
        self.by_depot = {
            d.id: EtaPredictor(tz=d.timezone, road=road, accuracy=self.accuracy)
            for d in (watched, *depots)
        }
        self.watched = self.by_depot[watched.id]
        self._cursor = 0

    def learn(self, tracker: ExecutionTracker) -> None:
        """Learn from the tracker's observations since the last call (once per tick)."""
        observations, self._cursor = tracker.observations_since(self._cursor)
        self.learn_from(observations, tracker.orders, _depot_id(tracker))

    def learn_from(
        self,
        observations: Iterable[Observation],
        orders: Mapping[str, Order],
        depot_of: Callable[[str], str | None],
    ) -> None:
        """Each observation to its van's depot's predictor."""
        groups: dict[str, list[Observation]] = {}
        for obs in observations:
            groups.setdefault(depot_of(obs.vehicle_id) or "", []).append(obs)
        for depot_id, group in groups.items():
            self.by_depot.get(depot_id, self.watched).learn_from(group, orders)

    def of(self, tracker: ExecutionTracker, vehicle_id: str) -> EtaPredictor:
        """The predictor of the van's depot."""
        return self.by_depot.get(_depot_id(tracker)(vehicle_id) or "", self.watched)


def _depot_id(tracker: ExecutionTracker) -> Callable[[str], str | None]:
    def depot_id(vehicle_id: str) -> str | None:
        depot = tracker.depot_of(vehicle_id)
        return None if depot is None else depot.id

    return depot_id
