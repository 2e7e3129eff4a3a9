"""The altitude profile: one panel per leg from take-off to landing, gaps hatched as inferred."""

from __future__ import annotations

import math

import numpy as np

from tailwatch.report.html.map import PALETTE
from tailwatch.report.html.projection import MAP_WIDTH, pts, spaced
from tailwatch.report.html.text import esc
from tailwatch.report.tracks import Segment, iso, leg_label, parse_time


def _panel_span(leg: dict, segs: list[Segment]) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    """A leg's time span for its profile panel, widened where an inferred end has no time."""
    ts = [t for s in segs for t in (s.time[0], s.time[-1]) if not np.isnat(t)]
    ts += [t for t in (parse_time(leg.get("takeoff")), parse_time(leg.get("landing"))) if t is not None]
    if not ts:
        return None, None
    t0, t1 = min(ts), max(ts)
    pad = max(np.timedelta64(20 * 60, "s"), (t1 - t0) / 4)
    if any(s.evidence == "inferred" and np.isnat(s.time[0]) for s in segs):
        t0 = t0 - pad
    if any(s.evidence == "inferred" and np.isnat(s.time[-1]) for s in segs):
        t1 = t1 + pad
    return t0, t1


def render_profile(itin: dict, by_leg: list[list[Segment]], key: str = "0") -> str:
    """Small multiples: one panel per leg (take-off to landing), hatched where there are no points."""
    legs = itin.get("legs") or []
    if not legs:
        return ""
    spans = [_panel_span(leg, segs) for leg, segs in zip(legs, by_leg)]
    top = 10000.0
    for segs in by_leg:
        for s in segs:
            if s.altitude is not None and np.any(~np.isnan(s.altitude)):
                top = max(top, float(np.nanmax(s.altitude)))
    top = math.ceil(top / 5000.0) * 5000.0
    width, height, left, plot_top, plot_h, sep = MAP_WIDTH, 215.0, 46.0, 8.0, 160.0, 6.0
    durations = np.array([max(60.0, float((b - a).astype("timedelta64[s]").astype(np.int64))) if a is not None else 3600.0
                          for a, b in spans])
    avail = width - left - sep * (len(legs) - 1)
    widths = np.maximum(8.0, avail * durations / durations.sum())
    widths *= avail / widths.sum()
    out = [f'<svg class="profile" viewBox="0 0 {width:.0f} {height:.0f}" xmlns="http://www.w3.org/2000/svg" role="img" '
           'aria-label="altitude over time, one panel per leg">',
           f'<defs><pattern id="gaphatch-{key}" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
           '<line x1="0" y1="0" x2="0" y2="5" stroke="#888" stroke-width="1.5"/></pattern></defs>']
    for alt in np.arange(0, top + 1, 10000 if top > 20000 else 5000):
        y = plot_top + plot_h * (1 - alt / top)
        out.append(f'<line class="grid" x1="{left:.0f}" y1="{y:.1f}" x2="{width:.0f}" y2="{y:.1f}"/>'
                   f'<text class="ax" x="{left - 4:.0f}" y="{y + 3:.1f}" text-anchor="end">{alt / 1000:g}k ft</text>')
    x0 = left
    for i, ((a, b), segs, w) in enumerate(zip(spans, by_leg, widths)):
        colour = PALETTE[i % len(PALETTE)]
        leg = legs[i]
        out.append(f'<g class="panel" data-leg="{i}"><rect class="frame" x="{x0:.1f}" y="{plot_top}" width="{w:.1f}" height="{plot_h}"/>')

        def hatch(xa: float, xb: float, why: str) -> None:
            out.append(f'<rect class="gap" fill="url(#gaphatch-{key})" x="{min(xa, xb):.1f}" y="{plot_top}" '
                       f'width="{max(1.5, abs(xb - xa)):.1f}" height="{plot_h}"><title>{esc(why)}</title></rect>')

        if a is None or b is None or b <= a:
            hatch(x0, x0 + w, f"leg {i + 1}: no points and no times (inferred)")
        else:
            def tx(t, x0=x0, w=w, a=a, b=b):
                return x0 + w * ((t - a) / (b - a))

            if not any(s.evidence == "observed" for s in segs):
                hatch(x0, x0 + w, f"leg {i + 1}: no points (inferred)")
            for s in segs:
                if s.evidence == "inferred" or s.altitude is None:
                    ta = a if np.isnat(s.time[0]) else s.time[0]
                    tb = b if np.isnat(s.time[-1]) else s.time[-1]
                    unknown = " (time unknown)" if np.isnat(s.time[0]) or np.isnat(s.time[-1]) else ""
                    hatch(float(tx(ta)), float(tx(tb)), f"leg {i + 1}: {s.reason}{unknown}, inferred")
                    continue
                good = ~np.isnan(s.altitude)
                if good.sum() < 1:
                    continue
                xs = tx(s.time[good]).astype(float)
                ys = plot_top + plot_h * (1 - np.clip(s.altitude[good], 0, top) / top)
                xs, ys = spaced(xs, ys)  # vertices closer than a fraction of a unit draw nothing more
                out.append(f'<polyline class="alt" stroke="{colour}" points="{pts(xs, ys)}">'
                           f'<title>{esc(f"leg {i + 1}: {s.reason} observed")}</title></polyline>')
        label = f"{i + 1} {leg_label(leg)}" if w > 110 else f"{i + 1}"
        out.append(f'<text class="lx" x="{x0 + w / 2:.1f}" y="{plot_top + plot_h + 14:.0f}" text-anchor="middle">{esc(label)}</text>')
        if w > 110 and a is not None:
            when = str(np.datetime_as_string(a, unit="m"))[5:].replace("T", " ")
            out.append(f'<text class="tx" x="{x0 + 1:.1f}" y="{plot_top + plot_h + 27:.0f}">{esc(when)}</text>')
        span_text = f"leg {i + 1} {leg_label(leg)}: {iso(a) or '?'} to {iso(b) or '?'}"
        out.append(f"<title>{esc(span_text)}</title></g>")
        x0 += w + sep
    out.append("</svg>")
    return "".join(out)
