"""Where did this aircraft go: pieces → visits and gaps → legs, each end labelled for what it is.

`build_itinerary` walks one aircraft's pieces in time order (a few hundred at most, so a
Python loop here is fine; everything per point is vectorised in `flights`/`landings`):
- a ground piece, or a climb/descent that starts/ends low near an airport, is a *visit*
  (observed); consecutive visits at one airport merge (parked for days is one visit);
- between two airborne pieces, `gaps.infer_gap` decides flown-through or landed, and where;
- a track that starts or ends mid-air gets its origin/destination from `stops.infer_end`.
Legs run between consecutive visits/stops. Each keeps its point range, gaps and reasons; a gap
that hides inferred stops is listed on every leg it spans (before, between and after the stops).
A silence longer than `trips.UNTRACKED_AFTER_S` (48 h) is never walked over: the pieces either
side are separate trips, each walked on its own, and the silence is a note ("not tracked for N
days") and an `untracked` entry, not a gap with stops in it.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import numpy as np
import polars as pl

from tailwatch.itinerary.batch import Prepared, prepare
from tailwatch.itinerary.candidates import Context
from tailwatch.itinerary.flights import pieces
from tailwatch.itinerary.landings import events_from_pieces
from tailwatch.itinerary.model import SCHEMA, TIME_ASSUMED_NOTE, Itinerary, Leg, _iso, time_assumed_count
from tailwatch.itinerary.timing import DEFAULT_CRUISE_KT
from tailwatch.itinerary.trips import trip_ids, untracked_entry
from tailwatch.itinerary.walk import _items, _walk
from tailwatch.schema import epoch_us

__all__ = ["SCHEMA", "Itinerary", "build_itineraries", "build_itinerary"]


def _type_figures(typecode: str | None) -> tuple[float | None, float | None, str | None, float | None]:
    """(cruise_kt, min_runway_ft, type name, longest leg with a light payload) from the airlift
    type table, when it knows the type."""
    if not typecode:
        return None, None, None, None
    from tailwatch.airlift.payload import light_payload_range_km
    from tailwatch.airlift.types import aircraft_type

    spec = aircraft_type(typecode)
    if spec is None:
        return None, None, None, None
    return spec.cruise_kt, spec.min_runway_ft, getattr(spec, "name", None), light_payload_range_km(typecode)


def _aircraft_obj(aircraft: dict | None, icao24: str, typecode: str | None) -> dict:
    out = {"icao24": icao24, "registration": None, "typecode": typecode, "country": None, "watchlists": []}
    if aircraft:
        out.update({k: v for k, v in aircraft.items()})
        if typecode and not out.get("typecode"):
            out["typecode"] = typecode
    if out.get("country") is None:
        try:
            from tailwatch.identity.icao_blocks import country_of

            out["country"] = country_of(icao24)
        except ImportError:
            pass
    return out


def build_itinerary(points: pl.DataFrame, aircraft: dict | None = None, typecode: str | None = None,
                    used_airports: dict[str, int] | None = None, prepared: Prepared | None = None) -> Itinerary:
    """The itinerary of ONE aircraft from its canonical points (any order, any source).

    `typecode` (or `aircraft["typecode"]`) selects cruise speed and runway need from the
    airlift type table; without one, a default cruise of 480 kt and no runway filter apply.
    `used_airports` (icao → days seen there, `history.airports_used` over the aircraft's or its
    operator's earlier points) is the history prior for unseen stops; the airports these points
    themselves show it at count too. The operator's country (`aircraft["country"]`, else the
    address block's) decides which jurisdictions' airports an unseen stop cannot be in.
    `prepared` is the aircraft's share of a batch's per-point passes (`batch.prepare`); without
    it they run here over these points alone (a batch of one).
    """
    column = points["icao24"]
    if column.dtype == pl.String and column.len() and not column.null_count() and column.min() == column.max():
        icaos = [column.min()]  # one address: its least and greatest say it, without a query
    else:
        icaos = column.unique().to_list() if points.height else []
    if len(icaos) > 1:
        raise ValueError(f"build_itinerary takes one aircraft, got {len(icaos)}: use build_itineraries")
    icao24 = icaos[0] if icaos else (aircraft or {}).get("icao24", "")
    typecode = typecode or (aircraft or {}).get("typecode")
    cruise_kt, min_runway_ft, type_name, max_leg_km = _type_figures(typecode)
    type_info = {
        "typecode": typecode,
        "cruise_kt": round(cruise_kt, 1) if cruise_kt else None,
        "cruise_kt_used": round(cruise_kt or DEFAULT_CRUISE_KT, 1),
        "min_runway_ft": min_runway_ft,
        "max_leg_km_light_payload": round(max_leg_km) if max_leg_km else None,
        "note": None if cruise_kt else f"cruise speed unknown for this type: default {DEFAULT_CRUISE_KT:.0f} kt",
    }
    if prepared is None:
        prepared = prepare(points).get(icao24) if points.height else None
    if prepared is None:
        cut, table = pieces(points)
        events, ground_airports = events_from_pieces(table), None
    else:
        cut, table, events, ground_airports = prepared.cut, prepared.table, prepared.events, prepared.ground_airports
    table = _piece_trips(table)
    trips = _trip_rows(table)
    event_rows = events.to_dicts()
    per_trip = [_items(trip, event_rows, ground_airports) for trip in trips]
    items = [item for trip_items in per_trip for item in trip_items]
    ident = _aircraft_obj(aircraft, icao24, typecode)
    ctx = _context(items, cruise_kt, min_runway_ft, used_airports, ident.get("country"),
                   points["timestamp"].min() if points.height else None, max_leg_km)
    legs: list[Leg] = []
    notes: list[str] = []
    untracked: list[dict] = []
    for k, trip_items in enumerate(per_trip):
        if k:
            entry = untracked_entry(_last_end(trips[k - 1]), _first_start(trips[k]), k - 1)
            untracked.append(entry)
            notes.append(f"{entry['reason']} ({entry['start']} to {entry['end']})")
        trip_legs, trip_notes = _walk(trip_items, ctx)  # each trip on its own: no gap joins two
        for leg in trip_legs:
            leg.trip = k
        if not trip_legs:
            trip_notes += [f"no flight: on the ground at {v.icao or 'an unlisted site'} from {_iso(v.arrive)} "
                           f"to {_iso(v.depart)}" for kind, v in trip_items if kind == "visit"]
        legs += trip_legs
        notes += trip_notes
    assumed = time_assumed_count(points)
    if assumed:
        notes.append(f"{TIME_ASSUMED_NOTE}: {assumed:,} of {points.height:,} positions")
    piece_leg: dict[int, int] = {p: i for i, leg in enumerate(legs) for p in leg.pieces}
    itin = Itinerary(ident, legs, _with_legs(cut, table, piece_leg), notes, type_info)
    itin.trips = [{"start": _iso(_first_start(trip)), "end": _iso(_last_end(trip))} for trip in trips]
    itin.untracked = untracked
    itin.registrations = _registrations(legs, aircraft, notes)
    return itin


def _piece_trips(table: pl.DataFrame) -> pl.DataFrame:
    """The piece table with `trip`: a new trip after every silence over the bound (trips.py)."""
    if table.height == 0:
        return table.with_columns(pl.lit(None, dtype=pl.Int64).alias("trip"))
    t0, t1 = epoch_us(table["t0"]) / 1e6, epoch_us(table["t1"]) / 1e6
    dt = np.empty_like(t0)
    dt[0] = np.nan
    dt[1:] = t0[1:] - t1[:-1]
    trip = pl.Series("trip", trip_ids(dt))
    # a column put beside the others (no query plan) unless the table already has one to replace
    return table.with_columns(trip) if "trip" in table.columns else table.hstack([trip])


def _with_legs(cut: pl.DataFrame, table: pl.DataFrame, piece_leg: dict[int, int]) -> pl.DataFrame:
    """The itinerary's points: `cut` without `dt_prev`, with each point's `leg` (its piece's, null
    for a piece no leg holds) and `trip` (its piece's in `table`). Looked up by piece number in
    arrays: pieces count from 0 per aircraft, so a join and a replace per aircraft (two frame
    queries each) were only ever a table lookup. A cut with a null or negative piece, or a table
    whose pieces repeat, takes the join and the replace."""
    piece = cut["piece"]
    pieces = table["piece"].to_numpy() if table.height else np.zeros(0, np.int64)
    simple = (piece.null_count() == 0 and cut.height and piece.min() >= 0
              and table["piece"].null_count() == 0 and table["trip"].null_count() == 0
              and np.unique(pieces).size == pieces.size and (pieces.size == 0 or pieces.min() >= 0))
    if not simple:
        mapping = pl.DataFrame({"piece": list(piece_leg), "leg": list(piece_leg.values())},
                               schema={"piece": pl.Int64, "leg": pl.Int64})
        frame = cut.join(mapping, on="piece", how="left").drop("dt_prev")
        if table.height:
            frame = frame.with_columns(pl.col("piece").replace_strict(table["piece"], table["trip"], default=None,
                                                                      return_dtype=pl.Int64).alias("trip"))
        return frame
    at = piece.to_numpy()
    size = int(max(at.max(), pieces.max() if pieces.size else -1, max(piece_leg, default=-1))) + 1
    leg_of = np.full(size, -1, np.int64)
    leg_of[np.fromiter(piece_leg.keys(), np.int64, len(piece_leg))] = np.fromiter(piece_leg.values(), np.int64,
                                                                                    len(piece_leg))
    leg = leg_of[at]
    columns = [_nullable("leg", leg)]
    if table.height:
        trip_of = np.full(size, -1, np.int64)
        trip_of[pieces] = table["trip"].to_numpy()
        trip = trip_of[at]
        columns.append(_nullable("trip", trip))
    kept = [cut.get_column(c) for c in cut.columns if c != "dt_prev"]
    if {"leg", "trip"} & set(cut.columns):  # replaced in place, as the join and replace did
        return cut.drop("dt_prev").with_columns(columns)
    return pl.DataFrame(kept + columns)  # the columns put together: no frame query


def _nullable(name: str, values: np.ndarray) -> pl.Series:
    """An Int64 column of `values`, null where negative (no leg, no trip): small counts, exact as
    floats, so NaN marks the nulls (an Arrow array with a mask would import pandas' bridge)."""
    missing = values < 0
    if not missing.any():
        return pl.Series(name, values, pl.Int64)
    return pl.Series(name, np.where(missing, np.nan, values.astype(np.float64)), nan_to_null=True).cast(pl.Int64)


def _trip_rows(table: pl.DataFrame) -> list[list[dict]]:
    """The piece table's rows, read once, as one list per trip in order of first appearance (as
    `partition_by("trip", maintain_order=True)` would split them; a few hundred pieces at most)."""
    by_trip: dict[object, list[dict]] = {}
    for row in table.to_dicts():
        by_trip.setdefault(row["trip"], []).append(row)
    return list(by_trip.values())


def _first_start(rows: list[dict]):
    """The earliest `t0` of a trip's pieces (nulls ignored, as the column's min does)."""
    return min((r["t0"] for r in rows if r["t0"] is not None), default=None)


def _last_end(rows: list[dict]):
    """The latest `t1` of a trip's pieces (nulls ignored, as the column's max does)."""
    return max((r["t1"] for r in rows if r["t1"] is not None), default=None)


def _registrations(legs: list[Leg], aircraft: dict | None, notes: list[str]) -> dict[int, str]:
    """If the registry history shows the address under several registrations, say which legs
    flew under which (the last snapshot at or before the leg; the earliest before any)."""
    history = sorted((h for h in (aircraft or {}).get("history") or [] if h.get("registration")),
                     key=lambda h: str(h.get("snapshot") or ""))
    regs = list(dict.fromkeys(h["registration"] for h in history))
    if len(regs) < 2:
        return {}
    notes.append("this address was registered as " + ", then ".join(
        f"{h['registration']} (registry {h.get('snapshot')})" for h in history
        if h["registration"] in regs and regs.remove(h["registration"]) is None))
    per_leg: dict[int, str] = {}
    for i, leg in enumerate(legs):
        t = leg.takeoff or leg.landing or (leg.origin.depart if leg.origin else None) or (
            leg.destination.arrive if leg.destination else None)
        if t is None:
            continue
        day = t.strftime("%Y-%m-%d")
        current = [h for h in history if str(h.get("snapshot") or "") <= day]
        per_leg[i] = (current[-1] if current else history[0])["registration"]
    return per_leg


def build_itineraries(points: pl.DataFrame, aircraft: dict[str, dict] | None = None,
                      typecodes: dict[str, str] | None = None) -> list[Itinerary]:
    """One itinerary per icao24 in `points` (two aircraft sharing a callsign stay apart)."""
    out = []
    for (icao24,), pts in points.partition_by("icao24", as_dict=True, maintain_order=True).items():
        ac = (aircraft or {}).get(icao24)
        out.append(build_itinerary(pts, ac, (typecodes or {}).get(icao24)))
    return out


def _context(items: list[tuple[str, object]], cruise_kt: float | None, min_runway_ft: float | None,
             used: dict[str, int] | None, country: str | None, when: datetime | None,
             max_leg_km: float | None = None) -> Context:
    """The inference context: the type, the history prior (given, plus the airports these points
    show), and the jurisdictions barred to an operator of `country` on `when`."""
    seen = dict(used or {})
    for kind, v in items:
        if kind == "visit" and v.icao:  # type: ignore[union-attr]
            seen[v.icao] = seen.get(v.icao, 0) + 1  # type: ignore[union-attr]
    banned: list[str] = []
    needs_inference = any(kind == "air" for kind, _ in items)
    if country and when is not None and needs_inference:
        banned = _banned(country, when.date().isoformat())
    return Context.of(cruise_kt, min_runway_ft, seen, banned, max_leg_km)


@lru_cache(maxsize=256)
def _banned(country: str, day: str) -> tuple[str, ...]:
    try:
        from tailwatch.airspace.bans import banned_jurisdictions
    except ImportError:
        return ()
    return tuple(banned_jurisdictions(operator_country=country, registration_country=country, when=day))
