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
  map.createPane("arrows").style.zIndex = 640;
  map.createPane("labels").style.zIndex = 660;
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

// Mercator is conformal: the angle of a short piece of line on screen is the same at every zoom.
function screenAngle(a, b) {
  const rad = Math.PI / 180;
  const merc = (lat) => Math.log(Math.tan(Math.PI / 4 + (lat * rad) / 2));
  let dlon = b[0] - a[0];
  if (dlon > 180) dlon -= 360; else if (dlon < -180) dlon += 360;
  return (Math.atan2(-(merc(b[1]) - merc(a[1])), dlon * rad) * 180) / Math.PI;
}

// The point halfway along a leg's drawn lines (in map units) and the direction flown there.
function halfway(lines) {
  const pieces = [];
  let total = 0;
  for (const line of lines) for (let k = 1; k < line.length; k++) {
    const d = Math.hypot(line[k][0] - line[k - 1][0], line[k][1] - line[k - 1][1]);
    if (d > 0 && d < 180) { pieces.push([line[k - 1], line[k], d]); total += d; }
  }
  let run = 0;
  for (const [a, b, d] of pieces) {
    if (run + d >= total / 2) {
      const f = (total / 2 - run) / d;
      return { at: [a[1] + f * (b[1] - a[1]), a[0] + f * (b[0] - a[0])], angle: screenAngle(a, b) };
    }
    run += d;
  }
  return null;
}

const linesOf = (g) => (!g ? [] : g.type === "LineString" ? [g.coordinates] : g.type === "MultiLineString" ? g.coordinates : []);

function drawItineraryMap(node, result, it) {
  const collection = result.map;
  const map = baseMap(node);
  const api_ = { onLeg: null, onStop: null };
  const byLeg = new Map();
  const drawn = new Set();
  let restoring = false;  // the view is being set (permalink, print): not the reader's move
  const features = (collection && collection.features) || [];
  const legs = it.legs || [];
  const cities = result.cities || {};
  // a layer of the collection's features, each named on hover (text nodes: `tip`), listed as drawn
  const overlay = (name, picked, className, text) => {
    if (!picked.length) return;
    drawn.add(name);
    L.geoJSON({ type: "FeatureCollection", features: picked }, {
      style: () => ({ className }),
      onEachFeature: (f, lyr) => { lyr.bindTooltip(tip(text(f.properties)), { sticky: true }); },
    }).addTo(map);
  };
  // barred airspace: the jurisdictions a leg's direct line or track crosses, shaded, named on hover
  overlay("banned", features.filter((f) => f.properties.kind === "banned_airspace"), "banned",
    (p) => `${p.name || p.country}: barred to ${p.bars || "this aircraft"}` +
      (p.since ? ` since ${p.since}` : "") + (p.instrument ? ` (${p.instrument})` : ""));
  // a leg's legal shortest path, where its direct line is barred (elsewhere it is the direct line)
  overlay("legal", features.filter((f) => f.properties.kind === "legal_route" && (f.properties.direct_barred || []).length),
    "legal", (p) => `leg ${p.leg + 1}: shortest legal path ${fmtKm(p.legal_shortest_km)}, around ${(p.direct_barred || []).join(", ")}`);
  const segs = features.filter((f) => f.properties.kind === "leg_segment");
  const layer = L.geoJSON({ type: "FeatureCollection", features: segs }, {
    style: (f) => ({ className: `leg leg-${f.properties.leg} ${f.properties.evidence === "inferred" ? "inferred" : "observed"}` }),
    onEachFeature: (f, lyr) => {
      const p = f.properties;
      drawn.add(p.evidence === "inferred" ? "inferred" : "observed");
      if (!byLeg.has(p.leg)) byLeg.set(p.leg, []);
      byLeg.get(p.leg).push(lyr);
      const leg = legs[p.leg] || p;  // the table's own take-off and landing times
      lyr.bindTooltip(tip(`leg ${p.leg + 1} ${p.label || ""} · ${p.evidence}${p.why ? " · " + p.why : ""}` +
        ` · take-off ${fmtTime(leg.takeoff)}, landing ${fmtTime(leg.landing)}`), { sticky: true });
      lyr.on("click", () => api_.onLeg && api_.onLeg(p.leg));
    },
  }).addTo(map);
  // one arrow per leg, halfway along it, pointing the way it was flown (a fixed size at every zoom)
  const segLines = new Map();
  for (const f of segs) {
    if (!segLines.has(f.properties.leg)) segLines.set(f.properties.leg, []);
    segLines.get(f.properties.leg).push(...linesOf(f.geometry));
  }
  const arrows = [];
  for (const [leg, lines] of segLines) {
    const mid = halfway(lines);
    if (!mid) continue;
    const head = el("span", { class: "arrowhead" });
    head.style.transform = `rotate(${mid.angle.toFixed(1)}deg)`;
    const m = L.marker(mid.at, { pane: "arrows", interactive: false, keyboard: false,
      icon: L.divIcon({ className: `arrow leg-${leg}`, html: head, iconSize: [14, 14] }) }).addTo(map);
    arrows.push({ leg, at: mid.at, angle: mid.angle, marker: m });
    drawn.add("arrow");
  }
  const stopLayers = [];
  const labels = [];
  const labelled = new Set();
  const places = result.places || {};
  const located = (c) => (c && c.latitude !== undefined && c.latitude !== null ? [c.latitude, c.longitude]
    : c && places[c.icao] ? places[c.icao] : null);
  const endOf = (leg, last) => {  // the first or last drawn position of a leg
    const lines = segLines.get(leg) || [];
    const line = last ? lines[lines.length - 1] : lines[0];
    if (!line || !line.length) return null;
    const p = last ? line[line.length - 1] : line[0];
    return [p[1], p[0]];
  };
  (it.stops || []).forEach((s, i) => {
    const here = located(s.airport);
    // an unknown stop has no airport: draw it at its best candidate, with rings at the others
    const candidates = here ? [] : [...(s.candidates || []), ...(s.alternatives || [])].filter((c) => located(c));
    const at = here || (candidates.length ? located(candidates[0]) : null);
    if (!at) { stopLayers.push(null); return; }
    const ev = s.evidence || "unknown";
    drawn.add(`stop-${ev}`);
    const m = L.circleMarker(at, { pane: "stops", radius: 7, className: `stop ${ev}${here ? "" : " at-candidate"}` });
    m.bindTooltip(tip(here ? `${s.airport.icao || "?"}${cities[s.airport.icao] ? " " + cities[s.airport.icao] : ""} · ${ev}` +
      (s.arrival ? ` · landed ${fmtTime(s.arrival)}` : "") + (s.departure ? ` · took off ${fmtTime(s.departure)}` : "")
      : `${ev} stop · candidates ${candidates.map((c) => c.icao).join("/")}`));
    m.on("click", () => api_.onStop && api_.onStop(i));
    m.addTo(map);
    for (const c of candidates.slice(1)) {
      drawn.add("candidate");
      L.circleMarker(located(c), { pane: "stops", radius: 5, className: "candidate" })
        .bindTooltip(tip(`candidate ${c.icao}${c.score !== undefined ? " · score " + Number(c.score).toFixed(2) : ""}`))
        .on("click", () => api_.onStop && api_.onStop(i)).addTo(map);
    }
    if (!here) {  // the observed pieces either side joined to the unknown stop by a dashed line
      const ends = [endOf(i - 1, true), at, endOf(i, false)].filter(Boolean);
      if (ends.length > 1) {
        L.polyline(ends, { className: "unknown-link", interactive: false }).addTo(map);
        drawn.add("unknown-link");
      }
    }
    const code = here ? s.airport.icao : null;
    const labelText = code || `${candidates.map((c) => c.icao).join("/")}?`;
    if (!labelled.has(labelText)) {  // an airport is labelled once however often it is visited
      labelled.add(labelText);
      const city = code ? cities[code] : null;
      const label = el("span", { class: `label ${ev}` }, el("b", { text: labelText }), city ? el("span", { class: "city", text: city }) : null);
      // an unknown stop's label goes under its mark: the candidate it is drawn at has its own label above
      L.marker(at, { pane: "labels", interactive: false, keyboard: false,
        icon: L.divIcon({ className: "ap-label", html: label, iconSize: null, iconAnchor: here ? [-8, 8] : [-8, -8] }) }).addTo(map);
      labels.push({ at, code: labelText, city });
    }
    stopLayers.push(m);
  });
  const bounds = layer.getBounds();
  for (const m of stopLayers) if (m) bounds.extend(m.getLatLng());
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], animate: false });  // no animation a permalink's view could race
  api_.highlightLeg = (i, move = true) => {
    for (const [leg, lyrs] of byLeg) for (const l of lyrs) {
      const path = l.getElement ? l.getElement() : null;
      if (path) path.classList.toggle("selected", leg === i);
    }
    const lyrs = byLeg.get(i) || [];
    if (move && lyrs.length) {
      const b = L.featureGroup(lyrs).getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [30, 30], maxZoom: 7 });
    }
  };
  // on paper the map shows the whole itinerary at the printed size; the reader's view comes back after
  const whole = L.latLngBounds(bounds.getSouthWest(), bounds.getNorthEast());
  let saved = null;
  const printing = window.matchMedia("print");
  const onPrint = (on) => {
    if (!node.isConnected) {  // the page moved on: this map is gone
      printing.removeEventListener("change", onMedia);
      window.removeEventListener("beforeprint", before);
      window.removeEventListener("afterprint", after);
      return;
    }
    if (on && !saved && whole.isValid()) {
      saved = [map.getCenter(), map.getZoom()];
      restoring = true;
      map.invalidateSize({ animate: false });
      map.fitBounds(whole, { padding: [10, 10], animate: false });
    } else if (!on && saved) {
      map.invalidateSize({ animate: false });
      map.setView(saved[0], saved[1], { animate: false });
      saved = null;
      restoring = false;
    }
  };
  const onMedia = (e) => onPrint(e.matches);
  const before = () => onPrint(true);
  const after = () => onPrint(false);
  printing.addEventListener("change", onMedia);
  window.addEventListener("beforeprint", before);
  window.addEventListener("afterprint", after);
  api_.focusStop = (i, move = true) => {
    const m = stopLayers[i];
    if (m && move) map.panTo(m.getLatLng());
  };
  // the legend names only what is drawn
  api_.legend = () => {
    const items = [
      ["observed", el("i", { class: "swatch" }), "observed track"],
      ["inferred", el("i", { class: "swatch inferred" }), "inferred across a gap"],
      ["arrow", el("i", { class: "arrowhead" }), "direction of flight"],
      ["legal", el("i", { class: "swatch legal" }), "legal shortest path (where the direct line is barred)"],
      ["banned", el("i", { class: "swatch banned" }), "airspace barred to this aircraft"],
      ["stop-observed", el("i", { class: "dot observed" }), "stop, observed"],
      ["stop-inferred", el("i", { class: "dot inferred" }), "stop, inferred"],
      ["stop-unknown", el("i", { class: "dot unknown" }), "stop, unknown (at its best candidate)"],
      ["candidate", el("i", { class: "dot candidate" }), "other candidate"],
      ["unknown-link", el("i", { class: "swatch unknown-link" }), "to and from an unknown stop"],
    ].filter(([k]) => drawn.has(k)).map(([k, icon, text]) => el("span", { dataset: { item: k } }, icon, text));
    return [...items, el("span", { class: "hint", text: "wheel or +/- to zoom, drag to pan" })];
  };
  // permalink: the selection and the view in the URL's hash
  api_.remember = () => {
    if (restoring) return;
    const c = map.getCenter();
    const h = new URLSearchParams();
    if (state.selected) { const [k, v] = state.selected.split("="); h.set(k, v); }
    // a view within a pixel of the permalink's is the same view: a resize (the window, the end of
    // printing) keeps the centre but can round it half a pixel off, which must not move the link
    const was = /^(\d{1,2})\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(new URLSearchParams(location.hash.slice(1)).get("map") || "");
    const zoom = map.getZoom();
    const same = was && Number(was[1]) === zoom
      && map.project([Number(was[2]), Number(was[3])], zoom).distanceTo(map.project(c, zoom)) <= 1.5;
    h.set("map", same ? `${was[1]}/${was[2]}/${was[3]}` : `${zoom}/${c.lat.toFixed(3)}/${c.lng.toFixed(3)}`);
    history.replaceState(history.state, "", `${location.pathname}${location.search}#${h}`);
  };
  api_.restore = (view) => {
    const m = /^(\d{1,2})\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(view || "");
    if (m) { restoring = true; map.setView([Number(m[2]), Number(m[3])], Number(m[1]), { animate: false }); restoring = false; }
    map.on("moveend", api_.remember);
  };
  // the map as an SVG file: what Leaflet drew, placed as on screen, with labels and arrows as text and paths
  api_.downloadSvg = () => {
    const size = map.getSize();
    const NS = "http://www.w3.org/2000/svg";
    const out = document.createElementNS(NS, "svg");
    out.setAttribute("xmlns", NS);
    out.setAttribute("width", size.x); out.setAttribute("height", size.y);
    out.setAttribute("viewBox", `0 0 ${size.x} ${size.y}`);
    const style = document.createElementNS(NS, "style");
    style.textContent = SVG_STYLE;
    out.append(style);
    const bg = document.createElementNS(NS, "rect");
    bg.setAttribute("width", size.x); bg.setAttribute("height", size.y); bg.setAttribute("fill", "#dfeaf3");
    out.append(bg);
    const origin = node.getBoundingClientRect();
    for (const svg of node.querySelectorAll("svg.leaflet-zoom-animated")) {
      const r = svg.getBoundingClientRect();
      const copy = svg.cloneNode(true);
      copy.setAttribute("x", (r.left - origin.left).toFixed(1)); copy.setAttribute("y", (r.top - origin.top).toFixed(1));
      copy.removeAttribute("style");
      out.append(copy);
    }
    for (const a of arrows) {
      const p = map.latLngToContainerPoint(a.at);
      const g = document.createElementNS(NS, "path");
      g.setAttribute("class", "arrow");
      g.setAttribute("d", "M -6 -5 L 7 0 L -6 5 Z");
      g.setAttribute("transform", `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)}) rotate(${a.angle.toFixed(1)})`);
      out.append(g);
    }
    for (const l of labels) {
      const p = map.latLngToContainerPoint(l.at);
      const t = document.createElementNS(NS, "text");
      t.setAttribute("x", (p.x + 9).toFixed(1)); t.setAttribute("y", (p.y - 4).toFixed(1));
      t.textContent = l.code;
      out.append(t);
      if (l.city) {
        const c = document.createElementNS(NS, "text");
        c.setAttribute("class", "city"); c.setAttribute("x", (p.x + 9).toFixed(1)); c.setAttribute("y", (p.y + 9).toFixed(1));
        c.textContent = l.city;
        out.append(c);
      }
    }
    const blob = new Blob([new XMLSerializer().serializeToString(out)], { type: "image/svg+xml" });
    const a = el("a", { href: URL.createObjectURL(blob), download: `${(it.aircraft || {}).registration || "itinerary"}-map.svg` });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    return out;
  };
  node.dataset.legs = String(byLeg.size);
  node.dataset.stops = String(stopLayers.filter(Boolean).length);
  node.dataset.arrows = String(arrows.length);
  return api_;
}

// The downloaded SVG carries its own styles (the page's stylesheet does not travel with it).
const SVG_STYLE = `path{fill:none} path.land{fill:#f3f1ea;stroke:#a9b1bd;stroke-width:.7}
path.banned{fill:#fca5a5;fill-opacity:.45;stroke:#dc2626;stroke-width:.8}
path.leg{stroke-width:3} path.leg.observed{stroke:#1f6fd0} path.leg.inferred{stroke:#c2410c;stroke-dasharray:6 6}
path.legal{stroke:#15803d;stroke-width:1.2;stroke-dasharray:2 4} path.unknown-link{stroke:#6b7280;stroke-width:1.5;stroke-dasharray:4 4}
path.stop{stroke:#fff;stroke-width:2} path.stop.observed{fill:#1f6fd0} path.stop.inferred{fill:#c2410c} path.stop.unknown{fill:#6b7280}
path.candidate{fill:#fff;stroke:#6b7280;stroke-width:2;stroke-dasharray:2 2} path.arrow{fill:#1d2430}
text{font:bold 11px sans-serif;fill:#1d2430;paint-order:stroke;stroke:#fff;stroke-width:3px} text.city{font-weight:normal;font-size:10px}`;

/* ---------- watchlist ---------- */
