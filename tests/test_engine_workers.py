"""A batch's chunks built in worker processes (`engines.duckdb_itinerary`): the same bytes as one
process, documents handed on in address order as chunks finish, a worker's failure raised here."""

from __future__ import annotations

import io
import shutil
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tailwatch.archive import ArchiveWriter
from tailwatch.engines.duckdb import points_by_aircraft
from tailwatch.errors import BadInput
from tailwatch.ingest.pipeline import read_file


@pytest.fixture(scope="module")
def archive(traffic_samples: Path, tmp_path_factory) -> Path:
    """The first 30 minutes of the real quickstart day, written on two consecutive days (the day
    boundary is a long silence for every aircraft still flying: coverage evidence is asked)."""
    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null())
    part = frame.filter(pl.col("timestamp") < frame["timestamp"].min() + timedelta(minutes=30))
    arc = tmp_path_factory.mktemp("workers") / "arc"
    writer = ArchiveWriter(arc, "quickstart-30min")
    for day in range(2):
        writer.write(part.with_columns(pl.col("timestamp") + timedelta(days=day)))
    writer.flush()
    writer.commit({"source": "quickstart, first 30 minutes, two days"})
    return arc


def _stream(archive: Path, workers: int, chunk_points: int, **kw) -> tuple[str, list[tuple[int, int, int]]]:
    """The JSON `itinerary --all --format json` writes (`app.output.JsonStream`), and the progress calls."""
    from tailwatch.app.output import JsonStream
    from tailwatch.engines.duckdb_itinerary import itineraries

    sink = io.StringIO()
    stream = JsonStream(sink)
    progress: list[tuple[int, int, int]] = []
    docs, frames = itineraries(archive, None, None, None, None, every_aircraft=True, with_points=False,
                               chunk_points=chunk_points, workers=workers,
                               on_doc=lambda doc, _points: stream.write(doc),
                               on_aircraft=lambda *a: progress.append(a), **kw)
    stream.close()
    assert docs == [] and frames == {}  # streamed, nothing kept
    return sink.getvalue(), progress


def test_workers_write_the_bytes_of_one_process(archive: Path) -> None:
    summary = points_by_aircraft(archive)
    one, progress_one = _stream(archive, 1, 10_000)
    two, progress_two = _stream(archive, 2, 10_000)  # chunks of 5,000 points in two processes
    assert two == one
    # every aircraft handed on once, in address order, the progress counting each as it goes
    assert [p[0] for p in progress_two] == list(range(1, summary.height + 1))
    assert progress_two[-1] == progress_one[-1] == (summary.height, summary.height, int(summary["points"].sum()))
    import json

    assert [d["aircraft"]["icao24"] for d in json.loads(two)] == summary["icao24"].to_list()


def test_workers_hand_back_the_points_with_leg(archive: Path) -> None:
    from tailwatch.engines.duckdb_itinerary import itineraries

    docs1, frames1 = itineraries(archive, None, None, None, None, every_aircraft=True, chunk_points=10_000, workers=1)
    docs3, frames3 = itineraries(archive, None, None, None, None, every_aircraft=True, chunk_points=10_000, workers=3)
    assert docs3 == docs1
    assert list(frames3) == list(frames1)
    assert all(frames3[h].equals(frames1[h]) and frames3[h].schema == frames1[h].schema for h in frames1)


def test_worker_count_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from tailwatch.engines.duckdb_itinerary import WORKERS_VARIABLE, worker_count

    monkeypatch.setenv(WORKERS_VARIABLE, "3")
    assert worker_count(10) == 3 and worker_count(2) == 2 and worker_count(1) == 1
    monkeypatch.setenv(WORKERS_VARIABLE, "1")
    assert worker_count(10) == 1
    monkeypatch.delenv(WORKERS_VARIABLE)
    assert worker_count(1000) == len(os.sched_getaffinity(0))
    for bad in ("two", "0", "-1"):
        monkeypatch.setenv(WORKERS_VARIABLE, bad)
        with pytest.raises(BadInput, match=WORKERS_VARIABLE):
            worker_count(10)


def test_a_workers_failure_is_raised_here_not_a_hang(archive: Path, tmp_path: Path) -> None:
    """A chunk whose Parquet file is damaged: the worker's error reaches the parent (the same
    error one process raises), after the answers of the chunks before it, and the pool ends."""
    from tailwatch.engines.duckdb_itinerary import Workers, _job, _chunks, build_chunk
    from tailwatch.identity.resolve import identities

    broken = tmp_path / "broken"
    shutil.copytree(archive, broken)
    files = sorted(broken.rglob("*.parquet"))
    assert files
    for path in files:  # keep the footer (the file still opens), overwrite the column chunks
        data = bytearray(path.read_bytes())
        data[4:len(data) // 2] = b"\xff" * (len(data) // 2 - 4)
        path.write_bytes(bytes(data))
    summary = points_by_aircraft(archive)
    chunks = _chunks(summary, 10_000)
    idents = identities(archive, summary["icao24"].to_list(), {}, None, None)
    good = _job(archive, chunks[0], None, None, idents, {}, [], False)
    bad = _job(broken, chunks[1], None, None, idents, {}, [], False)
    with pytest.raises(Exception) as alone:
        build_chunk(bad)
    workers = Workers(2)
    t = time.perf_counter()
    answers = []
    try:
        with pytest.raises(type(alone.value)) as pooled:
            for answer in workers.in_order([good, bad, good], build_chunk):
                answers.append(answer)
    finally:
        workers.close()
    assert time.perf_counter() - t < 120
    assert str(pooled.value) == str(alone.value)
    assert isinstance(alone.value, duckdb.Error)
    assert len(answers) == 1 and [a[0]["aircraft"]["icao24"] for a in answers[0]] == chunks[0]


def test_histories_shared_between_workers_are_those_of_one_process(traffic_samples: Path, tmp_path: Path) -> None:
    """The airport-history priors of the real quickstart day's aircraft with their address groups
    read by two workers: the same airports, day counts and order as read here."""
    from tailwatch.engines.duckdb_itinerary import HISTORY_ADDRESSES, Workers, aircraft_histories
    from tailwatch.ingest.pipeline import ingest_files

    archive = tmp_path / "day"
    assert all(s.error is None for s in ingest_files([traffic_samples / "collections" / "quickstart.json.gz"], archive))
    summary = points_by_aircraft(archive)
    assert summary.height > 2 * HISTORY_ADDRESSES
    aircraft = [{"icao24": h} for h in summary["icao24"].to_list()]
    alone = aircraft_histories(archive, aircraft)
    workers = Workers(2)
    try:
        shared = aircraft_histories(archive, aircraft, workers=workers)
    finally:
        workers.close()
    assert any(alone.values())  # some aircraft sat at an airport
    assert list(shared.items()) == list(alone.items())
    assert all(list(shared[h].items()) == list(alone[h].items()) for h in alone)


def test_a_pool_that_cannot_start_builds_in_one_process_and_says_so(archive: Path, capsys,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No process can be started here (as under a limit on processes): the batch is built in this
    process, the same documents, and one note line on stderr says so."""
    import multiprocessing.context as contexts

    import tailwatch.engines.duckdb_itinerary as engine

    class NoStart(contexts.SpawnProcess):
        def start(self) -> None:
            raise OSError(11, "Resource temporarily unavailable")

    class NoProcesses(contexts.SpawnContext):
        Process = NoStart

    one, _ = _stream(archive, 1, 10_000)
    capsys.readouterr()
    monkeypatch.setattr(engine.multiprocessing, "get_context", lambda method=None: NoProcesses())
    alone, progress = _stream(archive, 2, 10_000)
    assert alone == one
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("note: itinerary worker processes could not start (")
    assert "building in one process" in err[0]
