"""Went dark / position withheld in the reports: an HTML timeline and table, Markdown lines.

Reads the itinerary's `dark_intervals` (hiding.dark): each interval is marked *observed*
(position withheld: the aircraft was heard) or *inferred* (went dark: nothing heard while other
aircraft were heard along its path), with its reasons.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from tailwatch.report.html.text import esc

KIND = {"dark_in_coverage": "went dark inside coverage", "position_withheld": "position withheld (heard)"}
COLOUR = {"dark_in_coverage": "#111", "position_withheld": "#d97706"}


def _t(value: str | None) -> float | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def render_timeline(itin: dict, frame: pl.DataFrame | None) -> str:
    """SVG bar over the aircraft's time range: heard positions in blue, intervals shaded, plus a table."""
    items = itin.get("dark_intervals") or []
    if not items:
        return ""
    times = [] if frame is None or frame.height == 0 else (frame["timestamp"].dt.epoch("us").to_numpy() / 1e6).tolist()
    bounds = [t for item in items for t in (_t(item["start"]), _t(item.get("end"))) if t is not None]
    lo, hi = min(times + bounds), max(times + bounds)
    for item in items:  # an open end (not heard again) is drawn to the end of the window shown
        if item.get("end") is None:
            hi = max(hi, _t(item["start"]) + 900.0)
    span = max(hi - lo, 1.0)
    width, x = 1000.0, lambda t: (t - lo) / span * 1000.0  # noqa: E731
    marks = "".join(f'<line x1="{x(t):.1f}" y1="14" x2="{x(t):.1f}" y2="30" stroke="#1f6fd0" stroke-width=".6"/>'
                    for t in times[:: max(len(times) // 2000, 1)])
    shades = []
    rows = []
    for item in items:
        a = _t(item["start"])
        b = _t(item.get("end")) or hi
        what = KIND.get(item["kind"], item["kind"])
        shades.append(f'<rect x="{x(a):.1f}" y="8" width="{max(x(b) - x(a), 2):.1f}" height="28" fill="{COLOUR.get(item["kind"], "#555")}" '
                      f'fill-opacity=".55"><title>{esc(what)} {esc(item["start"])} – {esc(item.get("end") or "not heard again")}</title></rect>')
        rows.append(f'<tr><td>{esc(what)}</td><td><span class="badge {esc(item["evidence"])}">{esc(item["evidence"])}</span></td>'
                    f'<td>{esc(item["start"])}</td><td>{esc(item.get("end") or "not heard again")}</td>'
                    f'<td>{"" if item.get("leg") is None else item["leg"] + 1}</td><td>{esc("; ".join(item.get("reasons") or []))}</td></tr>')
    svg = (f'<svg class="timeline" viewBox="0 0 {width:.0f} 44" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="when the aircraft was heard">{marks}{"".join(shades)}</svg>')
    return (f'<h3>Went dark / position withheld</h3><p><small>Blue: positions received. Black: nothing heard while '
            f'other aircraft were heard along its path (inferred). Orange: heard, but no position sent (observed).'
            f'</small></p>{svg}<table><tr><th>what</th><th>evidence</th><th>from (UTC)</th><th>to (UTC)</th><th>leg</th>'
            f'<th>reasons</th></tr>{"".join(rows)}</table>')


def markdown_lines(itin: dict) -> list[str]:
    items = itin.get("dark_intervals") or []
    if not items:
        return []
    lines = ["", "**Went dark / position withheld:**", ""]
    for item in items:
        leg = "" if item.get("leg") is None else f" (leg {item['leg'] + 1})"
        lines.append(f"- {KIND.get(item['kind'], item['kind'])}, *{item['evidence']}*{leg}: {item['start']} → "
                     f"{item.get('end') or 'not heard again'}; " + "; ".join(item.get("reasons") or []))
    return lines
