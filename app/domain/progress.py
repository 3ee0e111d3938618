"""What the execution tracker knows and hands out: a stop's and a van's progress, the lines
of a timeline, what applying one event did, and the observations the ETA learner reads.

Plain records with no behaviour of the tracker's, so the rules that move them
(execution_rules) and their readers need not import the tracker itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from app.domain.model import FailureReason, ParcelStatus, ProofOfDelivery, StopStatus

OPEN = (StopStatus.PENDING, StopStatus.EN_ROUTE)
ON_BOARD = (ParcelStatus.LOADED, ParcelStatus.OUT_FOR_DELIVERY)


@dataclass
class StopProgress:
    """What has happened at one stop so far (a copy: changing it changes nothing)."""

    stop_id: str
    vehicle_id: str
    status: StopStatus = StopStatus.PENDING
    arrived_at: float | None = None
    departed_at: float | None = None
    completed_at: float | None = None
    reason: FailureReason | None = None
    pod: ProofOfDelivery | None = None
    attempts: int = 0

    @property
    def remaining(self) -> bool:
        """Still to be served: not completed and the van has not left it."""
        if self.status in OPEN:
            return True
        return self.status is StopStatus.ARRIVED and self.departed_at is None


@dataclass
class VehicleProgress:
    """A vehicle's day so far, as its events tell it."""

    vehicle_id: str
    shift_started_at: float | None = None
    shift_ended_at: float | None = None
    left_depot_at: float | None = None
    at_depot: bool = True
    on_break_since: float | None = None
    broken_down_at: float | None = None
    current_stop_id: str | None = None
    # Where and when the current leg started (None while on a break or at a stop).
    leg_from: tuple[float, float, float] | None = None
    last_event_ts: float | None = None


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an order's or parcel's timeline."""

    ts: float
    type: str
    vehicle_id: str
    stop_id: str | None
    order_id: str | None
    parcel_ids: tuple[str, ...]
    lat: float | None
    lon: float | None
    place_reported: bool  # False: lat/lon are the stop's or depot's, not the device's
    reason: str | None
    pod: dict[str, str] | None
    inferred: bool
    event_id: str
    flag: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "ts": self.ts,
            "type": self.type,
            "vehicle": self.vehicle_id,
            "stop": self.stop_id,
            "order": self.order_id,
            "parcels": list(self.parcel_ids),
            "lat": self.lat,
            "lon": self.lon,
            "place_reported": self.place_reported,
            "reason": self.reason,
            "pod": self.pod,
            "inferred": self.inferred,
            "event_id": self.event_id,
            "flag": self.flag,
        }


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply`` did with one event."""

    event_id: str
    outcome: Literal["applied", "duplicate", "ignored"]
    flag: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class ArrivalObservation:
    """A stop was reached; ``leg_from`` is (lat, lon, departed ts) of a clean leg, if any."""

    stop_id: str
    vehicle_id: str
    order_id: str
    ts: float
    planned: float
    leg_from: tuple[float, float, float] | None
    inferred: bool = False  # inferred from positions; a reported arrival replaces it


@dataclass(frozen=True)
class ServiceObservation:
    """A stop was left: service lasted from ``arrived_at`` to ``departed_at``."""

    stop_id: str
    vehicle_id: str
    order_id: str
    arrived_at: float
    departed_at: float


Observation = ArrivalObservation | ServiceObservation
