"""Writes the map page once with folium: local Leaflet, the tile layer, the depot, our JS API.

The only module that imports folium (an import-linter contract holds it). Everything that
moves afterwards goes through ``tower.*`` calls in resources/map/tower.js, never by
writing the page again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import folium
import js_lib_leaflet
from branca.element import MacroElement
from folium.template import Template

from app.domain.model import Depot
from app.foundation.settings import MapSettings

RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "map"
LEAFLET = Path(js_lib_leaflet.__file__).parent / "static" / "js_lib_leaflet"
QWEBCHANNEL_JS = "qrc:///qtwebchannel/qwebchannel.js"
PAGE_NAME = "tower_map.html"
# A trail keeps one position per this many seconds (live ones in the page, stored ones
# before they are sent): a day-long trail of a van reporting every second stays small.
TRAIL_SAMPLE_S = 10.0


def script_json(value: Any) -> str:
    """JSON safe to embed inside a <script> element (no ``</script>`` breakout)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _TowerInit(MacroElement):
    """Hands folium's map object (``map_<hash>``) to our JS once the tile layer exists.

    Added to the map after the tile layer, so its script runs right after folium created
    both: the tile error listeners are in place before the first tile can fail.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            window.towerMap = {{ this._parent.get_name() }};
            tower.init(window.towerMap, {{ this.config_json }});
        {% endmacro %}
        """
    )

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "TowerInit"
        self.config_json = script_json(config)


def build_map(map_settings: MapSettings, depot: Depot) -> folium.Map:
    """The folium map of the page (exposed for tests; :func:`write_map_page` saves it)."""
    fmap = folium.Map(
        location=[depot.lat, depot.lon],
        zoom_start=12,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
    )
    # Per instance, so other maps in the process keep folium's defaults. Only Leaflet, from
    # the local files of django-js-lib-leaflet: no CDN, no jQuery, bootstrap or
    # awesome-markers (we use tooltips and canvas circles, not popups or folium.Icon).
    fmap.default_js = [
        ("leaflet", (LEAFLET / "leaflet.js").as_uri()),
        ("qwebchannel", QWEBCHANNEL_JS),
        ("tower_js", (RESOURCES / "tower.js").as_uri()),
        ("depots_js", (RESOURCES / "depots.js").as_uri()),  # the admin's depot pins
    ]
    fmap.default_css = [
        ("leaflet_css", (LEAFLET / "leaflet.css").as_uri()),
        ("tower_css", (RESOURCES / "tower.css").as_uri()),
    ]
    folium.TileLayer(
        tiles=map_settings.tile_url,
        attr=map_settings.tile_attribution,
        name="tiles",
        max_zoom=19,
    ).add_to(fmap)
    config = {
        "depot": {"id": depot.id, "name": depot.name, "lat": depot.lat, "lon": depot.lon},
        "trailSeconds": map_settings.trail_minutes * 60,
        "trailSampleS": TRAIL_SAMPLE_S,
    }
    fmap.add_child(_TowerInit(config))
    return fmap


def write_map_page(folder: Path, map_settings: MapSettings, depot: Depot) -> Path:
    """Write the page into ``folder`` (created if needed) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PAGE_NAME
    build_map(map_settings, depot).save(str(path))
    return path
