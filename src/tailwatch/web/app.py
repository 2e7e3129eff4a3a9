"""The live page's API over a running Watcher: aircraft, alerts, feeds, health, country outlines.

Read-only (GET only) and built per watcher (`create_app(watcher, token)`, no globals). Who may
ask is decided by `web/security.py`, exactly as for `tailwatch serve`: loopback Host names
without a token on 127.0.0.1, the token (and its cookie exchange) on any other bind.
Tracker state is taken through `Pipeline.snapshot()` under the pipeline's lock;
alerts come from the watcher's bounded `recent_alerts`; feed counters are plain
integers read as they are. `GET /` is one self-contained page (inline CSS and
JS from `static/`, no external resources; a Content-Security-Policy forbids any).
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources

import polars as pl
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse

from tailwatch.web.common import CSP_INLINE, add_security_headers, clean, countries_response

AIRCRAFT_FIELDS = ["icao24", "callsign", "squawk", "latitude", "longitude", "altitude", "geoaltitude", "groundspeed",
                   "track", "vertical_rate", "onground", "source", "phase", "origin", "leg_start", "destination",
                   "last_event", "last_event_time"]
TRAIL_POINTS = 120  # per watchlisted aircraft: the tracker's thinned recent window, newest last
OTHER_TRAIL_POINTS = 30  # per other aircraft: where it came from, short enough for a busy sky
MAX_COUNTRY_CACHE = 50_000


@lru_cache(maxsize=1)
def page_html() -> str:
    """index.html with app.css and app.js inlined (one request, nothing external)."""
    static = resources.files("tailwatch.web") / "static"
    html = (static / "index.html").read_text(encoding="utf-8")
    return (html.replace("/*APP_CSS*/", (static / "app.css").read_text(encoding="utf-8"))
            .replace("/*APP_JS*/", (static / "app.js").read_text(encoding="utf-8")))


def _registrations(watchlist: pl.DataFrame | None) -> dict[str, str]:
    """icao24 → registration from the watchlist rows that give one."""
    if watchlist is None or "icao24" not in watchlist.columns:
        return {}
    for col in ("registration", "registrations"):
        if col in watchlist.columns:
            reg = pl.col(col).list.first() if isinstance(watchlist.schema[col], pl.List) else pl.col(col)
            rows = watchlist.select(pl.col("icao24").str.to_lowercase(), reg.cast(pl.String).alias("r")).drop_nulls()
            return dict(rows.unique("icao24", keep="first").iter_rows())
    return {}


def _countries_of(icao24: list[str]) -> list[str | None]:
    try:
        from tailwatch.identity.icao_blocks import country_of
    except ImportError:
        return [None] * len(icao24)
    return [country_of(i) for i in icao24]


def _trails(pipeline, listed: set[str] | dict) -> dict[str, list[list[float]]]:
    """Recent [lon, lat] of every aircraft from the tracker's window: `TRAIL_POINTS` for a watchlisted one,
    `OTHER_TRAIL_POINTS` for the others (one group-by over all of them)."""
    with pipeline.lock:
        recent = pipeline.tracker.recent  # an immutable frame; the tracker replaces it, never edits it
    if recent is None or not recent.height:
        return {}
    keep = pl.when(pl.col("icao24").is_in(list(listed))).then(TRAIL_POINTS).otherwise(OTHER_TRAIL_POINTS)
    pts = (recent.filter(pl.col("longitude").is_not_null() & pl.col("latitude").is_not_null())
           .sort("icao24", "timestamp")
           .filter(pl.int_range(pl.len()).over("icao24") >= pl.len().over("icao24").cast(pl.Int64) - keep)
           .group_by("icao24", maintain_order=True)
           .agg(pl.col("longitude").round(4), pl.col("latitude").round(4)))
    return {i: [[x, y] for x, y in zip(lon, lat)] for i, lon, lat in pts.iter_rows()}


def create_app(watcher, token: str | None = None) -> FastAPI:
    """The app for one running `tailwatch.live.watch.Watcher`; `token` (any bind but 127.0.0.1) is
    required on every request when given, as by `tailwatch serve`."""
    from tailwatch.web.security import AccessGuard

    app = FastAPI(title="tailwatch watch", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    registrations = _registrations(watcher.watchlist)
    country_cache: dict[str, str | None] = {}

    add_security_headers(app, CSP_INLINE)
    app.add_middleware(AccessGuard, token=token)  # outermost: runs first, the same guard as serve's

    def listed() -> dict[str, list[dict]]:
        p = watcher.pipeline
        return p.engine.watch if p is not None else {}

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page_html())

    @app.get("/api/aircraft")
    def aircraft() -> dict:
        now = datetime.now(timezone.utc)
        p = watcher.pipeline
        state = p.snapshot() if p is not None else None
        rows: list[dict] = []
        if state is not None and state.height:
            watch = listed()
            trails = _trails(p, watch)
            if len(country_cache) > MAX_COUNTRY_CACHE:
                country_cache.clear()
            new = [i for i in state["icao24"].to_list() if i not in country_cache]
            country_cache.update(zip(new, _countries_of(new)))
            for r in state.sort("timestamp", descending=True).iter_rows(named=True):
                entry = {k: r.get(k) for k in AIRCRAFT_FIELDS}
                entry["last_seen"] = r["timestamp"]
                entry["seconds_since"] = round((now - r["timestamp"]).total_seconds(), 1)
                entry["registration"] = registrations.get(r["icao24"])
                entry["country"] = country_cache.get(r["icao24"])
                entry["watchlists"] = watch.get(r["icao24"], [])
                entry["listed"] = r["icao24"] in watch
                entry["trail"] = trails.get(r["icao24"], [])
                rows.append(entry)
        return clean({"now": now, "count": len(rows), "aircraft": rows})

    @app.get("/api/alerts")
    def alerts(since: str | None = Query(None, description="ISO time: alerts raised at or after it"),
               after: int = Query(0, ge=0, description="only alerts with a larger sequence number"),
               limit: int = Query(200, ge=1, le=1000)) -> dict:
        cutoff = None
        if since:
            try:
                cutoff = datetime.fromisoformat(since.strip().replace("Z", "+00:00").replace(" ", "+"))
            except ValueError:
                raise HTTPException(400, f"since: {since!r} is not an ISO 8601 time") from None
            if cutoff.tzinfo is None:
                cutoff = cutoff.replace(tzinfo=timezone.utc)
        items = [(seq, raised, a) for seq, raised, a in watcher.recent_alerts.items()
                 if seq > after and (cutoff is None or raised >= cutoff)]
        items = items[-limit:]
        out = [{"seq": seq, "raised": raised, **a} for seq, raised, a in reversed(items)]
        return clean({"last_seq": watcher.recent_alerts.seq, "alerts": out})

    @app.get("/api/feeds")
    def feeds() -> list[dict]:
        out = []
        for f in watcher.feeds:
            s = f.stats
            out.append({"url": f.url, "kind": f.kind, "connected": s.connected, "messages": s.messages,
                        "decoded": s.decoded, "positions": s.positions, "errors": s.errors,
                        "duplicates": s.duplicates, "bytes": s.bytes, "connects": s.connects,
                        "last_error": s.last_error or None, "backlog": f.backlog})
        return out

    @app.get("/api/health")
    def health() -> dict:
        from tailwatch import __version__

        p = watcher.pipeline
        now = datetime.now(timezone.utc)
        return clean({
            "status": "ok" if p is not None else "starting",
            "version": __version__, "now": now, "started": watcher.started_at,
            "uptime_s": round((now - watcher.started_at).total_seconds(), 1),
            "feeds": len(watcher.feeds), "feeds_connected": sum(f.stats.connected for f in watcher.feeds),
            "aircraft": p.tracker.last.height if p is not None else 0,
            "watchlisted": len(listed()), "alerts": watcher.recent_alerts.seq,
            "journaled": watcher.journal.rows_written, "synced": watcher.journal.rows_synced,
            "archived": watcher.archived_rows, "recovered": watcher.recovered_rows,
        })

    @app.get("/api/countries")
    def countries(request: Request) -> Response:
        return countries_response("gzip" in request.headers.get("accept-encoding", ""))

    return app
