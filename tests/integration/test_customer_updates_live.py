"""Customer ETA messages, as a notification service subscribed to the broker sees them."""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from app.storage.orm import CustomerUpdateRow
from tests.integration.conftest import wait_until
from tests.integration.road import Road


class Subscriber:
    """A plain paho client on ``tower/v1/orders/+/eta``; keeps (tower time, payload)."""

    def __init__(self, road: Road) -> None:
        self.road = road
        self.received: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="notifier")
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.on_message = self._on_message
        host, port = road.tower.feed.broker_address
        self.client.connect(host, port)
        self.client.subscribe("tower/v1/orders/+/eta", qos=1)
        self.client.loop_start()
        assert self._ready.wait(10)

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((self.road.clock.now(), json.loads(message.payload)))

    def of(self, order_id: str) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            return [(t, p) for t, p in self.received if p["order"] == order_id]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_the_customer_hears_out_for_delivery_next_and_delivered_throttled(road: Road) -> None:
    subscriber = Subscriber(road)
    try:
        stops = road.tower.route_of("V03")
        first, second = stops[0], stops[1]
        parcels = [p.id for s in stops for p in road.tower.orders[s.order_id].parcels]
        road.event("V03", "scan", parcel_ids=parcels)  # loaded at the depot
        road.event("V03", "departed")  # leaves the depot: every order is out for delivery
        road.advance(20, step=5)
        assert wait_until(lambda: bool(subscriber.of(second.order_id)), timeout=10)
        assert subscriber.of(second.order_id)[0][1]["status"] == "out_for_delivery"
        assert subscriber.of(first.order_id)[0][1]["status"] in ("out_for_delivery", "next")

        order = road.tower.orders[first.order_id]
        road.event("V03", "arrived", stop_id=first.id, lat=order.lat, lon=order.lon)
        road.event("V03", "delivered", stop_id=first.id, pod={"kind": "pin", "ref": "4711"})
        road.advance(60, step=5)  # the held-back "delivered" goes once the throttle allows

        def delivered() -> bool:
            return any(p["status"] == "delivered" for _, p in subscriber.of(first.order_id))

        assert wait_until(delivered, timeout=10)
        told = subscriber.of(first.order_id)
        assert told[-1][1]["trigger"] == "delivered" and told[-1][1]["eta"] is None
        assert told[-1][1]["window"]["end"] == order.windows[0].end
        # Never two messages for one order within the 30 s throttle.
        times = [t for t, _ in told]
        assert all(b - a >= 30 for a, b in itertools.pairwise(times))
    finally:
        subscriber.close()
    road.tower.feed.flush()
    with road.tower.sessions() as session:
        stored = session.query(CustomerUpdateRow).filter_by(order_id=first.order_id).all()
    assert [r.trigger for r in stored][-1] == "delivered"
