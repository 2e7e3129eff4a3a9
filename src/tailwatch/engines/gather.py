"""What both engines do around the pure itinerary step: the request, its notes, and cutting the
gathered frames per aircraft, so DuckDB and Spark hand `itinerary.core.itinerary_of` the same inputs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from tailwatch.errors import BadInput, NoAircraft
from tailwatch.hiding.dark import Coverage, window_pad
from tailwatch.heard import empty_heard, merge
from tailwatch.itinerary.core import Surroundings

NO_AIRCRAFT_IN_WINDOW = "no points for any aircraft in the data"
HEARD_PAD = window_pad()  # heard minutes and other aircraft are needed this far beyond a track


def request(archive: Path, aircraft: list[str] | None, watchlist: Path | None,
            every_aircraft: bool) -> tuple[list[dict], list[str]]:
    """(identities asked for, notes so far): none for `every_aircraft` (the window decides)."""
    from tailwatch.identity.resolve import wanted_aircraft

    if not Path(archive).is_dir():
        raise BadInput(f"{archive}: no such archive folder")
    notes: list[str] = []  # unresolved entries first, unseen aircraft last
    if every_aircraft:
        return [], notes
    wanted = wanted_aircraft(archive, aircraft, watchlist, notes)
    if not wanted:
        raise BadInput("give --aircraft HEX_OR_REG or --watchlist FILE with --archive")
    return wanted, notes


def nothing_found(hexes: list[str], every_aircraft: bool, start: datetime | None, end: datetime | None) -> NoAircraft:
    if every_aircraft:
        return NoAircraft(NO_AIRCRAFT_IN_WINDOW + (" in this window" if start or end else ""))
    return NoAircraft("no points for " + (", ".join(hexes) if hexes else "any aircraft") + " in the data")


def unseen_note(hexes: list[str], seen: list[str], start: datetime | None, end: datetime | None) -> list[str]:
    """The note every report carries when some aircraft asked for had no point in the window."""
    unseen = sorted(set(hexes) - set(seen))
    if not unseen:
        return []
    return ["asked for but not seen in the data" + (" in this window" if start or end else "") + ": " + ", ".join(unseen)]


def heard_window(points: pl.DataFrame) -> tuple[datetime, datetime]:
    """The span of heard minutes (and other aircraft) one track's hiding evidence can use."""
    return points["timestamp"].min() - HEARD_PAD, points["timestamp"].max() + HEARD_PAD


def heard_of(rows: pl.DataFrame | None, icao24: str, points: pl.DataFrame) -> pl.DataFrame:
    """One aircraft's heard minutes from the raw rows gathered for many: inside its own window, merged."""
    if rows is None or rows.height == 0:
        return empty_heard()
    start, end = heard_window(points)
    return merge(rows.filter((pl.col("icao24") == icao24) & (pl.col("last") >= start) & (pl.col("first") <= end)))


def surroundings(icao24: str, aircraft: dict | None, history: dict[str, dict[str, int]] | None,
                 heard: pl.DataFrame, others: pl.DataFrame | Coverage, end: datetime | None, notes: list[str]) -> Surroundings:
    """The gathered frames of one aircraft, as the pure step takes them."""
    used = history.get(icao24, {}) if history is not None else None
    return Surroundings(aircraft=aircraft, history=used, heard=heard, others=others, end=end, notes=tuple(notes))


__all__ = ["request", "nothing_found", "unseen_note", "heard_window", "heard_of", "surroundings",
           "NO_AIRCRAFT_IN_WINDOW", "HEARD_PAD"]
