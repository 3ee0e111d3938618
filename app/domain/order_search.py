"""WISMO ("where is my order?"): find an order the way a caller describes it, then answer.

Search keys: order id, parcel id, customer name, phone (spaces and punctuation ignored,
+33 6... matches 06...), address fragment; case- and accent-insensitive. ``order_answer``
is the JSON-serialisable answer that the order panel shows and ``main.py order ID --json``
prints.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.customer_updates import REATTEMPT, customer_status, next_step
from app.domain.execution import ExecutionTracker
from app.domain.geo import haversine_m
from app.domain.model import Depot, Order, StopStatus, TelemetryFix, VehicleEta
from app.domain.progress import TimelineEntry
from app.domain.reasons import reason_words

_NON_WORD = re.compile(r"[^0-9a-z]+")
_PHONE_TAIL = 9  # national significant number length in France; enough elsewhere too
NEAR_M = 150
"""A device's position this close to the address (or the depot) is there."""


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation turned into single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", plain).strip()


def digits(text: str) -> str:
    """Only the digits of ``text``."""
    return "".join(c for c in text if c.isdigit())


@dataclass(frozen=True)
class OrderMatch:
    """One search hit: the higher the score, the surer the match."""

    order_id: str
    score: int
    matched_on: str  # order, parcel, name, phone or address
    customer_name: str
    address: str


@dataclass(frozen=True)
class _Entry:
    order: Order
    order_id: str
    parcel_ids: tuple[str, ...]
    name: str
    name_words: tuple[str, ...]
    phone: str
    address: str


class OrderIndex:
    """Orders prepared for searching; rebuild it when the day's orders change."""

    def __init__(self, orders: Iterable[Order]) -> None:
        self._entries = [
            _Entry(
                order=o,
                order_id=o.id.casefold(),
                parcel_ids=tuple(p.id.casefold() for p in o.parcels),
                name=fold(o.customer_name),
                name_words=tuple(fold(o.customer_name).split()),
                phone=digits(o.phone),
                address=fold(o.address),
            )
            for o in orders
        ]

    def search(self, query: str, limit: int = 20) -> list[OrderMatch]:
        """Ranked matches for what a caller said (best first, at most ``limit``)."""
        raw = query.strip().casefold()
        folded, phone = fold(query), digits(query)
        if not raw:
            return []
        hits = []
        for entry in self._entries:
            score, key = _score(entry, raw, folded, phone)
            if score:
                o = entry.order
                hits.append(OrderMatch(o.id, score, key, o.customer_name, o.address))
        hits.sort(key=lambda m: (-m.score, m.order_id))
        return hits[:limit]


def _score(e: _Entry, raw: str, folded: str, phone: str) -> tuple[int, str]:
    candidates = [(0, "")]
    if raw == e.order_id:
        candidates.append((100, "order"))
    elif len(raw) >= 3 and raw in e.order_id:
        candidates.append((70, "order"))
    if raw in e.parcel_ids:
        candidates.append((95, "parcel"))
    elif len(raw) >= 3 and any(raw in p for p in e.parcel_ids):
        candidates.append((65, "parcel"))
    if len(phone) >= 6 and len(phone) >= len(folded.replace(" ", "")) - 1:  # mostly digits
        tail = phone.lstrip("0")[-_PHONE_TAIL:]
        if len(tail) >= _PHONE_TAIL and e.phone.endswith(tail):
            candidates.append((90, "phone"))
        elif phone in e.phone or (tail and tail in e.phone):
            candidates.append((60, "phone"))
    if folded:
        words = folded.split()
        if folded == e.name:
            candidates.append((85, "name"))
        elif all(w in e.name_words for w in words):
            candidates.append((75, "name"))
        elif all(any(n.startswith(w) for n in e.name_words) for w in words):
            candidates.append((55, "name"))
        if len(folded) >= 3 and folded in e.address:
            candidates.append((50 if f" {folded} " in f" {e.address} " else 40, "address"))
    return max(candidates)


def order_answer(
    order_id: str,
    tracker: ExecutionTracker,
    etas: Mapping[str, VehicleEta],
    positions: Mapping[str, TelemetryFix],
    retried: Collection[str] = (),
) -> dict[str, Any] | None:
    """Everything a dispatcher tells a caller about one order; None when unknown.

    ``retried`` names the failed stops an accepted re-plan tries again: a failed order's
    ``retry`` is its stop's new planned arrival when it is one of them."""
    order = tracker.orders.get(order_id)
    if order is None:
        return None
    stop = tracker.stop_of_order(order_id)
    status = customer_status(tracker, order_id)
    answer: dict[str, Any] = {
        "order": order.id,
        "customer": order.customer_name,
        "phone": order.phone,
        "address": order.address,
        "status": status,
        "stop_status": None,
        "vehicle": None,
        "eta": None,
        "planned": None,
        "window": {"start": order.windows[0].start, "end": order.windows[0].end}
        if order.windows
        else None,
        "position": None,
        "parcels": [
            {"id": p.id, "status": tracker.parcel_status(p.id).value} for p in order.parcels
        ],
        "reason": None,
        "next_step": next_step(tracker, order_id),
        "pod": None,
        "timeline": [_timeline_row(tracker, e) for e in tracker.order_timeline(order_id)],
        "reason_text": None,
        "retry": None,
    }
    if stop is None:
        return answer
    progress = tracker.progress_ref(stop.id)
    reason = progress.reason.value if progress.reason else None
    answer.update(
        stop_status=progress.status.value,
        vehicle=stop.vehicle_id,
        planned=stop.planned_arrival,
        reason=reason,
        reason_text=reason_words(reason),
        pod={"kind": progress.pod.kind, "ref": progress.pod.ref} if progress.pod else None,
    )
    failed_at = progress.completed_at
    if (
        progress.status is StopStatus.FAILED
        and stop.id in retried
        and answer["next_step"] == REATTEMPT
        and failed_at is not None
        and stop.planned_arrival > failed_at
    ):
        # An accepted re-plan put the failed stop back on a route, after this attempt (not
        # a retry that failed too).
        answer["retry"] = {"vehicle": stop.vehicle_id, "eta": stop.planned_arrival}
    vehicle_eta = etas.get(stop.vehicle_id)
    if vehicle_eta is not None:
        answer["eta"] = next((s.eta for s in vehicle_eta.stops if s.stop_id == stop.id), None)
    fix = positions.get(stop.vehicle_id)
    if fix is not None and status in ("out_for_delivery", "next", "arrived"):
        answer["position"] = {"lat": fix.lat, "lon": fix.lon, "ts": fix.ts}
    return answer


def _timeline_row(tracker: ExecutionTracker, entry: TimelineEntry) -> dict[str, Any]:
    """A timeline entry as the answer gives it: its fields, the place and the reason in
    words."""
    row = entry.to_dict()
    stop = tracker.stops.get(entry.stop_id or "")
    order = tracker.orders.get(stop.order_id if stop else entry.order_id or "")
    row["place"] = place_words(entry, order, tracker.depot_of(entry.vehicle_id))
    row["reason_text"] = reason_words(entry.reason)
    return row


def place_words(entry: TimelineEntry, order: Order | None, depot: Depot | None) -> str | None:
    """Where an event happened, as a person says it: the order's address, the depot, or
    how far from the address the device was; None when the event has no place."""
    if entry.lat is None or entry.lon is None:
        return None
    places: list[tuple[str, float, float]] = []
    if order is not None:
        places.append((order.address, order.lat, order.lon))
    if depot is not None:
        places.append((f"depot {depot.name}", depot.lat, depot.lon))
    if not places:
        return None
    lat, lon = entry.lat, entry.lon
    name, metres = min(
        ((name, haversine_m(lat, lon, plat, plon)) for name, plat, plon in places),
        key=lambda p: p[1],
    )
    if metres <= NEAR_M or not entry.place_reported:
        return name  # (a place not reported is the stop's or the depot's own)
    if order is None:
        return f"{metres / 1000:.1f} km from {name}"
    away = haversine_m(lat, lon, order.lat, order.lon)
    return f"{away / 1000:.1f} km from {order.address}"
