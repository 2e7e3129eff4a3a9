"""Commands over the archive: `ingest` files into it, `itinerary` and `interference` out of it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from tailwatch.cli.base import (
    EXIT_BAD_INPUT,
    EngineOption,
    NoResult,
    SparkMasterOption,
    _engine,
    app,
    console,
    err_console,
    progress,
)
from tailwatch.terminal import print_table


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursed); format detected by content.")],
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder (created if missing).")],
    icao24: Annotated[Optional[str], typer.Option(
        "--icao24", help="Address for rows that carry none (e.g. the FR24 CSV export).")] = None,
    capture_start: Annotated[Optional[str], typer.Option(
        "--capture-start", help="Beast/AVR: UTC time of the first frame (ISO 8601 or unix seconds); "
        "default: the file's modification time is taken as the time of the last frame.")] = None,
    receiver: Annotated[Optional[str], typer.Option(
        "--receiver", help="Beast/AVR/raw: receiver position 'LAT,LON', the reference for surface positions.")] = None,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
) -> None:
    """Ingest ADS-B files into the Parquet archive (re-ingesting the same file adds nothing)."""
    import re

    from tailwatch.errors import BadInput
    from tailwatch.ingest.capture import ANCHOR_ENV, RECEIVER_ENV, parse_time, reader_settings

    settings: dict[str, str] = {}  # the Beast/AVR readers read these settings (see ingest/capture.py)
    if capture_start is not None:
        settings[ANCHOR_ENV] = repr(parse_time(capture_start))
    if receiver is not None:
        if not re.fullmatch(r"\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*", receiver):
            raise BadInput(f"--receiver {receiver!r}: expected 'LAT,LON' in degrees")
        settings[RECEIVER_ENV] = receiver.replace(" ", "")

    from rich.table import Table

    from tailwatch.errors import BadInput
    from tailwatch.ingest.pipeline import expand_paths

    if icao24 is not None and not re.fullmatch(r"[0-9a-fA-F]{6}", icao24.strip()):
        raise BadInput(f"--icao24 {icao24!r}: expected 6 hex digits")
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise BadInput(f"{missing[0]}: no such file")
    files = expand_paths(paths)
    if not files:  # an empty folder is a wrong path more often than not: say so, never "success"
        raise BadInput(f"{paths[0]}: no files to ingest")
    runner = _engine(engine, spark_master)
    archive.mkdir(parents=True, exist_ok=True)
    with progress() as bar:
        task = bar.add_task("ingesting", total=len(files))

        def advance(summary) -> None:
            bar.update(task, advance=1, description=f"ingesting {Path(summary.path).name}")

        with reader_settings(settings):  # for this run only: an in-process caller's next ingest is not dated by it
            summaries = runner.ingest(files, archive, icao24=icao24, on_file=advance)
    table = Table(title=f"ingest → {archive}")
    for col in ("file", "format", "records", "points", "written", "duplicates", "rejected", "reasons"):
        table.add_column(col, justify="right" if col not in ("file", "format", "reasons") else "left")
    shown = summaries if len(summaries) <= 50 else [s for s in summaries if s.error or s.rejected][:50]
    for s in shown:
        if s.error:
            table.add_row(s.path, s.format, "", "", "", "", "", "error (see below)")
            continue
        reasons = ", ".join(f"{k}: {v:,}" for k, v in s.reasons.items()) or ("already ingested" if s.skipped else "")
        if s.time_assumed:
            reasons = "; ".join(r for r in (reasons, "times assumed (see note)") if r)
        table.add_row(s.path, s.format, f"{s.records:,}", f"{s.points:,}", f"{s.written:,}",
                      f"{s.duplicates:,}", f"{s.rejected:,}", reasons)
    ok = [s for s in summaries if not s.error]
    if len(summaries) > 1:
        table.add_row(f"total ({len(summaries)} files)", "", f"{sum(s.records for s in ok):,}",
                      f"{sum(s.points for s in ok):,}", f"{sum(s.written for s in ok):,}",
                      f"{sum(s.duplicates for s in ok):,}", f"{sum(s.rejected for s in ok):,}", "")
    print_table(console, table)
    for line in [e for s in ok for e in s.examples][:10]:
        err_console.print(f"rejected {line}", markup=False, highlight=False)
    for s in ok:  # times not in the data: said on every run, never only in the manifest
        if s.time_assumed:
            err_console.print(f"note: {s.path}: {s.time_assumed}", markup=False, highlight=False)
    failures = [s.error for s in summaries if s.error]
    for line in failures:
        err_console.print(f"error: {line}", markup=False, highlight=False)
    if failures:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def interference(
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder.")],
    start: Annotated[Optional[str], typer.Option("--start", help="ISO 8601 start (UTC).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="ISO 8601 end (UTC).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, geojson or csv.")] = "html",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write here instead of stdout.")] = None,
    period: Annotated[str, typer.Option("--period", help="day or hour.")] = "day",
    resolution: Annotated[int, typer.Option("--resolution", help="H3 resolution (0-9).")] = 4,
    min_aircraft: Annotated[int, typer.Option("--min-aircraft", help="Fewest aircraft for a cell to be coloured.")] = 3,
) -> None:
    """GNSS interference map: share of aircraft with degraded NACp/NIC per H3 cell and period, and position jumps."""
    from datetime import datetime, time, timezone

    import polars as pl

    from tailwatch.engines.duckdb import columns_for, days_in
    from tailwatch.hiding.interference import PERIODS, interference as aggregate, most_reporting
    from tailwatch.errors import BadInput
    from tailwatch.times import parse_time
    from tailwatch.report import interference as report

    if fmt not in ("html", "geojson", "csv"):
        raise BadInput(f"--format must be html, geojson or csv, not {fmt!r}")
    if period not in PERIODS:
        raise BadInput(f"--period must be day or hour, not {period!r}")
    if not 0 <= resolution <= 9:
        raise BadInput(f"--resolution must be 0-9, not {resolution}")
    if not archive.is_dir():
        raise BadInput(f"{archive}: no such archive folder")
    wanted = ["icao24", "timestamp", "latitude", "longitude", "groundspeed", "track", "onground", "source",
              "nac_p", "nic"]
    t0, t1 = parse_time(start, "--start"), parse_time(end, "--end")
    days = sorted({d for d in days_in(archive) if (t0 is None or d >= t0.date()) and (t1 is None or d <= t1.date())})
    parts, total, simulated, most = [], 0, True, 0
    with progress() as bar:  # day by day: periods never span days, so memory holds one day at a time
        task = bar.add_task("aggregating", total=len(days))
        for day in days:
            lo = max(datetime.combine(day, time.min, timezone.utc), t0) if t0 else datetime.combine(day, time.min, timezone.utc)
            hi = min(datetime.combine(day, time.max, timezone.utc), t1) if t1 else datetime.combine(day, time.max, timezone.utc)
            points = columns_for(archive, wanted, lo, hi)
            total += points.height
            if points.height:
                simulated &= bool(points["source"].str.starts_with("simulated").all())
                parts.append(aggregate(points, resolution=resolution, period=period, min_aircraft=min_aircraft))
                if parts[-1].height == 0:  # why nothing: no figures at all, or too few aircraft per cell
                    most = max(most, most_reporting(points, resolution, period))
            bar.advance(task)
    if total == 0:
        raise NoResult("no points in the archive for that window")
    cells = pl.concat(parts) if parts else pl.DataFrame()
    if cells.height == 0 and most:
        raise NoResult(f"no cell had {min_aircraft} aircraft reporting integrity figures (NACp/NIC) in that window "
                       f"(at most {most} in one cell); lower --min-aircraft to map them")
    if cells.height == 0:
        raise NoResult("no cell had aircraft reporting integrity figures (NACp/NIC) in that window")
    notice = report.SIMULATED if simulated else None
    text = report.write(cells, fmt, out, notice)
    if text is not None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        err_console.print(f"wrote {out}", markup=False, highlight=False)


def _with_progress(run):
    """`itinerary --all`: a progress bar on stderr (aircraft done / total, points/s) while `run(on_aircraft)`
    works, then one summary line (aircraft, points, seconds, points/s, aircraft/s)."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    seen = {"points": -1, "done": 0}
    with Progress(TextColumn("itineraries"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("itineraries", total=None, rate="gathering")

        def on_aircraft(done: int, total: int, points: int) -> None:
            seen["points"], seen["done"] = points, done
            rate = f"{points / max(time.perf_counter() - started, 1e-6):,.0f} points/s" if points >= 0 else ""
            bar.update(task, completed=done, total=total, rate=rate)

        result = run(on_aircraft)
    seconds = max(time.perf_counter() - started, 1e-6)
    n, points = max(len(result[0]), seen["done"]), seen["points"]
    rate = f"{points:,} points, " if points >= 0 else ""
    speed = f"{points / seconds:,.0f} points/s, " if points >= 0 else ""
    err_console.print(f"{n:,} itineraries ({rate}{seconds:.1f} s: {speed}{n / seconds:,.1f} aircraft/s)",
                      markup=False, highlight=False)
    return result


def _stream_json(run, out: Path | None) -> None:
    """`itinerary --all --format json`: each document written to `out` (or stdout) as soon as it is
    made (`app.output.JsonStream`: the bytes `--format json` always wrote), with the progress bar
    and summary line of `_with_progress`; memory follows the engine's chunk, not the batch. A file
    is written under a temporary name and renamed into place when complete."""
    import os

    from tailwatch.app.output import JsonStream

    target = None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        target = out.with_name(f".{out.name}.tmp") if out != Path(os.devnull) else out
    sink = open(target, "w", encoding="utf-8") if target is not None else sys.stdout
    stream = JsonStream(sink)
    complete = False
    try:
        _with_progress(lambda on_aircraft: run(on_aircraft, lambda doc, _points: stream.write(doc)))
        stream.close()
        complete = True
    finally:
        if sink is not sys.stdout:
            sink.close()
        if target is not None and target != out:
            if complete:
                os.replace(target, out)
            elif target.exists():  # a failed batch leaves no half-written file
                target.unlink()
    if out is not None:
        err_console.print(f"wrote {out}", markup=False, highlight=False)


@app.command()
def itinerary(
    more: Annotated[Optional[list[Path]], typer.Argument(help="More input files (`--input A B C`).",
                                                         show_default=False)] = None,
    archive: Annotated[Optional[Path], typer.Option("--archive", help="Archive folder.")] = None,
    input: Annotated[Optional[list[Path]], typer.Option("--input", help="Input file(s), no archive.")] = None,
    aircraft: Annotated[Optional[list[str]], typer.Option("--aircraft", help="Hex address or registration.")] = None,
    watchlist: Annotated[Optional[Path], typer.Option("--watchlist", help="Watchlist file (any importable format).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every aircraft with points in the window (with --archive).")] = False,
    start: Annotated[Optional[str], typer.Option("--start", help="ISO 8601 start (UTC).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="ISO 8601 end (UTC).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, md, html, geojson, kml or csv.")] = "json",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write here instead of stdout.")] = None,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
) -> None:
    """Where did these aircraft go: legs and stops, each observed, inferred or unknown."""
    from tailwatch.app.itineraries import itineraries
    from tailwatch.app.output import emit
    from tailwatch.errors import BadInput, NoAircraft
    from tailwatch.times import parse_time

    if more:
        if not input:
            raise BadInput(f"unexpected argument {more[0]}: input files follow --input")
        input = [*input, *more]
    if (archive is None) == (not input):
        raise BadInput("give either --archive DIR or --input FILE ...")
    if every and (aircraft or watchlist or archive is None):
        raise BadInput("--all takes every aircraft of --archive DIR: give it without --aircraft or --watchlist")
    runner = _engine(engine, spark_master)
    if archive is None and runner.name != "duckdb":
        raise BadInput(f"--engine {runner.name} reads an --archive DIR; --input files are read on this machine")
    try:
        t0, t1 = parse_time(start, "--start"), parse_time(end, "--end")
        if archive is not None and every and fmt == "json":  # the whole batch, written as it goes
            _stream_json(lambda on_aircraft, on_doc: itineraries(
                archive, None, None, None, t0, t1, engine=runner, every_aircraft=True, with_points=False,
                on_aircraft=on_aircraft, on_doc=on_doc), out)
            return
        if archive is not None and every:  # the whole batch, with a progress bar and a summary line
            itins, frames = _with_progress(lambda on_aircraft: itineraries(
                archive, None, None, None, t0, t1, engine=runner, every_aircraft=True, with_points=fmt != "json",
                on_aircraft=on_aircraft))
        else:  # over an archive through the engine, or --input files read and built on this machine
            itins, frames = itineraries(archive, input, aircraft, watchlist, t0, t1, engine=runner,
                                        every_aircraft=every, with_points=archive is None or fmt != "json")
    except NoAircraft as exc:
        raise NoResult(str(exc)) from exc
    result = emit(fmt, itins, frames, out)
    if isinstance(result, str):
        sys.stdout.write(result if result.endswith("\n") else result + "\n")
    else:
        for path in result:
            err_console.print(f"wrote {path}", markup=False, highlight=False)
