"""Itinerary jobs for `tailwatch serve`: computed once in a small thread pool, watched through progress.

An itinerary over a long window takes seconds; the event loop must keep answering other
requests meanwhile, so each (aircraft, window) becomes a job run by
`tailwatch.app.itineraries.itineraries` — the very path of `tailwatch itinerary` — in a
worker thread. The job records its stage as it goes (the itinerary step's `on_stage` marks the
switch from building to airspace/payload), keeps its result for downloads. The table is bounded: at most `MAX_PENDING` jobs wait or run,
at most `MAX_JOBS` are kept and the finished ones hold at most `MAX_KEPT_BYTES` of results
(points, encoded bodies); room is made by forgetting the finished job used longest ago, when a
job is submitted and when one finishes, and a new job is refused (`JobsFull`, HTTP 429) when
every kept job is still pending. So a
burst of requests costs a bounded queue and a bounded memory, never an unbounded one. A job is keyed by its inputs and the
archive's generation, so a request for the same itinerary joins the running job or
reads the finished one.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

MAX_JOBS = 32  # kept, finished ones included (each holds its points for downloads)
MAX_PENDING = 8  # queued or running at once
MAX_KEPT_BYTES = 256 * 2**20  # results of finished jobs (a 12-day itinerary of a busy aircraft: ~10-25 MB)
WORKERS = 2
MAP_TOLERANCE_DEG = 0.002  # ~200 m: finer than a screen pixel at the zooms a leg is looked at
MAP_KINDS = ("leg_segment", "stop", "legal_route", "banned_airspace")  # what the page draws
# stage → fraction done when the stage starts
STAGES = {"queued": 0.0, "loading points and building legs": 0.05, "airspace and payload": 0.55,
          "map layers": 0.9, "done": 1.0}


class JobsFull(Exception):
    """No room for another job: `MAX_PENDING` are queued or running (retry when one has finished)."""


@dataclass
class ItineraryJob:
    id: str
    icao24: str
    start: datetime | None
    end: datetime | None
    state: str = "queued"  # queued | running | done | failed | no-result
    stage: str = "queued"
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    itins: list[dict] | None = None
    frames: dict[str, pl.DataFrame] | None = None
    geojson: dict | None = None
    encoded: bytes | None = None  # the result as sent, encoded once
    encoded_gzip: bytes | None = None
    places: dict[str, list[float]] | None = None  # candidate airports named without a position → [lat, lon]
    lede: list[list[str | None]] | None = None  # the report's lede (report.lede): [sentence, source address]
    cities: dict[str, str] | None = None  # airport code → city, for the map's labels
    future: Future | None = None

    def size(self) -> int:
        """Bytes the job's result holds (its frames of points, the bodies encoded for the page)."""
        frames = sum(f.estimated_size() for f in (self.frames or {}).values())
        return frames + len(self.encoded or b"") + len(self.encoded_gzip or b"")

    def progress(self) -> dict:
        now = time.monotonic()
        return {"job": self.id, "state": self.state, "stage": self.stage, "fraction": STAGES.get(self.stage, 0.0),
                "elapsed_s": round((self.finished or now) - (self.started or now), 2), "error": self.error}


class ItineraryJobs:
    """`jobs.submit(icao24, start, end, generation)` → job (new or existing); `jobs.get(id)`."""

    max_pending, max_jobs, max_kept_bytes = MAX_PENDING, MAX_JOBS, MAX_KEPT_BYTES  # a subclass may narrow them
    what = "itineraries are"  # how the refusals name the jobs
    noun = "itinerary"  # how a missing, failed or unfinished job is named
    again = "ask again"
    no_result = "no itinerary for this aircraft in this window"
    thread_name = "tailwatch-itinerary"

    def __init__(self, archive: Path, workers: int = WORKERS) -> None:
        self.archive = archive
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.thread_name)
        self.jobs: OrderedDict[str, ItineraryJob] = OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def key(icao24: str, start: datetime | None, end: datetime | None, generation: str) -> str:
        text = f"{icao24}|{start.isoformat() if start else ''}|{end.isoformat() if end else ''}|{generation}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def submit(self, icao24: str, start: datetime | None, end: datetime | None, generation: str) -> ItineraryJob:
        """The job of these inputs: the kept one, or a new one (JobsFull when there is no room for it)."""
        return self._admit(self.key(icao24, start, end, generation), lambda job_id: ItineraryJob(job_id, icao24, start, end))

    def _admit(self, job_id: str, make):
        """The kept job `job_id`, or `make(job_id)` started (JobsFull when the table has no room for it)."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None and job.state != "failed":
                self.jobs.move_to_end(job_id)
                return job
            self.jobs.pop(job_id, None)  # a failed job is tried again
            pending = sum(1 for j in self.jobs.values() if j.state in ("queued", "running"))
            if pending >= self.max_pending:
                raise JobsFull(f"{pending} {self.what} already queued or running; try again when one has finished")
            self._trim(room=1)
            if len(self.jobs) >= self.max_jobs:
                raise JobsFull(f"{len(self.jobs)} {self.what} kept and none has finished; try again later")
            job = make(job_id)
            self.jobs[job_id] = job
            job.future = self.pool.submit(self._run, job)
        return job

    def _trim(self, room: int = 0, keep: str | None = None) -> None:
        """Forget finished jobs, the one used longest ago first, until `room` more fit and the results kept
        are under MAX_KEPT_BYTES; `keep` (a job that just finished, not read yet) stays (call with the lock held)."""
        finished = [k for k, j in self.jobs.items() if j.state not in ("queued", "running") and k != keep]
        kept = sum(self.jobs[k].size() for k in finished)
        while finished and (len(self.jobs) + room > self.max_jobs or kept > self.max_kept_bytes):
            kept -= self.jobs.pop(finished.pop(0)).size()

    def counts(self) -> dict[str, int]:
        """How many jobs are kept, and how many of them wait or run (for /api/health)."""
        with self.lock:
            states = [j.state for j in self.jobs.values()]
            size = sum(j.size() for j in self.jobs.values() if j.state not in ("queued", "running"))
        return {"kept": len(states), "queued": states.count("queued"), "running": states.count("running"),
                "max_kept": self.max_jobs, "max_pending": self.max_pending, "kept_mb": round(size / 2**20, 1),
                "max_kept_mb": self.max_kept_bytes // 2**20}

    def get(self, job_id: str) -> ItineraryJob | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None:
                self.jobs.move_to_end(job_id)  # asked for: kept longer than the ones nobody reads
            return job

    def asked(self, job_id: str) -> ItineraryJob:
        """The job, or an HTTP 404 saying it is gone (finished jobs are kept for a while)."""
        from fastapi import HTTPException

        job = self.get(job_id)
        if job is None:
            raise HTTPException(404, f"no {self.noun} job {job_id} (finished jobs are kept for a while; {self.again})")
        return job

    def finished(self, job: ItineraryJob) -> ItineraryJob:
        """The job when it is done; its answer as an HTTP error when not (404 no result, 400 failed, 409 running)."""
        from fastapi import HTTPException

        if job.state == "no-result":
            raise HTTPException(404, job.error or self.no_result)
        if job.state == "failed":
            raise HTTPException(400, job.error or f"the {self.noun} failed")
        if job.state != "done":
            raise HTTPException(409, f"the {self.noun} is not ready yet ({job.stage})")
        return job

    def _run(self, job: ItineraryJob) -> None:
        """Run a job's work on a worker: its stage as it goes, one line when it fails, then the table trimmed."""
        from tailwatch.errors import BadInput, NoAircraft

        job.state, job.started = "running", time.monotonic()
        job.stage = "loading points and building legs"

        def progress(stage: str) -> None:
            job.stage = stage

        try:
            self._work(job, progress)
            job.state, job.stage = "done", "done"
        except NoAircraft as exc:
            job.state, job.error = "no-result", str(exc)
        except BadInput as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - a failed job reports one line; the server goes on
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = time.monotonic()
            with self.lock:
                self._trim(keep=job.id)

    def _work(self, job: ItineraryJob, progress) -> None:
        """The itinerary and what its page draws (map layers, candidate places, lede, cities)."""
        from tailwatch.app.itineraries import itineraries
        from tailwatch.report.geojson import render_geojson
        from tailwatch.report.lede import lede

        itins, frames = itineraries(self.archive, None, [job.icao24], None, job.start, job.end, on_stage=progress)
        job.stage = "map layers"
        job.geojson = map_layers(render_geojson(itins, frames, with_points=False))
        job.places = candidate_places(itins)
        job.lede = [[text, link] for text, link in lede(itins[0])] if itins else []
        job.cities = airport_cities(itins)
        job.itins, job.frames = itins, frames

    def encode(self, job: ItineraryJob) -> None:
        """The result body (the itinerary as `tailwatch itinerary --format json` writes it, and the map), once."""
        import json

        from tailwatch.app.output import render_json

        if job.encoded is None:
            body = ('{"progress": ' + json.dumps(job.progress()) + ', "itinerary": ' + render_json(job.itins)
                    + ', "map": ' + json.dumps(job.geojson, ensure_ascii=False, allow_nan=False)
                    + ', "places": ' + json.dumps(job.places or {})
                    + ', "lede": ' + json.dumps(job.lede or [], ensure_ascii=False)
                    + ', "cities": ' + json.dumps(job.cities or {}, ensure_ascii=False) + "}").encode()
            job.encoded_gzip = gzip.compress(body, 6)
            job.encoded = body

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def map_layers(collection: dict, tolerance: float = MAP_TOLERANCE_DEG) -> dict:
    """The report's GeoJSON thinned for the page: the kinds it draws, lines simplified (downloads keep every point)."""
    import shapely
    from shapely.geometry import mapping, shape

    features = []
    for f in collection.get("features", []):
        if f["properties"].get("kind") not in MAP_KINDS:
            continue
        if (f.get("geometry") or {}).get("type") in ("LineString", "MultiLineString"):
            geom = shapely.set_precision(shape(f["geometry"]).simplify(tolerance, preserve_topology=False), 1e-4)
            if not geom.is_empty:
                f = {**f, "geometry": mapping(geom)}
        features.append(f)
    return {**collection, "features": features}


def candidate_places(itins: list[dict]) -> dict[str, list[float]]:
    """Positions of the candidate and runner-up airports the itinerary names by code only, so the map can
    show where an *unknown* stop may have been (looked up in the packaged airport table)."""
    from tailwatch.geo.airports import airport

    codes: set[str] = set()
    for itin in itins:
        for item in [*(itin.get("stops") or []), *(itin.get("legs") or [])]:
            for c in [*(item.get("candidates") or []), *(item.get("alternatives") or [])]:
                if isinstance(c, dict) and c.get("icao") and c.get("latitude") is None:
                    codes.add(c["icao"])
    out = {}
    for code in sorted(codes):
        row = airport(code)
        if row is not None and row.get("latitude") is not None:
            out[code] = [row["latitude"], row["longitude"]]
    return out


def airport_cities(itins: list[dict]) -> dict[str, str]:
    """The city of every airport the itineraries' stops and legs name (the packaged airport table's), so the
    page labels an airport as the static report does: its code, the city under it."""
    from tailwatch.geo.airports import airport

    codes: set[str] = set()
    for itin in itins:
        for stop in itin.get("stops") or []:
            if (stop.get("airport") or {}).get("icao"):
                codes.add(stop["airport"]["icao"])
        for leg in itin.get("legs") or []:
            for end in ("origin", "destination"):
                if (leg.get(end) or {}).get("icao"):
                    codes.add(leg[end]["icao"])
    out = {}
    for code in sorted(codes):
        row = airport(code)
        if row is not None and row.get("city"):
            out[code] = row["city"]
    return out
