"""Matrix providers: the haversine estimate and a real HTTP round trip to a fake OSRM."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from app.planning.matrix import (
    UNREACHABLE,
    HaversineMatrixProvider,
    MatrixError,
    OsrmTableProvider,
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


class FakeOsrm(BaseHTTPRequestHandler):
    """Answers every table request with the server's canned body."""

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        body = json.dumps(self.server.body).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def osrm() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), FakeOsrm)
    server.paths = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_osrm_table_is_read_over_http(osrm: HTTPServer) -> None:
    osrm.body = {  # type: ignore[attr-defined]
        "code": "Ok",
        "durations": [[0, 120.4, 95.0], [118.2, 0, None], [97.5, 150.0, 0]],
        "distances": [[0, 1310.6, 980.2], [1290.0, 0, None], [1001.0, 1500.0, 0]],
    }
    url = f"http://127.0.0.1:{osrm.server_address[1]}/"
    m = OsrmTableProvider(url).matrices(POINTS)
    assert m.travel_time[0] == [0, 121, 95]
    assert m.distance[0] == [0, 1311, 980]
    assert m.travel_time[1][2] == UNREACHABLE
    [path] = osrm.paths  # type: ignore[attr-defined]
    assert path.startswith("/table/v1/driving/2.350000,48.850000;2.350000,48.859000;")
    assert path.endswith("?annotations=duration,distance")


def test_osrm_error_is_a_matrix_error(osrm: HTTPServer) -> None:
    osrm.body = {"code": "InvalidQuery", "message": "bad"}  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{osrm.server_address[1]}"
    with pytest.raises(MatrixError, match="InvalidQuery"):
        OsrmTableProvider(url).matrices(POINTS)


def test_osrm_down_is_a_matrix_error() -> None:
    server = HTTPServer(("127.0.0.1", 0), FakeOsrm)
    port = server.server_address[1]
    server.server_close()
    with pytest.raises(MatrixError, match="failed"):
        OsrmTableProvider(f"http://127.0.0.1:{port}", timeout_s=2).matrices(POINTS)
