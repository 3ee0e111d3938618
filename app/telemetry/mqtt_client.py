"""The tower's MQTT connection (paho-mqtt 2.x), and a small publisher for simulators.

Messages are parsed on paho's network thread and put into a ``TelemetryMailbox``; the
connection state is announced through ``MqttClient.state_changed`` as one of
``connecting``, ``connected``, ``reconnecting``, ``down``.

Acknowledged after commit: QoS 1 messages are acknowledged by hand (paho's
``manual_ack``). Each one reaches the mailbox with a delivery token, and whoever stores its
batch calls ``MqttClient.ack`` once the batch is committed, so a crash before that leaves
it with the broker, which sends it again on the next connection.

Persistent session: MQTT 3.1.1 with ``clean_session=False`` and a stable client id.
amqtt 0.12 speaks only 3.1.1, and Mosquitto, EMQX and HiveMQ all keep 3.1.1 sessions, so
the same code works on the embedded broker and a site broker: QoS 1 events and statuses
published while the tower was disconnected are delivered when it comes back (Mosquitto
keeps them across its own restart only with ``persistence true``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from app.foundation.clock import Clock, SystemClock
from app.foundation.events import Event
from app.foundation.settings import BrokerSettings
from app.telemetry.contract import STATUS
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.parsing import (
    WRONG_TYPE,
    DeviceDirectory,
    Rejection,
    TopicConfig,
    parse_message,
)

log = logging.getLogger(__name__)

CONNECTING = "connecting"
CONNECTED = "connected"
RECONNECTING = "reconnecting"
DOWN = "down"

RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30
# CONNACK codes that retrying will not fix (3.1.1 codes 4 and 5, and their v5 names).
_REFUSED_FOR_GOOD = {"Bad user name or password", "Not authorized"}


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect: host, port, TLS files, credentials."""

    host: str
    port: int
    tls: bool = False
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""
    username: str = ""
    password: str | None = None
    keepalive_s: int = 30


def endpoint_from_settings(
    settings: BrokerSettings,
    *,
    host: str | None = None,
    port: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """The endpoint described by ``settings.broker``; host/port override (embedded broker)."""
    username = settings.username
    return Endpoint(
        host=host if host is not None else (settings.host or "127.0.0.1"),
        port=port if port is not None else settings.port,
        tls=settings.tls,
        ca_file=settings.ca_file,
        client_cert=settings.client_cert,
        client_key=settings.client_key,
        username=username,
        password=broker_password(settings, environ) if username else None,
        keepalive_s=settings.keepalive_s,
    )


def broker_password(
    settings: BrokerSettings, environ: Mapping[str, str] | None = None
) -> str | None:
    """The password from ``settings.password_env``, else the OS keyring, else None."""
    env = os.environ if environ is None else environ
    if settings.password_env and env.get(settings.password_env):
        return env[settings.password_env]
    if not settings.keyring_service:
        return None
    try:
        import keyring  # only here: an optional OS service that may be missing or locked

        password = keyring.get_password(settings.keyring_service, settings.username)
    except Exception as exc:  # ImportError, NoKeyringError, a locked backend...
        log.warning("no MQTT password from the keyring (%s): %s", type(exc).__name__, exc)
        return None
    return password if isinstance(password, str) else None


def _new_paho_client(client_id: str, clean_session: bool, manual_ack: bool = False) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    client.max_queued_messages_set(0)
    # Must be set before connect (paho refuses it afterwards).
    client.max_inflight_messages_set(1000)
    return client


def _configure(client: mqtt.Client, endpoint: Endpoint) -> None:
    if endpoint.tls:
        client.tls_set(
            ca_certs=endpoint.ca_file or None,
            certfile=endpoint.client_cert or None,
            keyfile=endpoint.client_key or None,
        )
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)


class MqttClient:
    """The tower's subscriber: parses on the network thread into a mailbox.

    Signals:
        state_changed (Event[str]): ``connecting``, ``connected``, ``reconnecting`` or
            ``down``; emitted on paho's network thread (or the caller's for start/stop).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        mailbox: TelemetryMailbox,
        topics: TopicConfig,
        *,
        client_id: str = "control-tower",
        directory: DeviceDirectory | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.mailbox = mailbox
        self.topics = topics
        self.client_id = client_id
        self.state_changed: Event[str] = Event()
        self._directory = directory or DeviceDirectory()
        self._clock: Clock = clock or SystemClock()
        self._state = DOWN
        self._state_lock = threading.Lock()
        self._connected = threading.Event()
        self._stopping = False
        self._started = False
        # Refused for good (bad credentials): paho must not retry until the next start().
        self._refused = False
        self.last_failure: str | None = None  # why the last connection attempt failed
        # Counts connections: a delivery token of an earlier one is not acknowledged (the
        # broker sends that message again, maybe under a message id now reused).
        self._connection = 0
        self._client = _new_paho_client(client_id, clean_session=False, manual_ack=True)
        _configure(self._client, endpoint)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    @classmethod
    def from_settings(
        cls,
        settings: BrokerSettings,
        mailbox: TelemetryMailbox,
        *,
        host: str | None = None,
        port: int | None = None,
        directory: DeviceDirectory | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> MqttClient:
        """Build from ``settings.broker``; pass host/port to use the embedded broker."""
        endpoint = endpoint_from_settings(settings, host=host, port=port, environ=environ)
        topics = TopicConfig(
            settings.topic_prefix,
            settings.owntracks_topic,
            settings.traccar_topic,
            settings.position_qos,
        )
        device_map = dict(settings.device_map)
        base = directory or DeviceDirectory()
        return cls(
            endpoint,
            mailbox,
            topics,
            client_id=settings.client_id,
            directory=DeviceDirectory(base.vehicle_ids, base.device_ids, device_map),
            clock=clock,
        )

    # --- state -----------------------------------------------------------------------

    @property
    def state(self) -> str:
        """The current connection state."""
        return self._state

    @property
    def directory(self) -> DeviceDirectory:
        """Who is who, as the parser sees it now."""
        return self._directory

    def set_directory(self, directory: DeviceDirectory) -> None:
        """Swap in a new directory (the fleet or the device map changed); thread-safe."""
        self._directory = directory

    @property
    def refused_for_good(self) -> bool:
        """The broker refused the credentials (bad user name or password, not authorized):
        no retry until the next ``start``; ``last_failure`` says what it answered."""
        return self._refused

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected and subscribed (or ``timeout`` seconds); True if so."""
        return self._connected.wait(timeout)

    def _set_state(self, state: str) -> None:
        with self._state_lock:
            if state == self._state:
                return
            self._state = state
        log.info("MQTT %s:%d %s", self.endpoint.host, self.endpoint.port, state)
        self.state_changed.emit(state)

    # --- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background and keep reconnecting (1 s doubling to 30 s)."""
        if self._started:
            return
        self._started = True
        self._stopping = False
        self._refused = False
        self._set_state(CONNECTING)
        self._client.connect_async(
            self.endpoint.host, self.endpoint.port, keepalive=self.endpoint.keepalive_s
        )
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect (the broker keeps the session) and stop the network thread."""
        if not self._started:
            return
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self._started = False
        self._connected.clear()
        self._set_state(DOWN)

    def reconnect(self) -> None:
        """Drop the connection and connect again (any thread but paho's): the broker then
        sends again the QoS 1 messages never acknowledged on the old one."""
        if self._started:
            self.stop()
            self.start()

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> bool:
        """Send a message; True if sent, or (QoS 1-2) queued until the connection is back."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            return True
        return info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0

    def ack(self, tokens: list[tuple[int, int]]) -> None:
        """Tell the broker these QoS 1 messages are stored (any thread). Tokens of an
        earlier connection are skipped: the broker delivers those again."""
        connection = self._connection
        for token_connection, mid in tokens:
            if token_connection == connection:
                self._client.ack(mid, 1)

    # --- paho callbacks (network thread) ---------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            why = f"refused by the broker: {reason_code}"
            if str(reason_code) not in _REFUSED_FOR_GOOD:
                if why != self.last_failure:  # logged once per new reason, retried quietly
                    log.error("MQTT broker refused the connection: %s; retrying", reason_code)
                self.last_failure = why
                self._set_state(RECONNECTING)
                return
            self.last_failure = why
            # The same credentials will be refused again: stop paho's reconnect loop
            # (disconnect() from a callback ends it) instead of retrying every second.
            log.error(
                "MQTT broker refused the connection: %s; check broker.username and the "
                "password (environment variable or keyring); not retrying",
                reason_code,
            )
            self._refused = True
            client.disconnect()
            self._set_state(DOWN)
            return
        self._connection += 1
        # Subscriptions survive in a persistent session, but a new broker may have none.
        # "Connected" waits for the SUBACK: only then do published fixes reach us.
        client.subscribe(self.topics.subscriptions())
        if flags.session_present:
            log.info("MQTT session resumed: messages queued while away will follow")

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Any,
    ) -> None:
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log.error("MQTT broker refused subscriptions: %s", ", ".join(refused))
        self.last_failure = None
        self._connected.set()
        self._set_state(CONNECTED)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # paho calls this inside its ``except OSError`` (TLS errors included) without
        # passing the error on: read it from there, or a bad CA file would fail silently.
        if self._stopping or self._refused:
            return
        error = sys.exc_info()[1]
        why = f"{type(error).__name__}: {error}" if error is not None else "no reason given"
        if why != self.last_failure:
            host, port = self.endpoint.host, self.endpoint.port
            log.warning("MQTT connection to %s:%d failed (%s); retrying", host, port, why)
        self.last_failure = why
        self._set_state(RECONNECTING)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        self._connected.clear()
        if self._stopping or self._refused:
            self._set_state(DOWN)
        else:
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)
            self._set_state(RECONNECTING)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        now = self._clock.now()
        ack = (self._connection, message.mid) if message.qos > 0 else None
        try:
            topic = message.topic
        except UnicodeDecodeError:
            self.mailbox.put(Rejection(WRONG_TYPE, "topic is not UTF-8"), now, ack)
            return
        try:
            parsed = parse_message(topic, message.payload, now, self.topics, self._directory)
            self.mailbox.put(parsed, now, ack)
        except Exception:  # never let one message kill paho's network thread
            log.exception("telemetry message on %s could not be handled", topic)
            if ack is not None:  # sent again, it would fail again
                self.ack([ack])


class MqttPublisher:
    """A plain publishing connection for the simulator, benchmarks and tests.

    ``connect`` blocks until the broker accepted the connection; ``flush`` waits until
    every message handed to ``publish`` left (QoS 0) or was acknowledged (QoS 1).
    ``listen`` makes it a device's connection too (the simulated driver apps' routes).
    """

    def __init__(self, endpoint: Endpoint, client_id: str = "") -> None:
        self.endpoint = endpoint
        self._client = _new_paho_client(client_id, clean_session=True)
        _configure(self._client, endpoint)
        self._connected = threading.Event()
        self._done = threading.Condition()
        self._sent = 0
        self._acked = 0
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._subscriptions: list[tuple[str, int]] = []
        self._handler: Callable[[str, bytes], None] | None = None
        self._started = False

    def listen(
        self, subscriptions: list[tuple[str, int]], handler: Callable[[str, bytes], None]
    ) -> None:
        """Subscribe to ``subscriptions`` (topic, QoS) on every connection (call it before
        ``connect``) and hand each message's topic and payload to ``handler``, on the
        network thread. Retained messages come first, on each (re)connection."""
        self._subscriptions = list(subscriptions)
        self._handler = handler

    def will(
        self,
        topic: str,
        payload: bytes | str,
        qos: int = STATUS.qos,
        retain: bool = STATUS.retained,
    ) -> None:
        """Set the last will (before ``connect``): a device's offline status by default."""
        self._client.will_set(topic, payload, qos=qos, retain=retain)

    def connect(self, timeout: float = 10.0) -> None:
        """Connect and wait for the broker's answer; raises ``ConnectionError`` on failure."""
        self._client.connect_async(
            self.endpoint.host, self.endpoint.port, keepalive=self.endpoint.keepalive_s
        )
        self._client.loop_start()
        self._started = True
        if not self._connected.wait(timeout):
            self.close()
            raise ConnectionError(
                f"no MQTT connection to {self.endpoint.host}:{self.endpoint.port} in {timeout} s"
            )

    @property
    def connected(self) -> bool:
        """Whether the connection is up right now."""
        return self._connected.is_set()

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> None:
        """Queue one message (paho sends it from its own thread)."""
        with self._done:
            self._sent += 1
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything published so far is sent/acknowledged; False on timeout."""
        with self._done:
            return self._done.wait_for(lambda: self._acked >= self._sent, timeout)

    def close(self) -> None:
        """Disconnect cleanly (no last will) and stop the network thread."""
        if not self._started:
            return
        self._client.disconnect()
        self._client.loop_stop()
        self._started = False

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: ReasonCode, props: Any
    ) -> None:
        if reason_code.is_failure:
            log.error("publisher refused by the broker: %s", reason_code)
            return
        if self._subscriptions:  # a clean session: subscribe again on each connection
            client.subscribe(self._subscriptions)
        self._connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: ReasonCode, props: Any
    ) -> None:
        self._connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._handler is None:
            return
        try:
            self._handler(message.topic, bytes(message.payload))
        except Exception:  # a bad topic or payload must not kill paho's network thread
            log.exception("a received message could not be handled")

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, props: Any
    ) -> None:
        with self._done:
            self._acked += 1
            self._done.notify_all()
