"""Itineraries over the archive on this machine: pruned DuckDB queries gather the points and
surroundings of the aircraft of the batch (identities and history for all at once; per chunk of
aircraft, their heard minutes and the other aircraft near their silences: one query for the hours
and cells the silences reach, indexed as a `hiding.dark.Coverage` grid), then the pure
`itinerary.core.itineraries_of` runs on the chunk's aircraft, as it does in Spark's executors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from tailwatch.engines.duckdb import (
    connection, heard_rows, low_points_for, points_by_aircraft, points_for, positions_in_cells,
)
from tailwatch.engines.gather import heard_of, heard_window, nothing_found, request, surroundings, unseen_note
from tailwatch.heard import empty_heard
from tailwatch.hiding.dark import Coverage
from tailwatch.itinerary.batch import Prepared, prepare
from tailwatch.itinerary.core import Surroundings, itineraries_of, reach_of_many
from tailwatch.itinerary.history import HISTORY_MAX_ALT_FT, PRESENCE_COLUMNS, addresses_of, airports_used, presence, priors


def history_from_archive(archive: Path, icao24s: Sequence[str], end: datetime | None = None) -> dict[str, int]:
    """`history.airports_used` over everything the archive holds of these addresses (until `end`)."""
    return airports_used(low_points_for(archive, list(icao24s), HISTORY_MAX_ALT_FT, end=end))


HISTORY_ADDRESSES = 64  # addresses whose low points are read and reduced to presence at once


def aircraft_histories(archive: Path, aircraft: list[dict], end: datetime | None = None) -> dict[str, dict[str, int]]:
    """The airport-history prior of every aircraft at once: pruned queries for their (and their
    operators' fleets') low points until `end`, a group of addresses at a time, on one DuckDB
    connection (one costs ~15 ms): DuckDB's allocator keeps about one group's query memory
    between them, and the peak RSS stayed that of a connection per query on the 1x, 4x and
    all-samples benches."""
    from tailwatch.identity.fleets import fleets

    fleet = fleets(archive, aircraft)
    addresses = addresses_of(fleet)
    # a query per HISTORY_ADDRESSES addresses: presence rows are few, the low points many (most of
    # a regional archive's points can be low), and only one group's are held at a time
    with connection() as con:
        seen = [presence(low_points_for(archive, addresses[k:k + HISTORY_ADDRESSES], HISTORY_MAX_ALT_FT, end=end,
                                        columns=PRESENCE_COLUMNS, con=con))
                for k in range(0, len(addresses), HISTORY_ADDRESSES)]
    return priors(pl.concat(seen) if seen else presence(None), fleet)


def aircraft_history(archive: Path, aircraft: dict, end: datetime | None = None) -> dict[str, int]:
    """The prior for one aircraft (`aircraft_histories` of one)."""
    return aircraft_histories(archive, [aircraft], end)[aircraft["icao24"]]


CHUNK_POINTS = 500_000  # points built at once: peak memory follows this, not the batch (bench peak RSS: 0.72 GB at 4x, 0.84 GB at 16x)


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


def itineraries(archive: Path, aircraft: list[str] | None, watchlist: Path | None, start: datetime | None,
                end: datetime | None, every_aircraft: bool = False, on_stage: Callable[[str], None] | None = None,
                on_aircraft: Callable[[int, int, int], None] | None = None, with_points: bool = True,
                chunk_points: int = CHUNK_POINTS,
                on_doc: Callable[[dict, pl.DataFrame | None], None] | None = None) -> tuple[list[dict], dict[str, pl.DataFrame]]:
    """Itinerary JSON per aircraft (in address order) and, `with_points`, each one's points with
    `leg`; `on_aircraft(done, total, points)` after each aircraft.

    The aircraft are read and built in chunks of about `chunk_points` points (address ranges of
    the sorted files), each read once: its points and per-point passes, the (hour, cell) keys its
    silences reach, one query for the other aircraft at those keys indexed as the chunk's own
    coverage grid, then its itineraries. A grid answers as testing every point it holds does, and
    it holds every point at the keys its chunk's silences can reach, so a chunk's grid gives each
    aircraft what one grid of the whole batch gave. With `on_doc`, each document (and its points,
    or None) goes there as soon as it is made and nothing is kept: memory follows the chunk, not
    the batch. Each query has a DuckDB connection of its own: DuckDB's allocator keeps what a
    query used (~0.1 GB for a chunk's sorted points) until its connection closes, and one
    connection for a chunk's three queries raised the 4x bench's peak from 0.67 to 0.81 GB to
    save ~26 ms."""
    from tailwatch.identity.resolve import identities

    wanted, notes = request(archive, aircraft, watchlist, every_aircraft)
    hexes = None if every_aircraft else list(dict.fromkeys(a["icao24"] for a in wanted))
    summary = points_by_aircraft(archive, hexes, start, end)  # one row per aircraft seen, in address order
    if summary.height == 0:
        raise nothing_found(hexes or [], every_aircraft, start, end)
    seen = summary["icao24"].to_list()
    if not every_aircraft:
        notes += unseen_note(hexes or [], seen, start, end)
    by_hex = {a["icao24"]: a for a in wanted}
    idents = identities(archive, seen, by_hex, start, end)  # the recordings' claims of all of them: one read
    history = aircraft_histories(archive, [ac or {"icao24": h} for h, ac in idents.items()], end)
    chunks = _chunks(summary, chunk_points)

    def gather(chunk: list[str]) -> tuple[pl.DataFrame, dict[str, Prepared], dict[str, pl.DataFrame], Coverage]:
        """The chunk's points, their per-point passes per aircraft (`batch.prepare`, one pass for
        the chunk), each aircraft's heard minutes (one query), and the other aircraft its
        silences can be judged against: one query for the (hour, 1° cell) keys their paths
        reach, one coverage grid, which each aircraft asks with itself left out."""
        points = points_for(archive, chunk, start, end)
        prepared = prepare(points)
        first, last = heard_window(points)
        heard = heard_rows(archive, chunk, first, last)
        heard_by = {h: rows for (h,), rows in heard.partition_by("icao24", as_dict=True).items()} if heard.height else {}
        # an aircraft with no heard rows gets the one empty frame (most of a chunk where the
        # archive keeps no heard minutes); the others their rows inside their own window
        spans = (points.filter(pl.col("icao24").is_in(list(heard_by))) if heard_by else points.clear()).group_by(
            "icao24").agg(pl.col("timestamp").min().alias("t0"), pl.col("timestamp").max().alias("t1"))
        nothing = empty_heard()
        own = dict.fromkeys(points["icao24"].unique(maintain_order=True).to_list(), nothing) | {
            icao24: heard_of(heard_by[icao24], icao24, pl.DataFrame({"timestamp": [t0, t1]}))
            for icao24, t0, t1 in spans.iter_rows()}
        cells = positions_in_cells(archive, reach_of_many(prepared, own, end))
        return points, prepared, own, Coverage(cells)

    docs: list[dict] = []
    frames: dict[str, pl.DataFrame] = {}
    done = done_points = 0
    for chunk in chunks:
        points, prepared, own_heard, others = gather(chunk)
        sizes = dict(points["icao24"].value_counts().iter_rows())

        def around(icao24: str) -> Surroundings:
            return surroundings(icao24, idents[icao24], history, own_heard[icao24], others, end, notes)

        for doc, itin in itineraries_of(points, around, on_stage, prepared):
            icao24 = doc["aircraft"]["icao24"]
            if on_doc is not None:
                on_doc(doc, itin.points if with_points else None)
            else:
                docs.append(doc)
                if with_points:
                    frames[icao24] = itin.points
            done += 1
            done_points += int(sizes.get(icao24, 0))
            if on_aircraft is not None:
                on_aircraft(done, len(seen), done_points)
        points = prepared = own_heard = others = None  # this chunk's frames go before the next is read
    return docs, frames


__all__ = ["itineraries", "aircraft_histories", "aircraft_history", "history_from_archive"]
