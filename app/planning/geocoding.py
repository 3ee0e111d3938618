"""Addresses to positions: asked of a Nominatim or Photon server, and remembered.

``Geocoder.locate`` blocks on the network (as OSRM's tables do in matrix.py): call it from
a worker thread or a command, never from the window's thread. Every answer, a place or
"no such place", is kept in memory and in a small JSON file, so an address is asked of
the server once, across runs too. The file maps each server URL to its answers, keyed by
the address as typed, trimmed, with its spaces collapsed and its case folded.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.foundation.settings import APP_NAME, GeocoderSettings

CACHE_FILE = "geocoder-cache.json"
# Nominatim's usage policy asks every client to name itself.
USER_AGENT = f"{APP_NAME} (last-mile control tower)"


@dataclass(frozen=True)
class GeoPoint:
    """Where an address is (degrees), and the place the server matched it to."""

    lat: float
    lon: float
    label: str = ""


class GeocodingError(RuntimeError):
    """The geocoder could not be asked (unreachable, timed out) or answered nonsense."""


def address_key(address: str) -> str:
    """The cache's key of an address: trimmed, spaces collapsed, case folded."""
    return " ".join(address.split()).casefold()


class Geocoder:
    """A Nominatim (``kind="nominatim"``) or Photon (``kind="photon"``) server at ``url``.

    ``cache_path`` is the JSON file of earlier answers (None: memory only). Safe to call
    from several threads; a request to the server waits at most ``timeout_s``.
    """

    def __init__(
        self, url: str, kind: str, timeout_s: float = 10.0, cache_path: Path | None = None
    ) -> None:
        if kind not in ("nominatim", "photon"):
            raise ValueError(f"unknown geocoder kind {kind!r}")
        self.url = url.rstrip("/")
        self.kind = kind
        self.timeout_s = timeout_s
        self.cache_path = cache_path
        self._lock = threading.Lock()
        self._answers: dict[str, GeoPoint | None] = _read_cache(cache_path, self.url)
        self.requests = 0  # asked of the server (not answered from the cache)

    def locate(self, address: str) -> GeoPoint | None:
        """The best match of ``address`` (None: the server knows no such place); raises
        GeocodingError when the server cannot be asked or answers nonsense."""
        key = address_key(address)
        if not key:
            return None
        with self._lock:
            if key in self._answers:
                return self._answers[key]
        found = self._ask(address.strip())
        with self._lock:
            self._answers[key] = found
            self._save()
        return found

    def request_url(self, address: str) -> str:
        """The search request for ``address`` (the best match only)."""
        if self.kind == "photon":
            query = urllib.parse.urlencode({"q": address, "limit": 1})
            return f"{self.url}/api?{query}"
        query = urllib.parse.urlencode({"q": address, "format": "jsonv2", "limit": 1})
        return f"{self.url}/search?{query}"

    def _ask(self, address: str) -> GeoPoint | None:
        self.requests += 1
        request = urllib.request.Request(
            self.request_url(address), headers={"User-Agent": USER_AGENT}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                body: Any = json.loads(reply.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise GeocodingError(f"the geocoder at {self.url} answered HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            raise GeocodingError(
                f"the geocoder at {self.url} is unreachable: {exc.reason}"
            ) from exc
        except TimeoutError as exc:
            raise GeocodingError(
                f"the geocoder at {self.url} did not answer within {self.timeout_s:g} s"
            ) from exc
        except (OSError, ValueError) as exc:
            raise GeocodingError(f"the geocoder at {self.url} failed: {exc}") from exc
        parse = _photon if self.kind == "photon" else _nominatim
        try:
            return parse(body)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise GeocodingError(
                f"the geocoder at {self.url} answered something that is not a "
                f"{self.kind} search result"
            ) from exc

    def _save(self) -> None:
        """Write the answers to the cache file (whole, atomically: a crash mid-write
        leaves the last good file). Called with the lock held."""
        if self.cache_path is None:
            return
        every = _read_file(self.cache_path)
        every[self.url] = {
            key: None if p is None else [p.lat, p.lon, p.label] for key, p in self._answers.items()
        }
        folder = self.cache_path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".geocoder-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(every, out, ensure_ascii=False)
        os.replace(temporary, self.cache_path)


def _nominatim(body: Any) -> GeoPoint | None:
    """Nominatim's ``/search?format=jsonv2``: a list of places, lat and lon as text."""
    if not isinstance(body, list):
        raise TypeError("not a list")
    if not body:
        return None
    best = body[0]
    return _point(float(best["lat"]), float(best["lon"]), str(best.get("display_name", "")))


def _photon(body: Any) -> GeoPoint | None:
    """Photon's ``/api``: GeoJSON features, coordinates as [lon, lat]."""
    features = body["features"]
    if not isinstance(features, list):
        raise TypeError("features is not a list")
    if not features:
        return None
    best = features[0]
    lon, lat = best["geometry"]["coordinates"][:2]
    props = best.get("properties") or {}
    street = " ".join(str(props[k]) for k in ("housenumber", "street") if props.get(k))
    parts = [props.get("name"), street, props.get("postcode"), props.get("city")]
    label = ", ".join(str(p) for p in parts if p)
    return _point(float(lat), float(lon), label)


def _point(lat: float, lon: float, label: str) -> GeoPoint:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"({lat}, {lon}) is not on the Earth")
    return GeoPoint(lat, lon, label)


def _read_file(path: Path) -> dict[str, Any]:
    """The cache file's servers and answers; a missing or damaged one is empty (it is
    only a cache: the server is asked again)."""
    try:
        every = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return every if isinstance(every, dict) else {}


def _read_cache(path: Path | None, url: str) -> dict[str, GeoPoint | None]:
    """This server's answers in the cache file."""
    if path is None:
        return {}
    answers = _read_file(path).get(url)
    out: dict[str, GeoPoint | None] = {}
    if not isinstance(answers, dict):
        return out
    for key, value in answers.items():
        if value is None:
            out[key] = None
            continue
        try:
            lat, lon, label = value
            out[key] = _point(float(lat), float(lon), str(label))
        except (TypeError, ValueError):
            continue  # a damaged entry: asked again
    return out


def default_cache_path() -> Path:
    """``geocoder-cache.json`` in the user data folder (beside the demo's database)."""
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False) / CACHE_FILE


def geocoder_from_settings(settings: GeocoderSettings) -> Geocoder | None:
    """The configured geocoder, or None when ``[geocoder] url`` is empty."""
    if not settings.url:
        return None
    path = Path(settings.cache_file) if settings.cache_file else default_cache_path()
    return Geocoder(settings.url, settings.kind, settings.timeout_s, path)
