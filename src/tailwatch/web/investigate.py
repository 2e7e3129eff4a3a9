"""The investigator's web app of `tailwatch serve`: search, aircraft, itinerary map, watchlist, live, downloads.

Read-only over one archive (nothing is written into it): GET only, except starting an itinerary job,
a POST that only this server's own page may make (`web/security.py`). Pages are one
static shell (`static/investigate.html`) whose script renders the route it was opened
at; data comes from the JSON API below. Static files are served from a fixed table
of the packaged files — a path from the request never reaches the file system.
Itineraries are jobs (`web/jobs.py`) computed by the same code as `tailwatch
itinerary`; the page polls their progress. Access rules live in `web/security.py`.

API: `/api/search?q=`, `/api/aircraft/{icao24}`, `POST /api/itinerary?aircraft=&start=&end=`
(a job: progress; 429 when the job table is full), `/api/jobs/{id}` (progress), `/api/jobs/{id}/result` (itinerary JSON,
its map layers, the report's lede and the airports' cities), `/api/jobs/{id}/download/{format}`, `/api/watchlist`, `/api/live` (each aircraft's latest position and trail
from a watcher's journal, and the alerts it logged),
`/api/countries`, `/api/health`; the air-bridge page and its API (`/bridge`, `POST /api/bridge`) are in `web/bridge.py`.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import tempfile
import zipfile
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tailwatch.web.common import CSP_SELF, add_security_headers, clean, countries_response

MAX_QUERY_CHARS = 64
MAX_WINDOW = timedelta(days=400)
HEX_PATTERN = r"^~?[0-9a-fA-F]{6}$"
JOB_PATTERN = r"^[0-9a-f]{20}$"
QUERY_CHARS = re.compile(r"^[\w .,'&()/+:#~-]+$")
DOWNLOADS = {"json": ("application/json", ".json"), "md": ("text/markdown; charset=utf-8", ".md"),
             "html": ("text/html; charset=utf-8", ".html"), "geojson": ("application/geo+json", ".geojson"),
             "kml": ("application/vnd.google-earth.kml+xml", ".kml"), "csv": ("application/zip", ".csv.zip")}
DOWNLOAD_WAIT_S = 300.0
ACTIONS = frozenset({"/api/itinerary", "/api/bridge"})  # the only paths that take a POST (they start work)
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}


@lru_cache(maxsize=1)
def static_files() -> dict[str, tuple[bytes, str]]:
    """URL name → (bytes, media type) for every packaged file the pages use; nothing else is reachable."""
    root = resources.files("tailwatch.web") / "static"
    out: dict[str, tuple[bytes, str]] = {}
    for name in ("investigate.js", "investigate-itinerary.js", "investigate-map.js", "investigate.css"):
        out[name] = ((root / name).read_bytes(), STATIC_TYPES[Path(name).suffix])
    leaflet = root / "vendor" / "leaflet"
    for name in ("leaflet.js", "leaflet.css"):
        out[f"vendor/leaflet/{name}"] = ((leaflet / name).read_bytes(), STATIC_TYPES[Path(name).suffix])
    for item in (leaflet / "images").iterdir():
        if item.name.endswith(".png"):
            out[f"vendor/leaflet/images/{item.name}"] = (item.read_bytes(), "image/png")
    return out


@lru_cache(maxsize=1)
def shell_html() -> str:
    return (resources.files("tailwatch.web") / "static" / "investigate.html").read_text(encoding="utf-8")


def encode_json(value) -> bytes:
    return json.dumps(clean(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _gzip_ok(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _window(start: str | None, end: str | None):
    from tailwatch.errors import BadInput
    from tailwatch.times import parse_time

    try:
        t0, t1 = parse_time(start, "start"), parse_time(end, "end")
    except BadInput as exc:
        raise HTTPException(400, str(exc)) from None
    if t0 is not None and t1 is not None:
        if t1 <= t0:
            raise HTTPException(400, f"end {end} is not after start {start}")
        if t1 - t0 > MAX_WINDOW:
            raise HTTPException(400, f"window of {(t1 - t0).days} days is longer than the limit of {MAX_WINDOW.days}")
    return t0, t1


def create_investigator_app(archive: Path, token: str | None = None, workers: int = 2) -> FastAPI:
    """The app over `archive`; `token` (any bind but 127.0.0.1) is required on every request when given."""
    from tailwatch.web.archive_view import ArchiveView
    from tailwatch.web.jobs import ItineraryJobs
    from tailwatch.web.security import AccessGuard

    archive = Path(archive)
    view = ArchiveView(archive)
    jobs = ItineraryJobs(archive, workers=workers)
    app = FastAPI(title="tailwatch serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.view, app.state.jobs = view, jobs
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    add_security_headers(app, CSP_SELF)
    app.add_middleware(AccessGuard, token=token, actions=ACTIONS)  # outermost: runs first

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page or resource: {request.url.path}"
        if exc.status_code == 405:
            message = (f"{request.url.path} takes a POST" if request.url.path in ACTIONS
                       else "this server is read-only: only GET")
        return _error(exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path"))
            parts.append(f"{where}: {e.get('msg')}")
        return _error(400, "; ".join(parts) or "invalid request")

    async def answer(key: tuple, compute) -> Response:
        """Cached JSON straight from the event loop; a miss is computed in the thread pool (once per key)."""
        from tailwatch.errors import BadInput

        body = view.peek(key)
        if body is None:
            try:
                body = await run_in_threadpool(view.cached, key, lambda: encode_json(compute()))
            except BadInput as exc:  # e.g. an unreadable archive file: say which, as the CLI would
                raise HTTPException(400, str(exc)) from None
        return Response(body, media_type="application/json")

    def page() -> HTMLResponse:
        return HTMLResponse(shell_html())

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return page()

    @app.get("/watchlist", response_class=HTMLResponse)
    async def watchlist_page() -> HTMLResponse:
        return page()

    @app.get("/live", response_class=HTMLResponse)
    async def live_page() -> HTMLResponse:
        return page()

    @app.get("/aircraft/{icao24}", response_class=HTMLResponse)
    async def aircraft_page(icao24: str = PathParam(..., pattern=HEX_PATTERN)) -> HTMLResponse:
        return page()

    @app.get("/static/{name:path}")
    async def static(name: str) -> Response:
        item = static_files().get(name)
        if item is None:
            raise HTTPException(404, f"no such static file: {name!r}")
        body, media = item
        return Response(body, media_type=media, headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/api/health")
    async def health() -> dict:
        from tailwatch import __version__

        return {"status": "ok", "version": __version__, "archive": archive.name, "generation": view.generation(),
                "token_required": token is not None, "jobs": jobs.counts()}

    @app.get("/api/countries")
    async def countries(request: Request) -> Response:
        return await run_in_threadpool(countries_response, _gzip_ok(request))

    @app.get("/api/search")
    async def search(q: str = Query(..., min_length=1, max_length=MAX_QUERY_CHARS,
                                    description="hex address, registration, callsign, operator or list entry")) -> Response:
        if not QUERY_CHARS.match(q):
            raise HTTPException(400, "q: only letters, digits, spaces and . , ' & ( ) / + : # ~ - are allowed")
        return await answer(("search-json", q), lambda: view.search(q))

    @app.get("/api/aircraft/{icao24}")
    async def aircraft(icao24: str = PathParam(..., pattern=HEX_PATTERN)) -> Response:
        icao24 = icao24.lstrip("~").lower()
        return await answer(("aircraft-json", icao24), lambda: view.aircraft(icao24))

    @app.post("/api/itinerary")
    async def itinerary(aircraft: str = Query(..., pattern=HEX_PATTERN), start: str | None = Query(None, max_length=40),
                        end: str | None = Query(None, max_length=40)) -> Response:
        from tailwatch.web.jobs import JobsFull

        t0, t1 = _window(start, end)
        try:
            job = jobs.submit(aircraft.lstrip("~").lower(), t0, t1, view.generation())
        except JobsFull as exc:
            return JSONResponse({"error": str(exc)}, status_code=429, headers={"Retry-After": "5"})
        return JSONResponse(job.progress(), status_code=202 if job.state in ("queued", "running") else 200)

    @app.get("/api/jobs/{job_id}")
    async def job_status(job_id: str = PathParam(..., pattern=JOB_PATTERN)) -> dict:
        return jobs.asked(job_id).progress()

    @app.get("/api/jobs/{job_id}/result")
    async def job_result(request: Request, job_id: str = PathParam(..., pattern=JOB_PATTERN)) -> Response:
        job = jobs.finished(jobs.asked(job_id))
        if job.encoded is None:
            await run_in_threadpool(jobs.encode, job)
        if _gzip_ok(request):  # compressed once, when the job finished encoding
            return Response(job.encoded_gzip, media_type="application/json",
                            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        return Response(job.encoded, media_type="application/json")

    @app.get("/api/jobs/{job_id}/download/{fmt}")
    async def download(job_id: str = PathParam(..., pattern=JOB_PATTERN),
                       fmt: str = PathParam(..., pattern="^(" + "|".join(DOWNLOADS) + ")$")) -> Response:
        job = jobs.asked(job_id)
        if job.future is not None and not job.future.done():
            try:
                await asyncio.wait_for(asyncio.wrap_future(job.future), DOWNLOAD_WAIT_S)
            except asyncio.TimeoutError:
                raise HTTPException(409, f"the itinerary is not ready yet ({job.stage})") from None
        job = jobs.finished(job)
        body = await run_in_threadpool(_render_download, fmt, job)
        ac = (job.itins[0].get("aircraft") or {})
        name = re.sub(r"[^A-Za-z0-9_-]", "", (ac.get("registration") or job.icao24)) + "-itinerary" + DOWNLOADS[fmt][1]
        return Response(body, media_type=DOWNLOADS[fmt][0],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/api/watchlist")
    async def watchlist() -> Response:
        def compute():
            rows = view.watchlist_rows()
            return {"entries": rows, "resolved": sum(r["resolved"] for r in rows), "total": len(rows)}
        return await answer(("watchlist-json",), compute)

    @app.get("/api/live")
    def live() -> dict:
        return clean(view.live())

    from tailwatch.web.bridge import BridgeJobs, add_bridge_routes  # the air-bridge page (web/bridge.py)

    app.state.bridges = BridgeJobs(archive)
    add_bridge_routes(app, view, app.state.bridges, JOB_PATTERN)
    return app


def _render_download(fmt: str, job) -> bytes:
    """The report in `fmt` through the CLI's own writer (`app.output.emit`); csv is a zip of legs and points."""
    from tailwatch.app.output import emit

    if fmt != "csv":
        text = emit(fmt, job.itins, job.frames, None)
        return text.encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        paths = emit("csv", job.itins, job.frames, Path(tmp) / "itinerary.csv")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in paths:
                zf.write(p, p.name)
        return buf.getvalue()
