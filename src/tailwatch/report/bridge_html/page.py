"""The bridge page: the lede, one map of every inbound flight, the timeline beside the baseline, the
flights, the totals, who met whom on the ground, what was left out and why.

`render_bridge_body` is the part a served page shows under its own form (`tailwatch serve`'s bridge
page inserts exactly this); `render_bridge_html` wraps it into one self-contained file with the itinerary
report's stylesheet and script inlined (`report/assets`), a Content-Security-Policy that forbids any
request, and the SIMULATED banner when the data is simulated. Every string from the data (a callsign,
an operator's name, a list entry) goes through `html.escape`.
"""

from __future__ import annotations

from tailwatch.report.bridge_html.map import render_bridge_map
from tailwatch.report.bridge_html.timeline import render_timeline
from tailwatch.report.html.text import asset, badge, esc


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _counts(items: dict) -> str:
    return ", ".join(f"{k} ({v})" for k, v in items.items()) or "none"


def lede_text(doc: dict) -> str:
    """The story in one paragraph, in plain words (escaped by the caller)."""
    t = doc.get("totals") or {}
    b = doc.get("baseline") or {}
    into, start, end = doc.get("into"), (doc.get("start") or "")[:16].replace("T", " "), (doc.get("end") or "")[:16].replace("T", " ")
    n = t.get("flights") or 0
    if not n:
        text = (f"No flagged flight into {into} landed between {start} and {end} UTC; "
                f"{_n(len(doc.get('excluded') or []), 'candidate')} left out, each with its reason below.")
    else:
        text = (f"{_n(n, 'flagged flight')} into {into} between {start} and {end} UTC, by {t.get('aircraft') or 0:,} aircraft "
                f"({t.get('observed_arrivals', 0)} landings observed, {t.get('inferred_arrivals', 0)} inferred). "
                f"From: {_counts(t.get('by_origin_country') or {})}. Operators: {_counts(t.get('by_operator') or {})}. ")
        band = t.get("capacity_band_t") or [None, None]
        band_text = "" if None in band else f" (band {band[0]:,.0f}–{band[1]:,.0f} t)"
        unknown = t.get("flights_with_payload_unknown") or 0
        text += (f"Capacity flown in: at most {t.get('capacity_t', 0):,.0f} t{band_text}, what the arriving legs could "
                 f"have carried, not what they carried"
                 + (f"; {_n(unknown, 'flight')} with payload unknown add nothing" if unknown else "") + ". ")
    if b.get("held"):
        ratio = "undefined (no flight in it)" if b.get("ratio") is None else f"{b['ratio']:g}×"
        text += (f"Baseline {(b.get('start') or '')[:10]} to {(b.get('end') or '')[:10]}: {_n(b.get('flights') or 0, 'flight')}; "
                 f"ratio {ratio}." + (f" {b['note']}." if b.get("note") else ""))
    else:
        text += f"Baseline: {b.get('note') or 'none'}."
    first = b.get("first_seen_in_window") or []
    if n and first:
        text += f" {len(first):,} of the aircraft never seen landing in {into} before the window (in the data held)."
    return text


def _when(arrival: dict) -> str:
    if arrival.get("time"):
        return esc(arrival["time"].replace("T", " ").replace("Z", ""))
    lo, hi = (arrival.get("window") or [None, None])[:2]
    return f"between {esc(lo or '?')} and {esc(hi or '?')}"


def _chain(flight: dict) -> str:
    stops = flight.get("chain_stops") or [{"icao": c} for c in flight.get("chain") or []]
    parts = []
    for i, s in enumerate(stops):
        code = s.get("icao")
        ev = s.get("evidence") or "unknown"
        label = esc(code) if code else "unknown"
        title = esc(f"{code or 'unknown'} {s.get('name') or ''} ({s.get('country') or '?'}), {ev}")
        mark = f'<span class="stop-code {esc(ev)}" title="{title}">{label}' + (" (inferred)" if ev == "inferred" else "") + "</span>"
        if i:
            parts.append(f'<span class="hop">→<sub>{i}</sub></span>')
        parts.append(mark)
    return " ".join(parts)


def _payload(flight: dict) -> str:
    if flight.get("max_payload_t") is None:
        return "unknown"
    band = flight.get("payload_band_t") or [None, None]
    text = f"{flight['max_payload_t']:,.1f}"
    if None not in band and band != [flight["max_payload_t"]] * 2:
        text += f"<br><small>band {band[0]:,.1f}–{band[1]:,.1f}</small>"
    return text


def render_flights(doc: dict) -> str:
    from tailwatch.report.bridge_html.map import UNKNOWN_COLOUR, colours

    flights = doc.get("flights") or []
    if not flights:
        return '<p class="empty">No flight counted.</p>'
    palette = colours(flights)
    rows = []
    for k, f in enumerate(flights, 1):
        a = f.get("arrival") or {}
        colour = palette.get(f.get("from_country") or "unknown", UNKNOWN_COLOUR)
        rows.append(
            f'<tr class="flight" data-flight="{k}"><td><svg width="10" height="10"><rect width="10" height="10" rx="2" '
            f'fill="{colour}"/></svg> {k}</td><td class="nw"><code>{esc(f.get("icao24"))}</code></td>'
            f"<td class=\"nw\">{esc(f.get('registration') or 'unknown')}</td><td class=\"nw\">{esc(f.get('typecode') or 'unknown')}</td>"
            f"<td>{esc(f.get('operator') or 'unknown')}" + (f"<br><small>{esc(f['operator_from'])}</small>" if f.get("operator_from") else "")
            + f"</td><td><b>{esc(a.get('icao'))}</b> <small class=\"apname\">{esc(a.get('name') or '')}</small><br>{_when(a)} {badge(a.get('evidence'))}</td>"
            f"<td>{_chain(f)}</td><td>{esc(f.get('from_country') or 'unknown')}</td>"
            f"<td class=\"bn\">{esc(' '.join(f.get('avoided') or [])) or '—'}</td><td>{_payload(f)}</td></tr>")
    head = ("<thead><tr><th>#</th><th>aircraft</th><th>registration</th><th>type</th><th>operator</th>"
            "<th>arrival (UTC)</th><th>chain (legs numbered from 1)</th><th>from</th><th>avoided</th>"
            "<th>max payload t</th></tr></thead>")
    return f'<div class="scroll"><table class="flights">{head}<tbody>{"".join(rows)}</tbody></table></div>'


def _count_table(title: str, items: dict) -> str:
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{v:,}</td></tr>" for k, v in items.items()) or '<tr><td colspan="2">none</td></tr>'
    return f'<table class="totals"><thead><tr><th>{esc(title)}</th><th>flights</th></tr></thead><tbody>{rows}</tbody></table>'


def render_totals(doc: dict) -> str:
    t = doc.get("totals") or {}
    return ('<div class="totals-grid">' + _count_table("origin country", t.get("by_origin_country") or {})
            + _count_table("operator", t.get("by_operator") or {}) + _count_table("type", t.get("by_type") or {})
            + _count_table("ISO week", t.get("by_week") or {}) + "</div>"
            + (f'<p><small>{esc(t["capacity_note"])}.</small></p>' if t.get("capacity_note") else ""))


def render_colocations(doc: dict) -> str:
    rows = []
    for c in doc.get("colocations") or []:
        who = " and ".join(f"{x.get('registration') or x.get('icao24')} ({x.get('typecode') or '?'})" for x in c.get("aircraft") or [])
        rows.append(f"<tr><td><b>{esc(c.get('airport'))}</b> <small>{esc(c.get('name') or '')}</small></td><td>{esc(who)}</td>"
                    f"<td>{esc(c.get('from'))}</td><td>{esc(c.get('to'))}</td><td>{c.get('overlap_h', 0):g}</td>"
                    f"<td>{badge(c.get('evidence'))}</td></tr>")
    if not rows:
        return '<p class="empty">No two flagged aircraft were observed on the ground at one airport at once.</p>'
    return ('<div class="scroll"><table class="colocations"><thead><tr><th>airport</th><th>aircraft</th><th>from (UTC)</th>'
            '<th>to (UTC)</th><th>overlap h</th><th>evidence</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table></div>")


def render_excluded(doc: dict) -> str:
    rows = [f"<tr><td><code>{esc(e.get('icao24'))}</code> {esc(e.get('registration') or '')}</td>"
            f"<td>{esc(e.get('typecode') or 'unknown')}</td><td>{esc(e.get('reason'))}</td><td>{esc(e.get('detail'))}</td></tr>"
            for e in doc.get("excluded") or []]
    if not rows:
        return '<p class="empty">None.</p>'
    return ('<div class="scroll"><table class="excluded"><thead><tr><th>aircraft</th><th>type</th><th>reason</th><th>detail</th>'
            '</tr></thead><tbody>' + "".join(rows) + "</tbody></table></div>")


def render_cargo(doc: dict) -> str:
    c = doc.get("cargo")
    if not c:
        return ""
    rows = "".join(f"<tr><td>{esc(r.get('type'))}</td><td>{r.get('flights')}</td><td>{esc(r.get('median_capacity_t') if r.get('median_capacity_t') is not None else 'unknown')}</td>"
                   f"<td>{esc(r.get('sorties_needed') if r.get('sorties_needed') is not None else 'unknown')}</td></tr>"
                   for r in c.get("per_type") or [])
    reported = "".join(f"<li>{esc(r.get('description'))}: {esc(r.get('sorties'))} <small>({esc(r.get('source'))}, {esc(r.get('as_of'))})</small></li>"
                       for r in c.get("reported") or [])
    unknown = c.get("items_unknown") or []
    return (f"<h2>Cargo: {esc(c.get('cargo'))}</h2><p>Known mass {c.get('known_mass_t', 0):,.1f} t"
            + (f" ({len(unknown)} items of unknown mass: {esc(', '.join(unknown))})" if unknown else "")
            + f"; the {c.get('flights_flown', 0)} flights flown could carry at most {c.get('capacity_flown_t', 0):,.0f} t.</p>"
            + ('<table class="cargo"><thead><tr><th>type</th><th>flights</th><th>median capacity t</th><th>sorties needed</th>'
               f"</tr></thead><tbody>{rows}</tbody></table>" if rows else "")
            + (f"<p>Reported sortie counts:</p><ul>{reported}</ul>" if reported else "")
            + (f"<p><small>{esc(c['note'])}.</small></p>" if c.get("note") else ""))


METHOD = """<ul>
<li>A <b>flight into the place</b> is a leg of an itinerary whose destination is <b>observed</b> (positions on the
ground or low at the airport) or <b>inferred</b> (reasoned over a coverage gap) and lies in the place, landing in the
window. An unknown destination never counts, even when the track crossed the country.</li>
<li>The <b>chain</b> runs back through the legs of the same trip while their origins lie outside the place; an
unknown stop stays unknown, and then the origin country is unknown. On the map solid lines are positions, dashed
lines are great circles across gaps (the aircraft did not necessarily fly there).</li>
<li><b>Capacity</b> is the sum of each arriving leg's maximum payload from sourced type data: an upper bound of what
the flights could have carried, not a measured load.</li>
<li>The <b>baseline</b> is the preceding window of equal length (the part the data holds); the ratio compares the two.
<b>Co-location</b> uses observed ground stays only.</li>
<li>Absence of positions is not absence of flight: receivers cover oceans and deserts hardly at all, transponders
can be switched off. Times are UTC.</li>
</ul>"""


def render_bridge_body(doc: dict) -> str:
    """Everything under the page title: lede, map, timeline, tables, notes (no banner, no script)."""
    svg, map_notes = render_bridge_map(doc)
    criteria = doc.get("criteria") or []
    notes = [*map_notes, *(doc.get("notes") or [])]
    b = doc.get("baseline") or {}
    if b.get("first_seen_note"):
        notes.append(f"First seen: {b['first_seen_note']}.")
    return (f'<section class="bridge" id="bridge"><p class="lede">{esc(lede_text(doc))}</p>'
            + (f"<p><small>Aircraft counted: {esc('; '.join(criteria))}.</small></p>" if criteria else "")
            + f"<h2>Inbound flights</h2>{svg}"
            + "".join(f'<p class="note">{esc(n)}</p>' for n in map_notes)
            + f"<h2>Flights per day</h2>{render_timeline(doc)}"
            + f"<h2>Flights</h2>{render_flights(doc)}"
            + f"<h2>Totals</h2>{render_totals(doc)}"
            + render_cargo(doc)
            + f"<h2>Together on the ground</h2>{render_colocations(doc)}"
            + f"<h2>Not counted</h2>{render_excluded(doc)}"
            + ("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes[len(map_notes):]) + "</ul>"
               if notes[len(map_notes):] else "")
            + f"<h2>Method and caveats</h2>{METHOD}</section>")


def notice_of(doc: dict) -> str | None:
    if doc.get("notice"):
        return str(doc["notice"])
    if doc.get("simulated"):
        from tailwatch.report.tracks import SIMULATED_NOTICE

        return SIMULATED_NOTICE
    return None


def title_of(doc: dict) -> str:
    title = f"tailwatch air bridge into {doc.get('into')}, {(doc.get('start') or '')[:10]} to {(doc.get('end') or '')[:10]}"
    return ("SIMULATED — " + title) if notice_of(doc) and "simulat" in notice_of(doc).lower() else title


def render_bridge_html(doc: dict) -> str:
    """The whole page, self-contained: nothing is loaded from the network."""
    notice = notice_of(doc)
    title = title_of(doc)
    banner = f'<div class="notice" role="alert">{esc(notice)}</div>' if notice else ""
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{asset('report.css')}{asset('bridge.css')}</style></head><body>{banner}<main><h1>{esc(title)}</h1>"
            f"{render_bridge_body(doc)}"
            f"<footer>{esc(notice) + ' · ' if notice else ''}Generated by tailwatch from the bridge JSON "
            f"({esc(doc.get('schema') or 'tailwatch.bridge/1')}). Self-contained: this page loads nothing from the network."
            f"</footer></main>{banner}<script>{asset('report.js')}{asset('bridge.js')}</script></body></html>")


__all__ = ["lede_text", "render_bridge_body", "render_bridge_html", "title_of"]
