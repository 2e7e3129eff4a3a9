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
  history.replaceState({}, "", `/aircraft/${icao24}?${new URLSearchParams({ start, end })}`);
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
