"""The summary paragraph of one aircraft (route, detour, airlift), its notes, the simulation truth and the method text."""

from __future__ import annotations

import polars as pl

from tailwatch.itinerary.detour import detour_sentence
from tailwatch.report.html.text import km, esc
from tailwatch.report.tracks import iso, leg_label, route_text, time_note


def _legal_shortest(route: dict, legs: list[dict]) -> str:
    """The route's legal shortest length: the sum of the legs' own legal shortest paths over the
    legs with both ends known (`route.legal_shortest_km`), else over every leg when each has one."""
    if route.get("legal_shortest_km") is not None:
        return f"legal shortest {km(route['legal_shortest_km'])} over the legs with both ends known"
    per_leg = [leg.get("legal_shortest_km") for leg in legs]
    if per_leg and all(v is not None for v in per_leg):
        return f"legal shortest leg by leg {km(sum(per_leg))}"
    return "legal shortest not computed"


def _airspace_item(legs: list[dict]) -> str:
    """Whose airspace each leg went around, one sentence per leg that avoided something (legs
    numbered from 1, `airspace_sentence`); empty when none did."""
    found = [(i, leg["airspace_sentence"]) for i, leg in enumerate(legs, 1) if leg.get("airspace_sentence")]
    if not found:
        return ""
    return ('<li class="airspace"><b>Airspace avoided:</b><ul>'
            + "".join(f'<li data-leg="{i - 1}">Leg {i}, {esc(text)}</li>' for i, text in found) + "</ul></li>")


def render_summary(itin: dict, frame: pl.DataFrame | None) -> str:
    legs = itin.get("legs") or []
    route = itin.get("route") or {}
    obs = sum(1 for l in legs for e in (l.get("origin_evidence"), l.get("destination_evidence")) if e == "observed")
    ends = 2 * len(legs)
    times = [t for l in legs for t in (l.get("takeoff"), l.get("landing"), l.get("first_point"), l.get("last_point")) if t]
    trips = len({l.get("trip", 0) for l in legs})
    items = [
        f"<li><b>{len(legs)}</b> legs{f' in {trips} trips, not tracked between them' if trips > 1 else ''}, "
        f"{esc(min(times)) if times else '?'} to {esc(max(times)) if times else '?'}; "
        f"{obs} of {ends} take-off/landing ends observed, {ends - obs} inferred or unknown.</li>",
        f"<li>Route: {esc(route_text(itin)) or 'unknown'}.</li>",
    ]
    # one distance sentence in every format (itinerary.detour): the airspace step's when it ran
    # (it begins with the same comparison), else the comparison alone
    if route.get("detour"):
        items.append(f"<li>Distance: {esc(route['detour'])}.</li>")
    else:
        items.append(f"<li>Distance: {esc(detour_sentence(route, len(legs)))}; {_legal_shortest(route, legs)}.</li>")
    airspace = _airspace_item(legs)
    if airspace:
        items.append(airspace)
    note = time_note(itin)
    if note:
        items.append(f"<li><b>Times:</b> {esc(note)} (legs marked \"times assumed\").</li>")
    if frame is not None and frame.height:
        sources = ", ".join(f"{s} ({n:,})" for s, n in frame.group_by("source").len().sort("source").iter_rows()) \
            if "source" in frame.columns else "unknown"
        items.append(f"<li>{frame.height:,} positions from {esc(iso(frame['timestamp'].min()))} to "
                     f"{esc(iso(frame['timestamp'].max()))}; sources: {esc(sources)}.</li>")
    airlift = itin.get("airlift")
    if isinstance(airlift, dict) and airlift:
        items.append(f"<li>{_airlift_text(airlift, legs)}</li>")
    return "<ul class=\"summary\">" + "".join(items) + "</ul>"


def _airlift_text(airlift: dict, legs: list[dict]) -> str:
    """The airlift summary in words, from the fields the airlift step writes (`limiting_leg` is 0-based)."""
    if not airlift.get("known", True):
        return f"Airlift: {esc(airlift.get('note') or 'no payload data for this type')}."
    parts = [f"Airlift ({esc(airlift.get('evidence') or 'inferred')}): {esc(airlift.get('type_name') or airlift.get('type') or '')}"]
    if airlift.get("end_to_end_max_t") is not None:
        band = airlift.get("end_to_end_band_t") or [None, None]
        band_text = f" (band {band[0]:.0f}–{band[1]:.0f} t)" if None not in band else ""
        limiting = airlift.get("limiting_leg")
        which = ""
        if isinstance(limiting, int) and 0 <= limiting < len(legs):
            which = f", limited by leg {limiting + 1} ({esc(leg_label(legs[limiting]))})"
        parts.append(f"at most {airlift['end_to_end_max_t']:.1f} t{band_text} could have been carried on every leg{which}")
    elif airlift.get("note"):
        parts.append(esc(airlift["note"]))
    if airlift.get("reserve_policy"):
        parts.append(f"reserves: {esc(airlift['reserve_policy'])}")
    if airlift.get("max_payload_source"):
        parts.append(f"source: {esc(airlift['max_payload_source'])}")
    return "; ".join(parts) + "."


METHOD = """
<ul>
<li><b>Observed</b> means the aircraft's own positions show it: a take-off or landing is observed when points reach
the airport; a track is drawn solid only where consecutive points exist.</li>
<li><b>Inferred</b> means reasoned over a gap in coverage: dashed lines are great circles between the last point before a
gap and the first after it (or to an airport the points do not reach). The aircraft did not necessarily fly there.
Each inferred airport carries the reasons and runner-up airports listed in the legs table.</li>
<li><b>Confidence</b> (0–1) is the itinerary builder's score for the leg's two ends; read it with the reasons, not alone.</li>
<li>Absence of points is not absence of flight: receivers cover land unevenly and oceans and deserts hardly at all;
transponders can be switched off; positions can be spoofed or jammed. A leg may hide an unobserved stop.</li>
<li><b>Countries</b> are the airspaces (land plus 12 NM territorial sea) the drawn track crosses, inferred parts included;
<b>Barred airspace</b> is airspace closed to this aircraft according to the packaged ban table (with its instruments, dates
and sources): <i>went around</i> lists what the leg's direct line (great circle) crosses and its track did not,
<i>crossed</i> what the track crossed (observed, or across an inferred stretch). The <b>legal shortest path</b> is the
shortest line between the leg's airports that stays out of barred airspace; it is drawn thin on the map.</li>
<li><b>Max payload</b> is the type's payload–range figure for the leg's great-circle distance from sourced type data;
it is an upper bound, not a measured load. "unknown" means no source gives the figure.</li>
<li>Times are UTC. Figures come from the itinerary JSON (schema tailwatch.itinerary/1) and the points listed per leg.</li>
</ul>"""


def render_notes(itin: dict) -> str:
    """Notes the itinerary builder left (type figures used, registrations, data limits)."""
    notes = [n for n in itin.get("notes") or [] if n]
    type_note = (itin.get("type") or {}).get("note")
    if type_note:
        notes.append(type_note)
    if not notes:
        return ""
    return "<h3>Notes from the itinerary builder</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"


def render_simulation(itin: dict) -> str:
    """For simulated itineraries: what the simulator flew, to judge the rebuilt legs against."""
    sim = itin.get("simulation")
    if not isinstance(sim, dict):
        return ""
    rows = "".join(f"<tr><td>{i + 1}</td><td>{esc(l.get('origin'))}</td><td>{esc(l.get('destination'))}</td>"
                   f"<td>{esc(l.get('takeoff'))}</td><td>{esc(l.get('landing'))}</td></tr>"
                   for i, l in enumerate(sim.get("legs") or []))
    outages = "".join(f"<li>{esc(k)} offline {esc(' to '.join(v))}</li>" for k, v in (sim.get("receiver_outages") or {}).items())
    return (f"<h3>Simulated truth (what the simulator flew)</h3><p>{esc(sim.get('notice') or '')}. "
            f"{esc(sim.get('receivers') or '?')} simulated receivers. The rebuilt route matches the simulated one at "
            f"{esc(sim.get('matching_airports'))} of {len(sim.get('route') or [])} airports.</p>"
            + (f"<ul>{outages}</ul>" if outages else "")
            + '<table class="truth"><tr><th>#</th><th>from</th><th>to</th><th>take-off (UTC)</th><th>landing (UTC)</th></tr>'
            + rows + "</table>")
