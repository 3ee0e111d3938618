"""The customer loop: which ``orders/{id}/eta`` messages to send, and when.

Pure: the tower hands in order snapshots and the time; the notifier answers with
``Notification`` objects that the tower publishes. Triggers follow Onfleet's: out for
delivery, you are next, arriving, ETA shifted by more than the threshold since the last ETA
told, delivered, failed (with what happens next). At most one message per order per
``throttle_s``: a message held back by the throttle is kept (the latest one per order) and
sent by ``flush`` when the window has passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.execution import ExecutionTracker
from app.domain.geo import haversine_m
from app.domain.model import (
    FailureReason,
    ParcelStatus,
    StopStatus,
    TelemetryFix,
    TimeWindow,
    VehicleEta,
)
from app.domain.reasons import NOT_ATTEMPTED

REATTEMPT = "re-attempt later today"
RETURNED = "returned to depot, new delivery tomorrow"
# Most important first: when several triggers fire at once, the first is the one named.
TRIGGERS = ("delivered", "failed", "arriving", "next", "out_for_delivery", "eta_changed")
_LADDER = ("out_for_delivery", "next", "arriving")
_NO_REATTEMPT = {FailureReason.REFUSED, FailureReason.DAMAGED, FailureReason.ADDRESS_NOT_FOUND}


@dataclass(frozen=True)
class OrderSnapshot:
    """What the customer could be told about an order right now.

    ``status`` is customer-facing: scheduled, out_for_delivery, next, arrived, delivered,
    failed. ``attempt`` counts finished attempts, so a re-attempt can notify again.
    """

    order_id: str
    status: str
    eta: float | None = None
    window: TimeWindow | None = None
    distance_m: float | None = None
    reason: str | None = None
    next_step: str | None = None
    attempt: int = 0


@dataclass(frozen=True)
class Notification:
    """One message for the order's customer topic (app.telemetry.contract.ORDER_ETA)."""

    order_id: str
    payload: dict[str, Any]
    ts: float
    trigger: str


@dataclass(frozen=True)
class NotifyThresholds:
    """When the customer hears from us."""

    arriving_m: float = 150.0
    arriving_s: float = 300.0
    eta_shift_s: float = 600.0
    throttle_s: float = 30.0


@dataclass
class _Told:
    fired: set[str] = field(default_factory=set)
    last_eta: float | None = None
    last_sent: float | None = None
    pending: Notification | None = None


class CustomerNotifier:
    """Decides the customer messages; call ``tick`` with fresh snapshots every few seconds."""

    def __init__(self, thresholds: NotifyThresholds | None = None) -> None:
        self.thresholds = thresholds or NotifyThresholds()
        self._orders: dict[str, _Told] = {}

    def tick(self, snapshots: Iterable[OrderSnapshot], now: float) -> list[Notification]:
        """Held-back messages that may go now, then what the snapshots trigger."""
        out = self.flush(now)
        for snapshot in snapshots:
            out.extend(self.update(snapshot, now))
        return out

    def told_etas(self) -> dict[str, float]:
        """The last ETA each order's customer was sent (epoch seconds), by order id: what
        a re-plan should not move without a reason."""
        return {oid: t.last_eta for oid, t in self._orders.items() if t.last_eta is not None}

    def flush(self, now: float) -> list[Notification]:
        """Send the held-back messages whose throttle window has passed."""
        out = []
        for told in self._orders.values():
            if told.pending is not None and self._may_send(told, now):
                out.append(self._send(told, told.pending, now))
        return out

    def update(self, snapshot: OrderSnapshot, now: float) -> list[Notification]:
        """The message (zero or one) this snapshot triggers now."""
        told = self._orders.setdefault(snapshot.order_id, _Told())
        trigger = self._trigger(told, snapshot, now)
        if trigger is None:
            if told.pending is not None:  # keep the held-back message up to date
                told.pending = self._note(snapshot, told.pending.trigger, told.pending.ts)
            return []
        if told.pending is not None:
            trigger = min(trigger, told.pending.trigger, key=TRIGGERS.index)
        note = self._note(snapshot, trigger, now)
        if not self._may_send(told, now):
            told.pending = note
            return []
        return [self._send(told, note, now)]

    def _trigger(self, told: _Told, s: OrderSnapshot, now: float) -> str | None:
        limits = self.thresholds
        if s.status == "delivered":
            return self._fire(told, "delivered", "delivered")
        if s.status == "failed":
            return self._fire(told, "failed", f"failed:{s.attempt}")
        stage = None
        if s.status in ("next", "arrived") and (
            s.status == "arrived"
            or (s.distance_m is not None and s.distance_m <= limits.arriving_m)
            or (s.eta is not None and s.eta - now <= limits.arriving_s)
        ):
            stage = "arriving"
        elif s.status in ("next", "arrived"):
            stage = "next"
        elif s.status == "out_for_delivery":
            stage = "out_for_delivery"
        if stage is not None and f"{stage}:{s.attempt}" not in told.fired:
            for lower in _LADDER[: _LADDER.index(stage) + 1]:  # "next" implies "out for..."
                told.fired.add(f"{lower}:{s.attempt}")
            return stage
        if (
            stage is not None
            and s.eta is not None
            and told.last_eta is not None
            and abs(s.eta - told.last_eta) > limits.eta_shift_s
        ):
            return "eta_changed"
        return None

    @staticmethod
    def _fire(told: _Told, trigger: str, key: str) -> str | None:
        if key in told.fired:
            return None
        told.fired.add(key)
        return trigger

    def _may_send(self, told: _Told, now: float) -> bool:
        return told.last_sent is None or now - told.last_sent >= self.thresholds.throttle_s

    @staticmethod
    def _send(told: _Told, note: Notification, now: float) -> Notification:
        told.last_sent, told.pending = now, None
        if note.payload["eta"] is not None:
            told.last_eta = float(note.payload["eta"])
        return Notification(note.order_id, note.payload, now, note.trigger)

    @staticmethod
    def _note(s: OrderSnapshot, trigger: str, now: float) -> Notification:
        payload: dict[str, Any] = {
            "order": s.order_id,
            "status": s.status,
            "trigger": trigger,
            "eta": round(s.eta) if s.eta is not None and s.status not in ("delivered",) else None,
            "window": {"start": s.window.start, "end": s.window.end} if s.window else None,
            "reason": s.reason,
        }
        if s.status == "failed":
            payload["next_step"] = s.next_step
        return Notification(s.order_id, payload, now, trigger)


def customer_status(tracker: ExecutionTracker, order_id: str) -> str:
    """The customer-facing status of an order (see ``OrderSnapshot``)."""
    stop = tracker.stop_of_order(order_id)
    if stop is None:
        return "scheduled"
    p = tracker.progress_ref(stop.id)
    if p.status is StopStatus.DELIVERED:
        return "delivered"
    if p.status in (StopStatus.FAILED, StopStatus.SKIPPED):
        return "failed"
    if p.status is StopStatus.ARRIVED:
        return "arrived"
    if p.status is StopStatus.EN_ROUTE:
        return "next"
    parcels = tracker.orders[order_id].parcels
    if any(tracker.parcel_status(x.id) is ParcelStatus.OUT_FOR_DELIVERY for x in parcels):
        return "out_for_delivery"
    return "scheduled"


def next_step(tracker: ExecutionTracker, order_id: str) -> str | None:
    """What happens after a failed (or skipped) stop, in the customer's words."""
    stop = tracker.stop_of_order(order_id)
    if stop is None:
        return None
    p = tracker.progress_ref(stop.id)
    if p.status not in (StopStatus.FAILED, StopStatus.SKIPPED):
        return None
    parcels = tracker.orders[order_id].parcels
    returned = parcels and all(
        tracker.parcel_status(x.id) is ParcelStatus.RETURNED for x in parcels
    )
    ended = tracker.vehicle_progress_ref(stop.vehicle_id).shift_ended_at is not None
    if p.status is StopStatus.SKIPPED or returned or ended or p.reason in _NO_REATTEMPT:
        return RETURNED
    return REATTEMPT


def order_snapshots(
    tracker: ExecutionTracker,
    etas: Mapping[str, VehicleEta],
    positions: Mapping[str, TelemetryFix],
    stop_ids: Iterable[str] | None = None,
) -> list[OrderSnapshot]:
    """A snapshot of every planned order (or of the given stops' orders), from the
    tracker, the ETAs and the last fixes."""
    eta_of = {s.stop_id: s.eta for v in etas.values() for s in v.stops}
    chosen = tracker.stops.keys() if stop_ids is None else stop_ids
    out = []
    for stop_id in chosen:
        stop = tracker.stops.get(stop_id)
        if stop is None:  # re-planned away since the round began
            continue
        order = tracker.orders[stop.order_id]
        p = tracker.progress_ref(stop.id)
        status = customer_status(tracker, order.id)
        fix = positions.get(stop.vehicle_id)
        distance = None
        if fix is not None and status in ("next", "arrived"):
            distance = haversine_m(fix.lat, fix.lon, order.lat, order.lon)
        reason = p.reason.value if p.reason else None
        if p.status is StopStatus.SKIPPED:
            reason = NOT_ATTEMPTED
        out.append(
            OrderSnapshot(
                order_id=order.id,
                status=status,
                eta=eta_of.get(stop.id),
                window=order.windows[0] if order.windows else None,
                distance_m=distance,
                reason=reason,
                next_step=next_step(tracker, order.id),
                attempt=p.attempts,
            )
        )
    return out
