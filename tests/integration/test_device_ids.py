"""Trackers that report their own id: a Traccar uniqueId or an OwnTracks tid that is a
vehicle's device id (as the admin entered it in the fleet) moves that vehicle."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.integration.conftest import wait_until
from tests.integration.road import Road


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def test_a_trackers_own_id_that_is_a_vehicles_device_id_moves_that_vehicle(road: Road) -> None:
    tower = road.tower
    assert tower.snapshot.vehicles[6].device_id == "dev-07"
    now = road.clock.now()
    traccar = {
        "position": {"latitude": 45.74, "longitude": 4.86, "speed": 10.0, "fixTime": iso(now - 2)},
        "device": {"uniqueId": "dev-07"},
    }
    owntracks = {"_type": "location", "tid": "dev-08", "lat": 45.77, "lon": 4.83, "tst": now - 1}
    road.publisher.publish("traccar/positions", json.dumps(traccar))
    road.publisher.publish("owntracks/bob/phone", json.dumps(owntracks))

    def both_moved() -> bool:
        tower.tick()
        return {"V07", "V08"} <= set(tower.feed.fleet.latest_fixes())

    assert wait_until(both_moved, timeout=10)
    latest = tower.feed.fleet.latest_fixes()
    assert (latest["V07"].lat, latest["V07"].speed_kmh) == (45.74, 18.52)
    assert (latest["V08"].lat, latest["V08"].source) == (45.77, "owntracks")
