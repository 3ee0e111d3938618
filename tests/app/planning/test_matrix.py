"""Matrix providers: the haversine estimate and a real HTTP round trip to a fake OSRM."""

from __future__ import annotations

import json
import math
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.foundation.settings import PlanningSettings, SettingsError, load_settings
from app.planning.matrix import (
    UNREACHABLE,
    HaversineMatrixProvider,
    MatrixError,
    OsrmTableProvider,
    provider_from_settings,
)

# About 1 km apart in Paris (0.009 degree of latitude is about 1 km).
POINTS = [(2.35, 48.85), (2.35, 48.859), (2.36, 48.85)]


def test_haversine_is_square_symmetric_and_road_like() -> None:
    m = HaversineMatrixProvider().matrices(POINTS, departure_s=11 * 3600)
    assert [m.distance[i][i] for i in range(3)] == [0, 0, 0]
    assert m.distance[0][1] == m.distance[1][0]
    assert 1250 < m.distance[0][1] < 1350  # 1 km as the crow flies, times 1.3
    assert m.travel_time[0][1] == pytest.approx(m.distance[0][1] / (28 / 3.6), abs=1)


def test_rush_hour_is_slower() -> None:
    provider = HaversineMatrixProvider()
    calm = provider.matrices(POINTS, departure_s=11 * 3600)
    rush = provider.matrices(POINTS, departure_s=8 * 3600)
    evening = provider.matrices(POINTS, departure_s=17 * 3600)
    assert rush.distance == calm.distance
    assert rush.travel_time[0][1] > calm.travel_time[0][1]
    assert evening.travel_time == rush.travel_time


def road(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """The fake server's own roads: Manhattan metres, driven at 10 m/s."""
    metres = 111_320.0 * (abs(a[0] - b[0]) + abs(a[1] - b[1]))
    return metres / 10.0, metres


class FakeOsrm(BaseHTTPRequestHandler):
    """Answers /table/v1 like OSRM: parses the coordinates, sources and destinations,
    refuses tables over its max size with TooBig (HTTP 400), and computes the table
    from its own roads. With ``server.body`` set it answers that body instead."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.paths.append(self.path)
        if server.body is not None:
            self.answer(200, server.body)
            return
        route, _, query = self.path.partition("?")
        parts = route.split("/")
        if parts[1:4] != ["table", "v1", "driving"]:
            self.answer(400, {"code": "InvalidUrl", "message": "bad path"})
            return
        coords = [(float(c.split(",")[0]), float(c.split(",")[1])) for c in parts[4].split(";")]
        params = urllib.parse.parse_qs(query)
        pick = {
            key: [int(v) for v in params[key][0].split(";")] if key in params else None
            for key in ("sources", "destinations")
        }
        sources = pick["sources"] or list(range(len(coords)))
        destinations = pick["destinations"] or list(range(len(coords)))
        if len(sources) * len(destinations) > server.max_table**2:
            self.answer(400, {"code": "TooBig", "message": "Too many table coordinates"})
            return
        trips = [[road(coords[i], coords[j]) for j in destinations] for i in sources]
        self.answer(
            200,
            {
                "code": "Ok",
                "durations": [[t for t, _ in row] for row in trips],
                "distances": [[d for _, d in row] for row in trips],
                "sources": [{"location": list(coords[i])} for i in sources],
                "destinations": [{"location": list(coords[j])} for j in destinations],
            },
        )

    def answer(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def osrm() -> Iterator[Any]:
    server: Any = HTTPServer(("127.0.0.1", 0), FakeOsrm)
    server.paths = []
    server.body = None
    server.max_table = 100
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def url_of(server: Any) -> str:
    """The fake server's base URL."""
    return f"http://127.0.0.1:{server.server_address[1]}/"


def test_osrm_table_is_read_over_http(osrm: Any) -> None:
    m = OsrmTableProvider(url_of(osrm)).matrices(POINTS)
    expected = [[road(a, b) for b in POINTS] for a in POINTS]
    assert m.travel_time == [[math.ceil(t) for t, _ in row] for row in expected]
    assert m.distance == [[round(d) for _, d in row] for row in expected]
    assert m.distance[0][1] == 1002  # 0.009 degree
    [path] = osrm.paths
    assert path.startswith("/table/v1/driving/2.350000,48.850000;2.350000,48.859000;")
    assert path.endswith("?annotations=duration,distance")


def test_a_table_over_the_server_limit_is_asked_for_in_blocks(osrm: Any) -> None:
    points = [(2.35 + 0.001 * k, 48.85 + 0.002 * (k % 3)) for k in range(7)]
    whole = OsrmTableProvider(url_of(osrm)).matrices(points)
    osrm.max_table = 3
    with pytest.raises(MatrixError, match="TooBig"):
        OsrmTableProvider(url_of(osrm)).matrices(points)
    osrm.paths.clear()
    blocks = OsrmTableProvider(url_of(osrm), max_table=3).matrices(points)
    assert blocks == whole
    assert len(osrm.paths) == 9  # 3 x 3 blocks of at most 3 x 3
    assert all("&sources=" in p and "&destinations=" in p for p in osrm.paths)


def test_osrm_no_route_is_unreachable(osrm: Any) -> None:
    osrm.body = {
        "code": "Ok",
        "durations": [[0, 120.4, 95.0], [118.2, 0, None], [97.5, 150.0, 0]],
        "distances": [[0, 1310.6, 980.2], [1290.0, 0, None], [1001.0, 1500.0, 0]],
    }
    m = OsrmTableProvider(url_of(osrm)).matrices(POINTS)
    assert m.travel_time[0] == [0, 121, 95]
    assert m.distance[0] == [0, 1311, 980]
    assert m.travel_time[1][2] == UNREACHABLE


@pytest.mark.parametrize(
    "body",
    [
        {"code": "InvalidQuery", "message": "bad"},
        {"code": "Ok", "durations": [[0, 1]], "distances": [[0, 1]]},
        {"code": "Ok", "durations": [["x"] * 3] * 3, "distances": [[0] * 3] * 3},
    ],
    ids=["error code", "wrong shape", "not numbers"],
)
def test_a_bad_osrm_answer_is_a_matrix_error(osrm: Any, body: object) -> None:
    osrm.body = body
    with pytest.raises(MatrixError, match="OSRM"):
        OsrmTableProvider(url_of(osrm)).matrices(POINTS)


def test_osrm_down_is_a_matrix_error() -> None:
    server = HTTPServer(("127.0.0.1", 0), FakeOsrm)
    port = server.server_address[1]
    server.server_close()
    with pytest.raises(MatrixError, match="failed"):
        OsrmTableProvider(f"http://127.0.0.1:{port}", timeout_s=2).matrices(POINTS)


def test_the_configuration_picks_the_provider() -> None:
    assert isinstance(provider_from_settings(PlanningSettings()), HaversineMatrixProvider)
    osrm = provider_from_settings(
        PlanningSettings(matrix="osrm", osrm_url="http://router:5000", osrm_max_table=50)
    )
    assert osrm == OsrmTableProvider("http://router:5000", max_table=50)
    slow = provider_from_settings(PlanningSettings(speed_kmh=20, rush_speed_kmh=10))
    assert isinstance(slow, HaversineMatrixProvider)
    assert slow.road.speed_kmh(8 * 3600) == 10 and slow.road.speed_kmh(12 * 3600) == 20


def test_a_day_long_matrix_averages_the_pace_over_the_day() -> None:
    provider = HaversineMatrixProvider()
    day = provider.matrices(POINTS, departure_s=7 * 3600, until_s=17 * 3600)
    calm = provider.matrices(POINTS, departure_s=11 * 3600)
    rush = provider.matrices(POINTS, departure_s=8 * 3600)
    assert calm.travel_time[0][1] < day.travel_time[0][1] < rush.travel_time[0][1]
    # 10 h, of which 2.5 h of rush (07:30-09:30, 16:30-17:00) at 18 km/h and 7.5 h at
    # 28 km/h: the mean pace, not the mean speed.
    assert provider.road.mean_speed_kmh(7 * 3600, 17 * 3600) == pytest.approx(
        10 / (2.5 / 18 + 7.5 / 28)
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TOWER_PLANNING__MATRIX": "google"}, "planning.matrix"),
        ({"TOWER_PLANNING__MATRIX": "osrm"}, "planning.osrm_url"),
        ({"TOWER_PLANNING__TIME_LIMIT_S": "0"}, "planning.time_limit_s"),
    ],
)
def test_bad_planning_settings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=environ)


def test_the_osrm_url_comes_from_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "tower.toml"
    config.write_text('[planning]\nmatrix = "osrm"\nosrm_url = "http://router:5000"\n')
    provider = provider_from_settings(load_settings(config, environ={}).planning)
    assert provider == OsrmTableProvider("http://router:5000")
