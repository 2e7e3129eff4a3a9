"""The archive on Apache Spark: the same queries and the same itineraries as DuckDB, on a cluster.

A year of global ADS-B (~10^11 points) is more than one machine scans, so this engine hands
the work to an existing Spark cluster (or `local[*]`) instead of a home-made scheduler:
- the archive is read as it is (hive partitions `points/date=YYYY-MM-DD`, or the top of an
  old-layout archive, with one schema taken from
  `tailwatch.schema`, so files written before an optional column existed read it as null);
  filters on `date` prune partitions and filters on `icao24`/`timestamp` are pushed into the
  Parquet reader, whose row-group statistics skip what cannot match (files are sorted by
  icao24), as the DuckDB engine does;
- the itinerary is the pure step of `tailwatch.itinerary.core`: Spark jobs gather what it reads
  (history, heard minutes, other aircraft near each silence) and `mapInArrow` runs it on each
  partition's aircraft (partitioned by address) in an executor (`engines.spark_itinerary`),
  returning their JSON; the driver only collects the documents;
- ingest runs the readers as Spark tasks (one per file group) and writes each UTC day from
  one task with the archive's own writer, so the layout and deduplication are those of
  `tailwatch ingest` with DuckDB and either engine reads what the other wrote.

Nothing is fetched at run time: only the jars inside the pyspark wheel are used. Executors
need Python with tailwatch installed (`pip install 'tailwatch[spark]'`), see README.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow as pa

from tailwatch.engines.duckdb import (
    POINT_ORDER,
    SUMMARY_SCHEMA,
    _utc,
    canonical_points,
    partition_files_between,
    summary_frame,
)
from tailwatch.archive_layout import points_root
from tailwatch.schema import POINT_SCHEMA

DEFAULT_MASTER = "local[*]"
MASTER_ENV = "TAILWATCH_SPARK_MASTER"

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
            from tailwatch.errors import BadInput

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
            from tailwatch.errors import BadInput

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
        root = str(points_root(archive).resolve())  # either layout (archive_layout)
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
                    with_points: bool = True, on_stage=None, on_aircraft=None,
                    on_doc=None) -> tuple[list[dict], dict[str, pl.DataFrame]]:
        """Itinerary JSON per aircraft, built in the executors by the same pure step as DuckDB's
        (`itinerary.core.itinerary_of`) on the same gathered frames (`engines.spark_itinerary`)."""
        from tailwatch.engines.spark_itinerary import itineraries_on_spark

        docs, frames = itineraries_on_spark(self, Path(archive), aircraft, watchlist, start, end, every_aircraft,
                                            with_points)
        if on_aircraft is not None:  # the executors report nothing on the way: the batch is done at once
            on_aircraft(len(docs), len(docs), sum(f.height for f in frames.values()) if frames else -1)
        if on_doc is not None:  # the documents come back from the executors together: handed over in order
            for doc in docs:
                on_doc(doc, frames.get(doc["aircraft"]["icao24"]))
            return [], {}
        return docs, frames

    def histories(self, archive: Path, aircraft: list[dict], end: datetime | None = None) -> dict[str, dict[str, int]]:
        """`engines.duckdb_itinerary.aircraft_histories` on Spark: the low points of these aircraft and
        their operators' fleets until `end`, turned into airport presence per address in the executors
        (`history.presence`), merged on the driver (`history.priors`)."""
        from pyspark.sql import functions as F

        from tailwatch.engines.spark_itinerary import PRESENCE_DDL, presence_of_group
        from tailwatch.identity.fleets import fleets
        from tailwatch.itinerary.history import HISTORY_MAX_ALT_FT, addresses_of, presence, priors

        fleet = fleets(archive, aircraft)
        addresses = addresses_of(fleet)
        seen = presence(None)
        if addresses and partition_files_between(archive, None, _utc(end)):
            low = self.points_frame(archive, addresses, None, end).filter(
                F.col("onground") | (F.coalesce(F.col("altitude"), F.col("geoaltitude")) < F.lit(HISTORY_MAX_ALT_FT)))
            table = low.groupBy("icao24").applyInArrow(presence_of_group, PRESENCE_DDL).toArrow()
            seen = pl.from_arrow(table).cast(seen.schema) if table.num_rows else seen  # type: ignore[union-attr]
        return priors(seen, fleet)

    def heard_rows(self, archive: Path, icao24s: list[str] | None, start: datetime | None = None,
                   end: datetime | None = None) -> pl.DataFrame:
        """The heard-minutes rows of these aircraft (all when None) overlapping [start, end], as
        `engines.duckdb.heard_rows` reads them."""
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        from tailwatch.archive_layout import day_files, heard_root
        from tailwatch.heard import HEARD_SCHEMA

        start, end = _utc(start), _utc(end)
        root = heard_root(archive).resolve()
        if (icao24s is not None and not icao24s) or not day_files(root, start, end):
            return pl.DataFrame(schema=HEARD_SCHEMA)
        schema = T.StructType([T.StructField(n, spark_type(t), True) for n, t in HEARD_SCHEMA.items()]
                              + [T.StructField("date", T.DateType(), True)])
        frame = self.session().read.schema(schema).option("basePath", str(root)).parquet(f"{root}/date=*")
        if start is not None:
            frame = frame.filter((F.col("date") >= F.lit(start.date())) & (F.col("last") >= F.lit(start)))
        if end is not None:
            frame = frame.filter((F.col("date") <= F.lit(end.date())) & (F.col("first") <= F.lit(end)))
        if icao24s is not None:
            frame = frame.filter(F.col("icao24").isin(sorted(set(icao24s))))
        rows = pl.from_arrow(frame.select(*HEARD_SCHEMA).toArrow())
        return rows.select(pl.col(c).cast(t, strict=False) for c, t in HEARD_SCHEMA.items()).with_columns(  # type: ignore[union-attr]
            pl.col(c).dt.convert_time_zone("UTC") for c in ("minute", "first", "last"))

    # -- ingest ----------------------------------------------------------------------------
    def ingest(self, paths: list[Path], archive: Path, icao24: str | None = None,
               on_file: Callable | None = None) -> list:
        from tailwatch.engines.spark_ingest import ingest_on_spark

        return ingest_on_spark(self.session(), paths, archive, icao24=icao24, on_file=on_file)


__all__ = ["SparkEngine", "archive_schema", "extra_columns", "spark_type", "DEFAULT_MASTER"]
