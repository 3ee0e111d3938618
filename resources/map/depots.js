// The admin's depot editor on the map page (Admin -> Depots): each depot a pin the admin
// drags to correct its position; the drop goes to the window (bridge.depotMoved), and the
// window moves a pin when its latitude or longitude is typed. Names are tooltip text,
// never markup.
(function () {
  "use strict";

  const tower = window.tower;
  const pins = new Map();  // depot id -> L.Marker

  function nameNode(text) {
    const node = document.createElement("div");
    node.className = "tower-tooltip";
    node.textContent = String(text);
    return node;
  }

  tower.editDepots = function (depots) {
    tower.depotLayer.clearLayers();  // the live map's depot circle: the pins stand for it
    pins.forEach(function (pin) { pin.remove(); });
    pins.clear();
    for (const d of depots) {
      const pin = L.marker([d.lat, d.lon], {
        draggable: true, autoPan: true, keyboard: false,
        icon: L.divIcon({ className: "tower-depot-pin", iconSize: [20, 20] }),
      });
      pin.bindTooltip(function () { return nameNode(d.name || d.id); }, { direction: "top" });
      pin.on("dragend", function () {
        const p = pin.getLatLng();
        if (tower.bridge) tower.bridge.depotMoved(d.id, p.lat, p.lng);
      });
      pin.addTo(tower.map);
      pins.set(d.id, pin);
    }
    return pins.size;
  };

  // The pin to (lat, lon); with ``picked`` it is the form's depot: marked and centred.
  tower.moveDepotPin = function (id, lat, lon, picked) {
    const pin = pins.get(id);
    if (!pin) return false;
    pin.setLatLng([lat, lon]);
    if (picked) {
      pins.forEach(function (other, otherId) {
        const node = other.getElement();
        if (node) node.classList.toggle("tower-depot-pin-picked", otherId === id);
      });
      tower.map.panTo([lat, lon]);
    }
    return true;
  };

  // -- read-backs and a drop for tests -------------------------------------------------------
  tower.depotPin = function (id) {
    const pin = pins.get(id);
    if (!pin) return null;
    const p = pin.getLatLng();
    const node = pin.getElement();
    return {
      lat: p.lat, lon: p.lng, draggable: pin.dragging.enabled(),
      picked: !!node && node.classList.contains("tower-depot-pin-picked"),
    };
  };

  // What the end of a drag does, without a mouse: the pin at (lat, lon), then its dragend.
  tower.dropDepotPin = function (id, lat, lon) {
    const pin = pins.get(id);
    if (!pin) return false;
    pin.setLatLng([lat, lon]);
    pin.fire("dragend");
    return true;
  };
})();
