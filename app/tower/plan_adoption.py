"""What an accepted (or undone) re-plan changes: the day's stops after it, the routes
stored as its plan version, and the messages the drivers get.

Pure functions over the live day's tracker and a proposal; the proposal desk
(app.tower.proposals) stores and publishes what they return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from app.domain.execution import ExecutionTracker
from app.domain.model import Order, Stop, StopStatus
from app.domain.progress import OPEN
from app.tower.replan_proposal import Proposal
from app.tower.replanning import PICKUP, RETRY_AFTER_S

Routes = dict[str, list[tuple[str, float]]]  # vehicle id -> (stop id, planned arrival)
Collect = dict[str, list[dict[str, Any]]]  # rescuing van -> where to collect which parcels
Retry = dict[str, list[dict[str, Any]]]  # van -> failed stops it is sent back to, and when


def stops_after(tracker: ExecutionTracker, proposal: Proposal) -> list[Stop]:
    """Every stop of the day as the proposal leaves it: done stops keep their place,
    re-planned ones take the new order after them; unserved ones leave their van.

    A stop reached since the proposal was built (being served or done now) is not
    re-planned any more: it keeps its place with the done ones, or the driver, who
    finishes it, would look out of sequence against the new order.

    Stops carry their live status: the tracker's plan stops still say what the plan
    said (pending), and a served stop adopted as pending would go "late" when its
    window closes and make every later delivery look out of sequence."""
    current = {s.id: s for s in tracker.current_stops()}
    out = dict(current)
    for vehicle_id, ordered in proposal.routes.items():
        real = [
            sid
            for sid in ordered
            if not sid.startswith(PICKUP) and not _reached_since(current[sid], proposal)
        ]
        base = 1 + max(
            (
                s.sequence
                for s in current.values()
                if s.vehicle_id == vehicle_id
                and (s.id not in proposal.arrivals or _reached_since(s, proposal))
            ),
            default=-1,
        )
        for n, sid in enumerate(real):
            out[sid] = replace(
                current[sid],
                vehicle_id=vehicle_id,
                sequence=base + n,
                planned_arrival=proposal.arrivals[sid],
            )
    for sid in proposal.unserved:
        if not _reached_since(current[sid], proposal):
            out[sid] = replace(current[sid], vehicle_id="", status=StopStatus.PENDING)
    return list(out.values())


def changed_vans(tracker: ExecutionTracker, proposal: Proposal) -> set[str]:
    """The vans whose route the proposal changes: those of its moves (rescues too) and
    resequences, and the vans that lose an unserved stop."""
    lose = {tracker.stops[s].vehicle_id for s in proposal.unserved}
    return (set(proposal.diff.changed_vehicles) | lose) - {""}


def changed_routes(stops: Iterable[Stop], vans: Iterable[str]) -> Routes:
    """The whole routes of ``vans`` among ``stops`` (an empty one for a van left none)."""
    routes = planned_routes(stops)
    return {vid: routes.get(vid, []) for vid in sorted(vans) if vid}


def _reached_since(stop: Stop, proposal: Proposal) -> bool:
    """Whether a stop the proposal re-plans was reached after it was built (a failed stop
    it plans to retry is still one to plan)."""
    if stop.status in OPEN:
        return False
    return not (stop.id in proposal.live.retries and stop.status is StopStatus.FAILED)


def restored(tracker: ExecutionTracker, previous: Iterable[Stop]) -> list[Stop]:
    """The stops as an earlier plan had them, with their live status: what has been
    served since stays served (a delivered stop put back as pending would go late)."""
    status = {s.id: s.status for s in tracker.current_stops()}
    return [replace(s, status=status.get(s.id, s.status)) for s in previous]


def planned_routes(stops: Iterable[Stop]) -> Routes:
    """Each van's (stop id, planned arrival) in sequence; unserved stops are on none."""
    by_vehicle: dict[str, list[Stop]] = {}
    for s in stops:
        if s.vehicle_id:
            by_vehicle.setdefault(s.vehicle_id, []).append(s)
    return {
        vid: [(s.id, s.planned_arrival) for s in sorted(route, key=lambda s: s.sequence)]
        for vid, route in by_vehicle.items()
    }


def collect_orders(tracker: ExecutionTracker, proposal: Proposal) -> Collect:
    """For each rescuing van: where to collect which parcels of a broken-down van."""
    out: Collect = {}
    for vehicle_id, ordered in proposal.routes.items():
        by_van: dict[str, list[str]] = {}
        for item in ordered:
            if item.startswith(PICKUP):
                stop_id = item[len(PICKUP) :]
                by_van.setdefault(proposal.live.rescued_from[stop_id], []).append(stop_id)
        for broken, stop_ids in by_van.items():
            lat, lon = proposal.live.rescue_site[broken]
            parcels = [
                p.id
                for sid in stop_ids
                for p in tracker.orders[tracker.stops[sid].order_id].parcels
            ]
            out.setdefault(vehicle_id, []).append(
                {
                    "from_vehicle": broken,
                    "lat": lat,
                    "lon": lon,
                    "stop_ids": stop_ids,
                    "parcel_ids": parcels,
                }
            )
    return out


def retry_orders(tracker: ExecutionTracker, proposal: Proposal) -> Retry:
    """For each van: the failed attempts the proposal sends it back to, each not before
    RETRY_AFTER_S after it failed (as the re-plan planned it)."""
    retried = set(proposal.diff.retried)
    out: Retry = {}
    for vehicle_id, ordered in proposal.routes.items():
        for sid in ordered:
            failed_at = tracker.progress_ref(sid).completed_at if sid in retried else None
            if failed_at is not None:
                not_before = round(failed_at + RETRY_AFTER_S)
                out.setdefault(vehicle_id, []).append({"stop_id": sid, "not_before": not_before})
    return out


def route_body(
    vehicle_id: str,
    ordered: list[tuple[str, float]],
    version: int,
    plan_id: int,
    stops: Mapping[str, Stop],
    orders: Mapping[str, Order],
    collect: list[dict[str, Any]] | None,
    retry: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The retained route a driver's app gets (app.telemetry.contract.ROUTE, each stop
    with the fields of ROUTE_STOP_FIELDS)."""
    body: dict[str, Any] = {
        "vehicle": vehicle_id,
        "version": version,
        "plan_id": plan_id,
        "stops": [_route_stop(sid, eta, orders[stops[sid].order_id]) for sid, eta in ordered],
    }
    if collect:
        # Parcels of a broken-down van: collect them before delivering them.
        body["collect"] = collect
    if retry:
        # Failed attempts to try again where ``stops`` now puts them, not before when.
        body["retry"] = retry
    return body


def _route_stop(stop_id: str, eta: float, order: Order) -> dict[str, Any]:
    return {
        "stop_id": stop_id,
        "order_id": order.id,
        "eta": round(eta),  # the planned arrival
        "lat": order.lat,
        "lon": order.lon,
        "address": order.address,
        "customer": order.customer_name,
        "phone": order.phone,
        "parcels": [p.id for p in order.parcels],
        "windows": [{"start": round(w.start), "end": round(w.end)} for w in order.windows],
    }


def diff_json(proposal: Proposal) -> dict[str, Any]:
    """The proposal's diff as stored with its row (and shown by the history)."""
    d = proposal.diff
    return {
        "moves": [
            {"stop": m.stop_id, "from": m.from_vehicle, "to": m.to_vehicle, "reason": m.reason}
            for m in d.moves
        ],
        "resequenced": list(d.resequenced_vehicles),
        "eta_changes": [
            {"stop": e.stop_id, "before": e.before, "after": e.after} for e in d.eta_changes
        ],
        "unserved": list(proposal.unserved),
        "unserved_reasons": proposal.unserved_reasons,
        "rescued_from": proposal.live.rescued_from,
        "changed_vehicles": list(d.changed_vehicles),
        "retried": list(d.retried),
    }
