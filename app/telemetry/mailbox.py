"""The hand-over between the MQTT network thread and whoever drains telemetry.

The network thread ``put``s every parsed message; the GUI thread's timer (or a headless
loop) ``drain``s a ``TelemetryBatch`` every 100-250 ms. One short lock per message keeps
it cheap at thousands of messages per second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.domain.live_fleet import (
    MAX_UNKNOWN_DEVICES,
    RejectionTally,
    TelemetryBatch,
    UnknownDeviceSighting,
)
from app.domain.model import DeviceStatus, ExecutionEvent, TelemetryFix
from app.telemetry.parsing import Ignored, Parsed, Rejection, UnknownDeviceFix

log = logging.getLogger(__name__)

# Positions kept between drains if nobody drains (the newest per vehicle is always kept).
DEFAULT_MAX_FIXES = 500_000
# Log each rejection in full up to this many per reason, then one summary per interval.
_LOG_FIRST = 20
_LOG_EVERY_S = 10.0


class TelemetryMailbox:
    """Thread-safe mailbox: all fixes, newest fix per vehicle, events in order, rejections.

    Events and statuses are never dropped. Fixes beyond ``max_fixes`` between two drains
    are counted in ``dropped_fixes`` (the newest per vehicle still reaches the map).
    """

    def __init__(
        self,
        max_fixes: int = DEFAULT_MAX_FIXES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._batch = TelemetryBatch()
        self._max_fixes = max_fixes
        self._rejection_log = _RejectionLog(monotonic)
        self.received = 0  # messages put since start, for a status line

    def put(self, item: Parsed, received_at: float, ack: tuple[int, int] | None = None) -> None:
        """Add one parsed message; ``received_at`` is epoch seconds of arrival, ``ack`` the
        delivery token of a QoS 1 message (acknowledged once its batch is stored)."""
        if isinstance(item, Rejection):
            self._rejection_log.log(item)
        with self._lock:
            self.received += 1
            batch = self._batch
            if ack is not None:
                batch.acks.append(ack)
            if isinstance(item, TelemetryFix):
                self._put_fix(batch, item)
            elif isinstance(item, ExecutionEvent):
                batch.events.append(item)
            elif isinstance(item, DeviceStatus):
                batch.statuses.append(item)
            elif isinstance(item, Rejection):
                old = batch.rejections.get(item.reason)
                count = 1 if old is None else old.count + 1
                detail = f"{item.topic}: {item.detail}" if item.topic else item.detail
                batch.rejections[item.reason] = RejectionTally(count, detail, received_at)
            elif isinstance(item, UnknownDeviceFix):
                _see_unknown(batch, item, received_at)
            elif isinstance(item, Ignored):
                batch.ignored += 1

    def _put_fix(self, batch: TelemetryBatch, fix: TelemetryFix) -> None:
        if len(batch.fixes) < self._max_fixes:
            batch.fixes.append(fix)
        else:
            batch.dropped_fixes += 1
        newest = batch.latest.get(fix.vehicle_id)
        if newest is None or fix.ts >= newest.ts:
            batch.latest[fix.vehicle_id] = fix

    def drain(self) -> TelemetryBatch:
        """Take everything that arrived since the last drain (possibly an empty batch)."""
        with self._lock:
            batch, self._batch = self._batch, TelemetryBatch()
        return batch

    def pending(self) -> int:
        """How many fixes, events and statuses wait to be drained (for tests and status)."""
        with self._lock:
            b = self._batch
            return len(b.fixes) + len(b.events) + len(b.statuses)


def _see_unknown(batch: TelemetryBatch, item: UnknownDeviceFix, at: float) -> None:
    """Count a sighting; as in the live fleet, at most MAX_UNKNOWN_DEVICES wait for a
    drain (the least recently seen go first, counted), whatever a flood makes up."""
    old = batch.unknown_devices.pop(item.device_id, None)
    if old is None and len(batch.unknown_devices) >= MAX_UNKNOWN_DEVICES:
        del batch.unknown_devices[next(iter(batch.unknown_devices))]
        batch.dropped_unknown += 1
    first, count = (at, 1) if old is None else (old.first_seen, old.count + 1)
    lat, lon = item.fix.lat, item.fix.lon
    sighting = UnknownDeviceSighting(item.device_id, item.source, first, at, count, lat, lon)
    batch.unknown_devices[item.device_id] = sighting


class _RejectionLog:
    """Logs rejections without letting a flood of garbage flood the log too."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._suppressed: dict[str, int] = {}
        self._last_summary: dict[str, float] = {}

    def log(self, rejection: Rejection) -> None:
        with self._lock:
            reason = rejection.reason
            seen = self._counts.get(reason, 0) + 1
            self._counts[reason] = seen
            if seen <= _LOG_FIRST:
                log.warning(
                    "rejected %s on %s: %s", reason, rejection.topic or "?", rejection.detail
                )
                self._last_summary[reason] = self._monotonic()
                return
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            now = self._monotonic()
            if now - self._last_summary.get(reason, 0.0) >= _LOG_EVERY_S:
                log.warning(
                    "rejected %s: %d more (latest on %s: %s)",
                    reason,
                    self._suppressed[reason],
                    rejection.topic or "?",
                    rejection.detail,
                )
                self._suppressed[reason] = 0
                self._last_summary[reason] = now
