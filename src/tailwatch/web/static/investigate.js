/* tailwatch serve: the investigator's pages (search, aircraft + itinerary, watchlist, live).
   This script routes and renders the pages from the JSON API of the same server; the itinerary view
   and its map are in investigate-itinerary.js and investigate-map.js (loaded first).
   Text is always set with textContent (never innerHTML), so archive contents cannot inject markup;
   that includes the map: Leaflet turns a *string* given to bindTooltip or bindPopup into HTML, so
   tooltips get a text node from `tip()` (investigate-map.js), never a string.
   The map is Leaflet (vendored) over the packaged country outlines: no tiles, nothing from the network. */
"use strict";

const main = document.getElementById("main");
const state = { countries: null, liveTimer: null, selected: null };

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

async function api(path, options) {
  const res = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" }, ...(options || {}) });
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

// A table scrolls sideways inside its own box, so a narrow screen never scrolls the page sideways.
function table(headers, rows, cls) {
  return el("div", { class: "scroll" }, el("table", { class: cls || "" },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { class: h.num ? "num" : "", text: h.label || h })))),
    el("tbody", {}, rows)));
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
    el("div", { id: "lede-slot" }, data.seen ? el("p", { class: "muted", text: "the summary follows once the itinerary is built…" }) : null),
    facts([
      ["address", `${id.icao24}${found.icao24 ? ` (${found.icao24})` : ""}`],
      ["registration", `${id.registration || "unknown"}${found.registration ? ` (${found.registration})` : ""}`],
      ["country", [id.country, id.country_name].filter(Boolean).join(" ") || "unknown"],
      ["type", `${id.typecode || id.model || "unknown"}${found.typecode ? ` (${found.typecode})` : ""}`],
      ["operator", `${id.operator || "unknown"}${found.operator ? ` (${found.operator})` : ""}`], ["owner", id.owner],
      ["recordings", found.recorded || null],
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
      id.history.map((h) => el("tr", {}, ["snapshot", "icao24", "registration", "typecode", "operator", "source"].map((k) => el("td", { text: h[k] || "" })))))] : null,
    recordedIdentity(id));

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

/* What the recordings themselves say of the aircraft (the archive's seen/ claims): the newest claim
   with its source, the identity timeline (a change of registration or address shows as two rows)
   and the flights' own origin/destination, never shown as observed airports. */
function recordedIdentity(id) {
  const out = [];
  const said = id.recorded;
  if (said) {
    const flag = (v) => (v === true ? "yes" : v === false ? "no" : null);
    out.push(el("h2", { text: "Recorded identity (the recordings' own fields)" }), facts([
      ["registration", said.registration], ["type", [said.typecode, said.description && `(${said.description})`].filter(Boolean).join(" ")],
      ["operator", said.operator], ["built", said.year], ["military", flag(said.military)], ["interesting", flag(said.interesting)],
      ["PIA", flag(said.pia)], ["LADD", flag(said.ladd)],
      ["source", [...new Set(Object.values(said.sources || {}))].join("; ")],
    ]));
  }
  const history = id.identity_history || [];
  if (history.length) {
    out.push(el("h2", { text: `Identity timeline (${history.length})` }),
      id.identity_changes ? el("p", { class: "warning", text: id.identity_changes }) : null,
      table(["first", "last", "address", "registration", "type", "operator", "recordings"],
        history.map((h) => el("tr", {}, el("td", { text: fmtTime(h.first) }), el("td", { text: fmtTime(h.last) }),
          el("td", {}, el("a", { href: `/aircraft/${h.icao24}`, "data-nav": "1", text: h.icao24 })), el("td", { text: h.registration }),
          el("td", { text: h.typecode || "" }), el("td", { text: h.operator || "" }),
          el("td", { text: `${h.files.length} (${h.sources.join(", ")})` }))), "identity-timeline"));
  }
  const flights = id.recorded_flights || [];
  if (flights.length) {
    out.push(el("h2", { text: `Flights as the recordings state them (${flights.length})` }),
      el("p", { class: "muted", text: "the recording's own claim, not observed: the itinerary shows what the positions show" }),
      table(["callsign", "origin", "destination", "first", "last", "recording"],
        flights.map((f) => el("tr", {}, el("td", { text: f.callsign || "" }), el("td", { text: f.origin || "?" }),
          el("td", { text: f.destination || "?" }), el("td", { text: fmtTime(f.first) }), el("td", { text: fmtTime(f.last) }),
          el("td", { text: f.file }))), "recorded-flights"));
  }
  return out.length ? out : null;
}

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
  const alertList = el("ul", { id: "livealerts", class: "alerts" }, el("li", { class: "muted", text: "no alert logged" }));
  put(main, el("section", { class: "box" }, el("h1", { text: "Live" }), status, mapNode,
    el("h2", { text: "Alerts (the watcher's, newest first)" }), alertList,
    el("div", { class: "scroll" }, el("table", { class: "live" }, el("thead", {}, el("tr", {}, ["address", "callsign", "lists", "altitude ft", "speed kt", "position", "last heard"].map((h) => el("th", { text: h })))), rows))));
  const map = baseMap(mapNode);
  const trails = L.layerGroup().addTo(map);
  const planes = L.layerGroup().addTo(map);
  // an alert as `watch --web` shows it: kind, callsign or address, where, then time, rule, address and lists
  function alertItem(a) {
    const where = a.airport ? `${a.airport}${a.airport_name ? " " + a.airport_name : ""}` : a.country || a.squawk || (a.evidence && a.evidence.place) || "";
    const lists = (a.watchlists || []).map((w) => w.list).filter(Boolean).join(", ");
    return el("li", { dataset: { seq: a.seq } }, el("span", { class: `badge kind ${a.kind}`, text: a.kind }),
      ` ${a.callsign || a.icao24 || ""} `, where ? el("strong", { text: where }) : null,
      el("div", { class: "muted", text: `${fmtTime(a.time)} · rule ${a.rule}${a.icao24 ? " · " + a.icao24 : ""}${lists ? " · " + lists : ""}` }));
  }
  let fitted = false;
  async function poll() {
    try {
      const r = await api("/api/live");
      if (!r.watcher) { status.textContent = "no watcher writes to this archive (start `tailwatch watch --archive` on it)"; return; }
      status.textContent = `${r.aircraft.length} aircraft in the last 15 minutes of the journal · newest position ${fmtTime(r.newest)}`;
      planes.clearLayers();
      trails.clearLayers();
      if ((r.alerts || []).length) put(alertList, r.alerts.map(alertItem));
      put(rows, ...r.aircraft.map((a) => {
        if ((a.trail || []).length > 1) {  // where it flew over the last minutes
          L.polyline(a.trail, { className: `trail${a.lists.length ? " listed" : ""}`, interactive: false }).addTo(trails);
        }
        if (a.latitude !== null && a.longitude !== null) {
          L.circleMarker([a.latitude, a.longitude], { radius: a.lists.length ? 6 : 4, className: `plane${a.lists.length ? " listed" : ""}` })
            .bindTooltip(tip(a.callsign || a.icao24)).addTo(planes);
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
