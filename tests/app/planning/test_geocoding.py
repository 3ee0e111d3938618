"""The geocoder client over real HTTP: Nominatim and Photon answers, the cache, failures."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.foundation.settings import SettingsError, load_settings
from app.planning.geocoding import (
    Geocoder,
    GeocodingError,
    geocoder_from_settings,
)
from tests.fake_geocoder import fake_geocoder

ADDRESS = "12 rue de la République, Lyon"


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    with fake_geocoder() as running:
        yield running


@pytest.mark.parametrize("kind", ["nominatim", "photon"])
def test_an_address_is_located(server: tuple[str, list[str]], kind: str) -> None:
    url, paths = server
    found = Geocoder(url, kind).locate(ADDRESS)
    assert found is not None
    assert (found.lat, found.lon) == pytest.approx((45.7640, 4.8357))
    assert "République" in found.label
    assert paths[0].startswith("/search?" if kind == "nominatim" else "/api?")


@pytest.mark.parametrize("kind", ["nominatim", "photon"])
def test_an_unknown_address_is_none(server: tuple[str, list[str]], kind: str) -> None:
    url, _ = server
    assert Geocoder(url, kind).locate("nowhere at all") is None


def test_a_cached_address_is_not_asked_again(server: tuple[str, list[str]], tmp_path: Path) -> None:
    url, paths = server
    cache = tmp_path / "cache.json"
    geocoder = Geocoder(url, "nominatim", cache_path=cache)
    first = geocoder.locate(ADDRESS)
    again = geocoder.locate(f"  {ADDRESS.upper()} ")  # the same address, typed otherwise
    assert again == first
    assert geocoder.locate("nowhere at all") is None
    assert geocoder.locate("nowhere at all") is None  # "no such place" is remembered too
    assert len(paths) == 2
    # The next run reads the file: nothing asked of the server.
    later = Geocoder(url, "nominatim", cache_path=cache)
    assert later.locate(ADDRESS) == first
    assert later.locate("nowhere at all") is None
    assert len(paths) == 2 and later.requests == 0


def test_the_cache_is_per_server(server: tuple[str, list[str]], tmp_path: Path) -> None:
    url, paths = server
    cache = tmp_path / "cache.json"
    Geocoder(url, "nominatim", cache_path=cache).locate(ADDRESS)
    # The same server under another name is another server to the cache.
    Geocoder(url.replace("127.0.0.1", "localhost"), "nominatim", cache_path=cache).locate(ADDRESS)
    assert len(paths) == 2
    assert Geocoder(url, "nominatim", cache_path=cache).locate(ADDRESS) is not None


def test_a_damaged_cache_file_is_ignored(server: tuple[str, list[str]], tmp_path: Path) -> None:
    url, paths = server
    cache = tmp_path / "cache.json"
    cache.write_text("{not json")
    assert Geocoder(url, "photon", cache_path=cache).locate(ADDRESS) is not None
    assert len(paths) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_an_unreachable_server_is_a_geocoding_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(GeocodingError, match=re.escape(f"the geocoder at {url} is unreachable")):
        Geocoder(url, "nominatim", timeout_s=2).locate(ADDRESS)


class Silent(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: Any = self.server
        server.release.wait(5)  # never answers within the client's timeout

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_server_that_does_not_answer_times_out() -> None:
    server: Any = HTTPServer(("127.0.0.1", 0), Silent)
    server.release = threading.Event()
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        host, port = server.server_address
        with pytest.raises(GeocodingError, match=r"did not answer within 0\.2 s"):
            Geocoder(f"http://{host}:{port}", "nominatim", timeout_s=0.2).locate(ADDRESS)
    finally:
        server.release.set()
        thread.join()
        server.server_close()


def test_an_http_error_is_a_geocoding_error(server: tuple[str, list[str]]) -> None:
    url, _ = server
    with pytest.raises(GeocodingError, match="answered HTTP 404"):
        Geocoder(url + "/no/such/service", "photon").locate(ADDRESS)


def test_the_configuration_makes_the_geocoder(tmp_path: Path) -> None:
    assert geocoder_from_settings(load_settings(environ={}).geocoder) is None
    config = tmp_path / "tower.toml"
    cache = tmp_path / "answers.json"
    config.write_text(
        f'[geocoder]\nurl = "http://geo:2322"\nkind = "photon"\ntimeout_s = 3\n'
        f'cache_file = "{cache}"\n'
    )
    geocoder = geocoder_from_settings(load_settings(config, environ={}).geocoder)
    assert geocoder is not None
    assert (geocoder.url, geocoder.kind, geocoder.timeout_s) == ("http://geo:2322", "photon", 3)
    assert geocoder.cache_path == cache


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TOWER_GEOCODER__KIND": "google"}, "geocoder.kind: expected nominatim or photon"),
        ({"TOWER_GEOCODER__URL": "geo:2322"}, "geocoder.url: the geocoder needs an http"),
        ({"TOWER_GEOCODER__TIMEOUT_S": "0"}, "geocoder.timeout_s: must be positive"),
    ],
)
def test_bad_geocoder_settings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=environ)
