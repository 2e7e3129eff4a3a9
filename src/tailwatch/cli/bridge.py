"""`tailwatch bridge`: every flagged flight into a country, airports or a polygon over a window.

`--format html` is one page that opens offline (the map draws each flight's chain from the aircraft's own
points, gathered for it). Writes the document even when no flight counts (the excluded candidates and the baseline are an answer
too), then exits 1 like other commands' "no result"; bad input is one line and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tailwatch.cli.base import EngineOption, NoResult, SparkMasterOption, _engine, app, err_console


@app.command()
def bridge(
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder.")],
    into: Annotated[str, typer.Option("--into", help="Country (VE), airports (SVMI,SVVA) or a GeoJSON polygon file.")],
    start: Annotated[Optional[str], typer.Option("--start", help="ISO 8601 start (UTC).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="ISO 8601 end (UTC); a bare date is the whole day.")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Countries of the aircraft: RU,IR,CN (address block, "
                                                  "registration, list entry).")] = None,
    watchlist: Annotated[Optional[Path], typer.Option("--watchlist", help="Only aircraft on this list file.")] = None,
    listed: Annotated[bool, typer.Option("--listed", help="Only aircraft on the archive's watchlist.")] = False,
    military: Annotated[bool, typer.Option("--military", help="Only aircraft in military address blocks.")] = False,
    type_class: Annotated[Optional[list[str]], typer.Option("--class", help="Type class: heavy-freighter.")] = None,
    cargo: Annotated[Optional[str], typer.Option("--cargo", help="Compare with a cargo set (s400-battery, ...) or CSV.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, md, csv (flights) or html (one self-contained page: map of "
                                     "every inbound flight, timeline, tables).")] = "json",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write here instead of stdout.")] = None,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
) -> None:
    """Flagged flights into a place over a window: chains, totals, baseline, co-location."""
    from tailwatch.app.bridge import FORMATS, render, run_bridge
    from tailwatch.errors import BadInput

    if fmt not in FORMATS:
        raise BadInput(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    runner = _engine(engine, spark_master)
    doc = run_bridge(archive, into, start, end, from_=from_, watchlist=watchlist, listed=listed,
                     military=military, classes=type_class, cargo=cargo, engine=runner, tracks=fmt == "html")
    text = render(doc, fmt)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {out}", markup=False, highlight=False)
    if not doc["flights"]:
        raise NoResult(f"no flagged flight into {doc['into']} between {doc['start']} and {doc['end']} "
                       f"({len(doc['excluded'])} candidates excluded, reasons in the document)")
