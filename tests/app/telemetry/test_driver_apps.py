"""The simulated driver apps: a van follows the newest route it is sent and says so."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app.domain.model import EventType, ExecutionEvent
from app.foundation.clock import ManualClock, ScaledClock
from app.telemetry.contract import ROUTE, payload
from app.telemetry.drivers import RouteInbox, RouteStop, read_route
from app.telemetry.embedded_broker import EmbeddedBroker
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.mqtt_client import Endpoint, MqttClient, MqttPublisher
from app.telemetry.parsing import DeviceDirectory, TopicConfig, parse_message
from app.telemetry.realtime import run_realtime
from app.telemetry.simulator import FleetSimulator
from app.telemetry.van_day import SimMessage
from app.tower.plan_adoption import route_body
from tests.app.telemetry.test_simulator import DAY, DAY0, SMALL, demo, events_of, quiet_van

PREFIX = "tower/v1"


def route_stops(sim: FleetSimulator, stop_ids: list[str]) -> list[RouteStop]:
    orders = {o.id: o for o in sim.day.orders}
    stops = {s.id: s for s in sim.day.stops}
    return [
        RouteStop(sid, stops[sid].order_id, orders[stops[sid].order_id].lat,
                  orders[stops[sid].order_id].lon, stops[sid].planned_arrival)
        for sid in stop_ids
    ]  # fmt: skip


def route_payload(vehicle_id: str, version: int, stops: list[RouteStop]) -> bytes:
    body: dict[str, Any] = {
        "vehicle": vehicle_id,
        "version": version,
        "plan_id": version,
        "stops": [
            {
                "stop_id": s.stop_id,
                "order_id": s.order_id,
                "eta": round(s.eta),
                "lat": s.lat,
                "lon": s.lon,
                "address": s.address,
            }
            for s in stops
        ],
    }
    return payload(ROUTE, body)


def parsed_events(messages: list[SimMessage], vehicle_id: str) -> list[ExecutionEvent]:
    topics = TopicConfig(PREFIX)
    directory = DeviceDirectory(frozenset({vehicle_id}))
    out = []
    for m in messages:
        if m.topic.endswith("/event") and f"/{vehicle_id}/" in m.topic:
            event = parse_message(m.topic, m.payload, m.ts, topics, directory)
            assert isinstance(event, ExecutionEvent), event
            out.append(event)
    return out


def test_a_new_version_is_followed_from_when_it_arrives_and_acknowledged() -> None:
    sim = FleetSimulator(demo(4, 60), SMALL)
    vid = quiet_van(sim)
    at = DAY0 + 11 * 3600 + 7
    sim.simulate_until(at)
    done = sim.visited_stops(vid, at)
    rest = [s for s in sim.planned_stops(vid) if s not in done]
    new_order = done + rest[::-1]  # a route names the served stops too: they stay served
    assert sim.follow(vid, 2, route_stops(sim, new_order), at) is True
    after = sim.simulate_until(DAY.end)
    [ack, *_] = events = parsed_events(after, vid)
    assert ack.type is EventType.ROUTE_RECEIVED and ack.route_version == 2 and ack.ts == at
    assert ack.lat is not None and ack.lon is not None
    arrived = [e.stop_id for e in events if e.type is EventType.ARRIVED]
    assert arrived == rest[::-1]
    assert sim.visited_stops(vid) == done + rest[::-1]
    assert sim.route_version(vid) == 2
    # A repeated or older version (a retained message heard again) changes nothing.
    assert sim.follow(vid, 2, route_stops(sim, rest), sim.now) is False
    assert sim.follow(vid, 1, route_stops(sim, rest), sim.now) is False


def test_a_route_received_before_the_shift_is_acknowledged_when_it_starts() -> None:
    sim = FleetSimulator(demo(4, 60), SMALL)
    at = sim.now  # the first shift starts; this van's starts later
    d = sim.disruptions
    troubled = {d.jam_vehicle, d.breakdown_vehicle, d.unplanned_vehicle}
    van = next(v for v in sim.day.vehicles if v.id not in troubled and DAY0 + v.shift_start_s > at)
    vid, van_start = van.id, DAY0 + van.shift_start_s
    planned = sim.planned_stops(vid)
    assert sim.follow(vid, 1, route_stops(sim, planned[::-1]), at)
    events = parsed_events(sim.simulate_until(DAY.end), vid)
    acks = [e for e in events if e.type is EventType.ROUTE_RECEIVED]
    assert [(e.route_version, e.ts) for e in acks] == [(1, van_start)]
    assert [e.stop_id for e in events if e.type is EventType.ARRIVED] == planned[::-1]
    # The loading scan names the parcels of the route it loads.
    [scan] = [e for e in events if e.type is EventType.SCAN]
    assert len(scan.parcel_ids) >= len(planned)


def test_a_stop_the_day_does_not_know_is_learnt_from_the_route() -> None:
    sim = FleetSimulator(demo(4, 60), SMALL)
    vid = quiet_van(sim)
    at = DAY0 + 11 * 3600
    sim.simulate_until(at)
    depot = sim.day.depot
    urgent = RouteStop("S-URGENT-1", "URGENT-1", depot.lat + 0.01, depot.lon, at + 900, "1 rue X")
    rest = [s for s in sim.planned_stops(vid) if s not in sim.visited_stops(vid, at)]
    assert sim.follow(vid, 3, [urgent, *route_stops(sim, rest)], at)
    arrived = [
        e["stop_id"] for e in events_of(sim.simulate_until(DAY.end), vid)
        if e["type"] == "arrived"
    ]  # fmt: skip
    assert arrived[0] == "S-URGENT-1"


def test_a_route_as_the_tower_sends_it_is_read_whole() -> None:
    day = demo(2, 10)
    order = day.orders[0]
    stop = next(s for s in day.stops if s.order_id == order.id)
    body = route_body("V01", [(stop.id, stop.planned_arrival)], 1, 1, {stop.id: stop},
                      {order.id: order}, None)  # fmt: skip
    route = read_route("V01", payload(ROUTE, body), 0.0)
    assert route is not None and route.version == 1
    [got] = route.stops
    assert (got.stop_id, got.order_id, got.address) == (stop.id, order.id, order.address)
    assert got.parcel_ids == tuple(p.id for p in order.parcels)
    assert got.windows == tuple((round(w.start), round(w.end)) for w in order.windows)


def test_a_route_that_cannot_be_read_is_ignored() -> None:
    assert read_route("V01", b"not json", 0.0) is None
    other = route_payload("V02", 1, [])
    assert read_route("V01", other, 0.0) is None
    inbox = RouteInbox(PREFIX, ["V01"], ManualClock(5.0))
    inbox.deliver(ROUTE.topic(PREFIX, "V01"), b'{"vehicle": "V01"}')
    inbox.deliver(ROUTE.topic(PREFIX, "V09"), route_payload("V09", 1, []))  # not ours
    inbox.deliver(ROUTE.topic(PREFIX, "V01"), route_payload("V01", 2, []))
    inbox.deliver(ROUTE.topic(PREFIX, "V01"), route_payload("V01", 1, []))  # older
    [route] = inbox.take()
    assert (route.vehicle_id, route.version, route.received_at) == ("V01", 2, 5.0)
    assert inbox.take() == []


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker()
    broker.start()
    yield broker
    broker.stop()


def _wait(condition: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)  # the poll interval; the deadline bounds the wait
    return bool(condition())


@pytest.mark.timeout(60)
def test_over_the_broker_a_van_follows_the_retained_route_and_acks_it(
    broker: EmbeddedBroker,
) -> None:
    sim = FleetSimulator(demo(4, 60), SMALL)
    vid = quiet_van(sim)
    start = DAY0 + 10 * 3600
    sim.skip_until(start)
    clock = ScaledClock(start, 600.0)  # ten simulated minutes a second
    endpoint = Endpoint("127.0.0.1", broker.port)
    # The tower's side: it hears the vans' events, and publishes a route, retained.
    tower = MqttClient(
        endpoint,
        TelemetryMailbox(),
        TopicConfig(PREFIX),
        client_id="tower-under-test",
        directory=DeviceDirectory(frozenset(v.id for v in sim.day.vehicles)),
        clock=clock,
    )
    tower.start()
    assert tower.wait_connected(10)
    rest = [s for s in sim.planned_stops(vid) if s not in sim.visited_stops(vid, start)]
    new_order = [rest[1], rest[0], *rest[2:]]  # swapped: no long wait for a later window
    routes = MqttPublisher(endpoint, client_id="tower-routes")
    routes.connect()
    routes.publish(
        ROUTE.topic(PREFIX, vid),
        route_payload(vid, 4, route_stops(sim, new_order)),
        qos=ROUTE.qos,
        retain=ROUTE.retained,
    )
    assert routes.flush(10)
    routes.close()
    # The fleet connects afterwards: its driver apps get the retained route.
    fleet = MqttPublisher(endpoint, client_id="fleet-under-test")
    inbox = RouteInbox(PREFIX, [v.id for v in sim.day.vehicles], clock)
    fleet.listen(inbox.subscriptions(), inbox.deliver)
    fleet.connect()
    stop = threading.Event()
    player = threading.Thread(
        target=run_realtime, args=(sim, fleet, clock, stop), kwargs={"routes": inbox}
    )
    player.start()
    heard: list[ExecutionEvent] = []

    def arrivals_after_ack() -> list[str]:
        batch = tower.mailbox.drain()
        tower.ack(batch.acks)
        for item in batch.events:
            if item.vehicle_id == vid:
                heard.append(item)
        acks = [e for e in heard if e.type is EventType.ROUTE_RECEIVED]
        if not acks:
            return []
        return [e.stop_id or "" for e in heard if e.type is EventType.ARRIVED and e.ts > acks[0].ts]

    try:
        assert _wait(lambda: len(arrivals_after_ack()) >= 2)
    finally:
        stop.set()
        player.join(10)
        fleet.close()
        tower.stop()
    [ack] = [e for e in heard if e.type is EventType.ROUTE_RECEIVED]
    assert ack.route_version == 4
    served_before = set(sim.visited_stops(vid, ack.ts))
    expected = [s for s in new_order if s not in served_before]
    assert arrivals_after_ack()[:2] == expected[:2]
