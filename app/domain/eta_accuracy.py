"""How good the ETAs were: what was told 60, 30 and 10 minutes before each arrival.

The accuracy KPIs (docs/kpis.md) and the ETA benchmark read these samples; storage keeps
them (``eta_samples``).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
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


class _RouteSnapshots:
    """The predictions made while a vehicle's remaining stops stayed the same: one time and
    one ETA per stop each, packed in flat arrays (a soak of 2,000 vans fills an hour of
    these, so a tuple and an array per prediction cost three times the memory)."""

    __slots__ = ("etas", "made_at", "stop_ids")

    def __init__(self, stop_ids: tuple[str, ...]) -> None:
        self.stop_ids = stop_ids
        self.made_at: array[float] = array("d")
        self.etas: array[float] = array("d")  # row-major: len(stop_ids) per prediction

    def add(self, made_at: float, etas: list[float]) -> None:
        self.made_at.append(made_at)
        self.etas.extend(etas)

    def drop_first(self) -> None:
        del self.made_at[0]
        del self.etas[: len(self.stop_ids)]

    def eta_of(self, index: int, stop_id: str) -> float:
        return self.etas[index * len(self.stop_ids) + self.stop_ids.index(stop_id)]


class EtaAccuracy:
    """Remembers recent predictions per stop; on arrival keeps those made 60/30/10 min before.

    Only predictions that can still matter are kept: those of the last ``max(horizons)``
    minutes plus the newest older one, one snapshot per vehicle per ``sample_every_s``.
    """

    def __init__(self, horizons_min: Iterable[int] = (60, 30, 10), sample_every_s: float = 60.0):
        self.horizons = tuple(sorted(horizons_min, reverse=True))
        self.sample_every_s = sample_every_s
        self._keep_s = self.horizons[0] * 60.0 if self.horizons else 0.0
        # Per vehicle, oldest first: one run of snapshots per unchanged list of stops.
        self._history: dict[str, list[_RouteSnapshots]] = {}
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
        if history and made_at - history[-1].made_at[-1] < self.sample_every_s:
            return
        if not history or history[-1].stop_ids != stop_ids:
            history.append(_RouteSnapshots(stop_ids))
        history[-1].add(made_at, etas)
        self._forget_before(history, made_at - self._keep_s)

    @staticmethod
    def _forget_before(history: list[_RouteSnapshots], cutoff: float) -> None:
        """Drop snapshots older than ``cutoff`` but the newest of them (it is the one told
        ``max(horizons)`` before an arrival that comes now)."""
        while True:
            oldest = history[0]
            if len(oldest.made_at) > 1:
                if oldest.made_at[1] > cutoff:
                    return
                oldest.drop_first()
            elif len(history) > 1 and history[1].made_at[0] <= cutoff:
                del history[0]
            else:
                return

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
            predicted = self._told_before(history, stop_id, ts - horizon * 60)
            if predicted is not None:
                self._samples.append(
                    AccuracySample(stop_id, horizon, predicted, ts, planned, vehicle_id)
                )

    @staticmethod
    def _told_before(history: list[_RouteSnapshots], stop_id: str, limit: float) -> float | None:
        """The newest ETA of ``stop_id`` predicted at or before ``limit``, if any."""
        for run in reversed(history):
            if stop_id not in run.stop_ids or run.made_at[0] > limit:
                continue
            index = bisect_right(run.made_at, limit) - 1
            return run.eta_of(index, stop_id)
        return None

    def accuracy_samples(self) -> list[AccuracySample]:
        """Every sample so far: (stop, horizon, predicted, actual, planned, vehicle)."""
        return list(self._samples)

    def drain(self) -> list[AccuracySample]:
        """Samples added since the last drain (for storage)."""
        new = self._samples[self._drained :]
        self._drained = len(self._samples)
        return new
