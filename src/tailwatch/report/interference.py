"""The GNSS interference map as HTML (offline, inline SVG), GeoJSON and CSV.

Input is the cell frame of `tailwatch.hiding.interference.interference`. The HTML page draws the
packaged country outlines and one hexagon per cell and period with the projection and pan/zoom of
the itinerary report (`report/html.py`), under the same Content-Security-Policy: it loads nothing.
Several periods are drawn as one map each.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.hiding.interference import HIGH_SHARE, LOW_SHARE, cell_boundary
from tailwatch.report.html.projection import fit_view, geometry_path, graticule
from tailwatch.report.html.text import asset, esc
from tailwatch.report.tracks import country_layer

SIMULATED = "SIMULATED DATA: every point comes from the simulator (source `simulated`); not an observation."
COLOURS = {"low": "#3aa655", "medium": "#e3b505", "high": "#d7301f", None: "#9a9a9a"}


def _iso(ts) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_geojson(cells: pl.DataFrame, notice: str | None = None) -> dict:
    """A FeatureCollection: one Polygon per cell and period, properties as the frame's columns."""
    features = []
    for row in cells.iter_rows(named=True):
        ring = [[lon, lat] for lat, lon in cell_boundary(row["cell"])]
        ring.append(ring[0])
        props = {k: (_iso(v) if k == "period_start" else v) for k, v in row.items() if k not in ("latitude", "longitude")}
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": props})
    out = {"type": "FeatureCollection", "features": features}
    if notice:
        out["notice"] = notice
    return out


def write_csv(cells: pl.DataFrame, path: Path) -> None:
    from tailwatch.report.csv import write_frame_csv

    write_frame_csv(cells.with_columns(pl.col("period_start").dt.strftime("%Y-%m-%dT%H:%M:%SZ")), path)


METHOD = (
    "<p>Each aircraft counts once per hexagon (H3) and period. It is <em>degraded</em> there when a position it "
    f"sent in the hexagon reported NACp below 8 or NIC below 7. Colour: share of degraded aircraft, green below "
    f"{LOW_SHARE:.0%}, yellow {LOW_SHARE:.0%}–{HIGH_SHARE:.0%}, red above {HIGH_SHARE:.0%} (gpsjam.org's method); "
    "hexagons with too few aircraft are grey. A black outline marks hexagons where aircraft positions jumped "
    "against their reported speed or track, or stayed pinned while the aircraft reported flying "
    "(<em>possible spoofing</em>). Degraded figures alone may be one aircraft's fault; many aircraft in the same "
    "place and time suggest interference. These are <em>inferred</em> from the aircraft's own reports.</p>"
)


def _map(cells: pl.DataFrame, key: str) -> str:
    rings = {c: np.array(cell_boundary(c)) for c in cells["cell"].unique().to_list()}
    lats = np.concatenate([r[:, 0] for r in rings.values()])
    lons = np.concatenate([r[:, 1] for r in rings.values()])
    view = fit_view(lons, lats)
    w, h = view.width, view.height
    svg = [f'<svg class="map" id="map-{key}" viewBox="0 0 {w:.1f} {h:.1f}" xmlns="http://www.w3.org/2000/svg" '
           'role="img" aria-label="GNSS interference map">', f'<rect class="sea" x="0" y="0" width="{w:.1f}" height="{h:.1f}"/>',
           '<g class="zoom">']
    shapes = country_layer("land")
    if shapes is not None:
        svg.append('<g class="lands">' + "".join(f'<path class="land" d="{d}"/>' for geom in shapes.values()
                                                  if (d := geometry_path(view, geom))) + "</g>")
    svg.append(f'<g class="graticule">{graticule(view)}</g><g class="cells">')
    for row in cells.iter_rows(named=True):
        ring = rings[row["cell"]]
        x, y = view.xy(ring[:, 1], ring[:, 0])
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))
        stroke = ' stroke="#111" stroke-width="2"' if row["spoofed"] else ' stroke="#fff" stroke-width=".5"'
        share = "n/a" if row["share"] is None else f"{row['share']:.0%}"
        svg.append(f'<polygon class="cell {esc(row["level"] or "few")}" data-cell="{esc(row["cell"])}" points="{pts}" '
                   f'fill="{COLOURS[row["level"]]}" fill-opacity=".6"{stroke}><title>{esc(row["cell"])}: '
                   f'{row["degraded"]} of {row["aircraft"]} aircraft degraded ({share}); '
                   f'{row["spoofed"]} with position jumps</title></polygon>')
    svg.append("</g></g></svg>")
    return "".join(svg)


def render_html(cells: pl.DataFrame, notice: str | None = None, title: str = "tailwatch GNSS interference") -> str:
    if notice and "simulat" in notice.lower():
        title = "SIMULATED — " + title
    banner = f'<div class="notice" role="alert">{esc(notice)}</div>' if notice else ""
    parts = []
    for k, ((start,), frame) in enumerate(cells.partition_by("period_start", as_dict=True, maintain_order=True).items()):
        high = frame.filter(pl.col("level") == "high").height
        parts.append(f'<section class="period"><h2>{esc(_iso(start))}</h2><p>{frame.height} hexagons, {high} red, '
                     f'{int((frame["spoofed"] > 0).sum())} with position jumps.</p>{_map(frame, str(k))}</section>')
    if not parts:
        parts.append("<p>No hexagon had enough aircraft reporting integrity figures.</p>")
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{asset('report.css')}</style></head><body>{banner}<main><h1>{esc(title)}</h1>{''.join(parts)}"
            f"<h2>Method and caveats</h2>{METHOD}<footer>Generated by tailwatch. Self-contained: this page loads "
            f"nothing from the network.</footer></main>{banner}<script>{asset('report.js')}</script></body></html>")


def write(cells: pl.DataFrame, fmt: str, path: Path | None, notice: str | None = None) -> str | None:
    """Write `fmt` (html, geojson, csv) to `path`, or return it as text when `path` is None."""
    if fmt == "html":
        text = render_html(cells, notice)
    elif fmt == "geojson":
        text = json.dumps(to_geojson(cells, notice))
    elif fmt == "csv":
        if path is not None:
            write_csv(cells, Path(path))
            return None
        from tailwatch.report.csv import csv_text

        text = csv_text(cells.with_columns(pl.col("period_start").dt.strftime("%Y-%m-%dT%H:%M:%SZ")))
    else:
        raise ValueError(f"format must be html, geojson or csv, not {fmt!r}")
    if path is None:
        return text
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")
    return None
