"""Telemetry ingest rate: fixes/s from a real Mosquitto through parsing into the live state.

Starts its own Mosquitto on a free port (``max_queued_messages 0``), a publisher in a
separate process sending native position messages for 2,000 vans as fast as it can
(QoS 0, like the devices), and measures two subscribers in turn:

- baseline: a bare paho subscriber that only counts messages;
- tower: the tower's MqttClient (parse on the network thread, mailbox) with a drainer
  applying batches to LiveFleet every 100 ms, as the GUI timer would.

Run: ``.venv/bin/python benchmarks/ingest.py [--messages 200000] [--vehicles 2000]``
Target: the tower path sustains >= 5,000 fixes/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402  (benchmarks may measure the raw library)

from app.domain.live_fleet import LiveFleet  # noqa: E402
from app.telemetry.embedded_broker import free_port  # noqa: E402
from app.telemetry.mailbox import TelemetryMailbox  # noqa: E402
from app.telemetry.mqtt_client import Endpoint, MqttClient, MqttPublisher  # noqa: E402
from app.telemetry.parsing import DeviceDirectory, TopicConfig  # noqa: E402

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = workdir / "mosquitto.conf"
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "max_queued_messages 0",
        "persistence false",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("mosquitto did not start")


def publish(port: int, messages: int, vehicles: int) -> None:
    """The publisher process: precomputed payloads, sent as fast as paho allows."""
    publisher = MqttPublisher(Endpoint("127.0.0.1", port), client_id="bench-publisher")
    publisher.connect()
    now = time.time()
    topics = [f"tower/v1/vehicles/V{n:04d}/position" for n in range(vehicles)]
    for n in range(messages):
        v = n % vehicles
        body = {
            "ts": now - 600 + n * 0.001,
            "lat": 45.7 + v * 1e-4,
            "lon": 4.8 + (n % 97) * 1e-5,
            "speed_kmh": 28.5,
            "heading_deg": 90.0,
            "accuracy_m": 5.0,
        }
        publisher.publish(topics[v], json.dumps(body, separators=(",", ":")), 0)
    publisher.flush(120)
    publisher.close()


def run_publisher(port: int, messages: int, vehicles: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--publish-only", str(port), str(messages), str(vehicles)]
    )


def measure(
    port: int, messages: int, vehicles: int, received: Callable[[], int], label: str
) -> float:
    """Publish ``messages`` from another process; the receive rate first to last message."""
    start_count = received()
    publisher = run_publisher(port, messages, vehicles)
    first: float | None = None
    last_change = time.monotonic()
    last_count = start_count
    while True:
        count = received()
        now = time.monotonic()
        if count != last_count:
            if first is None:
                first = now
            last_count, last_change = count, now
        if count - start_count >= messages:
            break
        if publisher.poll() is not None and now - last_change > 3.0:
            break  # publisher done and nothing new for 3 s: messages were lost
        time.sleep(0.01)
    publisher.wait(60)
    got = last_count - start_count
    seconds = max(1e-9, last_change - (first or last_change))
    rate = got / seconds
    lost = messages - got
    print(f"{label:<9} {got:>8} msgs in {seconds:6.2f} s = {rate:8.0f}/s  (lost {lost})")
    return rate


def baseline(port: int, messages: int, vehicles: int) -> float:
    count = [0]

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        count[0] += 1

    connected = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-raw")
    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: (c.subscribe("tower/v1/vehicles/+/position", 0),
                                                 connected.set())  # fmt: skip
    client.connect("127.0.0.1", port)
    client.loop_start()
    connected.wait(10)
    time.sleep(0.3)  # SUBACK
    try:
        return measure(port, messages, vehicles, lambda: count[0], "baseline")
    finally:
        client.disconnect()
        client.loop_stop()


def tower(port: int, messages: int, vehicles: int) -> float:
    ids = [f"V{n:04d}" for n in range(vehicles)]
    mailbox = TelemetryMailbox()
    client = MqttClient(
        Endpoint("127.0.0.1", port),
        mailbox,
        TopicConfig(),
        client_id="bench-tower",
        directory=DeviceDirectory(frozenset(ids)),
    )
    fleet = LiveFleet(ids)
    applied = [0]
    apply_ms: list[float] = []
    stop = threading.Event()

    def drain() -> None:
        while not stop.wait(0.1):
            batch = mailbox.drain()
            t0 = time.perf_counter()
            fleet.apply(batch)
            apply_ms.append((time.perf_counter() - t0) * 1000)
            applied[0] += len(batch.fixes)

    drainer = threading.Thread(target=drain)
    drainer.start()
    client.start()
    client.wait_connected(10)
    time.sleep(0.3)  # SUBACK
    try:
        rate = measure(port, messages, vehicles, lambda: mailbox.received, "tower")
        # Everything received must also reach the live state.
        deadline = time.monotonic() + 5
        while applied[0] < mailbox.received and time.monotonic() < deadline:
            time.sleep(0.05)
        busiest = max(apply_ms) if apply_ms else 0.0
        print(f"          applied {applied[0]} fixes to LiveFleet; slowest apply {busiest:.1f} ms")
        return rate
    finally:
        stop.set()
        drainer.join()
        client.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--publish-only", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish_only:
        publish(*args.publish_only)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        broker, port = start_mosquitto(Path(tmp))
        try:
            base = baseline(port, args.messages, args.vehicles)
            ours = tower(port, args.messages, args.vehicles)
        finally:
            broker.terminate()
            broker.wait(10)
    print(f"tower/baseline = {ours / base:.2f}; target >= 5000/s: {'OK' if ours >= 5000 else 'NO'}")
    return 0 if ours >= 5000 else 1


if __name__ == "__main__":
    sys.exit(main())
