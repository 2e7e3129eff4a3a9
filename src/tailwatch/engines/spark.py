"""The archive on Apache Spark: the same queries and the same itineraries as DuckDB, on a cluster.

A year of global ADS-B (~10^11 points) is more than one machine scans, so this engine hands
the work to an existing Spark cluster (or `local[*]`) instead of a home-made scheduler:
- the archive is read as it is (hive partitions `date=YYYY-MM-DD`, one schema taken from
  `tailwatch.schema`, so files written before an optional column existed read it as null);
  filters on `date` prune partitions and filters on `icao24`/`timestamp` are pushed into the
  Parquet reader, whose row-group statistics skip what cannot match (files are sorted by
  icao24), as the DuckDB engine does;
- the itinerary is the one in `tailwatch.itinerary`: `groupBy("icao24").applyInArrow` runs
  `build_itinerary` and the same enrichment (airspace, airlift) on each aircraft's points in
  an executor, and returns its JSON as a string; the driver only collects the documents;
- ingest runs the readers as Spark tasks (one per file group) and writes each UTC day from
  one task with the archive's own writer, so the layout and deduplication are those of
  `tailwatch ingest` with DuckDB and either engine reads what the other wrote.

Nothing is fetched at run time: only the jars inside the pyspark wheel are used. Executors
need Python with tailwatch installed (`pip install 'tailwatch[spark]'`), see README.md.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow as pa

from tailwatch.engines.duckdb import (
    NO_AIRCRAFT_IN_WINDOW,
    POINT_ORDER,
    SUMMARY_SCHEMA,
    _utc,
    canonical_points,
    partition_files_between,
    summary_frame,
)
from tailwatch.schema import POINT_SCHEMA

DEFAULT_MASTER = "local[*]"
MASTER_ENV = "TAILWATCH_SPARK_MASTER"

# What an executor returns per aircraft: its itinerary JSON, how many notes it had before the
# enrichers ran (the driver inserts the "not seen" note there, where the DuckDB path puts it),
# and, when a report needs them, its points with `leg` as Arrow IPC bytes.
ITINERARY_ROWS = pa.schema([("icao24", pa.string()), ("itinerary", pa.string()),
                            ("core_notes", pa.int32()), ("points", pa.binary())])
ITINERARY_DDL = "icao24 string, itinerary string, core_notes int, points binary"
PRESENCE_DDL = "icao24 string, icao string, day date"  # tailwatch.itinerary.history.presence


def spark_type(dtype: pl.DataType):
    """The Spark SQL type of a Polars dtype of the point schema."""
    from pyspark.sql import types as T

    if isinstance(dtype, pl.Datetime):
        return T.TimestampType()
    simple = {
        pl.String: T.StringType(), pl.Float64: T.DoubleType(), pl.Float32: T.FloatType(),
        pl.Boolean: T.BooleanType(), pl.Int64: T.LongType(), pl.Int32: T.IntegerType(),
        pl.Int16: T.ShortType(), pl.Int8: T.ByteType(), pl.UInt8: T.ShortType(), pl.UInt16: T.IntegerType(),
        pl.UInt32: T.LongType(), pl.Date: T.DateType(), pl.Binary: T.BinaryType(),
    }
    for pl_type, sp_type in simple.items():
        if dtype == pl_type:
            return sp_type
    raise TypeError(f"no Spark type for point column dtype {dtype}")


def extra_columns(files: list[Path]) -> dict[str, pl.DataType]:
    """Columns the archive's files hold beyond `tailwatch.schema` (a newer writer's), by footer.

    The DuckDB engine reads files by name union and keeps such columns after the canonical
    ones; reading the footers (on threads, a few hundred microseconds each) keeps Spark's
    answer the same without Spark's own schema merge.
    """
    import pyarrow.parquet as pq
    from concurrent.futures import ThreadPoolExecutor

    known = set(POINT_SCHEMA) | {"date"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        schemas = list(pool.map(pq.read_schema, files))
    extras: dict[str, pl.DataType] = {}
    for schema in schemas:
        for field in schema:
            if field.name not in known and field.name not in extras:
                extras[field.name] = pl.from_arrow(pa.table({field.name: pa.array([], field.type)})).schema[field.name]
    return extras


def archive_schema(extras: dict[str, pl.DataType] | None = None):
    """The archive as Spark reads it: the canonical columns of `tailwatch.schema`, `extras`, `date`.

    Given explicitly (no footer-by-footer inference by Spark), so a file lacking an optional
    column reads it as null.
    """
    from pyspark.sql import types as T

    columns = {**POINT_SCHEMA, **(extras or {})}
    fields = [T.StructField(name, spark_type(dtype), True) for name, dtype in columns.items()]
    return T.StructType([*fields, T.StructField("date", T.DateType(), True)])


def _is_local(master: str) -> bool:
    return master.startswith("local")


class SparkEngine:
    """Engine backed by a SparkSession on `master` (`local[*]`, `spark://host:7077`, `yarn`, ...).

    Under `spark-submit` (no master given) the master of the submission is used.
    """

    name = "spark"

    def __init__(self, master: str | None = None, conf: dict[str, str] | None = None) -> None:
        self.master = master or os.environ.get(MASTER_ENV) or (None if "PYSPARK_GATEWAY_PORT" in os.environ
                                                              else DEFAULT_MASTER)
        self.conf = dict(conf or {})
        self._spark = None

    # -- session ---------------------------------------------------------------------------
    def session(self):
        """The SparkSession (started on first use; a running one in this process is reused)."""
        if self._spark is not None:
            return self._spark
        import warnings

        # pyspark warns about pandas 3 on every Arrow UDF; the engine's UDFs take Arrow, not pandas
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            from tailwatch.ingest.base import BadInput

            raise BadInput("--engine spark needs pyspark: pip install 'tailwatch[spark]'") from exc
        builder = SparkSession.builder.appName("tailwatch")
        if self.master:
            builder = builder.master(self.master)
        conf = {
            "spark.sql.session.timeZone": "UTC",  # timestamps stay UTC microseconds end to end
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.parquet.filterPushdown": "true",
            "spark.ui.showConsoleProgress": "false",
        }
        if self.master and _is_local(self.master):
            # executors of a local master are this Python (the venv with tailwatch), not `python3`
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            conf["spark.sql.shuffle.partitions"] = str(max(4, 2 * (os.cpu_count() or 2)))
            conf["spark.driver.memory"] = os.environ.get("TAILWATCH_SPARK_DRIVER_MEMORY", "4g")
            conf["spark.ui.enabled"] = "false"
            quiet = Path(__file__).with_name("log4j2-quiet.properties")
            conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{quiet}"
        conf.update(self.conf)
        for key, value in conf.items():
            builder = builder.config(key, value)
        from tailwatch.engines.spark_quiet import jvm_stderr_to_log, last_log_line

        try:
            with jvm_stderr_to_log() as log:
                spark = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - no Java, bad master URL: one readable line
            from tailwatch.ingest.base import BadInput

            jvm = last_log_line(log)
            raise BadInput(f"cannot start Spark on {self.master or 'the submitted master'}: "
                           f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                           + (f" (JVM: {jvm}; all of it in {log})" if jvm else "")) from exc
        if log is not None:  # started: the JVM keeps its (now nameless) log; nothing left in /tmp
            log.unlink(missing_ok=True)
        spark.sparkContext.setLogLevel("ERROR")
        self._spark = spark
        return spark

    def stop(self) -> None:
        if self._spark is not None:
            self._spark.stop()
            self._spark = None

    # -- reading ---------------------------------------------------------------------------
    def points_frame(self, archive: Path, icao24s: list[str] | None = None, start: datetime | None = None,
                     end: datetime | None = None):
        """The archive's points in [start, end] of the given aircraft, as a (lazy) Spark DataFrame.

        `date` bounds prune partitions; `icao24` and `timestamp` bounds are pushed down.
        """
        from pyspark.sql import functions as F

        start, end = _utc(start), _utc(end)
        extras = extra_columns(partition_files_between(archive, start, end))
        root = str(Path(archive).resolve())
        # only the point partitions: tables kept beside them (heard/, identity/) are not points
        frame = self.session().read.schema(archive_schema(extras)).option("basePath", root).parquet(f"{root}/date=*")
        if start is not None:
            frame = frame.filter((F.col("date") >= F.lit(start.date())) & (F.col("timestamp") >= F.lit(start)))
        if end is not None:
            frame = frame.filter((F.col("date") <= F.lit(end.date())) & (F.col("timestamp") <= F.lit(end)))
        if icao24s is not None:
            frame = frame.filter(F.col("icao24").isin(sorted({a.strip().lower() for a in icao24s})))
        return frame.select(*POINT_SCHEMA, *extras)

    def points_for(self, archive: Path, icao24s: list[str] | None = None, start: datetime | None = None,
                   end: datetime | None = None) -> pl.DataFrame:
        """Canonical points, sorted as the DuckDB engine sorts them."""
        if not partition_files_between(archive, _utc(start), _utc(end)) or (icao24s is not None and not icao24s):
            return pl.DataFrame(schema=POINT_SCHEMA)
        table = self.points_frame(archive, icao24s, start, end).toArrow()
        return canonical_points(pl.from_arrow(table)).sort(POINT_ORDER)  # type: ignore[arg-type]

    def summary_by_aircraft(self, archive: Path, icao24s: list[str] | None = None,
                            start: datetime | None = None, end: datetime | None = None) -> pl.DataFrame:
        """One row per aircraft seen, as `engines.duckdb.summary_by_aircraft` (what `scan` shows)."""
        from pyspark.sql import functions as F

        if not partition_files_between(archive, _utc(start), _utc(end)) or (icao24s is not None and not icao24s):
            return pl.DataFrame(schema=SUMMARY_SCHEMA)
        grouped = self.points_frame(archive, icao24s, start, end).groupBy("icao24").agg(
            F.min("timestamp").alias("first_seen"),
            F.max("timestamp").alias("last_seen"),
            F.count(F.lit(1)).alias("points"),
            F.countDistinct(F.to_date("timestamp")).alias("days"),
            F.array_sort(F.collect_set("callsign")).alias("callsigns"),
            F.min("latitude").alias("lat_min"), F.max("latitude").alias("lat_max"),
            F.min("longitude").alias("lon_min"), F.max("longitude").alias("lon_max"),
        )
        frame = pl.from_arrow(grouped.toArrow())
        return summary_frame(frame).sort("icao24")  # type: ignore[arg-type]

    # -- itineraries -----------------------------------------------------------------------
    def itineraries(self, archive: Path, aircraft: list[str] | None = None, watchlist: Path | None = None,
                    start: datetime | None = None, end: datetime | None = None, every_aircraft: bool = False,
                    with_points: bool = True) -> tuple[list[dict], dict[str, pl.DataFrame]]:
        """Itinerary JSON per aircraft, built in the executors; the same documents, in the same
        order, as `DuckDBEngine.itineraries` (which is `tailwatch.itinerary.query.itineraries`)."""
        from tailwatch.ingest.base import BadInput
        from tailwatch.itinerary.query import NoAircraft, resolve_aircraft, watchlist_aircraft

        archive = Path(archive)
        if not archive.is_dir():
            raise BadInput(f"{archive}: no such archive folder")
        notes: list[str] = []  # as query.itineraries: unresolved entries first, unseen aircraft last
        wanted: list[dict] = []
        if not every_aircraft:
            wanted = [resolve_aircraft(q, archive) for q in aircraft or []]
            if watchlist is not None:
                wanted += watchlist_aircraft(watchlist, archive, notes)
            if not wanted:
                raise BadInput("give --aircraft HEX_OR_REG or --watchlist FILE with --archive")
        # every aircraft of the window: no address filter, and each executor looks up the identity
        # of its aircraft (the same `resolve_aircraft` the DuckDB path calls on one machine)
        hexes = list(dict.fromkeys(a["icao24"] for a in wanted))
        by_hex = {a["icao24"]: a for a in wanted}
        rows = []
        if partition_files_between(archive, _utc(start), _utc(end)):
            points = self.points_frame(archive, None if every_aircraft else hexes, start, end)
            archive_name, early_notes = str(archive), list(notes)
            # the airport history of the named aircraft and their fleets: one Spark job; with --all
            # (identities known only in the executors) each executor reads its aircraft's
            used_by = None if every_aircraft else self.histories(archive, wanted, end)

            def one_aircraft(table: pa.Table) -> pa.Table:
                return itinerary_of_group(table, by_hex, archive_name, early_notes, with_points, end, used_by)

            # hash-partitioned by address into a fixed number of tasks: adaptive execution would
            # coalesce this small-in-bytes, CPU-heavy stage into one task on one core
            tasks = 4 * self.session().sparkContext.defaultParallelism
            rows = (points.repartition(tasks, "icao24").groupBy("icao24").applyInArrow(one_aircraft, ITINERARY_DDL)
                    .toArrow().to_pylist())
        if not rows:
            if every_aircraft:
                raise NoAircraft(NO_AIRCRAFT_IN_WINDOW + (" in this window" if start or end else ""))
            raise NoAircraft("no points for " + ", ".join(hexes) + " in the data")
        rows.sort(key=lambda r: r["icao24"])
        unseen = sorted(set(hexes) - {r["icao24"] for r in rows})
        late = ["asked for but not seen in the data" + (" in this window" if start or end else "")
                + ": " + ", ".join(unseen)] if unseen else []
        docs: list[dict] = []
        frames: dict[str, pl.DataFrame] = {}
        for row in rows:
            doc = json.loads(row["itinerary"])
            if late:
                at = row["core_notes"]
                doc["notes"][at:at] = late
            docs.append(doc)
            if row["points"] is not None:
                frames[row["icao24"]] = pl.read_ipc(row["points"])
        return docs, frames

    def histories(self, archive: Path, aircraft: list[dict], end: datetime | None = None) -> dict[str, dict[str, int]]:
        """`history.aircraft_histories` on Spark: the low points of these aircraft and their
        operators' fleets until `end`, turned into airport presence per address in the executors
        (`history.presence`), merged on the driver (`history.priors`)."""
        from pyspark.sql import functions as F

        from tailwatch.itinerary.history import HISTORY_MAX_ALT_FT, addresses_of, fleets, presence, priors

        fleet = fleets(archive, aircraft)
        addresses = addresses_of(fleet)
        seen = presence(None)
        if addresses and partition_files_between(archive, None, _utc(end)):
            low = self.points_frame(archive, addresses, None, end).filter(
                F.col("onground") | (F.coalesce(F.col("altitude"), F.col("geoaltitude")) < F.lit(HISTORY_MAX_ALT_FT)))
            table = low.groupBy("icao24").applyInArrow(presence_of_group, PRESENCE_DDL).toArrow()
            seen = pl.from_arrow(table).cast(seen.schema) if table.num_rows else seen  # type: ignore[union-attr]
        return priors(seen, fleet)

    # -- ingest ----------------------------------------------------------------------------
    def ingest(self, paths: list[Path], archive: Path, icao24: str | None = None,
               on_file: Callable | None = None) -> list:
        from tailwatch.engines.spark_ingest import ingest_on_spark

        return ingest_on_spark(self.session(), paths, archive, icao24=icao24, on_file=on_file)


def _json_default(value):
    """As `tailwatch.itinerary.query.render_json` writes values JSON has no type for."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def presence_of_group(table: pa.Table) -> pa.Table:
    """One aircraft's low points (an Arrow group) → its airport presence rows (`history.presence`)."""
    from tailwatch.itinerary.history import presence

    rows = presence(canonical_points(pl.from_arrow(table))).to_arrow()  # type: ignore[arg-type]
    return rows.cast(pa.schema([("icao24", pa.string()), ("icao", pa.string()), ("day", pa.date32())]))


def itinerary_of_group(table: pa.Table, aircraft: dict[str, dict], archive: str, notes: list[str],
                       with_points: bool, end: datetime | None = None,
                       used_by: dict[str, dict[str, int]] | None = None) -> pa.Table:
    """One aircraft's points (an Arrow group from Spark) → one row: its itinerary JSON.

    The per-aircraft step of `tailwatch.itinerary.query.itineraries`, the same functions in its
    order: history prior and build (`itinerary_core`), notes, enrichment (airspace, airlift,
    hiding: `enrich_doc`). Runs in an executor, which reads the archive at the same path.
    """
    from tailwatch.itinerary.query import enrich_doc, itinerary_core, resolve_aircraft

    points = canonical_points(pl.from_arrow(table)).sort(POINT_ORDER)  # type: ignore[arg-type]
    icao24 = points["icao24"][0]
    ac = aircraft.get(icao24)
    if ac is None:
        try:
            ac = resolve_aircraft(icao24, Path(archive))
        except Exception:  # noqa: BLE001 - identity is optional enrichment here
            ac = None
    used = used_by.get(icao24, {}) if used_by is not None else None  # None: read it from the archive here
    doc, itin = itinerary_core(points, ac, Path(archive), end, notes, used)
    core_notes = len(doc.get("notes") or [])
    doc = enrich_doc(doc, itin, Path(archive), end)
    blob = None
    if with_points:
        sink = pa.BufferOutputStream()
        itin.points.write_ipc(sink)
        blob = sink.getvalue().to_pybytes()
    return pa.Table.from_pylist(
        [{"icao24": icao24, "itinerary": json.dumps(doc, ensure_ascii=False, default=_json_default),
          "core_notes": core_notes, "points": blob}], schema=ITINERARY_ROWS)


def day_partition(day: str, partitions: int) -> int:
    """The write task of a UTC day (stable across processes, unlike `hash`)."""
    return zlib.crc32(day.encode()) % partitions


__all__ = ["SparkEngine", "archive_schema", "extra_columns", "spark_type", "itinerary_of_group", "DEFAULT_MASTER"]
