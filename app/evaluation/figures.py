"""What a played day comes to: the figures of one run, and their mean over seeds."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from app.domain.execution import ExecutionTracker
from app.domain.model import Order, StopStatus, Vehicle
from app.foundation.days import OperatingDay

ETA_HORIZON_S = 1800.0  # the ETA error is taken this long before the arrival
BIG_MOVE_S = 1800.0  # a customer's ETA moving more than this since their last message


@dataclass(frozen=True)
class Figures:
    """One run on one seed (or, from ``mean``, over the seeds)."""

    on_time_rate: float
    served: float  # delivered
    late: float  # delivered after the window closed
    failed: float
    unserved: float  # never attempted
    km: float
    overtime_min: float
    replans_accepted: float
    customer_eta_moves: float
    eta_mae_30min_s: float | None

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def on_time(order: Order, arrived: float, vehicle: Vehicle | None, day: OperatingDay) -> bool:
    """Arrived before a window closed (waiting for it to open is on time), or, with no
    window, within the van's shift."""
    if order.windows:
        return any(arrived <= w.end for w in order.windows)
    return vehicle is None or arrived <= day.epoch_at(vehicle.shift_end_s)


@dataclass(frozen=True)
class StopCounts:
    """The stops' outcomes as the tracker holds them at the day's end."""

    on_time: frozenset[str]
    delivered: int
    late: int
    failed: int
    unserved: int


def stop_counts(
    tracker: ExecutionTracker,
    vehicles: Sequence[Vehicle],
    day: OperatingDay,
    never_placed: int = 0,
) -> StopCounts:
    """Outcomes of every stop; ``never_placed`` orders (urgent ones no van took) count as
    unserved."""
    vans = {v.id: v for v in vehicles}
    good: set[str] = set()
    delivered = late = failed = unserved = 0
    for sid, stop in tracker.stops.items():
        progress = tracker.stop_progress(sid)
        if progress.status is StopStatus.FAILED:
            failed += 1
            continue
        if progress.status is not StopStatus.DELIVERED:
            unserved += 1
            continue
        delivered += 1
        arrived = progress.arrived_at if progress.arrived_at is not None else progress.completed_at
        order = tracker.orders[stop.order_id]
        if arrived is not None and on_time(order, arrived, vans.get(stop.vehicle_id or ""), day):
            good.add(sid)
        else:
            late += 1
    return StopCounts(frozenset(good), delivered, late, failed, unserved + never_placed)


def mean(runs: Sequence[Figures]) -> Figures:
    """Each figure's mean over the seeds (the ETA error over the seeds that have one)."""
    values: dict[str, Any] = {}
    for f in fields(Figures):
        xs = [getattr(r, f.name) for r in runs if getattr(r, f.name) is not None]
        values[f.name] = statistics.fmean(xs) if xs else None
    return Figures(**values)


def recovered_share(undisrupted: float, static: float, tower: float) -> float | None:
    """How far the tower came back from the static plan towards the undisrupted day (None
    when the disruptions cost nothing)."""
    loss = undisrupted - static
    if loss <= 0:
        return None
    return (tower - static) / loss
