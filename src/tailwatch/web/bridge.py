"""The air-bridge page of `tailwatch serve`: a form (into, from, start, end, type class) → a bridge job →
the same view as `tailwatch bridge --format html`, and its JSON through the API.

A bridge builds every aircraft's itinerary over the window and the baseline before it: seconds to
minutes. So it is a job, started by a POST that only this server's own page may make (`web/security.py`,
path in `investigate.ACTIONS`), run by `app.bridge.run_bridge` — the very path of the CLI — in a table
narrower than the itineraries' (`BridgeJobs`: one worker, two pending, eight kept). Inputs are checked
before a job starts and a bad one is the CLI's one line (HTTP 400, shown under the form). `into` is a
country or airport codes only: a served page never names a file on the server.

The result page is rendered here, on the server: the page shell, the form and the report's body
(`report.bridge_html.render_bridge_body`, every string of the data escaped), with the report's stylesheet
and script served as files of this server (the Content-Security-Policy allows nothing inline). The page
script (`static/bridge-page.js`) only posts the form, follows the job's progress and then opens the result
page; it writes text with textContent, never markup.

API: `POST /api/bridge?into=&from=&start=&end=&class=` (a job: progress; 400 bad input; 429 table full),
`/api/bridge/jobs/{id}` (progress), `/api/bridge/jobs/{id}/result` (the `tailwatch.bridge/1` JSON, with each
flight's `track`), `/api/bridge/jobs/{id}/download/{json|md|csv|html}`; pages `/bridge` and `/bridge/view/{id}`.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

from tailwatch.web.jobs import ItineraryJob, ItineraryJobs

INTO = re.compile(r"^[A-Za-z0-9]{2,4}( *, *[A-Za-z0-9]{2,4}){0,49}$")  # VE; VE,CO; SVMI,SVVA — never a path
FROM = re.compile(r"^[A-Za-z]{2}( *, *[A-Za-z]{2}){0,49}$")
CLASSES = ("", "heavy-freighter")
MAX_WINDOW = timedelta(days=400)
DOWNLOADS = {"json": ("application/json", ".json"), "md": ("text/markdown; charset=utf-8", ".md"),
             "csv": ("text/csv; charset=utf-8", ".csv"), "html": ("text/html; charset=utf-8", ".html")}
ASSETS = {"report.css": ("report", "text/css; charset=utf-8"), "bridge.css": ("report", "text/css; charset=utf-8"),
          "report.js": ("report", "text/javascript; charset=utf-8"), "bridge.js": ("report", "text/javascript; charset=utf-8"),
          "bridge-page.js": ("web", "text/javascript; charset=utf-8"), "bridge-page.css": ("web", "text/css; charset=utf-8")}


@dataclass
class BridgeJob(ItineraryJob):
    query: dict | None = None  # into, from, start, end, class as asked
    doc: dict | None = None  # the tailwatch.bridge/1 document, with tracks

    def size(self) -> int:
        """Bytes held: the encoded JSON, and the document behind it (counted as a few times its JSON)."""
        return 4 * len(self.encoded or b"") + len(self.encoded_gzip or b"")

    def progress(self) -> dict:
        return {**super().progress(), "query": self.query}


def check_query(into: str, from_: str | None, start: str | None, end: str | None, type_class: str | None) -> dict:
    """The form's inputs checked as the CLI checks them (BadInput: one line); returns the query to run."""
    from tailwatch.app.bridge import window
    from tailwatch.bridge.place import parse_countries, parse_into
    from tailwatch.errors import BadInput

    into = (into or "").strip()
    if not INTO.match(into):
        raise BadInput(f"into {into!r}: give a country (VE) or ICAO airports (SVMI,SVVA)")
    from_ = (from_ or "").strip()
    if from_ and not FROM.match(from_):
        raise BadInput(f"from {from_!r}: give ISO 3166-1 alpha-2 codes separated by commas (RU,IR,CN)")
    into = into.replace(" ", "").upper()
    if any(Path(part).exists() for part in (into, into.lower())):  # the CLI would read a file of that name
        raise BadInput(f"into {into}: the server's working folder holds a file of that name; start serve elsewhere")
    parse_into(into)
    parse_countries(from_.replace(" ", "") or None, "from")
    if type_class not in CLASSES:
        raise BadInput(f"class {type_class!r}: one of heavy-freighter, or none")
    t0, t1 = window(start, end)
    if t1 - t0 > MAX_WINDOW:
        raise BadInput(f"a window of {(t1 - t0).days} days is longer than the limit of {MAX_WINDOW.days}")
    return {"into": into, "from": from_.replace(" ", "").upper() or None,
            "start": start.strip(), "end": end.strip(), "class": type_class or None}


class BridgeJobs(ItineraryJobs):
    """Bridge jobs: the itinerary jobs' table (bounded, keyed by inputs and the archive's generation),
    narrower, since each runs every aircraft of the window."""

    max_pending, max_jobs, max_kept_bytes = 2, 8, 64 * 2**20
    what = "bridges are"
    noun, again, no_result = "bridge", "run it again", "no aircraft in this window"
    thread_name = "tailwatch-bridge"

    def __init__(self, archive: Path, workers: int = 1) -> None:
        super().__init__(archive, workers)

    def submit_query(self, query: dict, generation: str) -> BridgeJob:
        import hashlib

        job_id = hashlib.sha256((json.dumps(query, sort_keys=True) + "|" + generation).encode()).hexdigest()[:20]
        return self._admit(job_id, lambda jid: BridgeJob(jid, "", None, None, query=query))

    def _work(self, job: BridgeJob, progress) -> None:  # type: ignore[override]
        """The CLI's run with each flight's track (the map draws them), encoded once."""
        from tailwatch.app.bridge import run_bridge

        q = job.query or {}
        job.doc = run_bridge(self.archive, q["into"], q["start"], q["end"], from_=q.get("from"),
                             classes=[q["class"]] if q.get("class") else None, on_stage=progress, tracks=True)
        job.stage = "map layers"
        self.encode(job)

    def encode(self, job: BridgeJob) -> None:  # type: ignore[override]
        from tailwatch.app.bridge import render

        if job.encoded is None and job.doc is not None:
            body = render(job.doc, "json").encode()
            job.encoded_gzip = gzip.compress(body, 6)
            job.encoded = body


@lru_cache(maxsize=8)
def asset(name: str) -> bytes:
    where, _ = ASSETS[name]
    root = resources.files("tailwatch.report") / "assets" if where == "report" else resources.files("tailwatch.web") / "static"
    return (root / name).read_bytes()


@lru_cache(maxsize=1)
def shell() -> str:
    return (resources.files("tailwatch.web") / "static" / "bridge.html").read_text(encoding="utf-8")


def render_page(job: BridgeJob | None = None) -> str:
    """The bridge page: the form (filled with the job's query), and the job's result under it."""
    from tailwatch.report.bridge_html import render_bridge_body, title_of
    from tailwatch.report.bridge_html.page import notice_of
    from tailwatch.report.html.text import esc

    q = (job.query if job is not None else None) or {}
    html = shell()
    for key in ("into", "from", "start", "end"):
        html = html.replace(f'data-fill="{key}"', f'value="{esc(q.get(key) or "")}"')
    html = html.replace('<option value="heavy-freighter">',
                        '<option value="heavy-freighter"' + (" selected" if q.get("class") else "") + ">")
    result = ""
    if job is not None and job.doc is not None:
        notice = notice_of(job.doc)
        banner = f'<div class="notice" role="alert">{esc(notice)}</div>' if notice else ""
        links = " · ".join(f'<a href="/api/bridge/jobs/{job.id}/download/{fmt}">{fmt.upper()}</a>' for fmt in DOWNLOADS)
        result = (f'{banner}<h1>{esc(title_of(job.doc))}</h1><p class="downloads">Download: {links} · '
                  f'<a href="/api/bridge/jobs/{job.id}/result">the JSON</a></p>{render_bridge_body(job.doc)}{banner}')
    elif job is not None and job.state in ("queued", "running"):
        result = f'<p class="muted" role="status">Not ready yet ({esc(job.stage)}): reload this page in a moment.</p>'
    elif job is not None:
        result = f'<p class="error" role="alert">{esc(job.error or job.state)}</p>'
    return html.replace("<!--RESULT-->", result)


def add_bridge_routes(app, view, jobs: BridgeJobs, job_pattern: str) -> None:
    """The bridge page, its assets and its API on the investigator's app."""
    from fastapi import HTTPException, Path as PathParam, Query
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from starlette.concurrency import run_in_threadpool

    from tailwatch.errors import BadInput
    from tailwatch.web.jobs import JobsFull

    @app.get("/bridge", response_class=HTMLResponse)
    async def bridge_page() -> HTMLResponse:
        return HTMLResponse(render_page())

    @app.get("/bridge/view/{job_id}", response_class=HTMLResponse)
    async def bridge_view(job_id: str = PathParam(..., pattern=job_pattern)) -> HTMLResponse:
        job = jobs.asked(job_id)
        return HTMLResponse(await run_in_threadpool(render_page, job))

    @app.get("/bridge/assets/{name}")
    async def bridge_asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, f"no such bridge asset: {name!r}")
        return Response(asset(name), media_type=ASSETS[name][1], headers={"Cache-Control": "public, max-age=3600"})

    @app.post("/api/bridge")
    async def bridge_start(into: str = Query(..., max_length=250), from_: str | None = Query(None, alias="from", max_length=160),
                           start: str = Query(..., max_length=40), end: str = Query(..., max_length=40),
                           type_class: str | None = Query(None, alias="class", max_length=40)) -> Response:
        try:
            query = check_query(into, from_, start, end, type_class or "")
        except BadInput as exc:
            raise HTTPException(400, str(exc)) from None
        try:
            job = jobs.submit_query(query, view.generation())
        except JobsFull as exc:
            return JSONResponse({"error": str(exc)}, status_code=429, headers={"Retry-After": "5"})
        return JSONResponse(job.progress(), status_code=202 if job.state in ("queued", "running") else 200)

    @app.get("/api/bridge/jobs/{job_id}")
    async def bridge_status(job_id: str = PathParam(..., pattern=job_pattern)) -> dict:
        return jobs.asked(job_id).progress()

    @app.get("/api/bridge/jobs/{job_id}/result")
    async def bridge_result(job_id: str = PathParam(..., pattern=job_pattern)) -> Response:
        job = jobs.finished(jobs.asked(job_id))
        return Response(job.encoded, media_type="application/json")

    @app.get("/api/bridge/jobs/{job_id}/download/{fmt}")
    async def bridge_download(job_id: str = PathParam(..., pattern=job_pattern),
                              fmt: str = PathParam(..., pattern="^(" + "|".join(DOWNLOADS) + ")$")) -> Response:
        from tailwatch.app.bridge import render

        job = jobs.finished(jobs.asked(job_id))
        body = await run_in_threadpool(render, job.doc, fmt)
        name = "bridge-" + re.sub(r"[^A-Za-z0-9_-]", "", (job.doc or {}).get("into") or "") + DOWNLOADS[fmt][1]
        return Response(body.encode("utf-8"), media_type=DOWNLOADS[fmt][0],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


__all__ = ["BridgeJobs", "add_bridge_routes", "check_query", "render_page"]
