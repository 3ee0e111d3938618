"""An accepted re-plan reaches the drivers: each changed van's route, retained, on the
real (embedded) broker, as a driver app that connects afterwards receives it."""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.app.tower.test_replanning import settled, wait_for_proposal
from tests.integration.conftest import wait_until
from tests.integration.road import Road


class DriverApps:
    """A plain paho client on every van's route topic; keeps the newest route per van."""

    def __init__(self, road: Road) -> None:
        self.routes: dict[str, dict[str, Any]] = {}
        self.retained: dict[str, bool] = {}
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"drivers-{id(self)}")
        self.client.on_message = self._on_message
        host, port = road.tower.feed.broker_address
        self.client.connect(host, port)
        self.client.subscribe("tower/v1/vehicles/+/route", qos=1)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        vehicle = message.topic.split("/")[-2]
        with self._lock:
            self.routes[vehicle] = json.loads(message.payload)
            self.retained[vehicle] = bool(message.retain)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_an_accepted_rescue_is_published_retained_to_each_changed_van(road: Road) -> None:
    tower = road.tower
    for vehicle_id in ("V01", "V02", "V03"):
        route = tower.route_of(vehicle_id)
        parcels = [p.id for s in route for p in tower.orders[s.order_id].parcels]
        road.event(vehicle_id, "scan", parcel_ids=parcels)
        road.event(vehicle_id, "departed")
        first = tower.orders[route[0].order_id]
        road.fix(vehicle_id, first.lat, first.lon, 30.0)
    fix = tower.feed.fleet.latest_fixes()["V01"]
    road.event("V01", "breakdown", lat=fix.lat, lon=fix.lon)
    assert tower.proposals.request("V01", "breakdown on V01")
    record = wait_for_proposal(tower)
    settled(tower, tower.proposals.accept(record.id, "alice"))  # stored, then published
    changed = set(record.proposal.diff.changed_vehicles)
    assert {"V01"} < changed

    # Once the broker has every route (a first app heard them), an app that connects
    # later still gets each: they are retained.
    first_app = DriverApps(road)
    try:
        assert wait_until(lambda: changed <= set(first_app.routes), timeout=10)
    finally:
        first_app.close()
    drivers = DriverApps(road)
    try:
        assert wait_until(lambda: changed <= set(drivers.routes), timeout=10)
        for vehicle_id in changed:
            body = drivers.routes[vehicle_id]
            assert drivers.retained[vehicle_id]
            assert body["vehicle"] == vehicle_id and body["version"] == record.plan_version
            planned = [s.id for s in tower.route_of(vehicle_id)]
            assert [s["stop_id"] for s in body["stops"]] == planned
        rescuers = {m.to_vehicle for m in record.proposal.diff.moves if m.from_vehicle == "V01"}
        assert rescuers
        for vehicle_id in rescuers:
            [collect] = drivers.routes[vehicle_id]["collect"]
            assert collect["from_vehicle"] == "V01"
            assert (collect["lat"], collect["lon"]) == (fix.lat, fix.lon)
    finally:
        drivers.close()
