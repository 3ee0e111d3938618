"""A real local HTTP geocoder for the tests: Nominatim's ``/search`` and Photon's ``/api``
answered from a small table of known addresses, on a free port of 127.0.0.1."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Address (as the client sends it) -> (lat, lon, display name).
PLACES = {
    "12 rue de la République, Lyon": (45.7640, 4.8357, "12 Rue de la République, 69002 Lyon"),
    "Place Bellecour, Lyon": (45.7578, 4.8320, "Place Bellecour, 69002 Lyon"),
}


class FakeGeocoder(BaseHTTPRequestHandler):
    """Nominatim or Photon shaped answers; each request path is kept in ``server.paths``."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.paths.append(self.path)
        route, _, query = self.path.partition("?")
        address = urllib.parse.parse_qs(query).get("q", [""])[0]
        place = PLACES.get(address)
        if route == "/search":
            found = (
                []
                if place is None
                else [{"lat": f"{place[0]}", "lon": f"{place[1]}", "display_name": place[2]}]
            )
            self.answer(200, found)
        elif route == "/api":
            features = (
                []
                if place is None
                else [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [place[1], place[0]]},
                        "properties": {"name": place[2].split(",")[0], "city": "Lyon"},
                    }
                ]
            )
            self.answer(200, {"type": "FeatureCollection", "features": features})
        else:
            self.answer(404, {"error": "no such service"})

    def answer(self, status: int, payload: object) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet tests


@contextmanager
def fake_geocoder() -> Iterator[tuple[str, list[str]]]:
    """The server's base URL and the list of request paths it received."""
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), FakeGeocoder)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address
        yield f"http://{host}:{port}", server.paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
