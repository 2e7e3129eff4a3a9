// The itinerary view of the investigator's page: start the job, follow its progress, render the
// legs, stops, airspace and payload (loaded before investigate.js, which routes to it).
"use strict";

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
  history.replaceState({}, "", `/aircraft/${icao24}?${new URLSearchParams({ start, end })}${location.hash}`);
  let job;
  try {
    for (let tries = 0; ; tries++) {  // a POST starts (or joins) the job; 429: the server's job table is full
      try { job = await api(`/api/itinerary?${qs}`, { method: "POST" }); break; } catch (err) {
        if (err.status !== 429 || tries >= 30) throw err;
        stage.textContent = `waiting for a free slot: ${err.message}`;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
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
    const slot = document.getElementById("lede-slot");
    if (slot) put(slot, el("p", { class: "muted", text: "no summary: the itinerary could not be built (see below)" }));
    showError(body, err);
  }
}

function legName(leg) { return `${(leg.origin || {}).icao || "?"} → ${(leg.destination || {}).icao || "?"}`; }

// A stop the route leaves unnamed (null) is said as unknown with its candidates, never a blank.
function stopName(code, stop) {
  if (code) return code;
  const cands = [...((stop || {}).candidates || []), ...((stop || {}).alternatives || [])]
    .map((c) => (typeof c === "string" ? c : c && c.icao)).filter(Boolean);
  return cands.length ? `unknown (candidates ${[...new Set(cands)].join("/")})` : "unknown";
}

const codes = (list) => (list || []).join(", ");
// The barred-airspace cell of a leg: what its direct line crosses, what it went around, what it crossed.
function barredText(leg) {
  const direct = leg.direct_barred, avoided = leg.avoided, crossed = leg.crossed_barred || leg.banned_countries || [];
  if (direct === undefined && !crossed.length) return "—";
  const parts = [];
  if ((avoided || []).length) parts.push(`went around ${codes(avoided)}`);
  if (crossed.length) parts.push(`crossed ${codes(crossed)}`);
  if (!parts.length) return direct && direct.length ? `direct line crosses ${codes(direct)}` : "none on the direct line";
  return parts.join("; ");
}

// The lede (report.lede, computed by the server): who, on which lists, where, whose airspace, what it could carry.
function ledeNode(result, notice) {
  const sentences = (result.lede || []).map(([text, link]) => {
    if (!link) return el("span", { text: `${text} ` });
    const at = text.indexOf(link);  // the source's address is shown, not linked (nothing on the network)
    return at >= 0 ? el("span", {}, text.slice(0, at), el("span", { class: "url", text: link }), `${text.slice(at + link.length)} `)
      : el("span", {}, `${text} (`, el("span", { class: "url", text: link }), ") ");
  });
  return el("div", { id: "lede-box" }, notice ? el("p", { class: "notice", text: notice }) : null,
    sentences.length ? el("p", { class: "lede", id: "lede" }, sentences) : null);
}

function keyboardRow(tr, select) {  // a table row reachable with Tab and selected with Enter or Space
  tr.tabIndex = 0;
  tr.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(); } });
  return tr;
}

function renderItinerary(result, jobId, box) {
  state.selected = null;  // a permalink names a leg or stop of this itinerary only
  const it = result.itinerary;
  const legs = it.legs || [];
  const route = it.route || {};
  const airlift = it.airlift || {};
  const stops = it.stops || [];
  const notice = it.notice || (result.map && result.map.notice);
  // the lede goes on the page's first screen, under the aircraft's name; here when there is no such place
  const ledeAt = document.getElementById("lede-slot");
  const lede = ledeNode(result, notice);
  if (ledeAt) put(ledeAt, lede);
  const evidence = el("div", { id: "evidence", "aria-live": "polite" }, el("p", { class: "muted", text: "Click a leg or a stop, on the map or in the tables (or Tab to it and press Enter), to see its evidence." }));
  const mapNode = el("div", { id: "map", role: "region", "aria-label": "itinerary map" });
  const legendNode = el("div", { class: "legend", id: "map-legend" });
  const downloads = el("p", { class: "downloads" }, "download: ",
    ["html", "md", "json", "geojson", "kml", "csv"].map((f) => el("a", { href: `/api/jobs/${jobId}/download/${f}`, download: "", text: f === "csv" ? "csv (zip)" : f })),
    el("a", { href: "#", id: "map-svg", text: "map (svg)", onclick: (e) => { e.preventDefault(); map.downloadSvg(); } }));
  const limiting = Number.isInteger(airlift.limiting_leg) ? airlift.limiting_leg : null;
  const routeNames = (route.airports || []).map((code, i) => stopName(code, stops[i]));
  put(box,
    ledeAt ? null : lede,
    facts([
      ["route", routeNames.join(" → ") || "—"],
      ["legs", String(legs.length)],
      ["flown", route.flown_km === undefined || route.flown_km === null ? null : `${fmtKm(route.flown_km)}` +
        (route.legs_compared !== undefined ? ` on the ${route.legs_compared} legs with both ends known` : "") +
        (route.legs_left_out ? ` (${route.legs_left_out} left out; ${fmtKm(route.flown_km_all_legs)} on all legs)` : "")],
      ["direct", route.direct_km === undefined ? null : fmtKm(route.direct_km)],
      ["legal shortest", route.legal_shortest_km === undefined || route.legal_shortest_km === null ? null : fmtKm(route.legal_shortest_km)],
      ["detour", route.detour || null],
      ["payload", airlift.type ? `${airlift.type_name || airlift.type}: at most ${fmtNum(airlift.end_to_end_max_t, 1)} t end to end` +
        (airlift.end_to_end_band_t ? ` (band ${airlift.end_to_end_band_t.join("–")} t)` : "") +
        (limiting !== null ? `, limited by leg ${limiting + 1}${legs[limiting] ? " " + legName(legs[limiting]) : ""}` : "") + ` — ${airlift.evidence || ""}` : null],
      ["payload basis", airlift.reserve_policy || null],
      ["observed positions", it.observed_points !== undefined ? fmtNum(it.observed_points) : null],
    ]),
    route.airspace_story ? el("div", { class: "airspace-story" }, el("h3", { text: "Whose airspace it went around" }),
      el("p", { id: "airspace-story", text: route.airspace_story })) : null,
    (it.notes || []).length ? el("ul", { class: "notes" }, it.notes.map((n) => el("li", { text: n }))) : null,
    downloads,
    el("div", { class: "mapwrap" }, mapNode, evidence),
    legendNode,
    el("h2", { text: `Legs (${legs.length})` }),
    table(["#", "from", "to", "take-off", "landing", "ends", { label: "confidence", num: true }, { label: "great circle", num: true },
      { label: "flown", num: true }, "countries", "barred airspace", { label: "max payload", num: true }, { label: "positions", num: true }],
    legs.map((leg, i) => keyboardRow(el("tr", { class: "clickable leg", dataset: { leg: i }, onclick: () => selectLeg(i) },
      el("td", { text: i + 1 }), el("td", { text: airport(leg.origin) }), el("td", { text: airport(leg.destination) }),
      el("td", { text: fmtTime(leg.takeoff) }), el("td", { text: fmtTime(leg.landing) }),
      el("td", {}, badge(leg.origin_evidence), " ", badge(leg.destination_evidence)),
      el("td", { class: "num", text: leg.confidence === null || leg.confidence === undefined ? "—" : Number(leg.confidence).toFixed(2) }),
      el("td", { class: "num", text: fmtKm(leg.great_circle_km) }), el("td", { class: "num", text: fmtKm(leg.flown_km) }),
      el("td", { text: [...new Set(leg.countries || [])].join(", ") }), el("td", { class: "barred", text: barredText(leg) }),
      el("td", { class: "num", text: leg.max_payload_t === null || leg.max_payload_t === undefined ? "unknown" :
        `${fmtNum(leg.max_payload_t, 1)} t` + (leg.payload_band_t ? ` (${leg.payload_band_t.join("–")})` : "") }),
      el("td", { class: "num", text: fmtNum(leg.n_points) })), () => selectLeg(i))), "legs"),
    el("h2", { text: `Stops (${stops.length})` }),
    table(["airport", "arrival", "departure", "evidence", "how", { label: "confidence", num: true }, "why"],
      stops.map((s, i) => keyboardRow(el("tr", { class: "clickable stop", dataset: { stop: i }, onclick: () => selectStop(i) },
        el("td", { text: s.airport ? airport(s.airport) : stopName(null, s) }), el("td", { text: fmtTime(s.arrival) }), el("td", { text: fmtTime(s.departure) }),
        el("td", {}, badge(s.evidence)), el("td", { text: s.how || "" }),
        el("td", { class: "num", text: s.confidence === null || s.confidence === undefined ? "—" : Number(s.confidence).toFixed(2) }),
        el("td", { text: (s.reasons || [])[0] || "" })), () => selectStop(i))), "stops"));

  const map = drawItineraryMap(mapNode, result, it);
  put(legendNode, map.legend());

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
  function selectLeg(i, move = true) {
    const leg = legs[i];
    mark("leg", i);
    map.highlightLeg(i, move);
    state.selected = `leg=${i + 1}`;
    map.remember();
    put(evidence, el("h2", { text: `Leg ${i + 1}: ${legName(leg)}` }),
      facts([["take-off", fmtTime(leg.takeoff)], ["landing", fmtTime(leg.landing)],
        ["origin", el("span", {}, badge(leg.origin_evidence), ` ${airport(leg.origin)}${leg.origin_how ? " · " + leg.origin_how : ""}`)],
        ["destination", el("span", {}, badge(leg.destination_evidence), ` ${airport(leg.destination)}${leg.destination_how ? " · " + leg.destination_how : ""}`)],
        ["confidence", leg.confidence === undefined ? null : String(leg.confidence)],
        ["first / last position", leg.first_point || leg.last_point ? `${fmtTime(leg.first_point)} / ${fmtTime(leg.last_point)}` : "none (no positions)"],
        ["callsigns", (leg.callsigns || []).join(", ") || null],
        ["countries", [...new Set(leg.countries || [])].join(", ") || null],
        ["direct line crosses (barred)", leg.direct_barred === undefined ? null : codes(leg.direct_barred) || "none"],
        ["went around", leg.avoided === undefined ? null : codes(leg.avoided) || "nothing"],
        ["crossed (barred)", codes(leg.crossed_barred || leg.banned_countries) || "none"],
        ["legal shortest", leg.legal_shortest_km !== undefined ? fmtKm(leg.legal_shortest_km) : null],
        ["detour", leg.detour_km === undefined || leg.detour_km === null ? null : `${fmtKm(leg.detour_km)} (${fmtNum(leg.detour_pct, 1)} %) against the direct line`],
        ["airspace", leg.airspace_sentence || null],
        ["payload limited by", leg.payload_limited_by || null]]),
      ...listOf("Reasons", leg.reasons),
      ...listOf("Other candidate airports", candidatesOf(leg.alternatives || leg.candidates)),
      ...listOf("Coverage gaps", (leg.gaps || []).map((g) => `${fmtTime(g.start)} → ${fmtTime(g.end)}, ${fmtKm(g.km)}`)));
  }
  function selectStop(i, move = true) {
    const s = it.stops[i];
    mark("stop", i);
    map.focusStop(i, move);
    state.selected = `stop=${i + 1}`;
    map.remember();
    put(evidence, el("h2", {}, `Stop: ${s.airport ? airport(s.airport) : stopName(null, s)} `, badge(s.evidence)),
      facts([["arrival", fmtTime(s.arrival)], ["departure", fmtTime(s.departure)], ["how", s.how || null],
        ["confidence", s.confidence === undefined || s.confidence === null ? null : String(s.confidence)],
        ["position", s.airport && s.airport.latitude !== undefined ? `${fmtNum(s.airport.latitude, 4)}, ${fmtNum(s.airport.longitude, 4)}` : null]]),
      ...listOf("Evidence", s.reasons),
      ...listOf("Candidates", candidatesOf(s.candidates)),
      ...listOf("Runners-up", candidatesOf(s.alternatives)));
  }
  map.onLeg = selectLeg;
  map.onStop = selectStop;
  // a permalink (#leg=N or #stop=N, with map=zoom/lat/lon) opens what it names
  const wanted = new URLSearchParams(location.hash.slice(1));
  const n = (k) => (wanted.has(k) && /^\d+$/.test(wanted.get(k)) ? Number(wanted.get(k)) - 1 : -1);
  const view = wanted.get("map");  // a view in the link is kept: the selection does not move the map
  if (n("leg") >= 0 && n("leg") < legs.length) selectLeg(n("leg"), !view);
  else if (n("stop") >= 0 && n("stop") < stops.length) selectStop(n("stop"), !view);
  map.restore(view);
}

/* ---------- maps ---------- */
