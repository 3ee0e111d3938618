"""The fleet as it is right now: where each van is, who is online, what was rejected.

Pure logic, no threads: the GUI thread (or a headless drainer) hands it one
``TelemetryBatch`` at a time and gets back a ``LiveUpdate`` saying what changed. It can be
rebuilt at start from what storage kept (``restore``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.domain.model import DeviceStatus, ExecutionEvent, TelemetryFix
from app.foundation.days import local_date

# Event ids are remembered per operating day of the event; this many days are kept.
_EVENT_DAYS_KEPT = 3
MAX_EVENTS_PER_VAN_DAY = 5_000
"""New events of one known van on one operating day of its depot (local midnight to local
midnight, 23 or 25 hours when the clocks change) that the live day applies (a busy van's
day is a few hundred). Past it the van's events that day are stored but not applied nor
remembered (counted in ``events_over_cap``): a phone stuck sending new event ids all day
would otherwise grow the ids seen, the live day's log and its replays without end."""
STORED_EVENTS_PER_VAN = MAX_EVENTS_PER_VAN_DAY * _EVENT_DAYS_KEPT
"""At most this many of a van's stored events are read back at a restart (oldest first)."""
UNZONED = "UTC"
"""The zone of a van whose depot's zone is not known (days then run midnight to midnight UTC)."""


def within_cap(
    events: Iterable[ExecutionEvent], zones: Mapping[str, str] | None = None
) -> list[ExecutionEvent]:
    """Stored events as the live day took them: the first MAX_EVENTS_PER_VAN_DAY of each
    van on each operating day (``zones``: vehicle id -> its depot's zone), in their order
    (a restart replays no more than was applied)."""
    zones = zones or {}
    counts: dict[tuple[str, int], int] = {}
    kept = []
    for event in events:
        key = (event.vehicle_id, _day(event.ts, zones.get(event.vehicle_id, UNZONED)))
        if counts.get(key, 0) < MAX_EVENTS_PER_VAN_DAY:
            counts[key] = counts.get(key, 0) + 1
            kept.append(event)
    return kept


@dataclass(frozen=True, slots=True)
class RejectionTally:
    """Rejected payloads of one reason: how many, and the last one's detail and time."""

    count: int
    last_detail: str
    last_at: float


@dataclass(frozen=True, slots=True)
class UnknownDeviceSighting:
    """A device that sent fixes but maps to no known vehicle, for an admin to map.

    ``device_id`` is the OwnTracks ``user/device``, the Traccar ``uniqueId`` or the unknown
    native vehicle id; ``source`` is ``native``, ``owntracks`` or ``traccar``. The last
    position is known for devices seen since the tower started (it is not stored).
    """

    device_id: str
    source: str
    first_seen: float
    last_seen: float
    count: int
    lat: float | None = None
    lon: float | None = None


@dataclass(slots=True)
class TelemetryBatch:
    """What arrived since the last drain, ready to apply and to store.

    ``fixes`` holds every accepted fix in arrival order (for storage); ``latest`` only the
    newest fix of each vehicle in this batch (for the map). ``events`` are in arrival order
    and never dropped. ``dropped_fixes`` counts fixes the mailbox had to let go because
    nobody drained it (positions only). ``acks`` are the delivery tokens (connection,
    message id) of the QoS 1 messages in this batch, in arrival order: the broker is told
    they arrived once the batch is stored.
    """

    fixes: list[TelemetryFix] = field(default_factory=list)
    latest: dict[str, TelemetryFix] = field(default_factory=dict)
    events: list[ExecutionEvent] = field(default_factory=list)
    statuses: list[DeviceStatus] = field(default_factory=list)
    rejections: dict[str, RejectionTally] = field(default_factory=dict)
    unknown_devices: dict[str, UnknownDeviceSighting] = field(default_factory=dict)
    ignored: int = 0
    dropped_fixes: int = 0
    acks: list[tuple[int, int]] = field(default_factory=list)
    dropped_unknown: int = 0  # unknown devices the mailbox let go past MAX_UNKNOWN_DEVICES

    def is_empty(self) -> bool:
        """Nothing arrived at all."""
        return not (
            self.fixes
            or self.events
            or self.statuses
            or self.rejections
            or self.unknown_devices
            or self.ignored
            or self.dropped_fixes
            or self.acks
            or self.dropped_unknown
        )


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """What one applied batch changed.

    ``moved``: the new newest fix of each vehicle whose marker should move. ``new_events``:
    events seen for the first time, in arrival order (a replayed ``event_id`` is counted in
    ``duplicate_events`` instead). ``online_changed``: vehicle id -> new online flag.
    ``stale_fixes``: fixes older than the vehicle's newest, kept for storage only.
    ``over_cap``: new events past their van's MAX_EVENTS_PER_VAN_DAY, for storage only.
    """

    moved: dict[str, TelemetryFix]
    new_events: list[ExecutionEvent]
    duplicate_events: int
    online_changed: dict[str, bool]
    stale_fixes: int
    rejections_changed: bool
    unknown_devices_changed: bool
    over_cap: list[ExecutionEvent] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything a dispatcher can see changed."""
        return bool(
            self.moved
            or self.new_events
            or self.online_changed
            or self.rejections_changed
            or self.unknown_devices_changed
        )


@dataclass(slots=True)
class VehicleLive:
    """One vehicle's live state."""

    vehicle_id: str
    last_fix: TelemetryFix | None = None
    online: bool | None = None
    status_ts: float = 0.0
    last_seen: float | None = None


MAX_UNKNOWN_DEVICES = 1000
"""Unknown devices kept (in memory and in the database); the least recently seen go."""


class LiveFleet:
    """The in-memory live state of the fleet; only the GUI thread (or one drainer) writes it.

    ``zones`` (vehicle id -> its depot's IANA zone) sets the days of the daily event cap.
    """

    def __init__(
        self, vehicle_ids: Iterable[str] = (), zones: Mapping[str, str] | None = None
    ) -> None:
        self._vehicles: dict[str, VehicleLive] = {}
        self._zones: dict[str, str] = dict(zones or {})
        self._event_ids: dict[int, set[str]] = {}
        # Days are local dates' ordinals: the same number for every zone's same date.
        self._event_counts: dict[int, dict[str, int]] = {}  # day -> van -> events kept
        self.events_over_cap = 0  # new events not applied past MAX_EVENTS_PER_VAN_DAY
        self._rejections: dict[str, RejectionTally] = {}
        # In the order they were last seen, so the first is the one to let go.
        self._unknown: dict[str, UnknownDeviceSighting] = {}
        self.unknown_dropped = 0  # unknown devices let go to keep MAX_UNKNOWN_DEVICES
        self.set_vehicles(vehicle_ids)

    # --- the fleet -------------------------------------------------------------------

    def set_vehicles(
        self, vehicle_ids: Iterable[str], zones: Mapping[str, str] | None = None
    ) -> None:
        """Set the known vehicle ids (and the zones of those ``zones`` names); state of
        vehicles that stay is kept."""
        self._zones.update(zones or {})
        wanted = list(dict.fromkeys(vehicle_ids))
        self._vehicles = {v: self._vehicles.get(v) or VehicleLive(v) for v in wanted}

    @property
    def zones(self) -> dict[str, str]:
        """Vehicle id -> its depot's zone, for the vans whose zone is known."""
        return dict(self._zones)

    @property
    def vehicle_ids(self) -> frozenset[str]:
        """The known vehicle ids."""
        return frozenset(self._vehicles)

    def vehicle(self, vehicle_id: str) -> VehicleLive | None:
        """One vehicle's live state, or None if the fleet does not know it."""
        return self._vehicles.get(vehicle_id)

    def vehicles(self) -> list[VehicleLive]:
        """Every known vehicle's live state, in the fleet's order."""
        return list(self._vehicles.values())

    def latest_fixes(self) -> dict[str, TelemetryFix]:
        """The newest fix of every vehicle that has one."""
        return {v: s.last_fix for v, s in self._vehicles.items() if s.last_fix is not None}

    @property
    def rejection_counts(self) -> dict[str, RejectionTally]:
        """Rejections per reason since the state was built (restored counts included)."""
        return dict(self._rejections)

    @property
    def unknown_devices(self) -> list[UnknownDeviceSighting]:
        """Unmapped devices, most recently seen first."""
        return sorted(self._unknown.values(), key=lambda u: (-u.last_seen, u.device_id))

    def has_seen_event(self, event_id: str) -> bool:
        """Whether an event with this id was already applied (within the days kept)."""
        return any(event_id in ids for ids in self._event_ids.values())

    # --- rebuilding ------------------------------------------------------------------

    def restore(
        self,
        latest_fixes: Iterable[TelemetryFix] = (),
        seen_events: Iterable[tuple[str, str, float]] = (),
        rejection_counts: Mapping[str, RejectionTally] | None = None,
        unknown_devices: Iterable[UnknownDeviceSighting] = (),
    ) -> None:
        """Rebuild from stored rows at start; ``seen_events`` are stored events' (vehicle
        id, event id, time), oldest first: seen on their day, up to their van's cap."""
        for fix in latest_fixes:
            state = self._vehicles.get(fix.vehicle_id)
            if state is not None and (state.last_fix is None or fix.ts >= state.last_fix.ts):
                state.last_fix = fix
                state.last_seen = max(state.last_seen or fix.ts, fix.ts)
        for vehicle_id, event_id, ts in seen_events:
            self._remember(vehicle_id, event_id, ts)
        self._prune_event_days()
        if rejection_counts:
            self._rejections.update(rejection_counts)
        for u in sorted(unknown_devices, key=lambda u: u.last_seen):
            self._keep_unknown(u)

    # --- applying --------------------------------------------------------------------

    def apply(self, batch: TelemetryBatch) -> LiveUpdate:
        """Apply one drained batch and say what changed. Cost grows with vehicles, not fixes."""
        moved: dict[str, TelemetryFix] = {}
        stale = len(batch.fixes) - len(batch.latest)
        for vehicle_id, fix in batch.latest.items():
            state = self._vehicles.get(vehicle_id)
            if state is None:
                # The parser's directory was older than the fleet: list it for an admin.
                self._see_unknown(
                    UnknownDeviceSighting(
                        vehicle_id, fix.source, fix.ts, fix.ts, 1, fix.lat, fix.lon
                    )
                )
                continue
            if state.last_fix is not None and fix.ts < state.last_fix.ts:
                stale += 1
                continue
            state.last_fix = fix
            moved[vehicle_id] = fix
            if state.last_seen is None or fix.ts > state.last_seen:
                state.last_seen = fix.ts
        new_events, over_cap, duplicates = self._apply_events(batch.events, batch.unknown_devices)
        online_changed = self._apply_statuses(batch.statuses)
        for reason, tally in batch.rejections.items():
            old = self._rejections.get(reason)
            count = tally.count + (old.count if old else 0)
            self._rejections[reason] = RejectionTally(count, tally.last_detail, tally.last_at)
        for u in batch.unknown_devices.values():
            self._see_unknown(u)
        self.unknown_dropped += batch.dropped_unknown
        return LiveUpdate(
            moved=moved,
            new_events=new_events,
            duplicate_events=duplicates,
            online_changed=online_changed,
            stale_fixes=stale,
            rejections_changed=bool(batch.rejections),
            unknown_devices_changed=bool(batch.unknown_devices)
            or any(v not in self._vehicles for v in batch.latest),
            over_cap=over_cap,
        )

    def _apply_events(
        self, events: list[ExecutionEvent], unknown: dict[str, UnknownDeviceSighting]
    ) -> tuple[list[ExecutionEvent], list[ExecutionEvent], int]:
        """The new events of known vehicles. A made-up vehicle's events would grow the
        live day, the ETAs and the route hand-overs by one entry per vehicle: its id is
        listed with the unknown devices instead (put in ``unknown``, so it is stored)."""
        new: list[ExecutionEvent] = []
        over_cap: list[ExecutionEvent] = []
        duplicates = 0
        for event in events:
            if event.vehicle_id not in self._vehicles:
                old = unknown.get(event.vehicle_id)
                first, count = (event.ts, 1) if old is None else (old.first_seen, old.count + 1)
                unknown[event.vehicle_id] = UnknownDeviceSighting(
                    event.vehicle_id, "native", first, event.ts, count, event.lat, event.lon
                )
                continue
            if self.has_seen_event(event.event_id):
                duplicates += 1
                continue
            if not self._remember(event.vehicle_id, event.event_id, event.ts):
                over_cap.append(event)
                continue
            new.append(event)
            state = self._vehicles.get(event.vehicle_id)
            if state is not None and (state.last_seen is None or event.ts > state.last_seen):
                state.last_seen = event.ts
        if new:
            self._prune_event_days()
        self.events_over_cap += len(over_cap)
        return new, over_cap, duplicates

    def _remember(self, vehicle_id: str, event_id: str, ts: float) -> bool:
        """Count the event as seen on its day, unless its van has had its cap that day."""
        day = _day(ts, self._zones.get(vehicle_id, UNZONED))
        counts = self._event_counts.setdefault(day, {})
        kept = counts.get(vehicle_id, 0)
        if kept >= MAX_EVENTS_PER_VAN_DAY:
            return False
        counts[vehicle_id] = kept + 1
        self._event_ids.setdefault(day, set()).add(event_id)
        return True

    def _apply_statuses(self, statuses: list[DeviceStatus]) -> dict[str, bool]:
        changed: dict[str, bool] = {}
        for status in statuses:
            state = self._vehicles.get(status.vehicle_id)
            if state is None or status.ts < state.status_ts:
                continue  # an old retained status does not override a newer one
            if state.online != status.online:
                changed[status.vehicle_id] = status.online
            state.online = status.online
            state.status_ts = status.ts
            if state.last_seen is None or status.ts > state.last_seen:
                state.last_seen = status.ts
        return changed

    def _see_unknown(self, seen: UnknownDeviceSighting) -> None:
        old = self._unknown.get(seen.device_id)
        if old is not None:
            newer = seen if seen.last_seen >= old.last_seen else old
            seen = UnknownDeviceSighting(
                seen.device_id,
                seen.source,
                min(old.first_seen, seen.first_seen),
                newer.last_seen,
                old.count + seen.count,
                newer.lat if newer.lat is not None else old.lat,
                newer.lon if newer.lon is not None else old.lon,
            )
        self._keep_unknown(seen)

    def _keep_unknown(self, sighting: UnknownDeviceSighting) -> None:
        """Put ``sighting`` last (the most recently seen); let the first go past the cap."""
        self._unknown.pop(sighting.device_id, None)
        self._unknown[sighting.device_id] = sighting
        if len(self._unknown) > MAX_UNKNOWN_DEVICES:
            del self._unknown[next(iter(self._unknown))]
            self.unknown_dropped += 1

    def forget_unknown(self, device_id: str) -> None:
        """An admin mapped the device to a vehicle: it is no longer unknown."""
        self._unknown.pop(device_id, None)

    def _prune_event_days(self) -> None:
        if len(self._event_ids) <= _EVENT_DAYS_KEPT:
            return
        newest = max(self._event_ids)
        for day in [d for d in self._event_ids if d <= newest - _EVENT_DAYS_KEPT]:
            del self._event_ids[day]
            self._event_counts.pop(day, None)


def _day(ts: float, timezone: str) -> int:
    return local_date(ts, timezone).toordinal()
