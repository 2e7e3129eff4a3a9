"""The timeline chart: flights into the place per day over the window, beside the baseline's daily rate.

Inline SVG drawn here (no charting library, nothing to load): one bar per day of `totals.timeline`, and
the baseline as a dashed line at its flights per day over the part of the baseline the data holds, so a
surge reads as bars above the line. Without a baseline the line is left out and the chart says why.
"""

from __future__ import annotations

from datetime import datetime

from tailwatch.report.html.text import esc

WIDTH, HEIGHT = 900.0, 240.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 12.0, 16.0, 26.0


def _t(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def baseline_per_day(baseline: dict) -> float | None:
    """The baseline's flights per day over the part of it the data holds; None without a baseline."""
    if not baseline.get("held") or baseline.get("flights") is None:
        return None
    lo, hi = _t(baseline.get("data_from") or baseline.get("start")), _t(baseline.get("end"))
    if lo is None or hi is None or hi <= lo:
        return None
    return baseline["flights"] / ((hi - lo).total_seconds() / 86400.0)


def _step(top: float) -> int:
    for s in (1, 2, 5, 10, 20, 50, 100, 200, 500):
        if top / s <= 6:
            return s
    return 1000


def render_timeline(doc: dict) -> str:
    days = (doc.get("totals") or {}).get("timeline") or []
    base = baseline_per_day(doc.get("baseline") or {})
    if not days:
        return '<p class="note">No day in the window: no timeline.</p>'
    top = max([d["flights"] for d in days] + [base or 0.0, 1.0])
    step = _step(top)
    top = step * -(-top // step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bw = plot_w / len(days)

    def y(v: float) -> float:
        return TOP + plot_h * (1.0 - v / top)

    out = [f'<svg class="timeline" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="flights per day into {esc(doc.get("into"))}">']
    v = 0
    while v <= top:
        out.append(f'<line class="grid" x1="{LEFT:.1f}" y1="{y(v):.1f}" x2="{WIDTH - RIGHT:.1f}" y2="{y(v):.1f}"/>'
                   f'<text class="axis" x="{LEFT - 6:.1f}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        v += step
    label_every = max(1, round(len(days) / 12))
    for i, d in enumerate(days):
        x = LEFT + i * bw
        n = d["flights"]
        if n:
            out.append(f'<rect class="bar" data-date="{esc(d["date"])}" x="{x + bw * 0.12:.1f}" y="{y(n):.1f}" '
                       f'width="{bw * 0.76:.1f}" height="{y(0) - y(n):.1f}"><title>{esc(d["date"])}: {n} '
                       f'flight{"s" if n != 1 else ""}</title></rect>')
        if i % label_every == 0:
            out.append(f'<text class="axis" x="{x + bw / 2:.1f}" y="{HEIGHT - BOTTOM + 16:.1f}" text-anchor="middle">'
                       f'{esc(d["date"][5:])}</text>')
    out.append(f'<line class="axisline" x1="{LEFT:.1f}" y1="{y(0):.1f}" x2="{WIDTH - RIGHT:.1f}" y2="{y(0):.1f}"/>')
    b = doc.get("baseline") or {}
    if base is not None:
        out.append(f'<line class="baseline" x1="{LEFT:.1f}" y1="{y(base):.1f}" x2="{WIDTH - RIGHT:.1f}" y2="{y(base):.1f}">'
                   f"<title>baseline {esc(b.get('data_from') or b.get('start'))} to {esc(b.get('end'))}: "
                   f"{b.get('flights')} flights, {base:.2f} per day</title></line>")
        caption = (f"bars: flights per day (UTC) landing in the window; dashed line: the baseline, {base:.2f} per day "
                   f"({b.get('flights')} flight{'s' if b.get('flights') != 1 else ''} from {(b.get('data_from') or b.get('start') or '')[:10]} "
                   f"to {(b.get('end') or '')[:10]})")
    else:
        caption = "bars: flights per day (UTC) landing in the window; no baseline line: " + (b.get("note") or "no baseline")
    out.append(f'</svg><p class="caption"><small>{esc(caption)}.</small></p>')
    return "".join(out)


__all__ = ["baseline_per_day", "render_timeline"]
