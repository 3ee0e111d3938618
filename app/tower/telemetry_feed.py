"""The live feed: broker connection, mailbox, live fleet state and batched storage.

The MQTT network thread parses into the mailbox; whoever owns the live state (the GUI
timer, or the headless loop) calls ``drain()`` every 100-250 ms, which applies the batch to
the in-memory fleet and hands it to the storage worker. Nothing here blocks on the
database: the worker writes in one transaction behind the caller's back. Fixes are
gathered for ``STORE_FIXES_EVERY_S`` and written together; events, rejections, unknown
devices and any QoS 1 message go at once (taking the gathered fixes with them). The QoS 1
messages of a batch are acknowledged to the broker once it is committed, in arrival order
(every job takes all that waits, and the worker runs jobs in order).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.domain.health import Health
from app.domain.live_fleet import (
    LiveFleet,
    LiveUpdate,
    RejectionTally,
    TelemetryBatch,
    UnknownDeviceSighting,
)
from app.domain.model import ExecutionEvent, TelemetryFix
from app.foundation.clock import Clock
from app.foundation.events import Event
from app.foundation.failures import ConfigurationError, one_line
from app.foundation.settings import Settings
from app.storage.database import SessionFactory
from app.storage.health_repository import quarantined_count, store_health
from app.storage.leadership import CUSTOMER_UPDATES, TELEMETRY_COUNTS, Leadership
from app.storage.telemetry_repository import (
    latest_fixes,
    stored_events,
    stored_rejections,
    stored_unknown_devices,
    telemetry_rows,
)
from app.storage.worker import StorageWorker
from app.telemetry.embedded_broker import EmbeddedBroker
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.mqtt_client import MqttClient
from app.telemetry.parsing import DeviceDirectory

log = logging.getLogger(__name__)
# Event ids older than this are not reloaded at start: devices never replay a day back.
_EVENT_MEMORY_S = 2 * 86_400
# Fixes are written every few seconds, not at every drain. At 2,000 vans each fix lands
# on its own van's page of the (vehicle_id, ts) index, and the cost per fix grew with the
# table (SQLite alone: 7 us at 120,000 rows, 26 us at 480,000, 32 us at 960,000); the
# storage thread's growing share of the two cores starved the window. A 5 s batch puts
# five fixes on each page it touches: 12 us a fix at 480,000 rows. (A bigger page cache or
# mmap did not help; 1 s batches did not either.)
STORE_FIXES_EVERY_S = 5.0
# How often the health line goes to the database (recorder_health, fleet --json).
HEALTH_EVERY_S = 15.0


@dataclass(frozen=True)
class FeedCounters:
    """Running totals since start, for the status bar and the headless summary."""

    fixes: int
    events: int
    rejected: int
    stored_batches: int


class TelemetryFeed:
    """Connects to the site broker (or starts the embedded one) and keeps the live state.

    Signals:
        broker_state (Event[str]): ``connecting``, ``connected``, ``reconnecting``,
            ``down``; emitted on the MQTT network thread.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        vehicle_ids: list[str],
        clock: Clock,
        device_ids: Mapping[str, str] | None = None,
        zones: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        # zones: vehicle id -> its depot's zone, whose days the daily event cap counts in
        self.fleet = LiveFleet(vehicle_ids, zones)
        # Trackers that report their own id (a Traccar uniqueId, an OwnTracks tid) that is
        # a vehicle's device id: device id -> vehicle id.
        self.device_ids = dict(device_ids or {})
        self.mailbox = TelemetryMailbox()
        self.storage = StorageWorker(sessions, clock)
        # Of several towers on one database, one counts (TELEMETRY_COUNTS): every receiver
        # gets each broker message, so their counts added up would count it twice.
        self.leadership = Leadership(sessions)
        self.storage.after_drops = self._redeliver
        self.broker_state: Event[str] = Event()
        self._sessions = sessions
        self._embedded: EmbeddedBroker | None = None
        self._client: MqttClient | None = None
        self._loopback: Callable[[str, bytes], None] | None = None
        self._fixes = 0
        self._events = 0
        self._rejected = 0
        self._batches = 0
        self._unstored: list[TelemetryFix] = []  # fixes drained, not yet handed to storage
        self._unacked: list[tuple[int, int]] = []  # QoS 1 deliveries waiting with them
        self._stored_at = time.monotonic()
        self._health_at = -HEALTH_EVERY_S  # the first drain reports at once
        self._quarantined_before = 0  # in the quarantine before this run
        self._exceptions_waiting: Callable[[], int] = lambda: 0
        self._stopped = False

    # --- life cycle ----------------------------------------------------------------------

    @property
    def uses_embedded_broker(self) -> bool:
        """No site broker configured: the tower runs its own on 127.0.0.1."""
        return not self.settings.broker.host

    @property
    def broker_address(self) -> tuple[str, int]:
        """Where the tower's client connects (the embedded broker's port once started)."""
        if self._embedded is not None:
            return self._embedded.host, self._embedded.port
        return self.settings.broker.host or "127.0.0.1", self.settings.broker.port

    @property
    def sessions(self) -> SessionFactory:
        """The database this feed stores into."""
        return self._sessions

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> bool:
        """Send an outbound message (customer ETAs, driver routes); False when offline.

        paho queues QoS 1 messages while reconnecting, so a short outage loses none.
        """
        if self._loopback is not None:
            self._loopback(topic, payload if isinstance(payload, bytes) else payload.encode())
            return True
        if self._client is None:
            return False
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def loop_back(self, deliver: Callable[[str, bytes], None]) -> None:
        """Hand every outbound message to ``deliver`` instead of a broker: a day played
        without the network (app.tower.offline_day) where the subscribers are in-process."""
        self._loopback = deliver

    @property
    def client(self) -> MqttClient | None:
        """The subscriber, once started (None before ``start``)."""
        return self._client

    def restore(self) -> None:
        """Rebuild the live state from the database: last fixes, the events seen, the
        rejection counts and the unknown devices."""
        now = self.clock.now()
        self.fleet.restore(
            latest_fixes(self._sessions),
            stored_events(self._sessions, now - _EVENT_MEMORY_S),
            stored_rejections(self._sessions),
            stored_unknown_devices(self._sessions),
        )
        self._quarantined_before = quarantined_count(self._sessions)

    def start(self) -> None:
        """Start the embedded broker if needed, then connect (reconnecting on its own)."""
        host: str | None = None
        port: int | None = None
        if self.uses_embedded_broker:
            self._embedded = EmbeddedBroker()
            self._embedded.start()
            host, port = self._embedded.host, self._embedded.port
            log.info("embedded MQTT broker on %s:%d", host, port)
        directory = DeviceDirectory(self.fleet.vehicle_ids, self.device_ids)
        try:
            self._client = MqttClient.from_settings(
                self.settings.broker,
                self.mailbox,
                host=host,
                port=port,
                directory=directory,
                clock=self.clock,
            )
        except OSError as exc:  # ssl.SSLError too: paho loads the TLS files here
            raise ConfigurationError(
                f"cannot use the broker's TLS files ({one_line(exc)}): check broker.ca_file, "
                "broker.client_cert and broker.client_key"
            ) from exc
        self._client.state_changed.connect(self.broker_state.emit)
        self._client.start()
        self.leadership.start(self._jobs())

    def _jobs(self) -> list[str]:
        """What this tower may do alone for the others: count the rejections and unknown
        devices (if it stores telemetry), and send the customers' messages (if it may
        store them too: not a supervisor's window, not the recorder)."""
        if self.storage.read_only:
            return []
        return [TELEMETRY_COUNTS] + ([] if self.storage.ingest_only else [CUSTOMER_UPDATES])

    def stop(self) -> None:
        """Disconnect, store what is still in the mailbox, wait for storage, stop the broker
        (once: a second call finds it all stopped)."""
        if self._stopped:
            return
        self._stopped = True
        if self._client is not None:
            self._client.stop()
        self.drain()
        self._write_fixes()
        self.storage.flush()
        self._report_health()  # says "down": this recorder has stopped, all written
        self.storage.close()
        self.leadership.stop()  # after the last counts are written
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None

    def learn_device(self, device_id: str, vehicle_id: str) -> None:
        """From now on ``device_id``'s fixes are ``vehicle_id``'s (an admin assigned it):
        the parser's directory is swapped in place, no restart needed."""
        self.learn_vehicle(vehicle_id, device_id)

    def learn_vehicle(self, vehicle_id: str, device_id: str, zone: str | None = None) -> None:
        """``vehicle_id`` (perhaps new: an admin added it; ``zone`` its depot's) reports
        from now on, under its own id or ``device_id`` (empty: none of its own); a van has
        one tracker, so the old one lets go. The parser's directory is swapped in place, no
        restart needed."""
        known = [v.vehicle_id for v in self.fleet.vehicles()]
        zones = {vehicle_id: zone} if zone else None
        if vehicle_id not in known or zones:
            self.fleet.set_vehicles([*known, vehicle_id], zones)
        for device, vehicle in list(self.device_ids.items()):
            if vehicle == vehicle_id and device != device_id:
                del self.device_ids[device]
        if device_id:
            self.device_ids[device_id] = vehicle_id
            self.fleet.forget_unknown(device_id)
        if self._client is not None:
            old = self._client.directory
            self._client.set_directory(
                DeviceDirectory(self.fleet.vehicle_ids, dict(self.device_ids), old.device_map)
            )

    # --- the live loop -------------------------------------------------------------------

    def drain(self) -> LiveUpdate:
        """Apply what arrived since the last call and queue it for storage."""
        batch = self.mailbox.drain()
        for device_id in [d for d in batch.unknown_devices if d in self.device_ids]:
            # Parsed just before the device was assigned: it is not unknown any more.
            del batch.unknown_devices[device_id]
        update = self.fleet.apply(batch)
        if not batch.is_empty():
            self._store(batch, update)
        elif self._unstored and time.monotonic() - self._stored_at >= STORE_FIXES_EVERY_S:
            # A quiet spell after a few fixes: they go to storage on time all the same.
            self._write_fixes()
        if time.monotonic() - self._health_at >= HEALTH_EVERY_S:
            self._report_health()
        return update

    def count_waiting_exceptions(self, waiting: Callable[[], int]) -> None:
        """The health line's ``exceptions_waiting`` is ``waiting()`` (the exception book's
        count of exceptions found with no id to raise them under)."""
        self._exceptions_waiting = waiting

    def health(self) -> Health:
        """The health line: broker, database writes, backlog (with the writes kept through
        an outage), quarantined rows, exceptions waiting for an id, fixes let go."""
        client = self._client
        return Health(
            broker=client.state if client is not None else "down",
            database_ok=self.storage.database_ok,
            storage_backlog=self.storage.backlog + len(self._unstored),
            quarantined_rows=self._quarantined_before + self.storage.quarantined,
            exceptions_waiting=self._exceptions_waiting(),
            leads=tuple(job for job in sorted(self.leadership.jobs) if self.leadership.leads(job)),
            fixes_dropped=self.storage.dropped_fixes,
        )

    def _redeliver(self) -> None:
        """After an outage in which kept fixes were let go (their QoS 1 messages never
        acknowledged): reconnect, so the broker sends those messages again now rather
        than at the next restart (the unique keys store each once; the live fleet skips
        the events it has)."""
        client = self._client
        if client is not None:
            log.warning("reconnecting to the broker for the messages let go in the outage")
            client.reconnect()

    def _report_health(self) -> None:
        self._health_at = time.monotonic()
        health, at, name = self.health(), self.clock.now(), self.settings.broker.client_id
        self.storage.submit(lambda s: store_health(s, name, health, at), ingest=True)

    def _store(self, batch: TelemetryBatch, update: LiveUpdate) -> None:
        self._fixes += len(batch.fixes)
        self._events += len(update.new_events)
        self._rejected += sum(t.count for t in batch.rejections.values())
        self._batches += 1
        self._unstored.extend(batch.fixes)
        self._unacked.extend(batch.acks)
        events, rejections = [*update.new_events, *update.over_cap], batch.rejections
        unknown = list(batch.unknown_devices.values())
        if events or rejections or unknown or batch.acks or batch.dropped_unknown:
            self._write(events, rejections, unknown, batch.dropped_unknown, len(update.over_cap))
        elif time.monotonic() - self._stored_at >= STORE_FIXES_EVERY_S:
            self._write_fixes()

    def _write_fixes(self) -> None:
        """Hand the gathered fixes to storage in one transaction."""
        self._stored_at = time.monotonic()
        if self._unstored or self._unacked:
            self._write([], {}, [])

    def _write(
        self,
        events: list[ExecutionEvent],
        rejections: dict[str, RejectionTally],
        unknown: list[UnknownDeviceSighting],
        dropped_unknown: int = 0,
        over_cap: int = 0,
    ) -> None:
        """Store this with the gathered fixes; acknowledge their QoS 1 messages once done."""
        fixes, self._unstored = self._unstored, []
        acks, self._unacked = self._unacked, []
        self._stored_at = time.monotonic()
        client = self._client
        committed = None if not acks or client is None else (lambda: client.ack(acks))
        if not self.leadership.leads(TELEMETRY_COUNTS):
            rejections, unknown, dropped_unknown, over_cap = {}, [], 0, 0
        rows = telemetry_rows(fixes, events, rejections, unknown, dropped_unknown, over_cap)
        self.storage.submit_rows(rows, committed)

    def counters(self) -> FeedCounters:
        """Totals since start."""
        return FeedCounters(self._fixes, self._events, self._rejected, self._batches)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every batch drained so far is in the database."""
        self._write_fixes()
        self.storage.flush(timeout)
