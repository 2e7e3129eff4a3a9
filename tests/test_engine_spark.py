"""The Spark engine on a real local Spark: the same scan, itineraries and archive as DuckDB.

The archive holds real recordings (traffic's samples: a day of ~200 aircraft over Europe,
FR24 and readsb traces, ambulance flights) across ten days. One SparkSession (`local[2]`,
few shuffle partitions) serves the module. Without pyspark or Java the tests skip on a
developer's machine and fail in CI, where `scripts/dev.py test` installs both.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from tailwatch.archive import partition_files, scan
from tailwatch.cli import main
from tailwatch.engines import get_engine
from tailwatch.engines.local import DuckDBEngine
from tailwatch.ingest.pipeline import expand_paths, ingest_files

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]  # one JVM, one archive

MASTER = "local[2]"


def _spark_or_skip():
    problem = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        problem = "pyspark is not installed (pip install -e '.[test]')"
    if problem is None and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        problem = "no Java runtime (apt-get install openjdk-17-jre-headless)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"Spark engine tests cannot run in CI: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def spark():
    _spark_or_skip()
    from tailwatch.engines.spark import SparkEngine

    engine = SparkEngine(MASTER, conf={"spark.sql.shuffle.partitions": "4",
                                       "spark.sql.maxMetadataStringLength": "100000"})
    os.environ.pop("TAILWATCH_DEBUG", None)
    with _stderr_of_this_process() as seen:  # what the start-up prints (test_spark_start_is_quiet)
        engine.session()
    engine.startup_stderr = seen.read_text(errors="replace")
    yield engine
    engine.stop()


@contextlib.contextmanager
def _stderr_of_this_process():
    """File descriptor 2 (which a spawned JVM inherits) into a file while the block runs."""
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="spark-stderr-", delete=False) as handle:
        path = Path(handle.name)
    saved = os.dup(2)
    target = os.open(path, os.O_WRONLY)
    try:
        os.dup2(target, 2)
        yield path
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def _sources(samples: Path, big: bool = True) -> list[Path]:
    picks = sorted((samples / "fr24").glob("*.json")) + [samples / "readsb" / "trace_full_ac671b.json",
                                                         samples / "ambulances"]
    if big:
        picks.append(samples / "collections" / "quickstart.json.gz")
    return expand_paths(picks)


@pytest.fixture(scope="module")
def archive(traffic_samples: Path, tmp_path_factory) -> Path:
    arc = tmp_path_factory.mktemp("spark-arc") / "archive"
    assert all(s.error is None for s in ingest_files(_sources(traffic_samples), arc))
    # a file from before an optional column existed: the same rows without `squawk` and `geoaltitude`
    old = next(p for p in partition_files(arc) if p.parent.name == "date=2024-04-06")
    pl.read_parquet(old).drop("squawk", "geoaltitude").write_parquet(old)
    # and one from a newer writer, with a column the schema does not list yet
    new = next(p for p in partition_files(arc) if p.parent.name == "date=2025-02-05")
    frame = pl.read_parquet(new)
    frame.with_columns(newer_flag=pl.int_range(frame.height) % 500 == 0).write_parquet(new)
    return arc


@pytest.fixture(scope="module")
def watchlist(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spark-wl") / "watch.csv"
    # seen on two days, on one, in the big day, before the window of the itinerary test, never
    path.write_text("icao24,note\nac671b,readsb trace\n4baac6,fr24\n39d300,quickstart\n4b43ac,ambulance 2019\n"
                    "abcdef,not in the data\n")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def both(capsys, *argv: str) -> tuple[str, str]:
    """stdout of the same command on DuckDB and on Spark (each must succeed)."""
    outs = []
    for engine in (["--engine", "duckdb"], ["--engine", "spark", "--spark-master", MASTER]):
        code, out, err = run(capsys, *argv, *engine)
        assert code == 0, err
        outs.append(out)
    return outs[0], outs[1]


def test_archive_spans_days_and_aircraft(archive: Path):
    points = scan(archive).collect()
    assert points["timestamp"].dt.date().n_unique() >= 8
    assert points["icao24"].n_unique() >= 200


def test_points_and_summary_identical(spark, archive: Path):
    duck = DuckDBEngine()
    start, end = datetime(2021, 10, 7, 8, tzinfo=timezone.utc), datetime(2025, 2, 5, 6, tzinfo=timezone.utc)
    for icao24s in (["ac671b", "4baac6", "3c6444"], None):
        want = duck.points_for(archive, icao24s, start, end)
        got = spark.points_for(archive, icao24s, start, end)
        assert got.height == want.height > 1000
        assert got.schema == want.schema and got.equals(want)
        assert str(got.schema["timestamp"]) == "Datetime(time_unit='us', time_zone='UTC')"
    assert (got["timestamp"].dt.microsecond() != 0).any()  # fractions of seconds (readsb) survive
    assert got.columns[-1] == "newer_flag" and got["newer_flag"].sum() >= 1  # kept, as DuckDB keeps it
    assert spark.summary_by_aircraft(archive).equals(duck.summary_by_aircraft(archive))
    old_day = spark.points_for(archive, None, datetime(2024, 4, 6), datetime(2024, 4, 6, 23, 59))
    assert old_day.height > 0 and old_day["squawk"].null_count() == old_day.height  # the older file reads


def test_pruning_and_pushdown(spark, archive: Path):
    frame = spark.points_frame(archive, ["AC671B", "4baac6"], datetime(2025, 2, 4), datetime(2025, 2, 5, 12))
    plan = frame._jdf.queryExecution().executedPlan().toString()
    assert "PartitionFilters: [isnotnull(date" in plan and "(date#" in plan and ">= 2025-02-04" in plan
    pushed = plan.split("PushedFilters: [", 1)[1].split("], ", 1)[0]
    assert "In(icao24, [4baac6,ac671b])" in pushed and "GreaterThanOrEqual(timestamp" in pushed


def test_scan_identical(spark, capsys, archive: Path, watchlist: Path):
    code, _, err = run(capsys, "watchlist", "import", str(watchlist), "--archive", str(archive))
    assert code == 0, err
    duck, sprk = both(capsys, "scan", "--archive", str(archive), "--no-seed", "--format", "json")
    assert duck == sprk
    rows = {r["icao24"]: r for r in json.loads(sprk)}
    assert rows["abcdef"]["points"] == 0 and rows["ac671b"]["points"] == 2500 and rows["ac671b"]["days"] == 2
    duck, sprk = both(capsys, "scan", "--archive", str(archive), "--no-seed", "--format", "csv",
                      "--start", "2025-02-05T00:00:00Z", "--end", "2025-02-05T12:00:00Z")
    assert duck == sprk and "ac671b" in sprk


def test_batch_itinerary_every_aircraft_identical(spark, capsys, archive: Path):
    duck, sprk = both(capsys, "itinerary", "--archive", str(archive), "--all", "--format", "json")
    assert duck == sprk
    docs = json.loads(sprk)
    assert len(docs) >= 200 and [d["aircraft"]["icao24"] for d in docs] == sorted(d["aircraft"]["icao24"] for d in docs)
    assert sum(len(d["legs"]) for d in docs) > 150 and sum(len(d["stops"]) for d in docs) > 100
    assert any(leg["countries"] for d in docs for leg in d["legs"])  # the airspace enrichment ran
    errors = set()
    for engine in (["--engine", "duckdb"], ["--engine", "spark", "--spark-master", MASTER]):
        code, _, err = run(capsys, "itinerary", "--archive", str(archive), "--all", "--start", "2030-01-01", *engine)
        assert code == 1
        errors.add(err.strip().splitlines()[-1])
    assert errors == {"no result: no points for any aircraft in the data in this window"}


def test_batch_itinerary_watchlist_window_identical(spark, capsys, archive: Path, watchlist: Path):
    args = ("itinerary", "--archive", str(archive), "--watchlist", str(watchlist),
            "--start", "2021-10-07T00:00:00Z", "--end", "2025-02-05T23:59:59Z")
    duck, sprk = both(capsys, *args, "--format", "json")
    assert duck == sprk
    docs = json.loads(sprk)
    assert [d["aircraft"]["icao24"] for d in docs] == ["39d300", "4baac6", "ac671b"]
    # the airport history (read by a Spark job for named aircraft) is the same prior DuckDB reads
    assert any(d.get("airport_history", {}).get("airports_used") for d in docs)
    assert all(any("not seen in the data in this window: 4b43ac, abcdef" in n for n in d["notes"]) for d in docs)
    duck, sprk = both(capsys, *args, "--format", "md")  # a report that needs the points with their legs
    assert duck == sprk and "ac671b" in sprk


def test_spark_ingest_writes_the_archive_duckdb_reads(spark, capsys, traffic_samples: Path, tmp_path: Path):
    bad_csv, cut_gz = tmp_path / "bad.csv", tmp_path / "cut.json.gz"
    bad_csv.write_text("garbage,data\n1,2\n")
    cut_gz.write_bytes((traffic_samples / "collections" / "quickstart.json.gz").read_bytes()[:3000])
    modes = traffic_samples / "rs1090" / "full_flight_short.jsonl"  # Mode S frames: heard minutes too
    files = [*_sources(traffic_samples, big=False), modes, bad_csv, cut_gz]
    by_duck, by_spark = tmp_path / "duck", tmp_path / "spark"
    want = DuckDBEngine().ingest(files, by_duck)
    got = spark.ingest(files, by_spark)
    fields = ("path", "format", "records", "points", "written", "duplicates", "rejected", "error")
    assert [[getattr(s, f) for f in fields] for s in got] == [[getattr(s, f) for f in fields] for s in want]
    assert [s.error is not None for s in got] == [False] * (len(files) - 2) + [True, True]
    code, out, err = run(capsys, "ingest", *map(str, files), "--archive", str(by_spark), "--engine", "spark",
                         "--spark-master", MASTER)  # again: nothing new, the two bad files named
    assert code == 2 and "bad.csv: unknown format" in err and "cut.json.gz@3000" in err
    again = spark.ingest(files, by_spark)
    assert all(s.skipped for s in again[:-2])
    order = ["icao24", "timestamp", "latitude", "longitude"]
    a, b = scan(by_duck).collect().sort(order), scan(by_spark).collect().sort(order)
    assert a.height > 5000 and a.equals(b)
    from tailwatch.heard_store import read_heard  # Mode S inputs' heard minutes, beside the points, alike

    heard_duck, heard_spark = read_heard(by_duck), read_heard(by_spark)
    assert heard_duck.height > 0 and heard_duck.sort(heard_duck.columns).equals(heard_spark.sort(heard_spark.columns))
    assert {p.parent.name for p in partition_files(by_spark)} == {p.parent.name for p in partition_files(by_duck)}
    duck = get_engine("duckdb")
    assert duck.summary_by_aircraft(by_spark).equals(spark.summary_by_aircraft(by_duck))


def test_identity_from_the_recordings_alike(spark, capsys, archive: Path, traffic_samples: Path, tmp_path: Path):
    """An FR24 file's own registration and type (`seen/` claims): the itinerary by registration is
    the same document on DuckDB and Spark, and the Spark ingest writes the claims DuckDB's writes."""
    from tailwatch.seen_store import read_seen

    duck, sprk = both(capsys, "itinerary", "--archive", str(archive), "--aircraft", "HB-JMF", "--format", "json")
    assert duck == sprk
    ac = json.loads(sprk)["aircraft"]
    assert (ac["icao24"], ac["registration"], ac["typecode"]) == ("4b1901", "HB-JMF", "A343")
    assert ac["recorded_flights"][0]["origin"] == "LSZH" and ac["identity_history"][0]["registration"] == "HB-JMF"
    flights = sorted((traffic_samples / "fr24").glob("*.json"))
    by_spark = tmp_path / "spark"
    assert all(s.error is None for s in spark.ingest(flights, by_spark))
    want = read_seen(archive).filter(pl.col("source") == "fr24")
    got = read_seen(by_spark)
    name = pl.col("file").str.split("/").list.last()
    assert got.height == 4 and got.with_columns(name).equals(want.with_columns(name))
    days = {p.parent.name for p in (by_spark / "seen").rglob("*.parquet")}
    assert len(days) == 4 and days <= {p.parent.name for p in (archive / "seen").rglob("*.parquet")}
    again = spark.ingest(flights, by_spark)  # nothing new: no second copy of any claim
    assert all(s.skipped for s in again) and read_seen(by_spark).equals(got)


def test_bad_engine_is_bad_input(capsys, archive: Path):
    code, _, err = run(capsys, "scan", "--archive", str(archive), "--engine", "flink")
    assert code == 2 and "--engine must be one of duckdb, spark" in err
    code, _, err = run(capsys, "scan", "--archive", str(archive), "--spark-master", "local[1]")
    assert code == 2 and "--spark-master goes with --engine spark" in err
    some = next(iter(partition_files(archive)))
    code, _, err = run(capsys, "itinerary", "--input", str(some), "--engine", "spark")
    assert code == 2 and "--engine spark reads an --archive DIR" in err


def test_old_layout_archive_reads_alike(spark, archive: Path, tmp_path: Path):
    """An archive written before the tables were siblings (partitions at the top) reads the same on Spark."""
    old = tmp_path / "old"
    shutil.copytree(archive, old)
    for folder in sorted((old / "points").glob("date=*")):
        folder.rename(old / folder.name)
    (old / "points").rmdir()
    assert spark.points_for(old).equals(spark.points_for(archive))
    assert spark.summary_by_aircraft(old).equals(DuckDBEngine().summary_by_aircraft(old))
    assert not (old / "points").exists()


def test_heard_minutes_read_alike(spark, traffic_samples: Path, tmp_path: Path):
    """The heard-minutes rows the itinerary's hiding evidence reads: the same from Spark and DuckDB."""
    from tailwatch.engines.duckdb import heard_rows

    arc = tmp_path / "heard"
    ingest_files([traffic_samples / "rs1090" / "full_flight_short.jsonl"], arc)
    duck = heard_rows(arc, ["000000", *points_hexes(arc)])
    lo, hi = duck["first"].min(), duck["last"].max()
    got = spark.heard_rows(arc, ["000000", *points_hexes(arc)], lo, hi)
    assert duck.height > 0 and duck.sort(duck.columns).equals(got.sort(got.columns))


def points_hexes(arc: Path) -> list[str]:
    return scan(arc).select("icao24").unique().collect()["icao24"].to_list()


def test_spark_start_is_quiet(spark):
    """Starting Spark prints nothing on stderr: not the JVM's "Using incubator modules" nor
    "Setting default log level" (they go to a log, shown with --debug)."""
    assert spark.startup_stderr.strip() == "", spark.startup_stderr


def test_jvm_stderr_goes_to_a_log_unless_debugging(tmp_path: Path, monkeypatch):
    """What a child spawned while Spark starts writes to fd 2 lands in the log; with --debug, on the terminal."""
    import subprocess
    import sys

    from tailwatch.engines.spark_quiet import DEBUG_ENV, jvm_stderr_to_log, last_log_line

    monkeypatch.delenv(DEBUG_ENV, raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    child = [sys.executable, "-c", "import sys; sys.stderr.write('Setting default log level to WARN\\n')"]
    with jvm_stderr_to_log() as log:
        subprocess.run(child, check=True)
    assert log is not None and last_log_line(log) == "Setting default log level to WARN"
    monkeypatch.setenv(DEBUG_ENV, "1")
    with jvm_stderr_to_log() as log:
        assert log is None
