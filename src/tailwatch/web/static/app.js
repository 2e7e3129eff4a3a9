"use strict";
// tailwatch watch — live page. Polls the local API every 2 s; draws everything itself (no external resources).
(() => {
  const POLL_MS = 2000, STALE_S = 60, SVGNS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const svg = $("map"), lands = $("lands"), planes = $("planes");
  const state = { kx: 1, view: null, userView: false, lastSeq: 0, alerts: [], aircraft: [], countries: false };

  const el = (tag, attrs = {}, text) => {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const h = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  };
  const hhmmss = (iso) => (iso ? iso.slice(11, 19) + "Z" : "");
  const num = (v, digits = 0) => (v === null || v === undefined ? "" : Number(v).toLocaleString("en", { maximumFractionDigits: digits }));
  const ago = (s) => (s === null || s === undefined ? "" : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

  // ---- map geometry: x = lon * kx, y = -lat (equirectangular, scaled at the view's mid latitude)
  function ringPath(ring) {
    let d = "";
    for (let i = 0; i < ring.length; i++) d += (i ? "L" : "M") + ring[i][0] + " " + (-ring[i][1]);
    return d + "Z";
  }
  function geometryPath(g) {
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    return polys.map((p) => p.map(ringPath).join("")).join("");
  }
  async function loadCountries() {
    try {
      const r = await fetch("api/countries");
      if (!r.ok) throw new Error(`countries: HTTP ${r.status}`);
      const doc = await r.json();
      const frag = document.createDocumentFragment();
      for (const f of doc.features) {
        const p = el("path", { d: geometryPath(f.geometry), class: "land" });
        p.appendChild(el("title", {}, f.properties.name || f.properties.iso2));
        frag.appendChild(p);
      }
      lands.appendChild(frag);
      state.countries = true;
    } catch (err) {
      console.warn("country outlines unavailable", err);
    }
  }

  function setView(v) {
    state.view = v;
    const mid = -(v.y + v.h / 2);
    const kx = Math.max(0.2, Math.cos((Math.round(mid) * Math.PI) / 180));
    if (Math.abs(kx - state.kx) > 1e-6) {
      // keep the same geographic centre when the longitude scale changes
      const cx = (v.x + v.w / 2) / state.kx;
      v.w = (v.w / state.kx) * kx;
      v.x = cx * kx - v.w / 2;
      state.kx = kx;
    }
    lands.setAttribute("transform", `scale(${state.kx} 1)`);
    $("tracks").setAttribute("transform", `scale(${state.kx} 1)`);
    svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
  }
  function fitView() {
    const pts = [];
    for (const a of state.aircraft) {
      if (a.latitude !== null && a.longitude !== null) pts.push([a.longitude, a.latitude]);
      for (const p of a.trail || []) pts.push(p);
    }
    let lat0 = 35, lat1 = 70, lon0 = -15, lon1 = 45; // Europe until something is heard
    if (pts.length) {
      lat0 = lat1 = pts[0][1]; lon0 = lon1 = pts[0][0];
      for (const [x, y] of pts) { lat0 = Math.min(lat0, y); lat1 = Math.max(lat1, y); lon0 = Math.min(lon0, x); lon1 = Math.max(lon1, x); }
      const pad = Math.max(1.5, (lat1 - lat0) * 0.15, (lon1 - lon0) * 0.1);
      lat0 -= pad; lat1 += pad; lon0 -= pad; lon1 += pad;
    }
    const kx = Math.max(0.2, Math.cos((Math.round((lat0 + lat1) / 2) * Math.PI) / 180));
    state.kx = kx;
    const box = svg.getBoundingClientRect();
    let w = (lon1 - lon0) * kx, hgt = lat1 - lat0;
    const aspect = box.width / Math.max(1, box.height);
    if (w / hgt < aspect) w = hgt * aspect; else hgt = w / aspect;
    const cx = ((lon0 + lon1) / 2) * kx, cy = -(lat0 + lat1) / 2;
    setView({ x: cx - w / 2, y: cy - hgt / 2, w, h: hgt });
  }
  function degPerPx() {
    const box = svg.getBoundingClientRect();
    const v = state.view;
    return Math.max(v.w / Math.max(1, box.width), v.h / Math.max(1, box.height));
  }

  function drawTrails() {
    const frag = document.createDocumentFragment();
    for (const a of state.aircraft) {
      if (!a.trail || a.trail.length < 2) continue;
      frag.appendChild(el("polyline", { points: a.trail.map(([x, y]) => `${x},${-y}`).join(" "), class: "trail" + (a.listed ? " listed" : ""), "data-icao24": a.icao24 }));
    }
    $("tracks").replaceChildren(frag);
  }

  function drawPlanes() {
    const s = degPerPx() * 6;
    const frag = document.createDocumentFragment();
    const ordered = [...state.aircraft].sort((a, b) => (a.listed === b.listed ? 0 : a.listed ? 1 : -1)); // listed on top
    for (const a of ordered) {
      if (a.latitude === null || a.longitude === null) continue;
      const x = a.longitude * state.kx, y = -a.latitude;
      const cls = (a.listed ? " listed" : "") + (a.seconds_since > STALE_S ? " stale" : "");
      const g = el("g", { transform: `translate(${x} ${y})`, "data-icao24": a.icao24, class: "ac" + cls });
      const k = a.listed ? s * 1.4 : s;
      const shape = a.track === null || a.track === undefined
        ? el("circle", { r: k * 0.8, class: "plane" + cls })
        : el("polygon", { points: `0,${-1.5 * k} ${k},${k} 0,${0.45 * k} ${-k},${k}`, transform: `rotate(${a.track})`, class: "plane" + cls });
      shape.appendChild(el("title", {}, `${a.callsign || a.icao24} · ${a.phase}` + (a.altitude !== null ? ` · ${num(a.altitude)} ft` : "")));
      g.appendChild(shape);
      if (a.listed || state.aircraft.length <= 30) {
        g.appendChild(el("text", { x: k * 1.6, y: k * 0.5, "font-size": degPerPx() * 11, class: "label" + cls }, a.callsign || a.icao24));
      }
      frag.appendChild(g);
    }
    planes.replaceChildren(frag);
  }

  // ---- pan and zoom (the view stays where the user put it until a double-click)
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const box = svg.getBoundingClientRect(), v = { ...state.view }, f = ev.deltaY < 0 ? 0.8 : 1.25;
    const px = v.x + ((ev.clientX - box.left) / box.width) * v.w, py = v.y + ((ev.clientY - box.top) / box.height) * v.h;
    state.userView = true;
    setView({ x: px - (px - v.x) * f, y: py - (py - v.y) * f, w: v.w * f, h: v.h * f });
    drawPlanes();
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, v: { ...state.view } }; svg.setPointerCapture(ev.pointerId); });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const d = degPerPx();
    state.userView = true;
    setView({ ...drag.v, x: drag.v.x - (ev.clientX - drag.x) * d, y: drag.v.y - (ev.clientY - drag.y) * d });
  });
  svg.addEventListener("pointerup", () => { drag = null; });
  svg.addEventListener("dblclick", () => { state.userView = false; fitView(); drawPlanes(); });
  window.addEventListener("resize", () => { if (!state.userView) fitView(); drawPlanes(); });

  // ---- table, alerts, feeds
  function drawTable() {
    const body = $("aircraft").tBodies[0];
    const rows = [...state.aircraft].sort((a, b) => (b.listed - a.listed) || (a.seconds_since - b.seconds_since));
    const frag = document.createDocumentFragment();
    for (const a of rows) {
      const tr = h("tr", (a.listed ? "listed" : "") + (a.seconds_since > STALE_S ? " stale" : ""));
      tr.dataset.icao24 = a.icao24;
      const lists = (a.watchlists || []).map((w) => [w.list, w.name || w.id].filter(Boolean).join(": ")).join("; ");
      const pos = a.latitude === null ? "" : `${a.latitude.toFixed(3)}, ${a.longitude.toFixed(3)}`;
      const cells = [[a.icao24], [a.callsign], [a.registration], [lists], [a.phase], [num(a.altitude), "num"],
        [num(a.groundspeed), "num"], [a.origin ? `${a.origin} ${hhmmss(a.leg_start)}` : ""], [pos], [ago(a.seconds_since), "num"]];
      for (const [text, cls] of cells) tr.appendChild(h("td", cls, text || ""));
      tr.title = `last heard ${a.last_seen}` + (a.country ? ` · address block ${a.country}` : "");
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
    $("count").textContent = `${rows.length} tracked, ${rows.filter((a) => a.listed).length} watchlisted`;
  }
  function alertItem(a, fresh) {
    const li = h("li", fresh ? "fresh" : "");
    li.dataset.seq = a.seq;
    li.appendChild(h("span", "kind " + a.kind, a.kind));
    const known = a.callsign ? null : (state.aircraft.find((x) => x.icao24 === a.icao24) || {}).callsign;
    li.appendChild(document.createTextNode(` ${a.callsign || a.icao24}${known ? ` (now ${known})` : ""} `));
    const where = a.airport ? `${a.airport}${a.airport_name ? " " + a.airport_name : ""}` : a.country || a.squawk || (a.evidence && a.evidence.place) || "";
    if (where) li.appendChild(h("strong", "", where));
    const lists = (a.watchlists || []).map((w) => w.list).filter(Boolean).join(", ");
    li.appendChild(h("div", "meta", `${hhmmss(a.time)} · rule ${a.rule} · ${a.icao24}` + (lists ? ` · ${lists}` : "")));
    return li;
  }
  function addAlerts(list) {
    if (!list.length) return;
    const box = $("alerts");
    if (!state.alerts.length) box.replaceChildren();
    for (const a of [...list].reverse()) { // the API gives newest first
      state.alerts.unshift(a);
      box.insertBefore(alertItem(a, true), box.firstChild);
    }
    while (box.children.length > 300) box.removeChild(box.lastChild);
    $("alertcount").textContent = `${state.alerts.length} since the page opened`;
    setTimeout(() => { for (const li of box.querySelectorAll("li.fresh")) li.classList.remove("fresh"); }, 4000);
  }
  function drawFeeds(feeds, health) {
    const ul = $("feeds");
    ul.replaceChildren(...feeds.map((f) => {
      const li = h("li", f.connected ? "up" : "down", `${f.url} · ${num(f.messages)} msgs · ${num(f.positions)} positions` + (f.connected ? "" : ` · ${f.last_error || "connecting"}`));
      return li;
    }));
    const st = $("status");
    st.className = "status";
    st.textContent = `${health.status} · ${num(health.aircraft)} aircraft · ${num(health.alerts)} alerts · journaled ${num(health.journaled)} · archived ${num(health.archived)} · updated ${hhmmss(health.now)}`;
  }

  async function getJSON(path) {
    const r = await fetch(path, { cache: "no-store" });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    return r.json();
  }
  async function poll() {
    try {
      const [ac, feeds, health, alerts] = await Promise.all([
        getJSON("api/aircraft"), getJSON("api/feeds"), getJSON("api/health"), getJSON(`api/alerts?after=${state.lastSeq}`)]);
      const first = !state.view;
      state.aircraft = ac.aircraft;
      if (first || !state.userView) fitView();
      drawTrails();
      drawPlanes();
      drawTable();
      addAlerts(alerts.alerts);
      state.lastSeq = Math.max(state.lastSeq, alerts.last_seq);
      drawFeeds(feeds, health);
      document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
    } catch (err) {
      const st = $("status");
      st.className = "status error";
      st.textContent = `watcher not reachable (${err.message}); retrying`;
    }
    setTimeout(poll, POLL_MS);
  }
  fitView();
  loadCountries();
  poll();
})();
