"""The itinerary as a Markdown briefing: departure, each stop with times and evidence, arrival.

Written for a reader who will not open the JSON: every place says whether the data shows it
(observed), reasoning over a gap places it (inferred, with confidence and reasons), or nobody
can say (unknown). Works from the `tailwatch.itinerary/1` JSON alone.

Every value that comes from data (list entries, registrations, airport names, reasons, notes)
goes through `_md`: a Markdown viewer renders inline HTML, so `<script>` or `<img onerror>` in a
watchlist field must arrive as text, and a `|` must not split a table cell.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from tailwatch.itinerary.detour import detour_sentence
from tailwatch.report.tracks import route_text, sources_text, starts_trip, time_note, untracked_text

LEGEND = ("*observed*: positions show the aircraft on or just above the ground there; "
          "*inferred*: no position shows it, the place is reasoned from the track before and after a gap "
          "(confidence 0–1, reasons listed); *unknown*: the data cannot tell.")


_MD_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "[": "\\[", "]": "\\]",
                              "`": "\\`"})


def _md(value) -> str:
    """Data as Markdown text: HTML and link characters escaped, `|` escaped, kept on one line."""
    if value is None:
        return ""
    return " ".join(str(value).split()).translate(_MD_ESCAPES)


def _place(a: dict | None) -> str:
    if not a:
        return "unknown place"
    return f"**{_md(a['icao'])}** {_md(a.get('name', ''))} ({_md(a.get('country') or '?')})".strip()


def _t(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", " Z") if value else "time not observed"


def _ev(evidence: str, confidence: float | None = None, how: str | None = None) -> str:
    text = f"*{evidence}*"
    if how and how not in (evidence, "inferred", "unknown"):
        text += f" ({how})"
    if evidence == "inferred" and confidence is not None:
        text += f", confidence {confidence:.2f}"
    return text


def _km(v) -> str:
    return "–" if v is None else f"{v:,.0f} km"


def _pct(leg: dict) -> str:
    """` (+4.4 %)`: the leg's flown distance against its own great circle."""
    return "" if leg.get("detour_pct") is None else f" ({float(leg['detour_pct']):+.1f} %)"


def _stop_lines(stop: dict, title: str) -> list[str]:
    where = _place(stop.get("airport"))
    alts = stop.get("alternatives") or []
    if not stop.get("airport") and alts:
        where = "unknown — candidates " + "/".join(_md(a["icao"]) for a in alts)
    lines = [f"### {title}: {where} — {_ev(stop['evidence'], stop.get('confidence'), stop.get('how'))}"]
    if stop["evidence"] != "observed" and stop.get("score") is not None:
        lines.append(f"- score {stop['score']:.2f}; runner-up {stop.get('runner_up_score') or 0:.2f}")
    times = []
    if stop.get("arrival"):
        times.append(f"arrived {_t(stop['arrival'])}")
    if stop.get("departure"):
        times.append(f"left {_t(stop['departure'])}")
    if times:
        lines.append("- " + "; ".join(times))
    for r in stop.get("reasons") or []:
        lines.append(f"- {_md(r)}")
    if alts and stop["evidence"] != "observed":
        lines.append(("- candidates: " if not stop.get("airport") else "- runners-up: ") + ", ".join(f"{_md(a['icao'])} {_md(a['name'])} ({a['score']:.2f})" for a in alts))
    return lines


_PLAIN_URL = re.compile(r"^https?://[^\s<>()\[\]`]+$")  # a list entry's source link, shown only when it is nothing else


def _lede(itin: dict) -> str:
    """The lede paragraph (report.lede): who, on which lists, where, whose airspace, what it could carry."""
    from tailwatch.report.lede import lede

    return " ".join(_md(text) + (f" (<{link}>)" if link and _PLAIN_URL.match(link) and link not in text else "")
                    for text, link in lede(itin))


def _airspace_lines(legs: list[dict]) -> list[str]:
    """Whose airspace each leg went around (`airspace_sentence`, legs numbered from 1); nothing
    when no leg avoided anything."""
    found = [(i, leg["airspace_sentence"]) for i, leg in enumerate(legs, 1) if leg.get("airspace_sentence")]
    if not found:
        return []
    return ["", "**Airspace avoided:**", ""] + [f"- Leg {i}, {_md(text)}" for i, text in found] + [""]


def render_itinerary(itin: dict) -> list[str]:
    ac = itin.get("aircraft") or {}
    name = ac.get("registration") or ac.get("icao24") or "aircraft"
    legs = itin.get("legs") or []
    lines = [f"## {_md(name)} — {_md(ac.get('typecode') or 'type unknown')}, address {_md(ac.get('icao24'))}"
             f", {_md(ac.get('country') or 'country unknown')}"]
    lines += ["", _lede(itin), ""]
    for w in ac.get("watchlists") or []:
        lines.append(f"- on watchlist {_md(w.get('list'))}: {_md(w.get('id'))} {_md(w.get('name'))}".rstrip())
    if not legs:
        lines.append("")
        lines.append("No flight in the data (on the ground or no usable points).")
        lines += [f"- {_md(note)}" for note in itin.get("notes") or []]
        return lines
    route = itin.get("route") or {}
    first = legs[0].get("first_point") or legs[0].get("takeoff")
    last = legs[-1].get("last_point") or legs[-1].get("landing")
    trips = len({leg.get("trip", 0) for leg in legs})
    # one distance sentence in every format (itinerary.detour): the airspace step's when it ran
    distance = route.get("detour") or detour_sentence(route, len(legs))
    lines += ["", f"**Route:** {_md(route_text(itin))}  ",
              f"**Legs:** {len(legs)}" + (f" in {trips} trips, not tracked between them" if trips > 1 else "")
              + f"; data from {_t(first)} to {_t(last)}  ",
              f"**Distance{' and airspace' if route.get('detour') else ''}:** {distance}  "]
    note = time_note(itin)
    if note:
        lines.append(f"**Times:** {note}  ")
    lines += _airspace_lines(legs)
    stops = itin.get("stops") or []
    counts = {k: sum(1 for s in stops if s["evidence"] == k) for k in ("observed", "inferred", "unknown")}
    lines.append(f"**Places:** {counts['observed']} observed, {counts['inferred']} inferred, {counts['unknown']} unknown")
    lines.append("")
    k = 0  # the next entry of `stops`: each trip's first origin, then every leg's destination
    for i, leg in enumerate(legs):
        trip = int(leg.get("trip", 0) or 0)
        if starts_trip(legs, i):
            if i:
                lines += ["", f"**{untracked_text(itin, trip)}:** no stop is inferred in it; trip {trip + 1} begins.", ""]
            if k < len(stops):
                lines += _stop_lines(stops[k], "Departure" if i == 0 else f"Departure of trip {trip + 1}")
                k += 1
        extra = []
        if leg.get("countries"):
            extra.append("over " + ", ".join(leg["countries"]))
        band = leg.get("payload_band_t") or [None, None]
        if leg.get("max_payload_t") is not None:
            extra.append(f"payload up to {leg['max_payload_t']:,.0f} t")
        elif band[1] is not None:  # beyond the sourced range: unknown, only bounded
            extra.append(f"payload unknown, at most {band[1]:,.1f} t")
        gaps = leg.get("gaps") or []
        lines.append("")
        lines.append(f"> Leg {i + 1}: {_t(leg.get('takeoff'))} → {_t(leg.get('landing'))}; "
                     f"{_km(leg.get('great_circle_km'))} direct, {_km(leg.get('flown_km'))} flown{_pct(leg)}; "
                     f"{leg.get('n_points', 0):,} positions ({sources_text(leg)}), {len(gaps)} gap(s)"
                     + (f"; {'; '.join(extra)}" if extra else "")
                     + ("; times assumed" if leg.get("time_assumed") else ""))
        lines.append("")
        if k < len(stops):
            title = ("Arrival" if i == len(legs) - 1 else f"End of trip {trip + 1}" if starts_trip(legs, i + 1)
                     else f"Stop {i + 1}")
            lines += _stop_lines(stops[k], title)
            k += 1
    lines.append("")
    lines.append("| # | trip | from | to | take-off | landing | direct | flown | positions by source | evidence (from / to) |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for i, leg in enumerate(legs):
        o = _md((leg.get("origin") or {}).get("icao")) or "?"
        d = _md((leg.get("destination") or {}).get("icao")) or "?"
        lines.append(f"| {i + 1} | {int(leg.get('trip', 0) or 0) + 1} | {o} | {d} | {leg.get('takeoff') or '–'} | "
                     f"{leg.get('landing') or '–'} | {_km(leg.get('great_circle_km'))} | {_km(leg.get('flown_km'))}{_pct(leg)} | "
                     f"{sources_text(leg)}{' (times assumed)' if leg.get('time_assumed') else ''} | "
                     f"{leg['origin_evidence']} / {leg['destination_evidence']} |")
    from tailwatch.report.hiding import markdown_lines

    lines += markdown_lines(itin)
    for note in itin.get("notes") or []:
        lines.append(f"\n*Note:* {_md(note)}")
    return lines


def render_markdown(itins: list[dict], points: dict[str, pl.DataFrame] | None = None,
                    notice: str | None = None) -> str:
    from tailwatch.report.tracks import notice_of

    lines = ["# Itinerary briefing", ""]
    notice = notice_of(itins, notice, points)  # simulated data says so in every output
    if notice:
        lines += [f"> **{notice}**", ""]
    lines += [LEGEND, ""]
    for itin in itins:
        lines += render_itinerary(itin)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(itins: list[dict], points: dict[str, pl.DataFrame], path: Path,
                   notice: str | None = None) -> list[Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(itins, points, notice), encoding="utf-8")
    return [path]
