"""The `tailwatch` command: parses arguments, calls the library, prints.

Each command imports its library module lazily so that `tailwatch --help` and
small commands start fast. Errors are one line (exit 2 for bad input, 1 for no
result) unless `--debug` asks for the traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from tailwatch.terminal import print_table

app = typer.Typer(
    name="tailwatch",
    help="Follow aircraft in ADS-B data: ingest, identify, rebuild itineraries, report, watch live.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one error = one line
_state = {"debug": False}

EXIT_OK, EXIT_NO_RESULT, EXIT_BAD_INPUT = 0, 1, 2


class NoResult(Exception):
    """Nothing matched (e.g. aircraft not in the archive): exit 1."""


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug
    if debug:  # engines read it too (Spark's JVM then logs to the terminal: engines/spark_quiet.py)
        import os

        os.environ["TAILWATCH_DEBUG"] = "1"


def progress():
    """A Rich progress bar on stderr for steps that can take more than a second."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


EngineOption = Annotated[str, typer.Option(
    "--engine", help="Query engine: duckdb (this machine) or spark (a Spark cluster, see --spark-master).")]
SparkMasterOption = Annotated[Optional[str], typer.Option(
    "--spark-master", help="Spark master URL with --engine spark: local[*] (default), spark://HOST:7077, yarn, "
    "... (under spark-submit: the submission's master).")]


def _engine(name: str, spark_master: Optional[str]):
    from tailwatch.engines import get_engine
    from tailwatch.ingest.base import BadInput

    if spark_master is not None and name.strip().lower() != "spark":
        raise BadInput("--spark-master goes with --engine spark")
    return get_engine(name, spark_master)


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
    import os
    import re

    from tailwatch.ingest.base import BadInput
    from tailwatch.ingest.beast import ANCHOR_ENV, RECEIVER_ENV, parse_time

    if capture_start is not None:  # the Beast/AVR readers read these settings (see ingest/beast.py)
        os.environ[ANCHOR_ENV] = repr(parse_time(capture_start))
    if receiver is not None:
        if not re.fullmatch(r"\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*", receiver):
            raise BadInput(f"--receiver {receiver!r}: expected 'LAT,LON' in degrees")
        os.environ[RECEIVER_ENV] = receiver.replace(" ", "")

    from rich.table import Table

    from tailwatch.ingest.base import BadInput
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
    failures = [s.error for s in summaries if s.error]
    for line in failures:
        err_console.print(f"error: {line}", markup=False, highlight=False)
    if failures:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("tailwatch-demo"),
) -> None:
    """Run the bundled, simulated scenario end to end (no network needed)."""
    from tailwatch.demo import run_demo

    run_demo(out, console=console, progress=progress)


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
    from tailwatch.ingest.base import BadInput
    from tailwatch.itinerary.query import parse_time
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
    from tailwatch.ingest.base import BadInput
    from tailwatch.itinerary.query import NoAircraft, emit, itineraries, parse_time

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
        if archive is not None:
            itins, frames = runner.itineraries(archive, aircraft, watchlist, t0, t1, every_aircraft=every,
                                               with_points=fmt != "json")
        else:  # --input files: read and built on this machine
            itins, frames = itineraries(archive, input, aircraft, watchlist, t0, t1)
    except NoAircraft as exc:
        raise NoResult(str(exc)) from exc
    result = emit(fmt, itins, frames, out)
    if isinstance(result, str):
        sys.stdout.write(result if result.endswith("\n") else result + "\n")
    else:
        for path in result:
            err_console.print(f"wrote {path}", markup=False, highlight=False)


@app.command()
def route(
    origin: Annotated[str, typer.Argument(help="Origin airport (ICAO or IATA).")],
    destination: Annotated[str, typer.Argument(help="Destination airport (ICAO or IATA).")],
    type_code: Annotated[Optional[str], typer.Option("--type", help="Type code (range from the airlift model).")] = None,
    operator_country: Annotated[Optional[str], typer.Option("--operator-country", help="ISO2 of the operator.")] = None,
    registration_country: Annotated[Optional[str], typer.Option("--registration-country", help="ISO2 of the register.")] = None,
    payload_t: Annotated[Optional[float], typer.Option("--payload-t", help="Payload in tonnes (default 20).")] = None,
    range_km: Annotated[Optional[float], typer.Option("--range-km", help="Hop range in km (overrides the type model).")] = None,
    when: Annotated[Optional[str], typer.Option("--date", help="Bans in force on this date (default: today).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or md.")] = "json",
) -> None:
    """Shortest route that avoids the airspace banned to the operator, with fuel stops."""
    import json
    from datetime import date

    from tailwatch.airspace.routing import NoRoute, legal_route, route_markdown
    from tailwatch.ingest.base import BadInput

    if fmt not in ("json", "md"):
        raise BadInput(f"--format must be json or md, not {fmt!r}")
    for flag, iso2 in (("--operator-country", operator_country), ("--registration-country", registration_country)):
        if iso2 is not None and not (len(iso2) == 2 and iso2.isascii() and iso2.isalpha()):
            raise BadInput(f"{flag}: not an ISO 3166 alpha-2 code: {iso2!r}")
    if type_code is not None and range_km is None:
        from tailwatch.airlift.types import aircraft_type

        if aircraft_type(type_code) is None:
            raise BadInput(f"unknown aircraft type {type_code!r}: no range data for it (give --range-km)")
    try:
        answer = legal_route(origin, destination, typecode=type_code, operator_country=operator_country,
                             registration_country=registration_country, payload_t=payload_t,
                             range_km=range_km, when=when or date.today().isoformat())
    except NoRoute as exc:
        raise NoResult(str(exc)) from exc
    if fmt == "json":
        typer.echo(json.dumps(answer, indent=2))
    else:
        typer.echo(route_markdown(answer))


@app.command()
def airlift(
    km: Annotated[Optional[list[float]], typer.Argument(metavar="[KM]...", help="More leg distances (km).")] = None,
    type_code: Annotated[Optional[str], typer.Option("--type", help="Type code: IL76, IL76MD90A, A124, C17, B77L…")] = None,
    leg_km: Annotated[Optional[list[float]], typer.Option("--leg-km", help="Flown distance of a leg in km (repeatable).")] = None,
    itinerary: Annotated[Optional[Path], typer.Option("--itinerary", help="tailwatch.itinerary/1 JSON (object or array).")] = None,
    cargo: Annotated[Optional[str], typer.Option("--cargo", help="Cargo set name (shahed-136, kornet, s400-battery) or CSV file.")] = None,
    count: Annotated[int, typer.Option("--count", help="How many times the cargo set.")] = 1,
    supply: Annotated[Optional[Path], typer.Option("--supply", help="CSV filling a named set's unknown figures.")] = None,
    claim_t: Annotated[Optional[float], typer.Option("--claim-t", help="Check a claimed load (t) against every leg.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or md.")] = "json",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """What a type could carry on each leg, and how many sorties a cargo needs."""
    import json

    from tailwatch.airlift.cargo import load_cargo, merge_masses, read_cargo_file
    from tailwatch.airlift.enrich import leg_distance_km, leg_label, read_itineraries
    from tailwatch.airlift.report import airlift_report, render_markdown
    from tailwatch.airlift.types import aircraft_type
    from tailwatch.ingest.base import BadInput

    if fmt not in ("json", "md"):
        raise BadInput(f"--format must be json or md, got {fmt!r}")
    if type_code is not None and aircraft_type(type_code) is None:
        raise BadInput(f"unknown aircraft type {type_code!r}: no payload data for it")
    distances = list(leg_km or []) + list(km or [])
    if bool(distances) == bool(itinerary):
        raise BadInput("give either --leg-km KM ... or --itinerary FILE")
    load = None
    if cargo:
        load = load_cargo(cargo)
        if supply:
            load = merge_masses(load, read_cargo_file(supply))
        load = load.scaled(count) if count != 1 else load
    runs: list[tuple[str, list[float], list[dict] | None]] = []
    if itinerary:
        for it in read_itineraries(itinerary):
            code = type_code or (it.get("aircraft") or {}).get("typecode")
            if not code:
                raise BadInput(f"{itinerary}: aircraft typecode unknown; give --type")
            if aircraft_type(code) is None:
                raise BadInput(f"unknown aircraft type {code!r}: no payload data for it")
            runs.append((code, [leg_distance_km(leg) for leg in it["legs"]], [leg_label(leg) for leg in it["legs"]]))
    else:
        if type_code is None:
            raise BadInput("--type is required with --leg-km")
        runs.append((type_code, distances, None))
    reports = [airlift_report(code, d, cargo=load, claim_t=claim_t, leg_labels=labels) for code, d, labels in runs]
    if fmt == "json":
        text = json.dumps(reports[0] if len(reports) == 1 else reports, indent=2, ensure_ascii=False) + "\n"
    else:
        text = "\n".join(render_markdown(r) for r in reports)
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@app.command()
def watch(
    urls: Annotated[Optional[list[str]], typer.Argument(metavar="[URL]...", help="Feeds, as with --feed.")] = None,
    feed: Annotated[Optional[list[str]], typer.Option("--feed", help="beast://host:30005, sbs://host:30003, raw://host:30002 or http(s)://…/aircraft.json (repeatable, or comma-separated).")] = None,
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder (journal in ARCHIVE/_journal).")] = Path("tailwatch-archive"),
    watchlist: Annotated[Optional[Path], typer.Option("--watchlist", help="Watchlist file (any importable format).")] = None,
    rules: Annotated[Optional[Path], typer.Option("--rules", help="Alert rules (YAML); default: watchlist seen/takeoff/landing/dark/emergency.")] = None,
    notify: Annotated[Optional[list[str]], typer.Option("--notify", help="Extra notifier: file:PATH, http(s) webhook URL or apprise URL (repeatable).")] = None,
    fsync: Annotated[str, typer.Option("--fsync", help="Journal fsync: seconds between syncs, 'always' or 'never'.")] = "1",
    flush_seconds: Annotated[float, typer.Option("--flush-seconds", help="Flush the journal into the archive this often.")] = 300.0,
    reference: Annotated[Optional[str], typer.Option("--reference", help="Receiver position LAT,LON (surface positions).")] = None,
    duration: Annotated[Optional[float], typer.Option("--duration", help="Stop after this many seconds (default: until SIGINT/SIGTERM).")] = None,
    web: Annotated[Optional[str], typer.Option("--web", metavar="[HOST:]PORT", help="Also serve the live web page (read-only; host defaults to 127.0.0.1).")] = None,
) -> None:
    """Watch live feeds: journal every position, alert on rules (JSON lines on stdout)."""
    from tailwatch.ingest.base import BadInput
    from tailwatch.live.watch import WatchConfig, run_watch

    ref = None
    if reference:
        try:
            lat, lon = (float(x) for x in reference.split(","))
        except ValueError:
            raise BadInput(f"--reference: expected LAT,LON, got {reference!r}") from None
        ref = (lat, lon)
    for path in (watchlist, rules):
        if path is not None and not path.exists():
            raise BadInput(f"{path}: no such file")
    feeds = [u.strip() for item in [*(feed or []), *(urls or [])] for u in item.split(",") if u.strip()]
    if not feeds:
        raise BadInput("give at least one feed: --feed beast://HOST:30005 (or sbs://, raw://, http(s)://…/aircraft.json)")
    cfg = WatchConfig(feeds=feeds, archive=archive, watchlist=watchlist, rules=rules, notify=list(notify or []),
                      fsync=fsync, flush_seconds=flush_seconds, reference=ref, max_runtime_s=duration)
    bind = None
    if web is not None:
        from tailwatch.web.server import parse_bind

        bind = parse_bind(web)
    raise typer.Exit(run_watch(cfg, web=bind))


@app.command()
def replay(
    path: Annotated[Path, typer.Argument(help="Beast capture, SBS log or raw AVR log (gzip ok).")],
    serve: Annotated[Optional[str], typer.Option("--serve", help="Serve as beast, sbs or raw (default: the recording's own format).")] = None,
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1 (0: any free port, printed).")] = 30005,
    speed: Annotated[float, typer.Option("--speed", help="Time factor (2 = twice as fast; 0 = as fast as possible).")] = 1.0,
    loop: Annotated[bool, typer.Option("--loop", help="Start again at the end.")] = False,
) -> None:
    """Serve a recording as a live feed on 127.0.0.1 (starts when the first client connects)."""
    from tailwatch.ingest.base import BadInput
    from tailwatch.live.replay import run_replay

    if serve is not None and serve not in ("beast", "sbs", "raw"):
        raise BadInput(f"--serve must be beast, sbs or raw, got {serve!r}")
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    try:
        run_replay(path, serve, port, speed=speed, loop=loop)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_OK) from None


@app.command()
def serve(
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder (read only: nothing is written into it).")],
    host: Annotated[str, typer.Option("--host", help="Address to bind; anything but 127.0.0.1 requires the token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port (0: any free port, printed).")] = 8765,
    token_file: Annotated[Optional[Path], typer.Option("--token-file", help="Where the access token is kept (mode 0600; default: the user's config folder).")] = None,
) -> None:
    """The investigator's web app over an archive: search, aircraft, itinerary map, watchlist, live, downloads."""
    import signal
    import threading

    from tailwatch.ingest.base import BadInput
    from tailwatch.web.investigate import create_investigator_app
    from tailwatch.web.security import default_token_file, load_or_create_token, needs_token
    from tailwatch.web.server import AppServer

    if not archive.is_dir():
        raise BadInput(f"{archive}: no such archive folder")
    if not 0 <= port <= 65535:
        raise BadInput(f"--port {port} is out of range")
    token = None
    if needs_token(host):
        path = (token_file or default_token_file()).expanduser()
        if path.resolve().is_relative_to(archive.resolve()):
            raise BadInput(f"--token-file {path}: must not be inside the archive (the server never writes there)")
        token, created = load_or_create_token(path)
        if created:
            err_console.print(f"generated an access token, stored in {path} (mode 0600): {token}",
                              markup=False, highlight=False, soft_wrap=True)
        else:
            err_console.print(f"access token: from {path}", markup=False, highlight=False, soft_wrap=True)
    from tailwatch.web.countries import countries_geojson

    app_ = create_investigator_app(archive, token=token)
    server = AppServer(app_, host, port, warm=countries_geojson, flag="--host/--port").start()
    err_console.print(f"serving {archive} on {server.url}" + ("  (token required)" if token else ""),
                      markup=False, highlight=False, soft_wrap=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        server.stop()
        app_.state.jobs.shutdown()


# --- identity: whois, watchlist import|show, scan (owner: identity) -------------------------
watchlist_app = typer.Typer(help="Import and show watchlists (OFAC, OpenSanctions, hand-made CSV) and registries.",
                            no_args_is_help=True)
app.add_typer(watchlist_app, name="watchlist")


def _identity_time(value: Optional[str], name: str):
    from tailwatch.itinerary.query import parse_time

    return parse_time(value, name)


def _identity_archive(archive: Optional[Path]) -> Optional[Path]:
    from tailwatch.ingest.base import BadInput

    if archive is not None and not archive.is_dir():
        raise BadInput(f"{archive}: no such archive folder")
    return archive


@watchlist_app.command("import")
def watchlist_import(
    files: Annotated[list[Path], typer.Argument(help="OFAC sdn.xml / SDN_ADVANCED.XML / sdn.csv, FtM JSON lines, "
                                                     "CSV (icao24 or registration), or an aircraft registry.")],
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder (created if missing).")],
) -> None:
    """Import watchlists (and registries) into the archive; re-importing a file adds nothing."""
    from rich.table import Table

    from tailwatch.identity.watchlist import import_files

    archive.mkdir(parents=True, exist_ok=True)
    results = import_files(files, archive)
    table = Table(title=f"watchlist import → {archive}")
    for col in ("file", "format", "entries", "new"):
        table.add_column(col, justify="right" if col in ("entries", "new") else "left")
    for r in results:
        table.add_row(r["file"], r["format"], f"{r['entries']:,}", f"{r['new']:,}")
    print_table(console, table)


@watchlist_app.command("show")
def watchlist_show(
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder.")],
    unresolved: Annotated[bool, typer.Option("--unresolved", help="Only entries with no address.")] = False,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Leave out the bundled seed list.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """One row per entry with its resolved icao24, or `unresolved`, and the evidence."""
    import json

    from rich.table import Table

    from rich.text import Text

    from tailwatch.identity.watchlist import archive_watchlist
    from tailwatch.ingest.base import BadInput

    if fmt not in ("table", "json", "csv"):
        raise BadInput(f"--format must be table, json or csv, got {fmt!r}")
    watch = archive_watchlist(_identity_archive(archive), include_seed=not no_seed)
    if unresolved:
        watch = watch.filter(watch["icao24"].is_null())
    if fmt == "json":
        sys.stdout.write(json.dumps(watch.to_dicts(), indent=1, ensure_ascii=False, default=str) + "\n")
        return
    if fmt == "csv":
        flat = watch.drop("candidates").with_columns(
            watch["registrations"].list.join(";"), watch["previous_registrations"].list.join(";"),
            watch["icao24"].fill_null("unresolved"))
        sys.stdout.write(flat.write_csv())
        return
    table = Table(title=f"watchlist — {watch.height} entries")
    for col in ("list", "entry", "name", "registrations", "icao24", "country", "confidence", "reason / evidence"):
        # the address column never wraps: "unresolved" and hex codes must stay greppable
        table.add_column(col, overflow="fold", no_wrap=col == "icao24", min_width=10 if col == "icao24" else None)
    for e in watch.iter_rows(named=True):
        cells = (e["list"], e["entry_id"], e["name"] or "", ", ".join(e["registrations"] or []),
                 e["icao24"] or "unresolved", e["country"] or "",
                 f"{e['confidence']:.2f}" if e["confidence"] is not None else "",
                 f"{e['reason'] or ''}: {e['evidence']}")
        table.add_row(*(Text(c) for c in cells))
    print_table(console, table)


@app.command()
def whois(
    query: Annotated[str, typer.Argument(metavar="HEX_OR_REG", help="ICAO address (6 hex) or registration.")],
    archive: Annotated[Optional[Path], typer.Option("--archive", help="Use this archive's registries and lists.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Address, registration, country, type, operator and list entries of one aircraft."""
    import json

    from rich.table import Table

    from rich.text import Text

    from tailwatch.identity.lookup import aircraft_identity
    from tailwatch.ingest.base import BadInput

    if fmt not in ("table", "json"):
        raise BadInput(f"--format must be table or json, got {fmt!r}")
    ident = aircraft_identity(query, _identity_archive(archive))
    if ident is None:
        raise NoResult(f"{query}: no address, registration, registry record or list entry known")
    if fmt == "json":
        sys.stdout.write(json.dumps(ident, indent=1, ensure_ascii=False, default=str) + "\n")
        return
    table = Table(title=f"whois {query}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    found = ident["found_by"]
    rows = [
        ("icao24", (ident["icao24"] or "unknown") + (f"  ({found['icao24']})" if "icao24" in found else "")),
        ("registration", (ident["registration"] or "unknown")
         + (f"  ({found['registration']})" if "registration" in found else "")),
        ("country", " ".join(x for x in (ident["country"], ident["country_name"] and f"({ident['country_name']})") if x)
         or "unknown"),
        *([("rule", found["rule"])] if "rule" in found else []),
        ("military block", {True: "yes", False: "no", None: "unknown"}[ident["military_block"]]),
        ("type", ident["typecode"] or ident["model"] or "unknown"),
        ("operator", ident["operator"] or "unknown"),
        ("owner", ident["owner"] or "unknown"),
    ]
    for entry in ident["watchlists"]:
        rows.append(("list entry", f"{entry['list']} {entry['id']}: {entry['name'] or ''} — {entry['reason']}"
                     + (f", program {entry['program']}" if entry["program"] else "")
                     + (f", listed {entry['listing_date']}" if entry["listing_date"] else "")
                     + f" [{entry['evidence']}]"))
    for h in ident["history"]:
        rows.append(("history", f"{h['snapshot']} {h['icao24']} {h['registration'] or ''} {h['operator'] or ''} "
                     f"({h['source']})"))
    for k, v in rows:
        table.add_row(k, Text(v))
    print_table(console, table)


@app.command()
def scan(
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder.")],
    start: Annotated[Optional[str], typer.Option("--start", help="ISO 8601 start (UTC if no zone).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="ISO 8601 end (UTC if no zone).")] = None,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Leave out the bundled seed list.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
) -> None:
    """When and where each resolved watchlisted aircraft was seen (first/last, points, bounding box)."""
    import json

    import polars as pl
    from rich.table import Table

    from tailwatch.identity.scan import scan_watchlist
    from tailwatch.ingest.base import BadInput

    if fmt not in ("table", "json", "csv"):
        raise BadInput(f"--format must be table, json or csv, got {fmt!r}")
    runner = _engine(engine, spark_master)
    result = scan_watchlist(_identity_archive(archive), _identity_time(start, "--start"),
                            _identity_time(end, "--end"), include_seed=not no_seed, engine=runner)
    # DESIGN.md: times are UTC with a `Z`, in every output
    result = result.with_columns(pl.col(c).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
                                 for c in ("first_seen", "last_seen") if isinstance(result.schema.get(c), pl.Datetime))
    if fmt == "json":
        sys.stdout.write(json.dumps(result.to_dicts(), indent=1, ensure_ascii=False, default=str) + "\n")
        return
    if fmt == "csv":
        sys.stdout.write(result.with_columns(pl.col(pl.List(pl.String)).list.join(";")).write_csv())
        return
    table = Table(title=f"watchlisted aircraft in {archive}")
    for col in ("icao24", "registrations", "lists", "first seen", "last seen", "points", "days", "bbox lat", "bbox lon"):
        table.add_column(col, justify="right" if col in ("points", "days") else "left", overflow="fold")
    for r in result.iter_rows(named=True):
        seen = r["points"] > 0
        table.add_row(r["icao24"], ", ".join(r["registrations"] or []), ", ".join(r["lists"] or []),
                      str(r["first_seen"]) if seen else "not seen", str(r["last_seen"]) if seen else "",
                      f"{r['points']:,}", str(r["days"]),
                      f"{r['lat_min']:.3f}…{r['lat_max']:.3f}" if seen else "",
                      f"{r['lon_min']:.3f}…{r['lon_max']:.3f}" if seen else "")
    print_table(console, table)


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: one-line errors with exit codes per DESIGN.md."""
    from tailwatch.ingest.base import BadInput

    try:
        rc = app(args=argv, standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else EXIT_OK)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except NoResult as exc:
        if _state["debug"]:
            raise
        err_console.print(f"no result: {exc}", markup=False, highlight=False)
        sys.exit(EXIT_NO_RESULT)
    except (BadInput, FileNotFoundError, IsADirectoryError) as exc:
        if _state["debug"]:
            raise
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(EXIT_BAD_INPUT)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        if _state["debug"]:
            raise
        err_console.print(f"error: {type(exc).__name__}: {exc} (run with --debug for details)",
                          markup=False, highlight=False)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
