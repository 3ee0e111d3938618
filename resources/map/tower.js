// The control tower's map API (window.tower). Python calls one tower.<fn>(json) per batch.
//
// Rules kept here:
// - Data from MQTT or the database is text, never markup: labels are drawn on the canvas
//   with fillText and tooltips are DOM nodes filled with textContent.
// - Thousands of vehicles: one canvas for what is clickable (stops, vehicles, depot), one
//   below it for routes and proposals, one for the selected vehicle's trail. A vehicle is a
//   single canvas circle that also draws its heading tick and label, so a batch moving 2,000
//   vehicles costs 2,000 setLatLng calls and one redraw of one canvas per frame.
(function () {
  "use strict";

  const VEHICLE_COLOURS = {
    moving: "#2f81f7",
    stopped_at_stop: "#3fb950",
    stopped_elsewhere: "#d29922",
    offline: "#8b949e",
    not_started: "#6e7681",
    waiting_for_window: "#a371f7",
    broken_down: "#f85149",
  };
  const STATE_TEXT = {
    moving: "moving",
    stopped_at_stop: "stopped at a stop",
    stopped_elsewhere: "stopped elsewhere",
    offline: "offline (no recent position)",
    not_started: "not started",
    waiting_for_window: "waiting for the window to open",
    broken_down: "broken down",
  };
  const STOP_COLOURS = {
    pending: "#c9d1d9",
    en_route: "#a5d6ff",
    arrived: "#58a6ff",
    delivered: "#3fb950",
    failed: "#f85149",
    skipped: "#8b949e",
  };
  const ROUTE_COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0",
    "#f032e6", "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#800000", "#aaffc3"];
  const NO_TILES_TEXT = "Map tiles unavailable (offline?) — positions are still live";
  const LABEL_MIN_ZOOM = 14;
  const PULSE_MS = 500;

  const tower = {
    map: null,
    bridge: null,
    config: {},
    vehicles: new Map(),   // id -> {marker, data, hist: [ts, lat, lon, ...]}
    stops: new Map(),      // id -> {marker, data}
    routeColours: new Map(),
    alerts: { vehicles: new Set(), stops: new Set(), critical: new Set() },
    rings: new Map(),      // "v:id" / "s:id" -> ring layer
    selected: null,
    following: false,
    trail: null,
    trailSeconds: 1800,    // the trail's length (map.trail_minutes)
    trailSampleS: 10,      // one trail point per this many seconds
    now: null,             // the tower's clock (seconds) as of the last batch
    tiles: { loaded: 0, lastLoad: 0, failed: false },
    stats: { updateMs: [], drawMs: [] },
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function tooltipNode(lines) {
    const box = el("div", "tower-tooltip");
    for (const line of lines) box.appendChild(el("div", "", line));
    return box;
  }

  function remember(list, value) {
    list.push(value);
    if (list.length > 200) list.splice(0, list.length - 200);
  }

  function routeColour(vehicleId) {
    if (!tower.routeColours.has(vehicleId)) {
      tower.routeColours.set(vehicleId, ROUTE_COLOURS[tower.routeColours.size % ROUTE_COLOURS.length]);
    }
    return tower.routeColours.get(vehicleId);
  }

  // A canvas circle that also draws the heading tick (when moving) and the label (zoomed in).
  const VehicleMarker = L.CircleMarker.extend({
    _updateBounds: function () {
      L.CircleMarker.prototype._updateBounds.call(this);
      // The tick and the label reach beyond the circle: redraw regions must include them.
      const reach = this._radius + 10;
      const b = this._pxBounds;
      const label = this._map && this._map.getZoom() >= LABEL_MIN_ZOOM ? 90 : 0;
      this._pxBounds = L.bounds(b.min.subtract([reach, reach]), b.max.add([reach + label, reach]));
    },
    _updatePath: function () {
      const renderer = this._renderer;
      renderer._updateCircle(this);
      if (!renderer._drawing || this._empty()) return;
      const ctx = renderer._ctx, p = this._point, data = this.towerData;
      if (data.state === "moving" && data.heading_deg !== undefined && data.heading_deg !== null) {
        const rad = data.heading_deg * Math.PI / 180;
        const inner = this._radius, outer = this._radius + 7;
        ctx.beginPath();
        ctx.moveTo(p.x + Math.sin(rad) * inner, p.y - Math.cos(rad) * inner);
        ctx.lineTo(p.x + Math.sin(rad) * outer, p.y - Math.cos(rad) * outer);
        ctx.lineWidth = 3;
        ctx.lineCap = "round";
        ctx.strokeStyle = this.options.fillColor;
        ctx.stroke();
      }
      if (this._map.getZoom() >= LABEL_MIN_ZOOM && data.label) {
        ctx.font = "11px sans-serif";
        ctx.lineWidth = 3;
        ctx.strokeStyle = "rgba(13,17,23,0.85)";
        ctx.fillStyle = "#f0f6fc";
        ctx.strokeText(data.label, p.x + this._radius + 4, p.y + 4);
        ctx.fillText(data.label, p.x + this._radius + 4, p.y + 4);
      }
    },
  });

  function panes(map) {
    const make = function (name, zIndex) {
      const pane = map.createPane(name);
      pane.style.zIndex = String(zIndex);
      pane.style.pointerEvents = "none";  // never covers the clickable canvas
      return pane;
    };
    make("towerRoutes", 350);
    make("towerTrail", 390);
    make("towerAlerts", 450);
    make("towerCritical", 451);
  }

  tower.init = function (map, config) {
    tower.map = map;
    tower.config = config || {};
    tower.trailSeconds = tower.config.trailSeconds || tower.trailSeconds;
    tower.trailSampleS = tower.config.trailSampleS || tower.trailSampleS;
    panes(map);
    tower.routeRenderer = L.canvas({ pane: "towerRoutes", padding: 0.2 });
    tower.trailRenderer = L.canvas({ pane: "towerTrail", padding: 0.2 });
    tower.renderer = L.canvas({ padding: 0.2 });
    tower.alertRenderer = L.svg({ pane: "towerAlerts" });
    tower.criticalRenderer = L.svg({ pane: "towerCritical" });
    // Critical rings pulse by dimming their whole pane twice a second. A CSS animation
    // on each ring made the page paint every frame (a thousand rings: a core's worth of
    // software rendering in the page and frames for the window to draw at 60 Hz).
    setInterval(function () {
      if (tower.alerts.critical.size) map.getPane("towerCritical").classList.toggle("tower-pulse-dim");
    }, PULSE_MS);
    const timed = tower.renderer._redraw;
    tower.renderer._redraw = function () {
      const started = performance.now();
      timed.call(this);
      remember(tower.stats.drawMs, performance.now() - started);
    };
    tower.routeLayer = L.layerGroup().addTo(map);
    tower.proposalLayer = L.layerGroup().addTo(map);
    tower.stopLayer = L.layerGroup().addTo(map);
    tower.vehicleLayer = L.layerGroup().addTo(map);
    tower.alertLayer = L.layerGroup().addTo(map);
    tower.depotLayer = L.layerGroup().addTo(map);
    tower.pickLayer = L.layerGroup().addTo(map);
    if (tower.config.depot) tower.drawDepot(tower.config.depot);
    tower.note = el("div", "tower-note", "");
    tower.note.style.display = "none";
    map.getContainer().appendChild(tower.note);
    tower.banner = el("div", "tower-banner", "");
    tower.banner.style.display = "none";
    map.getContainer().appendChild(tower.banner);
    tower.pickHint = el("div", "tower-pick-hint", "");
    tower.pickHint.style.display = "none";
    map.getContainer().appendChild(tower.pickHint);
    map.eachLayer(function (layer) {
      if (layer instanceof L.TileLayer) tower.watchTiles(layer);
    });
    // A tile server that neither answers nor refuses: no tile at all after a while is a failure.
    setTimeout(function () { if (!tower.tiles.loaded) tower.tilesFailed(true); },
      tower.config.tileTimeoutMs || 8000);
    if (typeof QWebChannel !== "undefined" && window.qt && qt.webChannelTransport) {
      new QWebChannel(qt.webChannelTransport, function (channel) {
        tower.bridge = channel.objects.bridge;
        tower.bridge.pageReady();
        // The window knows where the map looks (to put it back after a reset or reload).
        map.on("moveend", function () {
          const v = tower.view();
          tower.bridge.viewChanged(v.lat, v.lon, v.zoom);
        });
      });
    }
  };

  tower.watchTiles = function (layer) {
    layer.on("tileerror", function () {
      // One missing tile at the edge while others load is not "offline".
      if (Date.now() - tower.tiles.lastLoad > 10000) tower.tilesFailed(true);
    });
    layer.on("tileload", function () {
      tower.tiles.loaded += 1;
      tower.tiles.lastLoad = Date.now();
      if (tower.tiles.failed) tower.tilesFailed(false);
    });
  };

  tower.tilesFailed = function (failed) {
    tower.tiles.failed = failed;
    const container = tower.map.getContainer();
    if (failed) container.classList.add("tower-no-tiles");
    else container.classList.remove("tower-no-tiles");
    tower.note.textContent = failed ? NO_TILES_TEXT : "";
    tower.note.style.display = failed ? "block" : "none";
  };

  tower.drawDepot = function (d) {
    tower.depotLayer.clearLayers();
    const depot = L.circleMarker([d.lat, d.lon], {
      renderer: tower.renderer, radius: 10, weight: 3, color: "#f0f6fc", fillColor: "#8957e5", fillOpacity: 1,
    });
    depot.bindTooltip(function () { return tooltipNode(["Depot", d.name || d.id]); }, { direction: "top" });
    depot.addTo(tower.depotLayer);
  };

  // -- vehicles ------------------------------------------------------------------------------
  function vehicleTooltip(entry) {
    const v = entry.data;
    const lines = [(v.label || v.id) + (v.plate ? " · " + v.plate : "")];
    if (v.driver) lines.push("Driver: " + v.driver);
    lines.push("State: " + (STATE_TEXT[v.state] || v.state || ""));
    if (v.speed_kmh !== undefined && v.speed_kmh !== null) lines.push("Speed: " + Math.round(v.speed_kmh) + " km/h");
    if (v.next_stop) lines.push("Next stop: " + v.next_stop);
    if (v.last_seen !== undefined && v.last_seen !== null) {
      const now = tower.now !== null ? tower.now : Date.now() / 1000;
      // seen_text is the depot's wall clock, written by Python's one formatter.
      const when = v.seen_text ? v.seen_text + " " : "";
      lines.push("Last seen: " + when + "(" + Math.max(0, Math.round(now - v.last_seen)) + " s ago)");
    } else {
      lines.push("Last seen: never");
    }
    return tooltipNode(lines);
  }

  function vehicleStyle(data, selected) {
    const colour = VEHICLE_COLOURS[data.state] || VEHICLE_COLOURS.moving;
    return {
      radius: selected ? 10 : 7,
      weight: selected ? 3 : 2,
      color: selected ? "#f2cc60" : "#0d1117",
      fillColor: colour,
      fillOpacity: data.state === "offline" ? 0.45 : 1,
    };
  }

  // A vehicle's history is a flat [ts, lat, lon, ...] list, oldest first: live positions
  // the page saw, after the stored ones of setTrail.
  function addHistory(entry) {
    const v = entry.data, hist = entry.hist;
    // A van never seen waits at the depot: that is no position of its own.
    if (v.last_seen === undefined || v.last_seen === null) return;
    const ts = v.last_seen, n = hist.length;
    if (n && (ts - hist[n - 3] < tower.trailSampleS || (hist[n - 2] === v.lat && hist[n - 1] === v.lon))) return;
    hist.push(ts, v.lat, v.lon);
    // Points older than the trail are dropped once they fill a second trail's length,
    // so the list is cut once per trail length, not on every fix.
    const cutoff = ts - tower.trailSeconds;
    if (hist[0] < cutoff - tower.trailSeconds) {
      let old = 0;
      while (old < hist.length && hist[old] < cutoff) old += 3;
      hist.splice(0, old);
    }
  }

  function trailPoints(entry) {
    const hist = entry.hist, points = [];
    const cutoff = (entry.data.last_seen || Date.now() / 1000) - tower.trailSeconds;
    for (let i = 0; i < hist.length; i += 3) if (hist[i] >= cutoff) points.push([hist[i + 1], hist[i + 2]]);
    const last = points[points.length - 1], lat = entry.data.lat, lon = entry.data.lon;
    if (!last || last[0] !== lat || last[1] !== lon) points.push([lat, lon]);  // where it is now
    return points;
  }

  function upsertVehicle(v, hist) {
    let entry = tower.vehicles.get(v.id);
    if (!entry) {
      if (v.lat === undefined || v.lon === undefined) return;
      const data = Object.assign({ state: "moving" }, v);
      const marker = new VehicleMarker([v.lat, v.lon], Object.assign({ renderer: tower.renderer }, vehicleStyle(data, false)));
      marker.towerData = data;
      entry = { marker: marker, data: data, hist: hist || [] };
      marker.on("click", function () { tower.clicked("vehicle", data.id); });
      marker.bindTooltip(function () { return vehicleTooltip(entry); }, { direction: "top", offset: [0, -8] });
      tower.vehicles.set(v.id, entry);
      marker.addTo(tower.vehicleLayer);
      addHistory(entry);
      return;
    }
    const data = entry.data, oldState = data.state;
    Object.assign(data, v);
    if (oldState !== data.state) entry.marker.setStyle(vehicleStyle(data, tower.selected === data.id));
    // setLatLng also redraws when only the heading changed.
    entry.marker.setLatLng([data.lat, data.lon]);
    addHistory(entry);
    if (entry.marker.isTooltipOpen()) entry.marker.getTooltip().update();
    const ring = tower.rings.get("v:" + data.id);
    if (ring) ring.setLatLng([data.lat, data.lon]);
    if (tower.selected === data.id) {
      tower.trail.setLatLngs(trailPoints(entry));
      if (tower.following) tower.map.panTo([data.lat, data.lon], { animate: false });
    }
  }

  // -- stops ---------------------------------------------------------------------------------
  function stopTooltip(entry) {
    const s = entry.data;
    const lines = [s.label || s.id];
    if (s.customer) lines.push(s.customer);
    if (s.address) lines.push(s.address);
    lines.push("Status: " + String(s.status || "").replace("_", " "));
    if (s.window_text) lines.push("Window: " + s.window_text);
    if (s.eta_text) lines.push("ETA: " + s.eta_text);
    return tooltipNode(lines);
  }

  function upsertStop(s) {
    let entry = tower.stops.get(s.id);
    if (!entry) {
      if (s.lat === undefined || s.lon === undefined) return;
      const data = Object.assign({ status: "pending" }, s);
      const marker = L.circleMarker([s.lat, s.lon], {
        renderer: tower.renderer, radius: 4, weight: 1.5,
        color: data.vehicle_id ? routeColour(data.vehicle_id) : "#30363d",
        fillColor: STOP_COLOURS[data.status] || STOP_COLOURS.pending, fillOpacity: 0.95,
      });
      entry = { marker: marker, data: data };
      marker.on("click", function () { tower.clicked("stop", data.id); });
      marker.bindTooltip(function () { return stopTooltip(entry); }, { direction: "top" });
      marker.addTo(tower.stopLayer);
      tower.stops.set(s.id, entry);
      return;
    }
    const oldStatus = entry.data.status;
    Object.assign(entry.data, s);
    if (entry.data.status !== oldStatus) {
      entry.marker.setStyle({ fillColor: STOP_COLOURS[entry.data.status] || STOP_COLOURS.pending });
    }
    if (s.lat !== undefined && s.lon !== undefined) entry.marker.setLatLng([s.lat, s.lon]);
    if (entry.marker.isTooltipOpen()) entry.marker.getTooltip().update();
  }

  tower.clicked = function (kind, id) {
    if (!tower.bridge) return false;
    if (kind === "vehicle") tower.bridge.vehicleClicked(id);
    else tower.bridge.stopClicked(id);
    return true;
  };

  // -- the calls Python makes ----------------------------------------------------------------
  tower.setScene = function (scene) {
    // A new plan is no reason to forget where the vans have been: histories are kept.
    const histories = new Map();
    tower.vehicles.forEach(function (entry, id) { histories.set(id, entry.hist); });
    [tower.routeLayer, tower.stopLayer, tower.vehicleLayer].forEach(function (g) { g.clearLayers(); });
    tower.vehicles.clear();
    tower.stops.clear();
    tower.routeColours.clear();
    if (scene.now !== undefined && scene.now !== null) tower.now = scene.now;
    if (scene.depot) tower.drawDepot(scene.depot);
    (scene.routes || []).forEach(function (r) {
      L.polyline(r.points, {
        renderer: tower.routeRenderer, color: routeColour(r.vehicle_id), weight: 2, opacity: 0.6, interactive: false,
      }).addTo(tower.routeLayer);
    });
    (scene.stops || []).forEach(upsertStop);
    (scene.vehicles || []).forEach(function (v) { upsertVehicle(v, histories.get(v.id)); });
    if (tower.selected) tower.select(tower.selected, true);
    tower.drawAlerts();
    return tower.counts();
  };

  tower.update = function (batch) {
    const started = performance.now();
    if (batch.now !== undefined && batch.now !== null) tower.now = batch.now;
    const vehicles = batch.vehicles || [], stops = batch.stops || [];
    for (let i = 0; i < vehicles.length; i++) upsertVehicle(vehicles[i], null);
    for (let i = 0; i < stops.length; i++) upsertStop(stops[i]);
    const elapsed = performance.now() - started;
    remember(tower.stats.updateMs, elapsed);
    return elapsed;
  };

  tower.counts = function () {
    return { vehicles: tower.vehicles.size, stops: tower.stops.size };
  };

  tower.select = function (id, keepView) {
    const previous = tower.vehicles.get(tower.selected);
    if (previous) previous.marker.setStyle(vehicleStyle(previous.data, false));
    tower.selected = id || null;
    if (tower.trail) tower.trail.remove();
    tower.trail = null;
    const entry = tower.vehicles.get(id);
    if (!entry) return false;
    entry.marker.setStyle(vehicleStyle(entry.data, true));
    entry.marker.bringToFront();
    tower.trail = L.polyline(trailPoints(entry), {
      renderer: tower.trailRenderer, color: "#f2cc60", weight: 4, opacity: 0.9, interactive: false,
    }).addTo(tower.map);
    if (!keepView) tower.map.panTo(entry.marker.getLatLng());
    return true;
  };

  tower.setTrail = function (id, points) {
    // points: [[ts, lat, lon], ...] of one vehicle from storage, oldest first. Storage is
    // written in batches, so positions the page saw after the newest stored one are kept.
    const entry = tower.vehicles.get(id);
    if (!entry) return false;
    const hist = [];
    let newest = -Infinity;
    points.forEach(function (p) {
      hist.push(p[0], p[1], p[2]);
      newest = Math.max(newest, p[0]);
    });
    for (let i = 0; i < entry.hist.length; i += 3) {
      if (entry.hist[i] > newest) hist.push(entry.hist[i], entry.hist[i + 1], entry.hist[i + 2]);
    }
    entry.hist = hist;
    if (tower.selected === id && tower.trail) tower.trail.setLatLngs(trailPoints(entry));
    return true;
  };

  tower.trailLength = function () { return tower.trail ? tower.trail.getLatLngs().length : 0; };

  tower.follow = function (on) {
    tower.following = !!on;
    const entry = tower.vehicles.get(tower.selected);
    if (tower.following && entry) tower.map.panTo(entry.marker.getLatLng(), { animate: false });
  };

  tower.focus = function (lat, lon, zoom) {
    tower.map.setView([lat, lon], zoom || Math.max(tower.map.getZoom(), 15));
  };

  tower.fitAll = function () {
    const points = [];
    tower.vehicles.forEach(function (e) { points.push(e.marker.getLatLng()); });
    tower.stops.forEach(function (e) { points.push(e.marker.getLatLng()); });
    if (points.length) tower.map.fitBounds(L.latLngBounds(points).pad(0.05));
  };

  // Only the rings that changed are touched: a thousand open exceptions redrawn on every
  // change grew the page's work with the day's exceptions.
  tower.setAlerts = function (alerts) {
    tower.alerts = {
      vehicles: new Set(alerts.vehicles || []),
      stops: new Set(alerts.stops || []),
      critical: new Set(alerts.critical || []),
    };
    syncAlerts();
    return tower.alertCount();
  };

  tower.drawAlerts = function () {
    tower.alertLayer.clearLayers();
    tower.rings.clear();
    syncAlerts();
  };

  function addRing(key, latlng, id) {
    const critical = tower.alerts.critical.has(id);
    const layer = L.circleMarker(latlng, {
      renderer: critical ? tower.criticalRenderer : tower.alertRenderer, radius: critical ? 15 : 12, weight: critical ? 4 : 3,
      color: "#ff3b30", fill: false, interactive: false, className: critical ? "tower-critical" : "tower-alert",
    }).addTo(tower.alertLayer);
    layer.towerCritical = critical;
    tower.rings.set(key, layer);
  }

  function syncAlerts() {
    const wanted = new Set();
    const want = function (prefix, ids, entries) {
      ids.forEach(function (id) {
        const e = entries.get(id);
        if (!e) return;
        const key = prefix + id;
        wanted.add(key);
        const layer = tower.rings.get(key);
        if (layer && layer.towerCritical === tower.alerts.critical.has(id)) return;
        if (layer) tower.alertLayer.removeLayer(layer);
        addRing(key, e.marker.getLatLng(), id);
      });
    };
    want("v:", tower.alerts.vehicles, tower.vehicles);
    want("s:", tower.alerts.stops, tower.stops);
    tower.rings.forEach(function (layer, key) {
      if (!wanted.has(key)) {
        tower.alertLayer.removeLayer(layer);
        tower.rings.delete(key);
      }
    });
  }

  tower.alertCount = function () { return tower.alertLayer.getLayers().length; };

  tower.setProposal = function (routes) {
    tower.proposalLayer.clearLayers();
    (routes || []).forEach(function (r) {
      L.polyline(r.points, {
        renderer: tower.routeRenderer, color: r.vehicle_id ? routeColour(r.vehicle_id) : "#f2cc60",
        weight: 3, dashArray: "8 6", opacity: 0.95, interactive: false,
      }).addTo(tower.proposalLayer);
    });
    return tower.proposalLayer.getLayers().length;
  };

  // The window's theme: "light" or "dark" (the page's CSS follows the body's class).
  tower.setTheme = function (name) {
    document.body.classList.toggle("tower-light", name === "light");
    document.body.classList.toggle("tower-dark", name !== "light");
    return name;
  };

  // Where the map looks and how close, to put it back after the window moved things.
  tower.view = function () {
    const c = tower.map.getCenter();
    return { lat: c.lat, lon: c.lng, zoom: tower.map.getZoom() };
  };

  // Put the map back to a view, and keep it there through the resizes of the next second
  // (the window lays its docks out again: the map's size changes after this call).
  tower.setView = function (view) {
    const put = function () { tower.map.setView([view.lat, view.lon], view.zoom, { animate: false }); };
    put();
    tower.map.on("resize", put);
    setTimeout(function () { tower.map.off("resize", put); }, 1000);
    return tower.view();
  };

  tower.setStale = function (stale, text) {
    tower.banner.textContent = stale ? (text || "Telemetry is stale") : "";
    tower.banner.style.display = stale ? "block" : "none";
  };

  // -- picking a place (the urgent-order dialog) ----------------------------------------------
  // While on, the next click on the map is sent to the window (bridge.pointPicked) and
  // marked; the hint is text, never markup.
  tower.pickPoint = function (on, text) {
    const map = tower.map;
    map.off("click", pointPicked);
    tower.picking = !!on;
    map.getContainer().classList.toggle("tower-picking", tower.picking);
    tower.pickHint.textContent = tower.picking ? (text || "Click the map") : "";
    tower.pickHint.style.display = tower.picking ? "block" : "none";
    if (tower.picking) map.on("click", pointPicked);
    return tower.picking;
  };

  function pointPicked(e) {
    tower.pickPoint(false);
    tower.showPicked(e.latlng.lat, e.latlng.lng);
    if (tower.bridge) tower.bridge.pointPicked(e.latlng.lat, e.latlng.lng);
  }

  tower.showPicked = function (lat, lon) {
    tower.pickLayer.clearLayers();
    if (lat === null || lon === null) return 0;
    L.circleMarker([lat, lon], {
      radius: 9, color: "#ffffff", weight: 3, fillColor: "#d29922", fillOpacity: 0.9,
      renderer: tower.alertRenderer,
    }).bindTooltip(function () { return tooltipNode(["Urgent order"]); }, { direction: "top" })
      .addTo(tower.pickLayer);
    return tower.pickLayer.getLayers().length;
  };

  // -- read-backs for tests and benchmarks -----------------------------------------------------
  tower.pickHintText = function () { return tower.picking ? tower.pickHint.textContent : ""; };
  tower.vehiclePosition = function (id) {
    const entry = tower.vehicles.get(id);
    if (!entry) return null;
    const p = entry.marker.getLatLng();
    return { lat: p.lat, lon: p.lng, state: entry.data.state, colour: entry.marker.options.fillColor };
  };

  tower.selectedVehicle = function () { return tower.selected; };

  tower.trailLatLngs = function () {
    return tower.trail ? tower.trail.getLatLngs().map(function (p) { return [p.lat, p.lng]; }) : [];
  };

  tower.center = function () {
    const c = tower.map.getCenter();
    return { lat: c.lat, lon: c.lng };
  };

  tower.stopStatus = function (id) {
    const entry = tower.stops.get(id);
    return entry ? entry.data.status : null;
  };

  tower.tooltipText = function (kind, id) {
    const entry = (kind === "vehicle" ? tower.vehicles : tower.stops).get(id);
    if (!entry) return null;
    const node = entry.marker.getTooltip()._content(entry.marker);
    return {
      text: node.textContent,
      elements: node.querySelectorAll("*").length,
      images: node.querySelectorAll("img").length,
      lines: Array.from(node.children).map(function (c) { return c.textContent; }),
    };
  };

  tower.noteText = function () { return tower.note.style.display === "none" ? "" : tower.note.textContent; };
  tower.bannerText = function () { return tower.banner.style.display === "none" ? "" : tower.banner.textContent; };
  tower.imageCount = function () { return document.querySelectorAll("img:not(.leaflet-tile)").length; };

  tower.timings = function () {
    const median = function (xs) {
      if (!xs.length) return null;
      const s = xs.slice().sort(function (a, b) { return a - b; });
      return s[Math.floor(s.length / 2)];
    };
    return { updateMs: median(tower.stats.updateMs), drawMs: median(tower.stats.drawMs), draws: tower.stats.drawMs.length };
  };

  window.tower = tower;
})();
