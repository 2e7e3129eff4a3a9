// The itinerary map: the packaged country outlines under clickable legs and stops, no tiles, no
// network (loaded before investigate.js).
// Leaflet sets a *string* given to bindTooltip/bindPopup as HTML; every tooltip here is given a
// node whose text is set with textContent (`tip`), so a callsign or a name from the data stays text.
"use strict";

function tip(text) {
  return el("span", { text: String(text) });
}

async function countries() {
  if (!state.countries) state.countries = api("/api/countries");
  return state.countries;
}

function baseMap(node) {
  const map = L.map(node, { worldCopyJump: true, preferCanvas: false, attributionControl: false, minZoom: 1, maxZoom: 12 });
  map.createPane("stops").style.zIndex = 650;
  map.on("zoomend moveend", () => {  // the view, readable from outside (tests, bookmarks to come)
    const c = map.getCenter();
    node.dataset.zoom = String(map.getZoom());
    node.dataset.center = `${c.lat.toFixed(3)},${c.lng.toFixed(3)}`;
  });
  map.setView([30, 10], 2);
  countries().then((geo) => {
    L.geoJSON(geo, { interactive: false, style: () => ({ className: "land" }) }).addTo(map).bringToBack();
  }).catch((err) => node.append(el("p", { class: "error", text: `country outlines: ${err.message}` })));
  return map;
}

function drawItineraryMap(node, result, it) {
  const collection = result.map;
  const map = baseMap(node);
  const api_ = { onLeg: null, onStop: null };
  const byLeg = new Map();
  const features = (collection && collection.features) || [];
  const banned = features.filter((f) => f.properties.kind === "banned_airspace");
  if (banned.length) L.geoJSON({ type: "FeatureCollection", features: banned }, { interactive: false, style: () => ({ className: "banned" }) }).addTo(map);
  const legal = features.filter((f) => f.properties.kind === "legal_route");
  if (legal.length) L.geoJSON({ type: "FeatureCollection", features: legal }, { interactive: false, style: () => ({ className: "legal" }) }).addTo(map);
  const segs = features.filter((f) => f.properties.kind === "leg_segment");
  const layer = L.geoJSON({ type: "FeatureCollection", features: segs }, {
    style: (f) => ({ className: `leg leg-${f.properties.leg} ${f.properties.evidence === "inferred" ? "inferred" : "observed"}` }),
    onEachFeature: (f, lyr) => {
      const p = f.properties;
      if (!byLeg.has(p.leg)) byLeg.set(p.leg, []);
      byLeg.get(p.leg).push(lyr);
      lyr.bindTooltip(tip(`leg ${p.leg + 1} ${p.label || ""} · ${p.evidence}${p.why ? " · " + p.why : ""}`), { sticky: true });
      lyr.on("click", () => api_.onLeg && api_.onLeg(p.leg));
    },
  }).addTo(map);
  const stopLayers = [];
  const places = result.places || {};
  const located = (c) => (c && c.latitude !== undefined && c.latitude !== null ? [c.latitude, c.longitude]
    : c && places[c.icao] ? places[c.icao] : null);
  (it.stops || []).forEach((s, i) => {
    const here = located(s.airport);
    // an unknown stop has no airport: draw it at its best candidate, with rings at the others
    const candidates = here ? [] : [...(s.candidates || []), ...(s.alternatives || [])].filter((c) => located(c));
    const at = here || (candidates.length ? located(candidates[0]) : null);
    if (!at) { stopLayers.push(null); return; }
    const ev = s.evidence || "unknown";
    const m = L.circleMarker(at, { pane: "stops", radius: 7, className: `stop ${ev}${here ? "" : " at-candidate"}` });
    m.bindTooltip(tip(here ? `${s.airport.icao || "?"} · ${ev}` : `${ev} stop · candidates ${candidates.map((c) => c.icao).join("/")}`));
    m.on("click", () => api_.onStop && api_.onStop(i));
    m.addTo(map);
    for (const c of candidates.slice(1)) {
      L.circleMarker(located(c), { pane: "stops", radius: 5, className: "candidate" })
        .bindTooltip(tip(`candidate ${c.icao}${c.score !== undefined ? " · score " + Number(c.score).toFixed(2) : ""}`))
        .on("click", () => api_.onStop && api_.onStop(i)).addTo(map);
    }
    stopLayers.push(m);
  });
  const bounds = layer.getBounds();
  for (const m of stopLayers) if (m) bounds.extend(m.getLatLng());
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20] });
  api_.highlightLeg = (i) => {
    for (const [leg, lyrs] of byLeg) for (const l of lyrs) {
      const path = l.getElement ? l.getElement() : null;
      if (path) path.classList.toggle("selected", leg === i);
    }
    const lyrs = byLeg.get(i) || [];
    if (lyrs.length) {
      const b = L.featureGroup(lyrs).getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [30, 30], maxZoom: 7 });
    }
  };
  api_.focusStop = (i) => {
    const m = stopLayers[i];
    if (m) map.panTo(m.getLatLng());
  };
  node.dataset.legs = String(byLeg.size);
  node.dataset.stops = String(stopLayers.filter(Boolean).length);
  return api_;
}

/* ---------- watchlist ---------- */
