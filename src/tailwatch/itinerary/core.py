"""Aircraft's itineraries from their points and the frames around them: the step every engine runs.

Pure over frames. An engine gathers, in pruned queries, everything besides the aircraft's own
points that the itinerary reads — its airport history, its heard minutes, the other aircraft
near its silences — into `Surroundings`, then calls `itineraries_of` on a chunk of aircraft
(`itinerary_of` is the same with one). DuckDB on one machine (a chunk of addresses) and Spark's
`mapInArrow` in an executor (a partition by address) call it with the same inputs per aircraft,
and an aircraft's document does not depend on which others share its chunk (the per-point
passes of `batch.prepare` answer per aircraft), so their results are the same by construction,
not by parallel code.

Silences longer than `trips.UNTRACKED_AFTER_S` never reach the hiding step: its coverage test
samples the straight path across a silence every minute and pairs each sample with the other
aircraft near it, so a three-year silence asked for a 250 GiB array. Both the boxes an engine
queries (`silences_of`) and the hiding evidence (`_hiding`) are worked out per trip, each trip
ending where the next begins, so every silence they see is under the bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import polars as pl

import numpy as np

from tailwatch.hiding.dark import Box, Coverage, hiding_evidence, silence_boxes, silence_reach
from tailwatch.itinerary.batch import Prepared, by_aircraft, prepare
from tailwatch.itinerary.trips import with_trips
from tailwatch.schema import epoch_us

HISTORY_NOTE = ("days the aircraft (or its operator's fleet, at half weight) was seen on the ground or low at "
                "each airport in the archive: the prior for unseen stops")


@dataclass(frozen=True)
class Surroundings:
    """What one aircraft's itinerary reads besides its own points (each None when not gathered)."""

    aircraft: dict | None = None  # identity: registration, type, country, operator, list entries
    history: dict[str, int] | None = None  # airport ICAO → days seen there (itinerary.history.priors)
    heard: pl.DataFrame | None = None  # its heard minutes (tailwatch.heard)
    # other aircraft's positions, at least inside `silences_of` boxes (or at the `reach_of` keys),
    # or the `hiding.dark.Coverage` grid of them built once for a whole batch
    others: pl.DataFrame | Coverage | None = None
    end: datetime | None = None  # end of the asked window (a track ending before it may have gone dark)
    notes: tuple[str, ...] = ()  # notes of the whole request (unresolved entries, unseen aircraft, ...)


def silences_of(points: pl.DataFrame, heard: pl.DataFrame | None, end: datetime | None) -> list[Box]:
    """Time windows and boxes where other aircraft are needed to judge the aircraft's silences:
    what an engine queries before `itinerary_of` (the same track the itinerary's points will be)."""
    from tailwatch.itinerary.flights import cut_pieces

    if points.height == 0:
        return []
    boxes: list[Box] = []
    for track, trip_heard, trip_end in _per_trip(with_trips(cut_pieces(points)), heard, end):
        boxes += silence_boxes(track, trip_heard, window_end=trip_end)
    return boxes


def _per_trip(track: pl.DataFrame, heard: pl.DataFrame | None, end: datetime | None
              ) -> list[tuple[pl.DataFrame, pl.DataFrame | None, datetime | None]]:
    """(points, heard minutes, window end) of each trip of a sorted track with `trip`: a trip's
    window ends where the next trip begins; heard minutes go to the trip they follow. A track
    whose trips come in runs (a sorted one: trip numbers rise with time) is sliced, not partitioned;
    the slices are the partitions, in the same order."""
    trips = _trip_slices(track) if "trip" in track.columns else [track]
    if len(trips) <= 1:
        return [(track, heard, end)]
    starts = [trip["timestamp"].min() for trip in trips]
    out = []
    for k, trip in enumerate(trips):
        nxt = starts[k + 1] if k + 1 < len(trips) else None
        mine = heard
        if heard is not None and heard.height:
            keep = pl.lit(True)
            if k:
                keep = keep & (pl.col("first") >= starts[k])
            if nxt is not None:
                keep = keep & (pl.col("first") < nxt)
            mine = heard.filter(keep)
        out.append((trip, mine, nxt if nxt is not None else end))
    return out


def _trip_slices(track: pl.DataFrame) -> list[pl.DataFrame]:
    """`track.partition_by("trip", maintain_order=True)`, as zero-copy slices when the trip numbers
    never fall (each trip one run of rows); partitioned otherwise (nulls, or rows out of order)."""
    column = track["trip"]
    if column.null_count() == 0:
        ids = column.to_numpy()
        step = np.diff(ids)
        if step.size == 0 or step.min() >= 0:
            cuts = [0, *(np.flatnonzero(step) + 1).tolist(), ids.size]
            if len(cuts) == 2:
                return [track]
            return [track.slice(a, b - a) for a, b in zip(cuts[:-1], cuts[1:])]
    return track.partition_by("trip", maintain_order=True)


def reach_of(points: pl.DataFrame, heard: pl.DataFrame | None, end: datetime | None,
             prepared: Prepared | None = None) -> np.ndarray:
    """(hour, 1° cell) keys (`hiding.dark.reach_keys`) whose points can judge the aircraft's silences:
    what an engine reads, for every aircraft of a batch in one query, before `itinerary_of`.
    `prepared`: the aircraft's share of its batch's passes (`batch.prepare`), whose cut is reused."""
    from tailwatch.itinerary.flights import cut_pieces

    if points.height == 0:
        return np.zeros(0, np.int64)
    cut = prepared.cut if prepared is not None else cut_pieces(points)
    keys = [silence_reach(track, trip_heard, window_end=trip_end)
            for track, trip_heard, trip_end in _per_trip(with_trips(cut), heard, end)]
    return np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)


def reach_of_many(prepared: dict[str, Prepared], heard: dict[str, pl.DataFrame], end: datetime | None
                  ) -> np.ndarray:
    """The union of `reach_of` over every aircraft of a chunk (`prepared`: `batch.prepare`; `heard`:
    each one's heard minutes), in one pass: one select over all their cut points, trips split where
    the aircraft changes or a silence passes `trips.UNTRACKED_AFTER_S`, every silence found by
    `hiding.dark.silences_of_tracks` over all of them at once. The same keys as asking aircraft by
    aircraft (each trip is the same track with the same heard minutes and window end), which
    cost a few Polars queries per aircraft. An aircraft whose cut is not in time order (never
    made by `flights.cut_pieces`) is asked on its own."""
    from tailwatch.hiding.dark import DarkRules, heard_times, reach_keys, silences_of_tracks, track_columns
    from tailwatch.itinerary.trips import UNTRACKED_AFTER_S

    keys = [np.zeros(0, np.int64)]
    names = [h for h, share in prepared.items() if share.cut.height]
    if not names:
        return keys[0]
    wanted = ("timestamp", "latitude", "longitude", "altitude", "onground", "groundspeed", "track")
    # each cut's columns taken as they are: an eager `select` per aircraft was a query plan each
    frame = pl.concat([pl.DataFrame([prepared[h].cut.get_column(c) for c in wanted]) for h in names],
                      how="vertical")
    cols = track_columns(frame)
    sizes = np.array([prepared[h].cut.height for h in names], dtype=np.int64)
    starts = np.r_[0, np.cumsum(sizes)]
    t = cols["t"]
    aircraft = np.repeat(np.arange(len(names)), sizes)
    same = aircraft[1:] == aircraft[:-1]
    step = np.diff(t)
    unsorted = set(aircraft[1:][same & ~(step >= 0)].tolist())  # NaN (a null time) included
    for k in sorted(unsorted):
        keys.append(reach_of(prepared[names[k]].cut, heard.get(names[k]), end, prepared[names[k]]))
    # a track starts at each aircraft's first point and after each silence over the bound
    new_trip = np.r_[True, ~same | (step > UNTRACKED_AFTER_S)]
    bounds = np.r_[np.flatnonzero(new_trip), t.size]
    owner = aircraft[bounds[:-1]]
    first_of_next = np.r_[owner[1:] == owner[:-1], False]  # the next track is the same aircraft's
    end_s = end.timestamp() if end is not None else None
    heard_t: list[np.ndarray | None] = []
    ends: list[float | None] = []
    times = frame["timestamp"]
    for k in range(owner.size):
        mine = heard.get(names[owner[k]])
        nxt = bool(first_of_next[k])
        ends.append(float(t[bounds[k + 1]]) if nxt else end_s)
        if mine is not None and mine.height:
            first = bool(k == 0 or owner[k - 1] != owner[k])
            if not (first and not nxt):  # heard minutes go to the trip they follow (`_per_trip`)
                keep = pl.lit(True)
                if not first:
                    keep = keep & (pl.col("first") >= times[int(bounds[k])])
                if nxt:
                    keep = keep & (pl.col("first") < times[int(bounds[k + 1])])
                mine = mine.filter(keep)
        heard_t.append(heard_times(mine))
    skip = np.isin(owner, list(unsorted))
    rules = DarkRules()
    found = silences_of_tracks(cols, bounds, heard_t, ends, rules)
    keys += [reach_keys(samples, rules) for k, (*_, samples) in found if not skip[k]]
    return np.unique(np.concatenate(keys))


def itinerary_of(points: pl.DataFrame, around: Surroundings = Surroundings(),
                 on_stage: Callable[[str], None] | None = None):
    """(itinerary JSON, Itinerary) of ONE aircraft: `itineraries_of` with a batch of one."""
    if points.height == 0 or points["icao24"].n_unique() > 1:  # build_itinerary says what is wrong
        return _one(points, around, None, on_stage)
    return next(itineraries_of(points, lambda _: around, on_stage))


def itineraries_of(points: pl.DataFrame, around: Callable[[str], Surroundings],
                   on_stage: Callable[[str], None] | None = None,
                   prepared: dict[str, Prepared] | None = None) -> Iterator[tuple[dict, object]]:
    """(itinerary JSON, Itinerary) of every aircraft in `points`, in their order there: build with the
    history prior, notes, then the airspace, payload and hiding evidence. `around(icao24)` gives an
    aircraft's surroundings; `prepared` the batch's per-point passes when already made
    (`batch.prepare`, made here otherwise: one pass over all of `points`). `on_stage` hears the name
    of each stage as it starts."""
    if points.height == 0:
        return
    shares = prepared if prepared is not None else prepare(points)
    # built and located a group of aircraft at a time: one pass over their legs, while only the
    # group's itineraries (each a copy of its points with `leg`) are held
    group: list[tuple[str, pl.DataFrame]] = []
    size = 0
    for icao24, own in by_aircraft(points).items():
        group.append((icao24, own))
        size += own.height
        if size >= GROUP_POINTS:
            yield from _group(group, around, shares, on_stage)
            group, size = [], 0
    if group:
        yield from _group(group, around, shares, on_stage)


GROUP_POINTS = 100_000  # points of the aircraft built and located together inside a chunk


def _group(group: list[tuple[str, pl.DataFrame]], around: Callable[[str], Surroundings],
           shares: dict[str, Prepared], on_stage: Callable[[str], None] | None) -> Iterator[tuple[dict, object]]:
    from tailwatch.itinerary.build import build_itinerary
    from tailwatch.itinerary.model import leg_figures_many

    arounds = [around(icao24) for icao24, _ in group]
    itins = [build_itinerary(own, near.aircraft, used_airports=near.history, prepared=shares.get(icao24))
             for (icao24, own), near in zip(group, arounds)]
    # every leg's point figures of the group in one pass: the same figures each document works out
    figures = leg_figures_many([itin.points for itin in itins])
    built = [_documented(itin, near, fig) for itin, near, fig in zip(itins, arounds, figures)]
    del itins, figures
    if on_stage is not None:
        on_stage("airspace and payload")
    runs = _airspace_runs(built)
    for k in range(len(built)):
        (doc, itin, near), leg_runs = built[k], runs[k]
        built[k] = runs[k] = None  # each aircraft's frames go once its document is handed on
        yield enrich(doc, itin.points, near, leg_runs), itin


def _one(points: pl.DataFrame, around: Surroundings, prepared: Prepared | None,
         on_stage: Callable[[str], None] | None = None):
    doc, itin, _ = _built(points, around, prepared)
    if on_stage is not None:
        on_stage("airspace and payload")
    return enrich(doc, itin.points, around), itin


def _built(points: pl.DataFrame, around: Surroundings, prepared: Prepared | None) -> tuple[dict, object, Surroundings]:
    """(JSON before enrichment, Itinerary, its surroundings) of one aircraft: built with the
    history prior, with the request's notes."""
    from tailwatch.itinerary.build import build_itinerary

    itin = build_itinerary(points, around.aircraft, used_airports=around.history, prepared=prepared)
    return _documented(itin, around)


def _documented(itin, around: Surroundings, figures: dict | None = None) -> tuple[dict, object, Surroundings]:
    """`_built`'s answer for a built itinerary (`figures`: its legs' figures, when its group's were
    worked out at once by `model.leg_figures_many`)."""
    doc = itin.to_json(figures)
    if around.history:
        doc["airport_history"] = {"airports_used": dict(list(around.history.items())[:20]), "note": HISTORY_NOTE}
    if around.notes:
        doc.setdefault("notes", []).extend(around.notes)
    return doc, itin, around


def _airspace_runs(built: list[tuple[dict, object, Surroundings]]) -> list[list[list[dict]] | None]:
    """Every leg's jurisdiction runs for a chunk of built itineraries, located in one pass
    (`airspace.enrich.leg_runs_many`); None for each when that pass fails (each itinerary then
    locates its own legs, and a failure is its note)."""
    from tailwatch.airspace.enrich import leg_runs_many

    try:
        return leg_runs_many([(doc, itin.points) for doc, itin, _ in built])
    except Exception:  # noqa: BLE001 - the per-itinerary step reports its own failure
        return [None] * len(built)


def enrich(doc: dict, points: pl.DataFrame, around: Surroundings,
           runs: list[list[dict]] | None = None) -> dict:
    """Airspace, payload and hiding evidence on one itinerary; a failing step leaves a note, never loses it.
    `runs`: its legs' jurisdiction runs, when its batch located them."""
    from tailwatch.airlift.enrich import add_payload
    from tailwatch.airspace.enrich import add_airspace

    aircraft = doc.get("aircraft") or {}
    steps = [("airspace", lambda d: add_airspace(d, points, aircraft.get("country"), runs)),
             ("payload", lambda d: add_payload(d, aircraft.get("typecode"))),
             ("hiding", lambda d: _hiding(d, points, around))]
    for name, step in steps:
        try:
            doc = step(doc)
        except Exception as exc:  # noqa: BLE001 - an enricher failing must not lose the itinerary
            doc.setdefault("notes", []).append(f"{name} enrichment failed: {type(exc).__name__}: {exc}")
    return doc


def _hiding(doc: dict, points: pl.DataFrame, around: Surroundings) -> dict:
    """`dark_intervals`: when the aircraft went dark inside coverage or withheld its position (hiding.dark)."""
    if points.height == 0:
        return doc
    found: list[dict] = []
    t = epoch_us(points["timestamp"])
    in_order = t.size < 2 or bool((np.diff(t) > 0).all())  # strictly: a sort could only reorder ties
    for track, heard, end in _per_trip(points if in_order else points.sort("timestamp"), around.heard, around.end):
        found += hiding_evidence(track, around.others, heard, window_end=end)
    doc["dark_intervals"] = sorted(found, key=lambda d: d["start"])
    return doc


__all__ = ["Surroundings", "itinerary_of", "itineraries_of", "silences_of", "reach_of", "reach_of_many", "enrich"]
