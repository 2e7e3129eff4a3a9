"""Commands that run until stopped: `watch` live feeds, `replay` a capture as a feed, `serve` the web app, and the `demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tailwatch.cli.base import EXIT_OK, app, console, err_console, progress


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("tailwatch-demo"),
) -> None:
    """Run the bundled, simulated scenario end to end (no network needed)."""
    from tailwatch.demo import run_demo

    run_demo(out, console=console, progress=progress)


def _say(line: str) -> None:
    err_console.print(line, markup=False, highlight=False, soft_wrap=True)


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
    web: Annotated[Optional[str], typer.Option("--web", metavar="[HOST:]PORT", help="Also serve the live web page (read-only; host defaults to 127.0.0.1; any other host requires the token, as with serve).")] = None,
    token_file: Annotated[Optional[Path], typer.Option("--token-file", help="With --web off 127.0.0.1: where the access token is kept (mode 0600; default: the user's config folder, shared with serve).")] = None,
) -> None:
    """Watch live feeds: journal every position, alert on rules (JSON lines on stdout)."""
    from tailwatch.errors import BadInput
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
    bind, token = None, None
    if web is not None:
        from tailwatch.web.security import token_for_bind
        from tailwatch.web.server import parse_bind

        bind = parse_bind(web)
        token = token_for_bind(bind[0], token_file, archive, _say)
    raise typer.Exit(run_watch(cfg, web=bind, token=token))


@app.command()
def replay(
    path: Annotated[Path, typer.Argument(help="Beast capture, SBS log or raw AVR log (gzip ok).")],
    serve: Annotated[Optional[str], typer.Option("--serve", help="Serve as beast, sbs or raw (default: the recording's own format).")] = None,
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1 (0: any free port, printed).")] = 30005,
    speed: Annotated[float, typer.Option("--speed", help="Time factor (2 = twice as fast; 0 = as fast as possible).")] = 1.0,
    loop: Annotated[bool, typer.Option("--loop", help="Start again at the end.")] = False,
) -> None:
    """Serve a recording as a live feed on 127.0.0.1 (starts when the first client connects)."""
    from tailwatch.errors import BadInput
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

    from tailwatch.errors import BadInput
    from tailwatch.web.investigate import create_investigator_app
    from tailwatch.web.security import token_for_bind
    from tailwatch.web.server import AppServer

    if not archive.is_dir():
        raise BadInput(f"{archive}: no such archive folder")
    if not 0 <= port <= 65535:
        raise BadInput(f"--port {port} is out of range")
    token = token_for_bind(host, token_file, archive, _say)
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
