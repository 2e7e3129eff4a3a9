"""The per-point and per-event passes of many aircraft at once: cut, pieces, take-offs and landings,
and the airport under every ground piece, each one columnar pass over a chunk of aircraft.

Why: an itinerary's own walk is a Python loop over a few pieces, but the steps under it are per
point (cutting a track into pieces) or per event (the nearest airports of every take-off, landing
and ground stay). Run aircraft by aircraft they cost a KD-tree query and dozens of Polars
collects per aircraft, which made a batch of short tracks spend most of its time in set-up, not in
work. Every one of these passes already works over an `icao24` column (an aircraft boundary is
just another place where a piece starts; neighbours are looked up `over("icao24")`; a nearest
airport depends on its own point only), so one pass over the chunk, cut per aircraft afterwards,
gives each aircraft exactly what a pass over its own points gives. Piece ids are renumbered from
0 per aircraft, as a pass over one aircraft numbers them.

`prepare(points)` is that pass; `build.build_itinerary` takes an aircraft's `Prepared` share (and
makes one itself, a batch of one, when given none), so the single-aircraft path is the batch path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tailwatch.itinerary.flights import pieces
from tailwatch.itinerary.landings import GROUND_AIRPORT_KM, airports_at, events_from_pieces


@dataclass(frozen=True)
class Prepared:
    """One aircraft's share of the chunk's passes."""

    cut: pl.DataFrame  # its points as `flights.cut_pieces` leaves them (sorted, `piece` from 0)
    table: pl.DataFrame  # its piece table (`flights.pieces`)
    events: pl.DataFrame  # its take-offs and landings (`landings.events_from_pieces`)
    ground_airports: dict[int, str | None]  # ground piece → the airport at its middle point (or None)


def by_aircraft(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """`frame` cut per aircraft, in its order: zero-copy slices when each aircraft's rows are
    contiguous (a sorted frame), else one partition."""
    if frame.height == 0:
        return {}
    runs = frame["icao24"].rle().struct.unnest()
    if runs["value"].n_unique() == runs.height:
        starts = np.r_[0, np.cumsum(runs["len"].to_numpy())[:-1]]
        return {icao24: frame.slice(int(at), int(n))
                for icao24, at, n in zip(runs["value"].to_list(), starts, runs["len"].to_list())}
    return {icao24: part for (icao24,), part in frame.partition_by("icao24", as_dict=True, maintain_order=True).items()}


def _renumbered(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame`'s `piece` counted from 0 within each aircraft."""
    if frame.height == 0:
        return frame
    return frame.with_columns(pl.col("piece") - pl.col("piece").min().over("icao24"))


def _own_pieces(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """`by_aircraft(_renumbered(frame))` with the runs found once: where each aircraft's rows
    are contiguous (a cut and a piece table are in address order), its least piece is the
    least of its run (`minimum.reduceat`) and the renumbering one array subtraction, instead of
    a window over the address column of every row (~10 ms a 0.5 M-point chunk)."""
    if frame.height == 0:
        return {}
    runs = frame["icao24"].rle().struct.unnest()
    if runs["value"].n_unique() != runs.height:
        return by_aircraft(_renumbered(frame))
    lens = runs["len"].to_numpy().astype(np.int64)
    starts = np.cumsum(lens) - lens
    piece = frame["piece"].to_numpy()
    frame = frame.with_columns(pl.Series("piece", piece - np.repeat(np.minimum.reduceat(piece, starts), lens)))
    return {icao24: frame.slice(int(at), int(n)) for icao24, at, n in zip(runs["value"].to_list(), starts, lens)}


def _from_first(frame: pl.DataFrame, first: pl.DataFrame) -> pl.DataFrame:
    """`frame`'s `piece` counted from its aircraft's first piece (`first`: icao24 → `_first`)."""
    if frame.height == 0:
        return frame
    return (frame.join(first, on="icao24", how="left", maintain_order="left")
            .with_columns((pl.col("piece") - pl.col("_first")).alias("piece")).drop("_first"))


def prepare(points: pl.DataFrame) -> dict[str, Prepared]:
    """Cut, pieces, events and ground airports of every aircraft in `points`, per aircraft."""
    cut, table = pieces(points)
    events = events_from_pieces(table)
    ground = table.filter(pl.col("ground")).select("icao24", "piece", "lat_mid", "lon_mid")
    at = airports_at(ground["lat_mid"].to_numpy(), ground["lon_mid"].to_numpy(), GROUND_AIRPORT_KM)
    ground = ground.select("icao24", "piece").with_columns(
        (at["icao"] if ground.height else pl.Series("icao", [], pl.String)).alias("airport"))
    if cut.height == 0:
        return {}
    # an aircraft's first piece is its cut's first: events and ground pieces count from it
    first = table.group_by("icao24").agg(pl.col("piece").min().alias("_first"))
    cuts = _own_pieces(cut)
    tables = _own_pieces(table)
    by_events = by_aircraft(_from_first(events, first))
    by_ground = by_aircraft(_from_first(ground, first))
    empty_events = events.clear()
    out: dict[str, Prepared] = {}
    for icao24, own in cuts.items():
        mine = by_ground.get(icao24)
        out[icao24] = Prepared(
            cut=own, table=tables[icao24], events=by_events.get(icao24, empty_events),
            ground_airports=dict(zip(mine["piece"].to_list(), mine["airport"].to_list())) if mine is not None else {})
    return out


__all__ = ["Prepared", "prepare", "by_aircraft"]
