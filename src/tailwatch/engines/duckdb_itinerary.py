"""Itineraries over the archive on this machine: pruned DuckDB queries gather the points and
surroundings of the aircraft of the batch (identities and history for all at once; per chunk of
aircraft, their heard minutes and the other aircraft near their silences: one query for the hours
and cells the silences reach, indexed as a `hiding.dark.Coverage` grid), then the pure
`itinerary.core.itineraries_of` runs on the chunk's aircraft, as it does in Spark's executors."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import closing
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.engines.duckdb import (
    connection, heard_rows, low_points_for, low_rows, points_by_aircraft, points_for, positions_in_cells,
)
from tailwatch.errors import BadInput
from tailwatch.engines.gather import heard_of, heard_window, nothing_found, request, surroundings, unseen_note
from tailwatch.heard import empty_heard
from tailwatch.hiding.dark import Coverage
from tailwatch.itinerary.batch import Prepared, prepare
from tailwatch.itinerary.core import Surroundings, itineraries_of, reach_of_many
from tailwatch.itinerary.history import HISTORY_MAX_ALT_FT, PRESENCE_COLUMNS, addresses_of, airports_used, presence, priors


def history_from_archive(archive: Path, icao24s: Sequence[str], end: datetime | None = None) -> dict[str, int]:
    """`history.airports_used` over everything the archive holds of these addresses (until `end`)."""
    return airports_used(low_points_for(archive, list(icao24s), HISTORY_MAX_ALT_FT, end=end))


# addresses whose low points are read and reduced to presence at once: at 32, the 16x bench's
# histories peak at 0.53 GB (0.72 GB at 64) for 0.2 s more CPU
HISTORY_ADDRESSES = 32


def aircraft_histories(archive: Path, aircraft: list[dict], end: datetime | None = None,
                       workers: Workers | None = None, held: Collection[str] = ()) -> dict[str, dict[str, int]]:
    """The airport-history prior of every aircraft at once: pruned queries for their (and their
    operators' fleets') low points until `end`, a group of addresses at a time (`presence_of`).
    With `workers`, the groups are shared between the worker processes (consecutive runs of
    them, the presence rows back in order): the reading and the airport lookups run on every
    core, and the memory DuckDB's and Polars' allocators keep after them stays in the workers,
    which need as much for their chunks anyway, not in the parent that holds the batch.

    `held`: addresses whose every point until `end` the caller reads anyway (a batch with no
    start). An aircraft among them whose prior is its own days alone (no fleet, in no other's
    fleet) gets none here: `priors_from_points` works it out from the points its chunk reads,
    the same rows this query would read (`duckdb.low_rows`), so the archive is read once for
    it, not twice (16x bench: 3.7 M low points, ~0.9 s of CPU)."""
    from tailwatch.identity.fleets import fleets

    fleet = fleets(archive, aircraft)
    if held:
        counted = {o for others in fleet.values() for o in others}
        fleet = {h: others for h, others in fleet.items() if others or h in counted or h not in held}
    addresses = addresses_of(fleet)
    if not addresses:
        return priors(presence(None), fleet)
    groups = -(-len(addresses) // HISTORY_ADDRESSES)
    if workers is None or groups <= 1:
        seen = [presence_of((archive, addresses, end))]
    else:
        step = HISTORY_ADDRESSES * -(-groups // workers.count)
        seen = list(workers.in_order([(archive, addresses[k:k + step], end)
                                      for k in range(0, len(addresses), step)], presence_of))
    return priors(pl.concat(seen), fleet)


def presence_of(job: tuple[Path, list[str], datetime | None]) -> pl.DataFrame:
    """`history.presence` of these addresses' low points until `end`: a query per
    HISTORY_ADDRESSES addresses (presence rows are few, the low points many: most of a regional
    archive's points can be low, and only one group's are held at a time), all on one DuckDB
    connection (one costs ~15 ms): DuckDB's allocator keeps about one group's query memory
    between them, and the peak RSS stayed that of a connection per query on the 1x, 4x and
    all-samples benches."""
    archive, addresses, end = job
    with connection() as con:
        seen = [presence(low_points_for(archive, addresses[k:k + HISTORY_ADDRESSES], HISTORY_MAX_ALT_FT, end=end,
                                        columns=PRESENCE_COLUMNS, con=con))
                for k in range(0, len(addresses), HISTORY_ADDRESSES)]
    return pl.concat(seen) if seen else presence(None)


def priors_from_points(points: pl.DataFrame, addresses: Collection[str]) -> dict[str, dict[str, int]]:
    """The priors of these aircraft (no fleet, in no other's fleet) from their points, all of
    them until the batch's end: what `aircraft_histories` gives them from the archive."""
    if not addresses:
        return {}
    rows = points.select(PRESENCE_COLUMNS).filter(pl.col("icao24").is_in(list(addresses)))
    return priors(presence(low_rows(rows, HISTORY_MAX_ALT_FT)), {h: [] for h in addresses})


def aircraft_history(archive: Path, aircraft: dict, end: datetime | None = None) -> dict[str, int]:
    """The prior for one aircraft (`aircraft_histories` of one)."""
    return aircraft_histories(archive, [aircraft], end)[aircraft["icao24"]]


# points built at once (shared between the worker processes when there are several): peak memory
# follows this, not the batch (one process, bench peak RSS: 0.72 GB at 4x, 0.84 GB at 16x)
CHUNK_POINTS = 500_000


def _chunks(summary: pl.DataFrame, limit: int) -> list[list[str]]:
    """Consecutive runs of aircraft (in address order) of about `limit` points together (one at least)."""
    out: list[list[str]] = []
    total = limit
    for icao24, n in summary.select("icao24", "points").iter_rows():
        if total + n > limit and (not out or out[-1]):
            out.append([])
            total = 0
        out[-1].append(icao24)
        total += n
    return out


@dataclass(frozen=True)
class ChunkJob:
    """What building one chunk needs besides the archive's files, computed once in the parent
    (the request's identities, history priors and notes, cut to the chunk's aircraft): a worker
    process gets this, reads its chunk and hands back the documents."""

    archive: Path
    chunk: list[str]  # consecutive addresses, in order
    start: datetime | None
    end: datetime | None
    idents: dict[str, dict | None]
    history: dict[str, dict[str, int]]
    notes: list[str]
    with_points: bool


def _job(archive: Path, chunk: list[str], start: datetime | None, end: datetime | None, idents: dict,
         history: dict[str, dict[str, int]], notes: list[str], with_points: bool) -> ChunkJob:
    return ChunkJob(archive, chunk, start, end, {h: idents[h] for h in chunk},
                    {h: history[h] for h in chunk if h in history}, notes, with_points)


def _gather(job: ChunkJob) -> tuple[pl.DataFrame, dict[str, Prepared], dict[str, pl.DataFrame], Coverage]:
    """The chunk's points, their per-point passes per aircraft (`batch.prepare`, one pass for
    the chunk), each aircraft's heard minutes (one query), and the other aircraft its
    silences can be judged against: one query for the (hour, 1° cell) keys their paths
    reach, one coverage grid, which each aircraft asks with itself left out. The chunk's
    queries share one DuckDB connection (one costs ~25 ms to open and close): with the points
    read unsorted (`duckdb.in_point_order`) DuckDB keeps little between them, and the 4x bench's
    peak RSS stayed within its run-to-run spread (0.68-0.73 GB in one process)."""
    archive, chunk, end = job.archive, job.chunk, job.end
    with connection() as con:
        points = points_for(archive, chunk, job.start, end, con=con)
        prepared = prepare(points)
        first, last = heard_window(points)
        heard = heard_rows(archive, chunk, first, last, con=con)
        heard_by = {h: rows for (h,), rows in heard.partition_by("icao24", as_dict=True).items()} if heard.height else {}
        # an aircraft with no heard rows gets the one empty frame (most of a chunk where the
        # archive keeps no heard minutes); the others their rows inside their own window
        spans = (points.filter(pl.col("icao24").is_in(list(heard_by))) if heard_by else points.clear()).group_by(
            "icao24").agg(pl.col("timestamp").min().alias("t0"), pl.col("timestamp").max().alias("t1"))
        nothing = empty_heard()
        own = dict.fromkeys(points["icao24"].unique(maintain_order=True).to_list(), nothing) | {
            icao24: heard_of(heard_by[icao24], icao24, pl.DataFrame({"timestamp": [t0, t1]}))
            for icao24, t0, t1 in spans.iter_rows()}
        cells = positions_in_cells(archive, reach_of_many(prepared, own, end), con=con)
    return points, prepared, own, Coverage(cells)


def _chunk_itineraries(job: ChunkJob, on_stage: Callable[[str], None] | None = None
                       ) -> Iterator[tuple[dict, pl.DataFrame | None, int]]:
    """(document, its points with `leg` or None, the aircraft's point count) of every aircraft of
    one chunk, in address order: the same in this process or in a worker."""
    points, prepared, own_heard, others = _gather(job)
    sizes = dict(points["icao24"].value_counts().iter_rows())
    history = job.history
    if job.start is None:  # every point until the end was read: the priors `aircraft_histories(held=)` left out
        history = history | priors_from_points(points, [h for h in job.chunk if h not in history])

    def around(icao24: str) -> Surroundings:
        return surroundings(icao24, job.idents[icao24], history, own_heard[icao24], others, job.end, job.notes)

    for doc, itin in itineraries_of(points, around, on_stage, prepared):
        yield doc, itin.points if job.with_points else None, int(sizes.get(doc["aircraft"]["icao24"], 0))


def build_chunk(job: ChunkJob) -> list[tuple[dict, pl.DataFrame | None, int]]:
    """`_chunk_itineraries` of one chunk, whole: what a worker process runs and sends back (the
    documents pickle as the dicts they are; a points frame pickles as Arrow IPC)."""
    return list(_chunk_itineraries(job))


WORKERS_VARIABLE = "TAILWATCH_WORKERS"
# points a worker process must have to build before one is started: a worker costs ~0.7 s of
# CPU to start (interpreter, imports, airport and country indexes). Two workers took the 1x bench
# (0.44 M points) from 3.55 to 2.85 s wall for 0.8 s more CPU, and the fleet's day (0.28 M)
# only from 2.6 to 2.4 s for 1 s more CPU and twice the memory
WORKER_POINTS = 150_000


def worker_count(chunks: int) -> int:
    """Processes building a batch's chunks: `TAILWATCH_WORKERS` when set (1 = this process alone),
    else the CPUs this process may run on; never more than the chunks."""
    wanted = os.environ.get(WORKERS_VARIABLE, "").strip()
    if wanted:
        bad = BadInput(f"{WORKERS_VARIABLE}={wanted!r}: give a whole number of worker processes (1 = none)")
        try:
            count = int(wanted)
        except ValueError:
            raise bad from None
        if count < 1:
            raise bad
    else:
        count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(count, chunks))


def _worker_setup(parent: int) -> None:
    """Each worker process runs DuckDB on one thread (and Polars, see `Workers`): the workers are
    as many as the CPUs, and threads beyond the cores only spin and wait for each other. On Linux
    it also ends with its parent (a parent killed outright would otherwise leave its workers
    building chunks nobody reads)."""
    import tailwatch.engines.duckdb as queries

    queries.THREADS = 1
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:  # the parent was already gone
            os._exit(1)


def warm() -> int:
    """A worker's first task, run while the parent still works out identities and histories: the
    imports and the indexes every chunk uses (the airport KD-tree, the country grid), which
    otherwise fall on its first chunk (~1 s of CPU). It answers once the process is ready."""
    from tailwatch.airlift.enrich import add_payload  # noqa: F401
    from tailwatch.airspace.enrich import leg_runs_many  # noqa: F401
    from tailwatch.geo.airports import nearest_rows
    from tailwatch.geo.countries import locate_ids
    from tailwatch.itinerary.build import build_itinerary  # noqa: F401

    nearest_rows(np.zeros(1), np.zeros(1), 1.0, None, k=4)
    locate_ids(np.zeros(1), np.zeros(1))
    return pl.thread_pool_size()


class PoolUnavailable(RuntimeError):
    """No worker process could start (the batch is then built in this process)."""


class Workers:
    """Worker processes that build jobs and hand the answers back in the jobs' order.

    A `spawn` pool: a fresh interpreter per worker, never a fork of this process (which may
    already run DuckDB's and Polars' threads: a forked lock held by a thread that does not exist
    in the child hangs it). The processes start (and `warm` up) as soon as the pool is made, so
    their start-up overlaps the parent's own work; a program that makes one from its main module
    needs the usual `if __name__ == "__main__":` guard of a spawned pool."""

    def __init__(self, count: int) -> None:
        self.count = count
        # Polars sizes its thread pool from the environment as it starts, before any initializer
        # runs: the variable is set while the workers are spawned (each `submit` of `warm` starts
        # one), then put back; a value the user gave is kept
        given = os.environ.get("POLARS_MAX_THREADS")
        os.environ["POLARS_MAX_THREADS"] = given or "1"
        pool = None
        try:
            pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_worker_setup, initargs=(os.getpid(),))
            self.ready = [pool.submit(warm) for _ in range(count)]
            self.pool = pool
        except (OSError, RuntimeError, ValueError, ImportError) as exc:
            if pool is not None:  # the workers that did start end, nothing waits for them
                pool.shutdown(wait=False, cancel_futures=True)
            raise PoolUnavailable(_one_line(exc)) from exc
        finally:
            if given is None:
                del os.environ["POLARS_MAX_THREADS"]

    def in_order(self, jobs: Iterable, work: Callable) -> Iterator:
        """`work(job)` of every job, the answers in the jobs' order, each as soon as it and those
        before it are done. At most `count + 1` jobs are out at once, so the parent holds a
        bounded number of answers while the head of the line is built. A job's exception is
        raised here (the jobs not started are cancelled); a worker that dies raises
        `BrokenProcessPool`. Raises `PoolUnavailable` when no worker could start, before any job
        is sent."""
        self.wait_ready()
        queue = iter(jobs)
        pending: deque[Future] = deque()
        for job in queue:
            pending.append(self.pool.submit(work, job))
            if len(pending) > self.count:
                break
        while pending:
            answer = pending.popleft().result()
            following = next(queue, None)
            if following is not None:
                pending.append(self.pool.submit(work, following))
            yield answer

    def wait_ready(self) -> None:
        """Return once every worker has started and warmed up; `PoolUnavailable` if one could not."""
        for started in self.ready:
            try:
                started.result()
            except Exception as exc:  # noqa: BLE001 - a pool that cannot start: the caller builds alone
                raise PoolUnavailable(_one_line(exc)) from exc

    def close(self) -> None:
        """Cancel what has not started, wait for what has (a chunk at most per worker), end the workers."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _start(count: int, chunks: int) -> Workers | None:
    """Workers for a batch of `chunks` chunks, or None for one process (one chunk, one worker
    asked for, or a pool that cannot start: said in a note line on stderr)."""
    if count <= 1 or chunks <= 1:
        return None
    try:
        return Workers(min(count, chunks))
    except PoolUnavailable as exc:
        _fallback(exc)
        return None


def _fallback(exc: PoolUnavailable) -> None:
    sys.stderr.write(f"note: itinerary worker processes could not start ({exc}); building in one process\n")
    sys.stderr.flush()


def itineraries(archive: Path, aircraft: list[str] | None, watchlist: Path | None, start: datetime | None,
                end: datetime | None, every_aircraft: bool = False, on_stage: Callable[[str], None] | None = None,
                on_aircraft: Callable[[int, int, int], None] | None = None, with_points: bool = True,
                chunk_points: int = CHUNK_POINTS,
                on_doc: Callable[[dict, pl.DataFrame | None], None] | None = None,
                workers: int | None = None) -> tuple[list[dict], dict[str, pl.DataFrame]]:
    """Itinerary JSON per aircraft (in address order) and, `with_points`, each one's points with
    `leg`; `on_aircraft(done, total, points)` after each aircraft.

    The aircraft are read and built in chunks of about `chunk_points` points (address ranges of
    the sorted files), each read once: its points and per-point passes, the (hour, cell) keys its
    silences reach, one query for the other aircraft at those keys indexed as the chunk's own
    coverage grid, then its itineraries. A grid answers as testing every point it holds does, and
    it holds every point at the keys its chunk's silences can reach, so a chunk's grid gives each
    aircraft what one grid of the whole batch gave. With `on_doc`, each document (and its points,
    or None) goes there as soon as it is made and nothing is kept: memory follows the chunk, not
    the batch. Each chunk's queries share a DuckDB connection, closed after them: DuckDB's
    allocator keeps what a query used until its connection closes, which was ~0.1 GB while
    DuckDB sorted a chunk's points (the points now come back in file order and are put in
    order in Polars: `duckdb.in_point_order`).

    With at least `WORKER_POINTS` points per worker, the chunks are built in `workers` processes
    (`worker_count`: the CPUs, or `TAILWATCH_WORKERS`): a chunk's documents depend on the chunk's
    aircraft alone, so who builds it cannot change a byte. Identities and notes are worked
    out once here, the history priors from reads shared among the workers, and sent with each chunk; the documents come back and are handed on in
    address order as the chunks finish. Each worker builds chunks of `chunk_points / workers` points
    at most (and of an equal share of a smaller batch), so the processes together hold about what
    one held (every worker also holds its own interpreter and indexes). If no worker can start, this
    process builds alone and says so on stderr."""
    from tailwatch.identity.resolve import identities

    wanted, notes = request(archive, aircraft, watchlist, every_aircraft)
    hexes = None if every_aircraft else list(dict.fromkeys(a["icao24"] for a in wanted))
    summary = points_by_aircraft(archive, hexes, start, end)  # one row per aircraft seen, in address order
    if summary.height == 0:
        raise nothing_found(hexes or [], every_aircraft, start, end)
    seen = summary["icao24"].to_list()
    if not every_aircraft:
        notes += unseen_note(hexes or [], seen, start, end)
    total = int(summary["points"].sum())
    count = workers if workers is not None else worker_count(max(1, total // WORKER_POINTS))
    if count > 1:  # smaller chunks: the processes together hold about what one did, each has work
        chunk_points = max(1, min(chunk_points // count, -(-total // count)))
    chunks = _chunks(summary, chunk_points)
    pool = _start(count, len(chunks))  # started now: the workers warm up while this process reads on
    try:
        by_hex = {a["icao24"]: a for a in wanted}
        idents = identities(archive, seen, by_hex, start, end)  # the recordings' claims of all of them: one read
        if pool is not None:
            try:
                pool.wait_ready()
            except PoolUnavailable as exc:
                _fallback(exc)
                pool.close()
                pool = None
        history = aircraft_histories(archive, [ac or {"icao24": h} for h, ac in idents.items()], end, pool,
                                     held=set(seen) if start is None else ())
        return _build(archive, chunks, start, end, idents, history, notes, len(seen), pool, with_points,
                      on_stage, on_aircraft, on_doc)
    finally:
        if pool is not None:
            pool.close()


def _build(archive: Path, chunks: list[list[str]], start: datetime | None, end: datetime | None, idents: dict,
           history: dict[str, dict[str, int]], notes: list[str], total: int, pool: Workers | None,
           with_points: bool, on_stage: Callable[[str], None] | None,
           on_aircraft: Callable[[int, int, int], None] | None,
           on_doc: Callable[[dict, pl.DataFrame | None], None] | None) -> tuple[list[dict], dict[str, pl.DataFrame]]:
    """Every chunk's documents, handed on in address order: built by `pool` when there is one,
    else here."""
    jobs = (_job(archive, chunk, start, end, idents, history, notes, with_points) for chunk in chunks)
    docs: list[dict] = []
    frames: dict[str, pl.DataFrame] = {}
    done = done_points = 0

    def hand_on(doc: dict, points: pl.DataFrame | None, size: int) -> None:
        nonlocal done, done_points
        if on_doc is not None:
            on_doc(doc, points)
        else:
            docs.append(doc)
            if points is not None:
                frames[doc["aircraft"]["icao24"]] = points
        done += 1
        done_points += size
        if on_aircraft is not None:
            on_aircraft(done, total, done_points)

    if pool is not None:  # started and warmed up (`itineraries`): a failure now is a chunk's own
        with closing(pool.in_order(jobs, build_chunk)) as answers:
            for built in answers:
                if on_stage is not None:
                    on_stage("airspace and payload")
                for answer in built:
                    hand_on(*answer)
        return docs, frames
    for job in jobs:
        for answer in _chunk_itineraries(job, on_stage):
            hand_on(*answer)
    return docs, frames


__all__ = ["itineraries", "ChunkJob", "build_chunk", "worker_count", "Workers", "PoolUnavailable", "WORKERS_VARIABLE",
           "aircraft_histories", "presence_of", "priors_from_points", "aircraft_history", "history_from_archive"]
