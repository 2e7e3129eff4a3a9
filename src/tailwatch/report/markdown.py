"""The itinerary as a Markdown briefing: departure, each stop with times and evidence, arrival.

Written for a reader who will not open the JSON: every place says whether the data shows it
(observed), reasoning over a gap places it (inferred, with confidence and reasons), or nobody
can say (unknown). Works from the `tailwatch.itinerary/1` JSON alone.

Every value that comes from data (list entries, registrations, airport names, reasons, notes)
goes through `_md`: a Markdown viewer renders inline HTML, so `<script>` or `<img onerror>` in a
watchlist field must arrive as text, and a `|` must not split a table cell.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

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


def render_itinerary(itin: dict) -> list[str]:
    ac = itin.get("aircraft") or {}
    name = ac.get("registration") or ac.get("icao24") or "aircraft"
    legs = itin.get("legs") or []
    lines = [f"## {_md(name)} — {_md(ac.get('typecode') or 'type unknown')}, address {_md(ac.get('icao24'))}"
             f", {_md(ac.get('country') or 'country unknown')}"]
    for w in ac.get("watchlists") or []:
        lines.append(f"- on watchlist {_md(w.get('list'))}: {_md(w.get('id'))} {_md(w.get('name'))}".rstrip())
    if not legs:
        lines.append("")
        lines.append("No flight in the data (on the ground or no usable points).")
        lines += [f"- {_md(note)}" for note in itin.get("notes") or []]
        return lines
    route = itin.get("route") or {}
    codes = [_md(c) or "?" for c in route.get("airports") or []]
    first = legs[0].get("first_point") or legs[0].get("takeoff")
    last = legs[-1].get("last_point") or legs[-1].get("landing")
    lines += ["", f"**Route:** {' → '.join(codes)}  ",
              f"**Legs:** {len(legs)}; flown about {_km(route.get('flown_km'))}; "
              f"data from {_t(first)} to {_t(last)}"]
    stops = itin.get("stops") or []
    counts = {k: sum(1 for s in stops if s["evidence"] == k) for k in ("observed", "inferred", "unknown")}
    lines.append(f"**Places:** {counts['observed']} observed, {counts['inferred']} inferred, {counts['unknown']} unknown")
    if route.get("detour"):  # the airspace enricher's sentence: distance against direct and legal paths
        lines += ["", f"**Airspace:** {route['detour']}"]
    lines.append("")
    for i, stop in enumerate(stops):
        title = "Departure" if i == 0 else ("Arrival" if i == len(stops) - 1 else f"Stop {i}")
        lines += _stop_lines(stop, title)
        if i < len(legs):
            leg = legs[i]
            extra = []
            if leg.get("countries"):
                extra.append("over " + ", ".join(leg["countries"]))
            if leg.get("max_payload_t") is not None:
                extra.append(f"payload up to {leg['max_payload_t']:,.0f} t")
            gaps = leg.get("gaps") or []
            lines.append("")
            lines.append(f"> Leg {i + 1}: {_t(leg.get('takeoff'))} → {_t(leg.get('landing'))}; "
                         f"{_km(leg.get('great_circle_km'))} direct, {_km(leg.get('flown_km'))} flown; "
                         f"{leg.get('n_points', 0):,} positions, {len(gaps)} gap(s)"
                         + (f"; {'; '.join(extra)}" if extra else ""))
            lines.append("")
    lines.append("")
    lines.append("| # | from | to | take-off | landing | direct | evidence (from / to) |")
    lines.append("|---|---|---|---|---|---|---|")
    for i, leg in enumerate(legs):
        o = _md((leg.get("origin") or {}).get("icao")) or "?"
        d = _md((leg.get("destination") or {}).get("icao")) or "?"
        lines.append(f"| {i + 1} | {o} | {d} | {leg.get('takeoff') or '–'} | {leg.get('landing') or '–'} | "
                     f"{_km(leg.get('great_circle_km'))} | {leg['origin_evidence']} / {leg['destination_evidence']} |")
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
