"""The timeline chart: flights into the place per day over the window, beside the baseline.

Inline SVG drawn here (no charting library, nothing to load): the baseline's days first (grey bars, the
part of the baseline the data holds: `baseline.timeline`), then the window's (`totals.timeline`), and
across the window a dashed line at the baseline's flights per day, so a surge reads as bars above the
line. Without a baseline its bars and line are left out and the chart says why.
"""

from __future__ import annotations

from datetime import datetime

from tailwatch.report.html.text import esc

WIDTH, HEIGHT = 900.0, 240.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 12.0, 24.0, 26.0


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
    b = doc.get("baseline") or {}
    base = baseline_per_day(b)
    before = (b.get("timeline") or []) if b.get("held") else []
    if not days:
        return '<p class="note">No day in the window: no timeline.</p>'
    top = max([d["flights"] for d in [*before, *days]] + [base or 0.0, 1.0])
    step = _step(top)
    top = step * -(-top // step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slots = len(before) + (1 if before else 0) + len(days)  # one empty slot between baseline and window
    bw = plot_w / slots
    x_window = LEFT + (len(before) + (1 if before else 0)) * bw

    def y(v: float) -> float:
        return TOP + plot_h * (1.0 - v / top)

    out = [f'<svg class="timeline" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="flights per day into {esc(doc.get("into"))}, the baseline before the window">']
    v = 0
    while v <= top:
        out.append(f'<line class="grid" x1="{LEFT:.1f}" y1="{y(v):.1f}" x2="{WIDTH - RIGHT:.1f}" y2="{y(v):.1f}"/>'
                   f'<text class="axis" x="{LEFT - 6:.1f}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        v += step
    label_every = max(1, round(slots / 12))
    for series, x0, cls in ((before, LEFT, "bar before"), (days, x_window, "bar")):
        for i, d in enumerate(series):
            x = x0 + i * bw
            n = d["flights"]
            if n:
                out.append(f'<rect class="{cls}" data-date="{esc(d["date"])}" x="{x + bw * 0.12:.1f}" y="{y(n):.1f}" '
                           f'width="{bw * 0.76:.1f}" height="{y(0) - y(n):.1f}"><title>{esc(d["date"])}: {n} '
                           f'flight{"s" if n != 1 else ""}{" (baseline)" if series is before else ""}</title></rect>')
            if i % label_every == 0:
                out.append(f'<text class="axis" x="{x + bw / 2:.1f}" y="{HEIGHT - BOTTOM + 16:.1f}" text-anchor="middle">'
                           f'{esc(d["date"][5:])}</text>')
    if before:
        out.append(f'<line class="divider" x1="{x_window - bw / 2:.1f}" y1="{TOP:.1f}" x2="{x_window - bw / 2:.1f}" '
                   f'y2="{y(0):.1f}"><title>the window begins {esc(doc.get("start"))}</title></line>'
                   f'<text class="axis" x="{LEFT + 2:.1f}" y="{TOP - 8:.1f}">baseline</text>'
                   f'<text class="axis" x="{x_window + 2:.1f}" y="{TOP - 8:.1f}">window</text>')
    out.append(f'<line class="axisline" x1="{LEFT:.1f}" y1="{y(0):.1f}" x2="{WIDTH - RIGHT:.1f}" y2="{y(0):.1f}"/>')
    if base is not None:
        out.append(f'<line class="baseline" x1="{x_window:.1f}" y1="{y(base):.1f}" x2="{WIDTH - RIGHT:.1f}" y2="{y(base):.1f}">'
                   f"<title>baseline {esc(b.get('data_from') or b.get('start'))} to {esc(b.get('end'))}: "
                   f"{b.get('flights')} flights, {base:.2f} per day</title></line>")
        caption = (f"blue bars: flights per day (UTC) landing in the window"
                   + ("; grey bars: the same in the baseline" if before else "")
                   + f"; dashed line: the baseline's rate, {base:.2f} per day "
                   f"({b.get('flights')} flight{'s' if b.get('flights') != 1 else ''} from {(b.get('data_from') or b.get('start') or '')[:10]} "
                   f"to {(b.get('end') or '')[:10]})")
    else:
        caption = "bars: flights per day (UTC) landing in the window; no baseline: " + (b.get("note") or "none")
    out.append(f'</svg><p class="caption"><small>{esc(caption)}.</small></p>')
    return "".join(out)


__all__ = ["baseline_per_day", "render_timeline"]
