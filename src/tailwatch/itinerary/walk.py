"""Pieces → visits and gaps → legs: the walk over one aircraft's pieces in time order.

A ground piece, or a climb/descent that starts/ends low near an airport, is a *visit*
(observed); consecutive visits at one airport merge (parked for days is one visit). Between two
airborne pieces `gaps.infer_gap` decides flown-through or landed, and where; a track that starts
or ends mid-air gets its origin/destination from `stops.infer_end`. A few hundred pieces at most
per aircraft, so a Python loop here is fine: everything per point is vectorised in
`flights`/`landings`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tailwatch.geo.geodesy import haversine_km
from tailwatch.itinerary.candidates import Context
from tailwatch.itinerary.flights import GAP_S
from tailwatch.itinerary.gaps import infer_gap
from tailwatch.itinerary.landings import (
    GROUND_AIRPORT_KM,
    LOW_AGL_FT,
    LOW_KM,
    airports_at,
)
from tailwatch.itinerary.model import Leg, Visit, _iso
from tailwatch.itinerary.sides import Side
from tailwatch.itinerary.stops import Stop, infer_end


def _side(row: dict, outbound: bool) -> Side:
    end = "1" if outbound else "0"
    return Side(time=row[f"t{end}"], lat=row[f"lat{end}"], lon=row[f"lon{end}"], alt=row[f"alt{end}"],
                track=row[f"track{end}"], gs=row[f"gs{end}"], vrate=row[f"vrate{end}"])


def _observed_visit(airport: dict | None, how: str, lat: float, lon: float, arrive=None, depart=None) -> Visit:
    if airport is None:
        stop = Stop(None, "observed", 1.0, [f"on the ground at {lat:.4f}, {lon:.4f}: no listed airport within "
                                             f"{GROUND_AIRPORT_KM:.0f} km"])
    else:
        text = {
            "ground": f"positions on the ground at {airport['icao']}",
            "touch-and-go": f"touch-and-go at {airport['icao']} (under a minute on the runway)",
            "low-descent": f"last heard descending within {LOW_AGL_FT:,.0f} ft of {airport['icao']}'s elevation, "
                           f"{LOW_KM:.0f} km or closer",
            "low-climb": f"first heard climbing within {LOW_AGL_FT:,.0f} ft of {airport['icao']}'s elevation, "
                         f"{LOW_KM:.0f} km or closer",
        }.get(how, f"{how} at {airport['icao']}")
        stop = Stop(airport, "observed", 1.0, [text])
    return Visit(stop, how, arrive, depart, lat, lon)


def _items(table: pl.DataFrame | list[dict], events: pl.DataFrame | list[dict],
           ground_airport: dict[int, str | None] | None = None) -> list[tuple[str, object]]:
    """Time-ordered visits and airborne pieces, consecutive visits at one airport merged.
    `table` is the piece table or its rows (`build` reads the rows once and hands each trip its
    own), `events` the event frame or its rows, read once here: an aircraft has a handful of
    both, and a frame filter per question cost more than the walk. `ground_airport` (piece →
    airport at the ground piece's middle, `batch.prepare`) is looked up here when not given."""
    from tailwatch.geo.airports import airport

    rows = table.to_dicts() if isinstance(table, pl.DataFrame) else table
    if ground_airport is None:
        ground = [r for r in rows if r["ground"]]
        at = airports_at(np.array([r["lat_mid"] for r in ground], dtype=float),
                         np.array([r["lon_mid"] for r in ground], dtype=float), GROUND_AIRPORT_KM)
        ground_airport = dict(zip([r["piece"] for r in ground], at["icao"].to_list()))
    low_by_piece: dict[tuple[int, str], dict] = {}
    tng: set[int] = set()
    touch: set[int] = set()  # the ground piece between a touch-and-go landing and its take-off
    for r in events.iter_rows(named=True) if isinstance(events, pl.DataFrame) else events:
        if r["evidence"] in ("low-climb", "low-descent"):
            low_by_piece[(r["piece"], r["kind"])] = r
        elif r["evidence"] == "touch-and-go":
            tng.add(r["piece"])
            if r["kind"] == "landing":
                touch.add(r["piece"] + 1)
    items: list[tuple[str, object]] = []

    def add_visit(v: Visit) -> None:
        if items and items[-1][0] == "visit":
            prev: Visit = items[-1][1]  # type: ignore[assignment]
            if prev.icao == v.icao and (prev.icao is not None or _near(prev, v)):
                # the same place seen again (parked across silences, or heard descending in and
                # climbing out): one visit, from the first arrival to the last departure
                prev.arrive = prev.arrive or v.arrive
                prev.depart = v.depart or v.arrive or prev.depart
                if prev.how.startswith("low") and v.how == "ground":
                    prev.how = "ground"
                for reason in v.stop.reasons:
                    if reason not in prev.stop.reasons:
                        prev.stop.reasons.append(reason)
                return
        items.append(("visit", v))

    for row in rows:
        if row["ground"]:
            code = ground_airport.get(row["piece"])
            a = airport(code) if code else None
            how = "touch-and-go" if row["piece"] in touch else "ground"
            add_visit(_observed_visit(a, how, row["lat_mid"], row["lon_mid"], row["t0"], row["t1"]))
            continue
        climb = low_by_piece.get((row["piece"], "takeoff"))
        if climb is not None:
            add_visit(_observed_visit(airport(climb["airport"]), "low-climb", row["lat0"], row["lon0"], None, row["t0"]))
        row["touch"] = row["piece"] in tng
        items.append(("air", row))
        descent = low_by_piece.get((row["piece"], "landing"))
        if descent is not None:
            add_visit(_observed_visit(airport(descent["airport"]), "low-descent", row["lat1"], row["lon1"],
                                      row["t1"], None))
    return items


def _near(a: Visit, b: Visit) -> bool:
    if None in (a.lat, a.lon, b.lat, b.lon):
        return False
    return float(haversine_km(a.lat, a.lon, b.lat, b.lon)) < 3.0


def _came_from(leg: Leg | None) -> dict | None:
    """The airport a leg took off from (observed or inferred), if it is known."""
    return leg.origin.stop.airport if leg is not None and leg.origin is not None else None


def _walk(items: list[tuple[str, object]], ctx: Context) -> tuple[list[Leg], list[str]]:
    legs: list[Leg] = []
    notes: list[str] = []
    current: Leg | None = None
    last: tuple[str, object] | None = None

    def inferred_visit(stop: Stop, verdict_gap: dict) -> Visit:
        how = "inferred" if stop.airport is not None else "unknown"
        return Visit(stop, how, None, None, None, None, window=(verdict_gap["start"], verdict_gap["end"]))

    for kind, obj in items:
        if kind == "visit":
            v: Visit = obj  # type: ignore[assignment]
            if last is None:
                pass
            elif last[0] == "air":
                prev = last[1]
                assert current is not None
                seen = v.arrive or v.depart
                gap_s = (seen - prev["t1"]).total_seconds() if seen else 0.0
                if v.how in ("ground", "low-climb") and gap_s > GAP_S and v.stop.airport is not None:
                    verdict = infer_gap(_side(prev, True),
                                        Side(seen, v.stop.airport["latitude"], v.stop.airport["longitude"],
                                             airport=v.stop.airport, evidence=v.how), ctx=ctx,
                                        came_from=_came_from(current))
                    current.gaps.append(verdict.gap)
                    current.reasons += verdict.reasons
                    for stop in verdict.stops:
                        sv = inferred_visit(stop, verdict.gap)
                        current.destination = sv
                        legs.append(current)
                        current = Leg(origin=sv, gaps=[verdict.gap])  # the gap spans every leg it hides
                if v.how in ("ground", "low-descent", "touch-and-go") and gap_s <= GAP_S:
                    current.landing = v.arrive
                current.destination = v
                legs.append(current)
                current = None
            else:
                pv: Visit = last[1]  # type: ignore[assignment]
                legs.append(Leg(origin=pv, destination=v, reasons=[
                    f"seen at {pv.icao or 'an unlisted site'} until {_iso(pv.depart or pv.arrive)} and at "
                    f"{v.icao or 'an unlisted site'} from {_iso(v.arrive or v.depart)}: flown between unobserved"]))
            last = (kind, v)
            continue
        row: dict = obj  # type: ignore[assignment]
        if current is None:
            if last is None:
                stop = infer_end(_side(row, False), outbound=False, ctx=ctx)
                origin = Visit(stop, "inferred" if stop.airport else "unknown", None, row["t0"])
                current = Leg(origin=origin)
            else:
                pv = last[1]  # type: ignore[assignment]
                gap_s = (row["t0"] - (pv.depart or pv.arrive)).total_seconds() if (pv.depart or pv.arrive) else 0.0
                origin = pv
                extra: list[Leg] = []
                if pv.how in ("ground", "low-descent") and gap_s > GAP_S and pv.stop.airport is not None:
                    verdict = infer_gap(Side(pv.depart or pv.arrive, pv.stop.airport["latitude"],
                                             pv.stop.airport["longitude"], airport=pv.stop.airport, evidence=pv.how),
                                        _side(row, False), ctx=ctx)
                    for stop in verdict.stops:
                        sv = inferred_visit(stop, verdict.gap)
                        extra.append(Leg(origin=origin, destination=sv, reasons=list(verdict.reasons),
                                         gaps=[verdict.gap]))
                        origin = sv
                    legs.extend(extra)
                    current = Leg(origin=origin, reasons=[] if extra else list(verdict.reasons),
                                  gaps=[verdict.gap])  # the gap spans every leg it hides
                else:
                    current = Leg(origin=origin)
                    if gap_s <= GAP_S or pv.how == "low-climb":
                        current.takeoff = row["t0"]
        elif last is not None and last[0] == "air":
            prev = last[1]
            verdict = infer_gap(_side(prev, True), _side(row, False), ctx=ctx, came_from=_came_from(current))
            current.gaps.append(verdict.gap)
            if verdict.through:
                current.reasons += [f"gap {_iso(verdict.gap['start'])}–{_iso(verdict.gap['end'])}: {r}"
                                    for r in verdict.reasons[-1:]]
            else:
                for stop in verdict.stops:
                    sv = inferred_visit(stop, verdict.gap)
                    current.destination = sv
                    current.reasons += verdict.reasons[:1]
                    legs.append(current)
                    current = Leg(origin=sv, gaps=[verdict.gap])  # the gap spans every leg it hides
        current.pieces.append(row["piece"])
        last = ("air", row)
    if current is not None and last is not None and last[0] == "air":
        stop = infer_end(_side(last[1], True), outbound=True, ctx=ctx)
        current.destination = Visit(stop, "inferred" if stop.airport else "unknown", last[1]["t1"], None)
        legs.append(current)
    return legs, notes
