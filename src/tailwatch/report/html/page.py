"""The whole page: one section per aircraft, a banner when the data is simulated, no request made."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tailwatch.report.html.map import render_map
from tailwatch.report.html.profile import render_profile
from tailwatch.report.html.summary import METHOD, render_notes, render_simulation, render_summary
from tailwatch.report.html.tables import render_identity, render_legs_table, render_stops_table
from tailwatch.report.html.text import asset, esc
from tailwatch.report.tracks import leg_points, leg_segments, notice_of


def _hiding(itin: dict, frame: pl.DataFrame | None) -> str:
    """Went dark / position withheld (report/hiding.py), when the itinerary has any."""
    from tailwatch.report.hiding import render_timeline

    return render_timeline(itin, frame)


def _lede(itin: dict) -> str:
    """The lede (report.lede) as the section's first paragraph; a list entry's source address shown where it has one."""
    from tailwatch.report.lede import lede

    parts = []
    for text, link in lede(itin):
        html = esc(text)
        # the source's address is shown, not linked: the page references nothing on the network
        if link and esc(link) in html:
            html = html.replace(esc(link), f'<span class="url">{esc(link)}</span>', 1)
        elif link:
            html += f' (<span class="url">{esc(link)}</span>)'
        parts.append(html)
    return f'<p class="lede">{" ".join(parts)}</p>'


MAX_NAMES_IN_TITLE = 5  # more aircraft are counted in the title; the overview lists them


def _prepare(itin: dict, frame: pl.DataFrame | None) -> tuple[list[pl.DataFrame], list[list]]:
    """Each leg's points and drawable segments (computed once for the overview and the section)."""
    legs = itin.get("legs") or []
    frames = [leg_points(frame, leg, i) for i, leg in enumerate(legs)]
    return frames, [leg_segments(leg, f, i) for i, (leg, f) in enumerate(zip(legs, frames))]


def render_aircraft(itin: dict, frame: pl.DataFrame | None, key: str, prepared: tuple | None = None) -> str:
    a = itin.get("aircraft") or {}
    legs = itin.get("legs") or []
    frames, by_leg = prepared or _prepare(itin, frame)
    segments = [s for segs in by_leg for s in segs]
    name = " · ".join(v for v in (a.get("registration"), a.get("icao24"), a.get("typecode")) if v) or "unknown aircraft"
    svg, notes = render_map(itin, segments, key)
    notes_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    return (f'<section class="aircraft" id="aircraft-{key}"><h2>{esc(name)}</h2>{_lede(itin)}{render_summary(itin, frame)}'
            f"<h3>Map</h3>{svg}{notes_html}"
            f"<h3>Altitude over time</h3><p><small>One panel per leg, from take-off to landing (ground time between legs is "
            f"not to scale). Lines are observed altitudes; hatched areas have no points (inferred).</small></p>"
            f"{render_profile(itin, by_leg, key)}"
            f'<h3>Legs</h3>{render_legs_table(itin, frames)}<h3>Stops</h3>{render_stops_table(itin)}'
            f"{_hiding(itin, frame)}"
            f"{render_simulation(itin)}"
            f"<h3>Identity and list entries</h3>{render_identity(itin)}{render_notes(itin)}</section>")


def render_html(itins: list[dict], points: dict[str, pl.DataFrame], notice: str | None = None,
                title: str | None = None) -> str:
    """The whole page as a string (one section per aircraft)."""
    notice = notice_of(itins, notice, points)
    names = [(i.get("aircraft") or {}).get("registration") or (i.get("aircraft") or {}).get("icao24") or "?" for i in itins]
    title = title or ("tailwatch itinerary: " + (", ".join(names) if len(names) <= MAX_NAMES_IN_TITLE
                                                 else f"{len(names)} aircraft"))
    if notice:
        title = "SIMULATED — " + title if "simulat" in notice.lower() else title
    banner = f'<div class="notice" role="alert">{esc(notice)}</div>' if notice else ""
    frames = [points.get((itin.get("aircraft") or {}).get("icao24") or "") for itin in itins]
    prepared = [_prepare(itin, frame) for itin, frame in zip(itins, frames)]
    sections = [render_aircraft(itin, frame, str(k), ready) for k, (itin, frame, ready) in
                enumerate(zip(itins, frames, prepared))]
    if len(itins) > 1:  # an overview first; each aircraft's section behind it, opened from its row or track
        from tailwatch.report.html.overview import render_overview

        sections = [render_overview(itins, [[s for segs in by_leg for s in segs] for _, by_leg in prepared])] + [
            f'<details class="aircraft-detail"><summary>{esc(_summary_line(itin))}</summary>{section}</details>'
            for itin, section in zip(itins, sections)]
    sections = "".join(sections)
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{asset('report.css')}</style></head><body>{banner}<main><h1>{esc(title)}</h1>{sections}"
            f"<h2>Method and caveats</h2>{METHOD}"
            f"<footer>{esc(notice) + ' · ' if notice else ''}Generated by tailwatch from the itinerary JSON "
            f"(tailwatch.itinerary/1). Self-contained: this page loads nothing from the network.</footer>"
            f"</main>{banner}<script>{asset('report.js')}</script></body></html>")


def _summary_line(itin: dict) -> str:
    a = itin.get("aircraft") or {}
    name = " · ".join(v for v in (a.get("registration"), a.get("icao24"), a.get("typecode")) if v) or "unknown aircraft"
    avoided = (itin.get("route") or {}).get("avoided") or []
    n = len(itin.get("legs") or [])
    return f"{name}: {n} leg{'s' if n != 1 else ''}" + (f"; went around {', '.join(avoided)}" if avoided else "")


def write_html(itins: list[dict], points: dict[str, pl.DataFrame], path: Path, notice: str | None = None) -> list[Path]:
    """Write the page; returns the paths written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(itins, points, notice), encoding="utf-8")
    return [path]
