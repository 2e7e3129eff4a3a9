/* tailwatch serve: the investigator's pages (search, aircraft + itinerary, watchlist, live).
   One script renders the route it is opened at from the JSON API of the same server.
   Text is always set with textContent (never innerHTML), so archive contents cannot inject markup.
   The map is Leaflet (vendored) over the packaged country outlines: no tiles, nothing from the network. */
"use strict";

const main = document.getElementById("main");
const state = { countries: null, liveTimer: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function put(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

async function api(path) {
  const res = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    const err = new Error((body && body.error) || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

const fmtTime = (t) => (t ? String(t).replace("T", " ").replace(/(\.\d+)?Z$/, "Z") : "—");
const fmtKm = (v) => (v === null || v === undefined ? "—" : `${Math.round(v).toLocaleString("en")} km`);
const fmtNum = (v, d = 0) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("en", { maximumFractionDigits: d }));
const badge = (ev) => el("span", { class: `badge ${ev || "unknown"}`, text: ev || "unknown" });
const airport = (ref) => (ref ? `${ref.icao || "?"}${ref.name ? " " + ref.name : ""}${ref.country ? " (" + ref.country + ")" : ""}` : "unknown");

function table(headers, rows, cls) {
  return el("table", { class: cls || "" },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { class: h.num ? "num" : "", text: h.label || h })))),
    el("tbody", {}, rows));
}

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== "")
    .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}

function showError(where, err) {
  put(where, el("p", { class: "error", role: "alert", text: err.message || String(err) }));
}

/* ---------- routing ---------- */

function route() {
  if (state.liveTimer) { clearInterval(state.liveTimer); state.liveTimer = null; }
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  const m = path.match(/^\/aircraft\/(~?[0-9a-fA-F]{6})$/);
  if (m) return aircraftPage(m[1].toLowerCase(), params);
  if (path === "/watchlist") return watchlistPage();
  if (path === "/live") return livePage();
  return searchPage(params.get("q") || "");
}

function go(url) {
  history.pushState({}, "", url);
  route();
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-nav]");
  if (a && !e.ctrlKey && !e.metaKey && !e.shiftKey) { e.preventDefault(); go(a.getAttribute("href")); }
});
window.addEventListener("popstate", route);
document.getElementById("search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (q) go(`/?q=${encodeURIComponent(q)}`);
});
for (const a of document.querySelectorAll("nav a")) a.dataset.nav = "1";

/* ---------- search ---------- */

async function searchPage(q) {
  document.getElementById("q").value = q;
  document.title = q ? `${q} — tailwatch` : "tailwatch";
  const box = el("section", { class: "box", id: "results" });
  put(main, box);
  if (!q) {
    box.append(el("h1", { text: "Search the archive" }),
      el("p", { class: "muted", text: "Type a hex address (1533ad), a registration (RA-78765), a callsign, an operator or a list entry, then Enter." }));
    return;
  }
  box.append(el("p", { class: "muted", text: `searching for ${q}…` }));
  try {
    const r = await api(`/api/search?q=${encodeURIComponent(q)}`);
    const items = r.aircraft.map((h) => el("li", { dataset: { icao24: h.icao24 } },
      el("a", { class: "hit", href: `/aircraft/${h.icao24}`, "data-nav": "1", text: `${h.registration || "registration unknown"} · ${h.icao24}` }),
      " ", h.lists.length ? el("span", { class: "badge inferred", text: "listed" }) : null,
      el("div", { class: "muted", text: `matched: ${h.matched.join("; ")}` }),
      el("div", { text: h.points ? `${fmtNum(h.points)} positions, ${fmtTime(h.first_seen)} → ${fmtTime(h.last_seen)}` : "not seen in this archive" }),
      h.lists.length ? el("div", { text: `lists: ${h.lists.join(", ")}` }) : null));
    put(box, el("h1", {}, `Results for “${r.query}” `, el("small", { text: `${r.aircraft.length} aircraft` })),
      items.length ? el("ul", { class: "results" }, items) : el("p", { class: "empty", text: "no aircraft matches" }));
    if (r.unresolved_entries.length) {
      box.append(el("h2", { text: "List entries with no known address" }),
        table(["list", "entry", "name", "registrations", "reason"], r.unresolved_entries.map((e) =>
          el("tr", {}, el("td", { text: e.list }), el("td", { text: e.id }), el("td", { text: e.name || "" }),
            el("td", { text: e.registrations.join(", ") }), el("td", { text: e.reason || "" })))));
    }
  } catch (err) { showError(box, err); }
}

/* ---------- aircraft ---------- */

function dayStart(t) { return t ? t.slice(0, 10) + "T00:00:00Z" : ""; }
function nextDay(t) {
  if (!t) return "";
  const d = new Date(t.slice(0, 10) + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().replace(".000Z", "Z");
}

async function aircraftPage(icao24, params) {
  const head = el("section", { class: "box", id: "identity" }, el("p", { class: "muted", text: `loading ${icao24}…` }));
  const timeline = el("section", { class: "box timeline", id: "timeline" });
  const itin = el("section", { class: "box", id: "itinerary" });
  put(main, head, itin, timeline);
  let data;
  try { data = await api(`/api/aircraft/${icao24}`); } catch (err) { return showError(head, err); }
  const id = data.identity;
  document.title = `${id.registration || icao24} — tailwatch`;
  const found = id.found_by || {};
  put(head, 
    el("h1", {}, `${id.registration || "registration unknown"} `, el("small", { text: `${id.icao24} · ${id.typecode || "type unknown"}` })),
    facts([
      ["address", `${id.icao24}${found.icao24 ? ` (${found.icao24})` : ""}`],
      ["registration", `${id.registration || "unknown"}${found.registration ? ` (${found.registration})` : ""}`],
      ["country", [id.country, id.country_name].filter(Boolean).join(" ") || "unknown"],
      ["type", id.typecode || id.model || "unknown"],
      ["operator", id.operator || "unknown"], ["owner", id.owner],
      ["military block", id.military_block === true ? "yes" : id.military_block === false ? "no" : null],
      ["seen", data.seen ? `${fmtNum(data.seen.points)} positions on ${data.seen.days} day(s), ${fmtTime(data.seen.first_seen)} → ${fmtTime(data.seen.last_seen)}` : "not seen in this archive"],
    ]),
    el("h2", { text: `List entries (${(id.watchlists || []).length})` }),
    (id.watchlists || []).length ? table(["list", "entry", "name", "reason", "program", "listed", "address by", "confidence", "source"],
      id.watchlists.map((e) => el("tr", {}, el("td", { text: e.list }), el("td", { text: e.id }), el("td", { text: e.name || "" }),
        el("td", { text: e.reason || "" }), el("td", { text: e.program || "" }), el("td", { text: e.listing_date || "" }),
        el("td", { text: e.evidence || "" }), el("td", { class: "num", text: e.confidence === null ? "—" : Number(e.confidence).toFixed(2) }),
        el("td", { text: e.source || "" }))), "lists") : el("p", { class: "empty", text: "on no list known to this archive" }),
    (id.history || []).length ? [el("h2", { text: "Registry records" }), table(["snapshot", "address", "registration", "type", "operator", "source"],
      id.history.map((h) => el("tr", {}, ["snapshot", "icao24", "registration", "typecode", "operator", "source"].map((k) => el("td", { text: h[k] || "" })))))] : null);

  const days = data.timeline || [];
  const most = Math.max(1, ...days.map((d) => d.points));
  put(timeline, el("h2", { text: `Sightings by day (${days.length})` }),
    days.length ? table(["day", "first seen", "last seen", { label: "positions", num: true }, "", "callsigns", "latitude", "longitude"],
      days.map((d) => {
        const bar = el("span", { class: "bar" });
        bar.style.width = `${Math.max(2, Math.round(120 * d.points / most))}px`;
        return el("tr", { class: "clickable", title: "itinerary of this day", onclick: () => startItinerary(icao24, dayStart(d.first_seen), nextDay(d.last_seen), itin) },
          el("td", { text: d.day }), el("td", { text: fmtTime(d.first_seen) }), el("td", { text: fmtTime(d.last_seen) }),
          el("td", { class: "num", text: fmtNum(d.points) }), el("td", {}, bar), el("td", { text: (d.callsigns || []).join(", ") }),
          el("td", { text: `${fmtNum(d.lat_min, 2)} … ${fmtNum(d.lat_max, 2)}` }), el("td", { text: `${fmtNum(d.lon_min, 2)} … ${fmtNum(d.lon_max, 2)}` }));
      }), "days") : el("p", { class: "empty", text: "no positions of this aircraft in the archive" }));

  const start = params.get("start") || (data.seen ? dayStart(data.seen.first_seen) : "");
  const end = params.get("end") || (data.seen ? nextDay(data.seen.last_seen) : "");
  if (data.seen) startItinerary(icao24, start, end, itin);
  else put(itin, el("h2", { text: "Itinerary" }), el("p", { class: "empty", text: "no positions, so no itinerary" }));
}

async function startItinerary(icao24, start, end, box) {
  const startIn = el("input", { id: "start", value: start, placeholder: "start, ISO 8601 UTC", "aria-label": "start" });
  const endIn = el("input", { id: "end", value: end, placeholder: "end, ISO 8601 UTC", "aria-label": "end" });
  const form = el("form", { class: "window", onsubmit: (e) => { e.preventDefault(); startItinerary(icao24, startIn.value.trim(), endIn.value.trim(), box); } },
    el("label", {}, "from ", startIn), el("label", {}, "to ", endIn), el("button", { type: "submit", text: "rebuild" }));
  const bar = el("progress", { id: "progress", max: "1", value: "0" });
  const stage = el("span", { id: "stage", class: "muted", text: "queued" });
  const body = el("div", { id: "itinerary-body" });
  put(box, el("h2", { text: "Itinerary" }), form, el("p", { id: "progressline" }, bar, " ", stage), body);
  const qs = new URLSearchParams({ aircraft: icao24 });
  if (start) qs.set("start", start);
  if (end) qs.set("end", end);
  history.replaceState({}, "", `/aircraft/${icao24}?${new URLSearchParams({ start, end })}`);
  let job;
  try {
    job = await api(`/api/itinerary?${qs}`);
    while (job.state === "queued" || job.state === "running") {
      bar.value = job.fraction;
      stage.textContent = `${job.stage} · ${job.elapsed_s.toFixed(1)} s`;
      await new Promise((r) => setTimeout(r, 300));
      job = await api(`/api/jobs/${job.job}`);
    }
    if (job.state !== "done") throw new Error(job.error || job.state);
    const result = await api(`/api/jobs/${job.job}/result`);
    bar.value = 1;
    stage.textContent = `done in ${result.progress.elapsed_s.toFixed(1)} s`;
    renderItinerary(result, job.job, body);
  } catch (err) {
    stage.textContent = "";
    showError(body, err);
  }
}

function legName(leg) { return `${(leg.origin || {}).icao || "?"} → ${(leg.destination || {}).icao || "?"}`; }

function renderItinerary(result, jobId, box) {
  const it = result.itinerary;
  const legs = it.legs || [];
  const route = it.route || {};
  const airlift = it.airlift || {};
  const notice = it.notice || (result.map && result.map.notice);
  const evidence = el("div", { id: "evidence" }, el("p", { class: "muted", text: "Click a leg or a stop, on the map or in the tables, to see its evidence." }));
  const mapNode = el("div", { id: "map", role: "region", "aria-label": "itinerary map" });
  const downloads = el("p", { class: "downloads" }, "download: ",
    ["html", "md", "json", "geojson", "kml", "csv"].map((f) => el("a", { href: `/api/jobs/${jobId}/download/${f}`, download: "", text: f === "csv" ? "csv (zip)" : f })));
  put(box, 
    notice ? el("p", { class: "notice", text: notice }) : null,
    facts([
      ["route", (route.airports || []).join(" → ") || "—"],
      ["legs", String(legs.length)],
      ["flown", fmtKm(route.flown_km)], ["leg great circles", fmtKm(route.legs_great_circle_km)],
      ["legal shortest", route.legs_legal_shortest_km !== undefined ? fmtKm(route.legs_legal_shortest_km) : fmtKm(route.legal_shortest_km)],
      ["detour", route.detour || null],
      ["payload", airlift.type ? `${airlift.type_name || airlift.type}: at most ${fmtNum(airlift.end_to_end_max_t, 1)} t end to end` +
        (airlift.end_to_end_band_t ? ` (band ${airlift.end_to_end_band_t.join("–")} t)` : "") +
        (airlift.limiting_leg !== undefined && airlift.limiting_leg !== null ? `, limited by leg ${airlift.limiting_leg}` : "") + ` — ${airlift.evidence || ""}` : null],
      ["payload basis", airlift.reserve_policy || null],
      ["observed positions", it.observed_points !== undefined ? fmtNum(it.observed_points) : null],
    ]),
    (it.notes || []).length ? el("ul", { class: "notes" }, it.notes.map((n) => el("li", { text: n }))) : null,
    downloads,
    el("div", { class: "mapwrap" }, mapNode, evidence),
    el("div", { class: "legend" }, el("span", {}, el("i", { class: "swatch" }), "observed track"),
      el("span", {}, el("i", { class: "swatch inferred" }), "inferred (gap)"), el("span", {}, el("i", { class: "swatch legal" }), "legal shortest"),
      el("span", {}, el("i", { class: "swatch banned" }), "airspace barred to this aircraft"),
      el("span", { text: "stops: blue observed, orange inferred, grey unknown (drawn at its best candidate, rings at the others)" }),
      el("span", { text: "wheel or +/- to zoom, drag to pan" })),
    el("h2", { text: `Legs (${legs.length})` }),
    table(["#", "from", "to", "take-off", "landing", "ends", { label: "confidence", num: true }, { label: "great circle", num: true },
      { label: "flown", num: true }, "countries", "barred", { label: "max payload", num: true }, { label: "positions", num: true }],
    legs.map((leg, i) => el("tr", { class: "clickable leg", dataset: { leg: i }, onclick: () => selectLeg(i) },
      el("td", { text: i + 1 }), el("td", { text: airport(leg.origin) }), el("td", { text: airport(leg.destination) }),
      el("td", { text: fmtTime(leg.takeoff) }), el("td", { text: fmtTime(leg.landing) }),
      el("td", {}, badge(leg.origin_evidence), " ", badge(leg.destination_evidence)),
      el("td", { class: "num", text: leg.confidence === null || leg.confidence === undefined ? "—" : Number(leg.confidence).toFixed(2) }),
      el("td", { class: "num", text: fmtKm(leg.great_circle_km) }), el("td", { class: "num", text: fmtKm(leg.flown_km) }),
      el("td", { text: (leg.countries || []).join(", ") }), el("td", { text: (leg.banned_countries || []).join(", ") || "—" }),
      el("td", { class: "num", text: leg.max_payload_t === null || leg.max_payload_t === undefined ? "unknown" :
        `${fmtNum(leg.max_payload_t, 1)} t` + (leg.payload_band_t ? ` (${leg.payload_band_t.join("–")})` : "") }),
      el("td", { class: "num", text: fmtNum(leg.n_points) }))), "legs"),
    el("h2", { text: `Stops (${(it.stops || []).length})` }),
    table(["airport", "arrival", "departure", "evidence", "how", { label: "confidence", num: true }, "why"],
      (it.stops || []).map((s, i) => el("tr", { class: "clickable stop", dataset: { stop: i }, onclick: () => selectStop(i) },
        el("td", { text: airport(s.airport) }), el("td", { text: fmtTime(s.arrival) }), el("td", { text: fmtTime(s.departure) }),
        el("td", {}, badge(s.evidence)), el("td", { text: s.how || "" }),
        el("td", { class: "num", text: s.confidence === null || s.confidence === undefined ? "—" : Number(s.confidence).toFixed(2) }),
        el("td", { text: (s.reasons || [])[0] || "" }))), "stops"));

  const map = drawItineraryMap(mapNode, result, it);

  function listOf(title, items) {
    return items && items.length ? [el("h3", { text: title }), el("ul", {}, items.map((x) => el("li", { text: x })))] : [];
  }
  function candidatesOf(items) {
    return (items || []).map((a) => `${a.icao || "?"} ${a.name || ""}${a.country ? " (" + a.country + ")" : ""}` +
      (a.score !== undefined ? ` — score ${Number(a.score).toFixed(2)}` : "") + (a.end ? ` [${a.end}]` : "") +
      (a.distance_km !== undefined ? `, ${fmtNum(a.distance_km)} km` : ""));
  }
  function mark(kind, i) {
    for (const tr of box.querySelectorAll("tr.selected")) tr.classList.remove("selected");
    const tr = box.querySelector(`tr.${kind}[data-${kind}="${i}"]`);
    if (tr) tr.classList.add("selected");
  }
  function selectLeg(i) {
    const leg = legs[i];
    mark("leg", i);
    map.highlightLeg(i);
    put(evidence, el("h2", { text: `Leg ${i + 1}: ${legName(leg)}` }),
      facts([["take-off", fmtTime(leg.takeoff)], ["landing", fmtTime(leg.landing)],
        ["origin", el("span", {}, badge(leg.origin_evidence), ` ${airport(leg.origin)}${leg.origin_how ? " · " + leg.origin_how : ""}`)],
        ["destination", el("span", {}, badge(leg.destination_evidence), ` ${airport(leg.destination)}${leg.destination_how ? " · " + leg.destination_how : ""}`)],
        ["confidence", leg.confidence === undefined ? null : String(leg.confidence)],
        ["first / last position", leg.first_point || leg.last_point ? `${fmtTime(leg.first_point)} / ${fmtTime(leg.last_point)}` : "none (no positions)"],
        ["callsigns", (leg.callsigns || []).join(", ") || null],
        ["crossed", (leg.countries || []).join(", ") || null], ["barred airspace", (leg.banned_countries || []).join(", ") || "none"],
        ["legal shortest", leg.legal_shortest_km !== undefined ? fmtKm(leg.legal_shortest_km) : null],
        ["payload limited by", leg.payload_limited_by || null]]),
      ...listOf("Reasons", leg.reasons),
      ...listOf("Other candidate airports", candidatesOf(leg.alternatives || leg.candidates)),
      ...listOf("Coverage gaps", (leg.gaps || []).map((g) => `${fmtTime(g.start)} → ${fmtTime(g.end)}, ${fmtKm(g.km)}`)));
  }
  function selectStop(i) {
    const s = it.stops[i];
    mark("stop", i);
    map.focusStop(i);
    put(evidence, el("h2", {}, `Stop: ${airport(s.airport)} `, badge(s.evidence)),
      facts([["arrival", fmtTime(s.arrival)], ["departure", fmtTime(s.departure)], ["how", s.how || null],
        ["confidence", s.confidence === undefined || s.confidence === null ? null : String(s.confidence)],
        ["position", s.airport && s.airport.latitude !== undefined ? `${fmtNum(s.airport.latitude, 4)}, ${fmtNum(s.airport.longitude, 4)}` : null]]),
      ...listOf("Evidence", s.reasons),
      ...listOf("Candidates", candidatesOf(s.candidates)),
      ...listOf("Runners-up", candidatesOf(s.alternatives)));
  }
  map.onLeg = selectLeg;
  map.onStop = selectStop;
}

/* ---------- maps ---------- */

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
      lyr.bindTooltip(`leg ${p.leg + 1} ${p.label || ""} · ${p.evidence}${p.why ? " · " + p.why : ""}`, { sticky: true });
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
    m.bindTooltip(here ? `${s.airport.icao || "?"} · ${ev}` : `${ev} stop · candidates ${candidates.map((c) => c.icao).join("/")}`);
    m.on("click", () => api_.onStop && api_.onStop(i));
    m.addTo(map);
    for (const c of candidates.slice(1)) {
      L.circleMarker(located(c), { pane: "stops", radius: 5, className: "candidate" })
        .bindTooltip(`candidate ${c.icao}${c.score !== undefined ? " · score " + Number(c.score).toFixed(2) : ""}`)
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

async function watchlistPage() {
  document.title = "watchlist — tailwatch";
  const box = el("section", { class: "box", id: "watchlist" }, el("p", { class: "muted", text: "loading the watchlist…" }));
  put(main, box);
  try {
    const r = await api("/api/watchlist");
    put(box, el("h1", {}, "Watchlist ", el("small", { text: `${r.total} entries, ${r.resolved} resolved to an address` })),
      table(["list", "entry", "name", "registrations", "address", { label: "confidence", num: true }, "how resolved", "operator", "last seen", { label: "positions", num: true }],
        r.entries.map((e) => el("tr", { class: e.resolved ? "" : "unresolved" },
          el("td", { text: e.list }), el("td", { text: e.id }), el("td", { text: e.name || "" }), el("td", { text: e.registrations.join(", ") }),
          el("td", {}, e.resolved ? el("a", { href: `/aircraft/${e.icao24}`, "data-nav": "1", text: e.icao24 }) : el("span", { class: "muted", text: "unresolved" })),
          el("td", { class: "num", text: e.confidence === null ? "—" : Number(e.confidence).toFixed(2) }),
          el("td", { text: e.evidence || (e.candidates.length ? `candidates: ${e.candidates.map((c) => c.icao24).join(", ")}` : "") }),
          el("td", { text: e.operator || "" }), el("td", { text: e.last_seen ? fmtTime(e.last_seen) : (e.resolved ? "not seen" : "—") }),
          el("td", { class: "num", text: fmtNum(e.points) }))), "watchlist"));
  } catch (err) { showError(box, err); }
}

/* ---------- live ---------- */

async function livePage() {
  document.title = "live — tailwatch";
  const status = el("p", { id: "livestatus", class: "muted", text: "reading the journal…" });
  const mapNode = el("div", { id: "livemap", role: "region", "aria-label": "live map" });
  const rows = el("tbody");
  put(main, el("section", { class: "box" }, el("h1", { text: "Live" }), status, mapNode,
    el("table", { class: "live" }, el("thead", {}, el("tr", {}, ["address", "callsign", "lists", "altitude ft", "speed kt", "position", "last heard"].map((h) => el("th", { text: h })))), rows)));
  const map = baseMap(mapNode);
  const planes = L.layerGroup().addTo(map);
  let fitted = false;
  async function poll() {
    try {
      const r = await api("/api/live");
      if (!r.watcher) { status.textContent = "no watcher writes to this archive (start `tailwatch watch --archive` on it)"; return; }
      status.textContent = `${r.aircraft.length} aircraft in the last 15 minutes of the journal · newest position ${fmtTime(r.newest)}`;
      planes.clearLayers();
      put(rows, ...r.aircraft.map((a) => {
        if (a.latitude !== null && a.longitude !== null) {
          L.circleMarker([a.latitude, a.longitude], { radius: a.lists.length ? 6 : 4, className: `plane${a.lists.length ? " listed" : ""}` })
            .bindTooltip(`${a.callsign || a.icao24}`).addTo(planes);
        }
        return el("tr", { class: a.lists.length ? "listed" : "" },
          el("td", {}, el("a", { href: `/aircraft/${a.icao24}`, "data-nav": "1", text: a.icao24 })), el("td", { text: a.callsign || "" }),
          el("td", { text: a.lists.join(", ") }), el("td", { class: "num", text: fmtNum(a.altitude) }), el("td", { class: "num", text: fmtNum(a.groundspeed) }),
          el("td", { text: a.latitude === null ? "" : `${fmtNum(a.latitude, 3)}, ${fmtNum(a.longitude, 3)}` }), el("td", { text: fmtTime(a.timestamp) }));
      }));
      const pts = r.aircraft.filter((a) => a.latitude !== null).map((a) => [a.latitude, a.longitude]);
      if (!fitted && pts.length) { map.fitBounds(L.latLngBounds(pts), { padding: [30, 30], maxZoom: 8 }); fitted = true; }
    } catch (err) { status.textContent = err.message; status.className = "error"; }
  }
  poll();
  state.liveTimer = setInterval(poll, 2000);
}

route();
