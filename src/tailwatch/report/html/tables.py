"""The legs, stops and identity tables of one aircraft's section."""

from __future__ import annotations

import numpy as np
import polars as pl

from tailwatch.report.html.map import PALETTE, _stops
from tailwatch.report.html.text import airport, badge, cell, km, esc
from tailwatch.report.tracks import candidates, iso, parse_time, sources_text, starts_trip, untracked_text


def render_legs_table(itin: dict, frames: list[pl.DataFrame]) -> str:
    head = ("<tr><th>#</th><th>take-off (UTC)</th><th>landing (UTC)</th><th>from</th><th>to</th><th>confidence</th>"
            "<th>points (first – last)</th><th>great circle / flown</th><th>positions by source</th>"
            "<th>countries (* inferred)</th><th>barred airspace</th>"
            "<th>max payload</th></tr>")
    rows = []
    legs = itin.get("legs") or []
    for i, (leg, frame) in enumerate(zip(legs, frames)):
        if i and starts_trip(legs, i):  # a silence nothing is inferred over: the trips are apart
            rows.append(f'<tr class="untracked"><td></td><td colspan="11"><b>{esc(untracked_text(itin, leg.get("trip", 0)))}'
                        f"</b>: no stop is inferred in it; trip {int(leg.get('trip', 0)) + 1} begins</td></tr>")
        colour = PALETTE[i % len(PALETTE)]
        conf = leg.get("confidence")
        band = leg.get("payload_band_t")
        payload = "unknown" if leg.get("max_payload_t") is None else f"{leg['max_payload_t']:.1f} t"
        if band and None not in band:
            payload += f" ({band[0]:.0f}–{band[1]:.0f} t)"
        gaps = leg.get("gaps") or []
        n_points = leg.get("n_points", frame.height)
        first = leg.get("first_point") or (iso(frame["timestamp"].min()) if frame.height else None)
        last = leg.get("last_point") or (iso(frame["timestamp"].max()) if frame.height else None)
        rows.append(
            f'<tr class="leg" data-leg="{i}"><td><span class="sw" style="background:{colour}"></span>{i + 1}</td>'
            f"<td>{esc(leg.get('takeoff') or 'unknown')}</td><td>{esc(leg.get('landing') or 'unknown')}</td>"
            f"<td>{airport(leg.get('origin'))}<br>{badge(leg.get('origin_evidence'))}</td>"
            f"<td>{airport(leg.get('destination'))}<br>{badge(leg.get('destination_evidence'))}</td>"
            f"<td>{'unknown' if conf is None else f'{float(conf):.2f}'}</td>"
            f"<td>{n_points:,}<br><small>{esc(first or '—')}<br>{esc(last or '—')}</small>"
            f"{f'<br><small>{len(gaps)} gap(s)</small>' if gaps else ''}</td>"
            f"<td>{km(leg.get('great_circle_km'))}<br>{km(leg.get('flown_km'))}"
            f"{_detour(leg)}</td>"
            f"<td>{esc(sources_text(leg))}{'<br><small>times assumed</small>' if leg.get('time_assumed') else ''}</td>"
            f"<td>{_countries(leg)}</td>"
            f"<td class=\"bn\">{_barred(leg)}</td>"
            f"<td>{esc(payload)}</td></tr>"
            f'<tr class="why" data-leg="{i}"><td></td><td colspan="11">'
            + (f"<p><b>Airspace:</b> {esc(leg['airspace_sentence'])}</p>" if leg.get("airspace_sentence") else "")
            + f"<b>Why:</b> <ul>"
            f"{''.join(f'<li>{esc(r)}</li>' for r in _reasons(legs, i)) or '<li>no reasons given</li>'}</ul>"
            f"{_alternatives(leg, legs[i - 1] if i and not starts_trip(legs, i) else None)}</td></tr>")
    return f'<table class="legs">{head}{"".join(rows)}</table>'


def _barred(leg: dict) -> str:
    """The leg's barred airspace: what it went around (on the direct line, not on the track) and
    what it crossed, each code with its instrument and date in the tooltip; "—" for none."""
    details = leg.get("barred_details") or {}

    def codes(items: list[str]) -> str:
        out = []
        for c in items:
            info = details.get(c) or {}
            title = esc(f"{info.get('name') or c}: closed to {info.get('bars') or '?'} since {info.get('since') or '?'} "
                        f"({info.get('instrument') or info.get('source') or 'source not given'})")
            out.append(f'<span title="{title}">{esc(c)}</span>')
        return ", ".join(out)

    parts = []
    if leg.get("avoided"):
        parts.append("went around " + codes(leg["avoided"]))
    crossed = leg.get("crossed_barred", leg.get("banned_countries")) or []
    if crossed:
        parts.append("crossed " + codes(crossed))
    return "<br>".join(parts) or "—"


def _reasons(legs: list[dict], i: int) -> list[str]:
    """The leg's reasons, each said once: a reason repeated without its "origin:"/"destination:"
    prefix, and an origin's reasoning the previous leg already gave for its destination (the same
    gap, one stop seen from both sides), are left out; the latter is pointed to instead."""
    def bare(text: str) -> str:
        for prefix in ("origin: ", "destination: "):
            if text.startswith(prefix):
                return text[len(prefix):]
        return text

    before = set()
    if i and not starts_trip(legs, i):
        before = {bare(r) for r in legs[i - 1].get("reasons") or [] if r.startswith("destination: ")}
    out, seen, pointed = [], set(), False
    for r in legs[i].get("reasons") or []:
        core = bare(r)
        if r.startswith("origin: ") and core in before:
            if not pointed:
                out.append(f"origin: as for leg {i}'s destination (the same stop), above")
                pointed = True
            continue
        if core in seen:
            continue
        seen.add(core)
        out.append(r)
    return out


def _detour(leg: dict) -> str:
    """The leg's flown distance against its own great circle, when it has one."""
    pct = leg.get("detour_pct")
    return "" if pct is None else f"<br><small>{float(pct):+.1f} %</small>"


def _countries(leg: dict) -> str:
    """Countries crossed, each once in order of first entry; starred when every crossing of it is
    inferred; every entry/exit time in the tooltip."""
    crossings = leg.get("crossings")
    if not crossings:
        codes = leg.get("countries")
        return esc(", ".join(dict.fromkeys(codes))) if codes else "<i>not computed</i>"
    by_code: dict[str, list[dict]] = {}
    for c in crossings:
        by_code.setdefault(c.get("country"), []).append(c)
    out = []
    for code, runs in by_code.items():
        observed = any((c.get("evidence") or "unknown") == "observed" for c in runs)
        title = esc("; ".join(f"{code}: entry {c.get('entry') or '?'} ({c.get('entry_evidence') or '?'}), "
                              f"exit {c.get('exit') or '?'} ({c.get('exit_evidence') or '?'}), "
                              f"{c.get('observed_points', 0)} observed points" for c in runs))
        cls = "co" if observed else "ci"
        out.append(f'<span class="{cls}" title="{title}">{esc(code)}{"" if observed else "*"}</span>')
    return ", ".join(out)


def _alternatives(leg: dict, previous: dict | None = None) -> str:
    """Runner-up airports the builder scored, per end of the leg; an origin's are left out when the
    previous leg gave the same for its destination (one stop, said once)."""
    def of(item: dict | None, end: str) -> list[tuple]:
        return [(a.get("icao"), a.get("score")) for a in (item or {}).get("alternatives") or []
                if isinstance(a, dict) and a.get("end") == end]

    same = previous is not None and of(leg, "origin") and of(leg, "origin") == of(previous, "destination")
    alts = [a for a in leg.get("alternatives") or [] if isinstance(a, dict) and not (same and a.get("end") == "origin")]
    if not alts:
        return ""
    parts = []
    for end in dict.fromkeys(a.get("end") for a in alts):
        items = ", ".join(
            f"{esc(a.get('icao') or '?')} {esc(a.get('name') or '')}"
            + (f" ({float(a['score']):.2f})" if a.get("score") is not None else "")
            for a in alts if a.get("end") == end)
        parts.append(f"runners-up{f' for the {esc(end)}' if end else ''}: {items}")
    return "<small>" + "; ".join(parts) + "</small>"


def render_stops_table(itin: dict) -> str:
    rows = []
    legs = itin.get("legs") or []
    for s in _stops(itin):
        ground = ""
        a, d = parse_time(s["arrive"]), parse_time(s["depart"])
        if a is not None and d is not None:
            hours = float((d - a).astype("timedelta64[m]").astype(np.int64)) / 60.0
            ground = f"{hours:,.1f} h"
        where = airport(s["ref"])
        if not s["ref"]:  # an unknown stop names what it could have been, never a blank
            near = [legs[i] for i in (s["leg_in"],) if i is not None] or [legs[i] for i in (s["leg_out"],) if i is not None]
            codes = candidates(near[0], "destination" if s["leg_in"] is not None else "origin") if near else []
            where = "unknown" + (f" (candidates {esc('/'.join(codes))})" if codes else "")
        rows.append(f"<tr><td>{where}</td><td>{esc(s['arrive'] or '—')} {badge(s['arrive_evidence']) if s['arrive_evidence'] else ''}</td>"
                    f"<td>{esc(s['depart'] or '—')} {badge(s['depart_evidence']) if s['depart_evidence'] else ''}</td><td>{ground or '—'}</td></tr>")
    return ('<table class="stops"><tr><th>airport</th><th>arrival (UTC)</th><th>departure (UTC)</th><th>on the ground</th></tr>'
            + "".join(rows) + "</table>")


def render_identity(itin: dict) -> str:
    a = itin.get("aircraft") or {}
    keys = ["icao24", "registration", "typecode", "country", "operator", "owner", "model", "source"]
    keys += [k for k in a if k not in keys and k != "watchlists" and not isinstance(a[k], (list, dict))]
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(a.get(k)) if a.get(k) is not None else '<i>unknown</i>'}</td></tr>"
                   for k in keys if k in a or k in ("icao24", "registration", "typecode", "country"))
    lists = a.get("watchlists") or []
    if lists:
        cols = ["list", "id"] + sorted({k for e in lists for k in e} - {"list", "id"})
        body = "".join("<tr>" + "".join(f"<td>{cell(e.get(c))}</td>" for c in cols) + "</tr>" for e in lists)
        entries = f'<table class="lists"><tr>{"".join(f"<th>{esc(c)}</th>" for c in cols)}</tr>{body}</table>'
    else:
        entries = "<p>No watch-list entry names this aircraft.</p>"
    return f'<table class="ident">{rows}</table><h4>List entries</h4>{entries}'
