"""How good the ETAs were: what was told 60, 30 and 10 minutes before each arrival.

The accuracy KPIs (docs/kpis.md) and the ETA benchmark read these samples; storage keeps
them (``eta_samples``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from app.domain.model import VehicleEta


@dataclass(frozen=True)
class AccuracySample:
    """The ETA told ``horizon_min`` minutes before a stop's actual arrival."""

    stop_id: str
    horizon_min: int
    predicted_eta: float
    actual_arrival: float
    planned_arrival: float
    vehicle_id: str


class EtaAccuracy:
    """Remembers recent predictions per stop; on arrival keeps those made 60/30/10 min before.

    Only predictions that can still matter are kept: those of the last ``max(horizons)``
    minutes plus the newest older one, one snapshot per vehicle per ``sample_every_s``.
    """

    def __init__(self, horizons_min: Iterable[int] = (60, 30, 10), sample_every_s: float = 60.0):
        self.horizons = tuple(sorted(horizons_min, reverse=True))
        self.sample_every_s = sample_every_s
        self._keep_s = self.horizons[0] * 60.0 if self.horizons else 0.0
        # Per vehicle: (made at, stop ids, etas); compact so a day of them stays small.
        self._history: dict[str, list[tuple[float, tuple[str, ...], array[float]]]] = {}
        self._samples: list[AccuracySample] = []
        self._drained = 0

    def record(self, eta: VehicleEta) -> None:
        """Remember a vehicle's predictions (thinned to one per ``sample_every_s``)."""
        ids = tuple(s.stop_id for s in eta.stops)
        self.record_times(eta.vehicle_id, eta.computed_at, ids, [s.eta for s in eta.stops])

    def record_times(
        self, vehicle_id: str, made_at: float, stop_ids: tuple[str, ...], etas: list[float]
    ) -> None:
        """``record`` without the objects: ETAs of ``stop_ids`` predicted at ``made_at``."""
        history = self._history.setdefault(vehicle_id, [])
        if history and made_at - history[-1][0] < self.sample_every_s:
            return
        if history and history[-1][1] == stop_ids:
            stop_ids = history[-1][1]  # share the tuple while the route is unchanged
        history.append((made_at, stop_ids, array("d", etas)))
        cutoff = made_at - self._keep_s
        while len(history) > 1 and history[1][0] <= cutoff:
            del history[0]

    def arrived(self, stop_id: str, vehicle_id: str, ts: float, planned: float) -> None:
        """A stop was reached: keep the ETAs told 60, 30 and 10 minutes before.

        A second call for the same stop (a reported arrival replacing an inferred one)
        replaces that stop's samples.
        """
        if any(s.stop_id == stop_id for s in self._samples):
            drained = self._samples[: self._drained]
            self._drained -= sum(1 for s in drained if s.stop_id == stop_id)
            self._samples = [s for s in self._samples if s.stop_id != stop_id]
        history = self._history.get(vehicle_id, [])
        for horizon in self.horizons:
            limit = ts - horizon * 60
            for made, ids, etas in reversed(history):
                if made <= limit and stop_id in ids:
                    predicted = etas[ids.index(stop_id)]
                    self._samples.append(
                        AccuracySample(stop_id, horizon, predicted, ts, planned, vehicle_id)
                    )
                    break

    def accuracy_samples(self) -> list[AccuracySample]:
        """Every sample so far: (stop, horizon, predicted, actual, planned, vehicle)."""
        return list(self._samples)

    def drain(self) -> list[AccuracySample]:
        """Samples added since the last drain (for storage)."""
        new = self._samples[self._drained :]
        self._drained = len(self._samples)
        return new
