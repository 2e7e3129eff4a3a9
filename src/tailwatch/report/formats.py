"""One entry point for the CLI: a format name → the writer that renders it, to a file or as text.

Writers are imported lazily so `tailwatch itinerary --format json` never loads the map code.
`csv` is two tables: to a file it writes `X.legs.csv` and `X.points.csv` (see report.csv);
as text (no `--out`) it gives the legs table only.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import polars as pl

# format → (module, writer, text renderer, default suffix)
FORMATS: dict[str, tuple[str, str, str, str]] = {
    "html": ("tailwatch.report.html", "write_html", "render_html", ".html"),
    "geojson": ("tailwatch.report.geojson", "write_geojson", "render_geojson", ".geojson"),
    "kml": ("tailwatch.report.kml", "write_kml", "render_kml", ".kml"),
    "csv": ("tailwatch.report.csv", "write_csv", "legs_frame", ".csv"),
}


def write_report(fmt: str, itins: list[dict], points: dict[str, pl.DataFrame], path: Path,
                 notice: str | None = None) -> list[Path]:
    """Write `fmt` to `path`; returns every file written."""
    module, writer, _, _ = FORMATS[fmt]
    return getattr(importlib.import_module(module), writer)(itins, points, Path(path), notice=notice)


def render_report(fmt: str, itins: list[dict], points: dict[str, pl.DataFrame], notice: str | None = None) -> str:
    """`fmt` as text for stdout."""
    module, _, renderer, _ = FORMATS[fmt]
    render = getattr(importlib.import_module(module), renderer)
    if fmt == "csv":
        from tailwatch.report.csv import csv_text
        from tailwatch.report.tracks import notice_of

        return csv_text(render(itins, notice_of(itins, notice, points)))
    if fmt == "geojson":
        return json.dumps(render(itins, points, notice), ensure_ascii=False, allow_nan=False)
    return render(itins, points, notice)
