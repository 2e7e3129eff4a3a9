"""One aircraft's itinerary from its points and the frames around it: the step every engine runs.

Pure over frames. An engine gathers, in pruned queries, everything besides the aircraft's own
points that the itinerary reads — its airport history, its heard minutes, the other aircraft
near its silences — into `Surroundings`, then calls `itinerary_of`. DuckDB on one machine and
Spark's `applyInArrow` in an executor call it with the same inputs, so their results are the
same by construction, not by parallel code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import polars as pl

import numpy as np

from tailwatch.hiding.dark import Box, Coverage, hiding_evidence, silence_boxes, silence_reach

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
    return silence_boxes(cut_pieces(points), heard, window_end=end)


def reach_of(points: pl.DataFrame, heard: pl.DataFrame | None, end: datetime | None) -> np.ndarray:
    """(hour, 1° cell) keys (`hiding.dark.reach_keys`) whose points can judge the aircraft's silences:
    what an engine reads, for every aircraft of a batch in one query, before `itinerary_of`."""
    from tailwatch.itinerary.flights import cut_pieces

    if points.height == 0:
        return np.zeros(0, np.int64)
    return silence_reach(cut_pieces(points), heard, window_end=end)


def itinerary_of(points: pl.DataFrame, around: Surroundings = Surroundings(),
                 on_stage: Callable[[str], None] | None = None):
    """(itinerary JSON, Itinerary) of ONE aircraft: build with the history prior, notes, then the
    airspace, payload and hiding evidence. `on_stage` hears the name of each stage as it starts."""
    from tailwatch.itinerary.build import build_itinerary

    itin = build_itinerary(points, around.aircraft, used_airports=around.history)
    doc = itin.to_json()
    if around.history:
        doc["airport_history"] = {"airports_used": dict(list(around.history.items())[:20]), "note": HISTORY_NOTE}
    if around.notes:
        doc.setdefault("notes", []).extend(around.notes)
    if on_stage is not None:
        on_stage("airspace and payload")
    return enrich(doc, itin.points, around), itin


def enrich(doc: dict, points: pl.DataFrame, around: Surroundings) -> dict:
    """Airspace, payload and hiding evidence on one itinerary; a failing step leaves a note, never loses it."""
    from tailwatch.airlift.enrich import add_payload
    from tailwatch.airspace.enrich import add_airspace

    aircraft = doc.get("aircraft") or {}
    steps = [("airspace", lambda d: add_airspace(d, points, aircraft.get("country"))),
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
    doc["dark_intervals"] = hiding_evidence(points, around.others, around.heard, window_end=around.end)
    return doc


__all__ = ["Surroundings", "itinerary_of", "silences_of", "reach_of", "enrich"]
