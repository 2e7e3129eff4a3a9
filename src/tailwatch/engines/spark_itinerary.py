"""Itineraries on Spark: the frames DuckDB gathers, gathered by Spark jobs, then the same pure step.

1. a Spark job reads the raw heard-minutes rows of the asked aircraft around the window;
2. `groupBy("icao24").applyInArrow` finds each aircraft's silence boxes (`itinerary.core.silences_of`),
   which also tells the driver which aircraft were seen; the driver resolves their identities and
   gathers their airport histories (a Spark job);
3. one broadcast range join reads the other aircraft inside those boxes;
4. `groupBy("icao24").applyInArrow` runs `itinerary.core.itinerary_of` on each aircraft's points
   with its gathered surroundings (shipped to the executors with the task) and returns its JSON.
Executors never read the archive themselves. The surroundings travel with the task closure: small
next to the points (a few heard rows and nearby positions per silence).
"""

from __future__ import annotations

import json
from datetime import datetime
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
BOX_ROWS = pa.schema([("target", pa.string()), ("start", pa.timestamp("us", "UTC")), ("end", pa.timestamp("us", "UTC")),
                      ("south", pa.float64()), ("west", pa.float64()), ("north", pa.float64()), ("east", pa.float64())])
BOX_DDL = "target string, start timestamp, end timestamp, south double, west double, north double, east double"


def _points(table: pa.Table) -> pl.DataFrame:
    return canonical_points(pl.from_arrow(table)).sort(POINT_ORDER)  # type: ignore[arg-type]


def presence_of_group(table: pa.Table) -> pa.Table:
    """One aircraft's low points (an Arrow group) → its airport presence rows (`history.presence`)."""
    from tailwatch.itinerary.history import presence

    rows = presence(canonical_points(pl.from_arrow(table))).to_arrow()  # type: ignore[arg-type]
    return rows.cast(pa.schema([("icao24", pa.string()), ("icao", pa.string()), ("day", pa.date32())]))


def boxes_of_group(table: pa.Table, heard: pl.DataFrame, end: datetime | None) -> pa.Table:
    """One aircraft's points → the (start, end, box) rows where other aircraft are needed (one row
    with no box when there are none: the driver learns which aircraft were seen from this pass)."""
    from tailwatch.itinerary.core import silences_of

    points = _points(table)
    icao24 = points["icao24"][0]
    rows = [{"target": icao24, "start": t0, "end": t1, "south": b[0], "west": b[1], "north": b[2], "east": b[3]}
            for t0, t1, b in silences_of(points, heard_of(heard, icao24, points), end)]
    return pa.Table.from_pylist(rows or [{"target": icao24}], schema=BOX_ROWS)  # a row even without: it was seen


def itinerary_of_group(table: pa.Table, aircraft: dict[str, dict | None], history: dict[str, dict[str, int]],
                       heard: pl.DataFrame, others: dict[str, pl.DataFrame], notes: list[str],
                       with_points: bool, end: datetime | None = None) -> pa.Table:
    """One aircraft's points (an Arrow group from Spark) → one row: its itinerary JSON, built by
    `itinerary.core.itinerary_of` from the surroundings the driver gathered."""
    from tailwatch.itinerary.core import itinerary_of

    points = _points(table)
    icao24 = points["icao24"][0]
    own_others = others.get(icao24, pl.DataFrame(schema=POSITION_SCHEMA))
    around = surroundings(icao24, aircraft.get(icao24), history, heard_of(heard, icao24, points), own_others, end, notes)
    doc, itin = itinerary_of(points, around)
    blob = None
    if with_points:
        sink = pa.BufferOutputStream()
        itin.points.write_ipc(sink)
        blob = sink.getvalue().to_pybytes()
    return pa.Table.from_pylist(
        [{"icao24": icao24, "itinerary": json.dumps(doc, ensure_ascii=False, default=json_default), "points": blob}],
        schema=ITINERARY_ROWS)


def others_in_boxes(engine, archive: Path, boxes: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Other aircraft's positions inside each target's boxes: one broadcast range join, by target,
    as `engines.duckdb.positions_in_boxes` answers for one target."""
    from pyspark.sql import functions as F

    if boxes.height == 0:
        return {}
    start, end = boxes["start"].min(), boxes["end"].max()
    spark = engine.session()
    windows = F.broadcast(spark.createDataFrame(boxes.to_arrow()))
    points = engine.points_frame(archive, None, start, end).select("icao24", "timestamp", "latitude", "longitude")
    lon = F.when(F.col("west") <= F.col("east"), F.col("longitude").between(F.col("west"), F.col("east"))).otherwise(
        (F.col("longitude") >= F.col("west")) | (F.col("longitude") <= F.col("east")))
    joined = points.join(windows, (F.col("timestamp") >= F.col("start")) & (F.col("timestamp") <= F.col("end"))
                         & F.col("latitude").between(F.col("south"), F.col("north")) & lon
                         & (F.col("icao24") != F.col("target")))
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

    def boxes_of(table: pa.Table) -> pa.Table:
        return boxes_of_group(table, heard, end)

    boxes = pl.from_arrow(points.groupBy("icao24").applyInArrow(boxes_of, BOX_DDL).toArrow())
    seen = sorted(boxes["target"].unique().to_list())  # type: ignore[index]
    if not seen:
        raise nothing_found(hexes, every_aircraft, start, end)
    if not every_aircraft:
        notes += unseen_note(hexes, seen, start, end)
    by_hex = {a["icao24"]: a for a in wanted}
    idents = identities(archive, seen, by_hex, start, end)  # the recordings' claims of all of them: one read
    history = engine.histories(archive, [ac or {"icao24": h} for h, ac in idents.items()], end)
    others = others_in_boxes(engine, archive, boxes.filter(pl.col("start").is_not_null()).with_columns(  # type: ignore[union-attr]
        pl.col("start").dt.convert_time_zone("UTC"), pl.col("end").dt.convert_time_zone("UTC")))

    def one_aircraft(table: pa.Table) -> pa.Table:
        return itinerary_of_group(table, idents, history, heard, others, notes, with_points, end)

    rows = points.groupBy("icao24").applyInArrow(one_aircraft, ITINERARY_DDL).toArrow().to_pylist()
    rows.sort(key=lambda r: r["icao24"])
    docs = [json.loads(row["itinerary"]) for row in rows]
    frames = {row["icao24"]: pl.read_ipc(row["points"]) for row in rows if row["points"] is not None}
    return docs, frames


__all__ = ["itineraries_on_spark", "itinerary_of_group", "boxes_of_group", "presence_of_group", "others_in_boxes"]
