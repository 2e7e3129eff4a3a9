"""Itineraries on Spark: the frames DuckDB gathers, gathered by Spark jobs, then the same pure step.

1. a Spark job reads the raw heard-minutes rows of the asked aircraft around the window;
2. `groupBy("icao24").applyInArrow` finds the (hour, 1° cell) keys each aircraft's silences reach
   (`itinerary.core.reach_of`), which also tells the driver which aircraft were seen; the driver
   resolves their identities and gathers their airport histories (a Spark job);
3. one broadcast hash join reads the other aircraft at those keys (the points near each silence's
   path, never a whole box of a long silence);
4. `mapInArrow` runs `itinerary.core.itineraries_of` on each partition's aircraft at once (the
   points are partitioned by address, so every aircraft is whole in one partition) with their
   gathered surroundings (shipped to the executors with the task) and returns each one's JSON.
Executors never read the archive themselves. The surroundings travel with the task closure: small
next to the points (a few heard rows and nearby positions per silence). Each executor indexes its
aircraft's nearby positions as a `hiding.dark.Coverage` grid, which judges exactly as DuckDB's one
grid for the whole batch does, so the documents agree.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pyarrow as pa

from tailwatch.engines.duckdb import POINT_ORDER, POSITION_SCHEMA, _utc, canonical_points, partition_files_between
from tailwatch.engines.gather import HEARD_PAD, heard_of, nothing_found, request, surroundings, unseen_note
from tailwatch.times import json_default

# What an executor returns per aircraft: its itinerary JSON and, when a report needs them, its
# points with `leg` as Arrow IPC bytes.
ITINERARY_ROWS = pa.schema([("icao24", pa.string()), ("itinerary", pa.string()), ("points", pa.binary())])
ITINERARY_DDL = "icao24 string, itinerary string, points binary"
PRESENCE_DDL = "icao24 string, icao string, day date"  # tailwatch.itinerary.history.presence
REACH_ROWS = pa.schema([("target", pa.string()), ("key", pa.int64())])
REACH_DDL = "target string, key long"


def _points(table: pa.Table) -> pl.DataFrame:
    return canonical_points(pl.from_arrow(table)).sort(POINT_ORDER)  # type: ignore[arg-type]


def presence_of_group(table: pa.Table) -> pa.Table:
    """One aircraft's low points (an Arrow group) → its airport presence rows (`history.presence`)."""
    from tailwatch.itinerary.history import presence

    rows = presence(canonical_points(pl.from_arrow(table))).to_arrow()  # type: ignore[arg-type]
    return rows.cast(pa.schema([("icao24", pa.string()), ("icao", pa.string()), ("day", pa.date32())]))


def reach_of_group(table: pa.Table, heard: pl.DataFrame, end: datetime | None) -> pa.Table:
    """One aircraft's points → the (target, key) rows of the (hour, 1° cell) keys its silences reach
    (`itinerary.core.reach_of`); one row with no key when there are none: the driver learns which
    aircraft were seen from this pass."""
    from tailwatch.itinerary.core import reach_of

    points = _points(table)
    icao24 = points["icao24"][0]
    keys = reach_of(points, heard_of(heard, icao24, points), end)
    if keys.size == 0:
        return pa.Table.from_pylist([{"target": icao24}], schema=REACH_ROWS)  # a row even without: it was seen
    return pa.table({"target": pa.array([icao24] * keys.size, pa.string()), "key": pa.array(keys, pa.int64())})


def itineraries_of_partition(batches, aircraft: dict[str, dict | None], history: dict[str, dict[str, int]],
                             heard: pl.DataFrame, others: dict[str, pl.DataFrame], notes: list[str],
                             with_points: bool, end: datetime | None = None):
    """A partition's points (each aircraft whole in one partition: the points are partitioned by
    address) → one row per aircraft, built by `itinerary.core.itineraries_of` over the whole
    partition at once: its per-point and per-event passes run once per partition, as DuckDB runs
    them once per chunk, and each document is the one `itinerary_of` gives the aircraft alone."""
    from tailwatch.itinerary.core import itineraries_of

    found = list(batches)
    if not found or sum(b.num_rows for b in found) == 0:
        return
    points = _points(pa.Table.from_batches(found))
    del found
    spans = {icao24: part for icao24, part in
             points.group_by("icao24").agg(pl.col("timestamp").min().alias("t0"),
                                           pl.col("timestamp").max().alias("t1")).rows_by_key("icao24").items()}

    def around(icao24: str):
        (t0, t1), = spans[icao24]
        own_others = others.get(icao24, pl.DataFrame(schema=POSITION_SCHEMA))
        return surroundings(icao24, aircraft.get(icao24), history,
                            heard_of(heard, icao24, pl.DataFrame({"timestamp": [t0, t1]})), own_others, end, notes)

    rows = []
    for doc, itin in itineraries_of(points, around):
        blob = None
        if with_points:
            sink = pa.BufferOutputStream()
            itin.points.write_ipc(sink)
            blob = sink.getvalue().to_pybytes()
        rows.append({"icao24": doc["aircraft"]["icao24"],
                     "itinerary": json.dumps(doc, ensure_ascii=False, default=json_default), "points": blob})
    yield pa.RecordBatch.from_pylist(rows, schema=ITINERARY_ROWS)


def others_in_reach(engine, archive: Path, reach: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Other aircraft's positions at each target's (hour, 1° cell) keys: one broadcast hash join, by
    target (`engines.duckdb.positions_in_cells` reads the keys of a chunk of aircraft at once)."""
    from pyspark.sql import functions as F

    from tailwatch.hiding.dark import CELLS

    if reach.height == 0:
        return {}
    first, last = int(reach["key"].min()) // CELLS, int(reach["key"].max()) // CELLS
    start = datetime.fromtimestamp(first * 3600, timezone.utc)
    end = datetime.fromtimestamp((last + 1) * 3600, timezone.utc)
    spark = engine.session()
    keys = F.broadcast(spark.createDataFrame(reach.to_arrow()))
    points = engine.points_frame(archive, None, start, end).select("icao24", "timestamp", "latitude", "longitude")
    cell = (F.floor(F.col("timestamp").cast("double") / 3600) * CELLS
            + (F.least(F.greatest(F.floor("latitude"), F.lit(-90)), F.lit(89)) + 90) * 360
            + (F.floor("longitude") + 180 + 360) % 360)
    joined = points.withColumn("key", cell.cast("long")).join(keys, "key").filter(F.col("icao24") != F.col("target"))
    found = pl.from_arrow(joined.select("target", *POSITION_SCHEMA).toArrow())
    found = found.unique().sort(["target", "icao24", "timestamp", "latitude", "longitude"])  # type: ignore[union-attr]
    return {target: part.drop("target").select(pl.col(c).cast(t) for c, t in POSITION_SCHEMA.items()).with_columns(
                pl.col("timestamp").dt.convert_time_zone("UTC"))
            for (target,), part in found.partition_by("target", as_dict=True).items()}


def itineraries_on_spark(engine, archive: Path, aircraft: list[str] | None, watchlist: Path | None,
                         start: datetime | None, end: datetime | None, every_aircraft: bool,
                         with_points: bool) -> tuple[list[dict], dict[str, pl.DataFrame]]:
    """The same documents, in the same order, as `engines.duckdb_itinerary.itineraries`."""
    from tailwatch.identity.resolve import identities

    wanted, notes = request(archive, aircraft, watchlist, every_aircraft)
    hexes = list(dict.fromkeys(a["icao24"] for a in wanted))
    if not partition_files_between(archive, _utc(start), _utc(end)):
        raise nothing_found(hexes, every_aircraft, start, end)
    tasks = 4 * engine.session().sparkContext.defaultParallelism
    # hash-partitioned by address into a fixed number of tasks: adaptive execution would
    # coalesce these small-in-bytes, CPU-heavy stages into one task on one core
    points = engine.points_frame(archive, None if every_aircraft else hexes, start, end).repartition(tasks, "icao24")
    # heard minutes of the asked aircraft around the window: each aircraft's own span is cut from
    # these rows (`gather.heard_of`), so reading a wider span changes nothing
    heard = engine.heard_rows(archive, None if every_aircraft else hexes,
                              _utc(start) - HEARD_PAD if start is not None else None,
                              _utc(end) + HEARD_PAD if end is not None else None)

    def reach_of(table: pa.Table) -> pa.Table:
        return reach_of_group(table, heard, end)

    reach = pl.from_arrow(points.groupBy("icao24").applyInArrow(reach_of, REACH_DDL).toArrow())
    seen = sorted(reach["target"].unique().to_list())  # type: ignore[index]
    if not seen:
        raise nothing_found(hexes, every_aircraft, start, end)
    if not every_aircraft:
        notes += unseen_note(hexes, seen, start, end)
    by_hex = {a["icao24"]: a for a in wanted}
    idents = identities(archive, seen, by_hex, start, end)  # the recordings' claims of all of them: one read
    history = engine.histories(archive, [ac or {"icao24": h} for h, ac in idents.items()], end)
    others = others_in_reach(engine, archive, reach.filter(pl.col("key").is_not_null()))  # type: ignore[union-attr]

    def one_partition(batches):
        return itineraries_of_partition(batches, idents, history, heard, others, notes, with_points, end)

    rows = points.mapInArrow(one_partition, ITINERARY_DDL).toArrow().to_pylist()
    rows.sort(key=lambda r: r["icao24"])
    docs = [json.loads(row["itinerary"]) for row in rows]
    frames = {row["icao24"]: pl.read_ipc(row["points"]) for row in rows if row["points"] is not None}
    return docs, frames


__all__ = ["itineraries_on_spark", "itineraries_of_partition", "reach_of_group", "presence_of_group", "others_in_reach"]
