"""Where did this aircraft go: pieces → visits and gaps → legs, each end labelled for what it is.

`build_itinerary` walks one aircraft's pieces in time order (a few hundred at most, so a
Python loop here is fine; everything per point is vectorised in `flights`/`landings`):
- a ground piece, or a climb/descent that starts/ends low near an airport, is a *visit*
  (observed); consecutive visits at one airport merge (parked for days is one visit);
- between two airborne pieces, `stops.infer_gap` decides flown-through or landed, and where;
- a track that starts or ends mid-air gets its origin/destination from `stops.infer_end`.
Legs run between consecutive visits/stops. Each keeps its point range, gaps and reasons; a gap
that hides inferred stops is listed on every leg it spans (before, between and after the stops).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np
import polars as pl

from tailwatch.geo.geodesy import haversine_km
from tailwatch.itinerary.flights import GAP_S, pieces
from tailwatch.itinerary.landings import GROUND_AIRPORT_KM, LOW_AGL_FT, LOW_KM, airports_at, events_from_pieces
from tailwatch.itinerary.candidates import Context
from tailwatch.itinerary.gaps import infer_gap
from tailwatch.itinerary.sides import Side
from tailwatch.itinerary.stops import Stop, infer_end
from tailwatch.itinerary.timing import DEFAULT_CRUISE_KT

SCHEMA = "tailwatch.itinerary/1"
OBSERVED_HOW = ("ground", "touch-and-go", "low-descent", "low-climb")


@dataclass
class Visit:
    """The aircraft at (or, inferred, landing at) one place between two legs."""

    stop: Stop
    how: str  # ground | low-descent | low-climb | touch-and-go | inferred | unknown | data start/end
    arrive: datetime | None = None
    depart: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    window: tuple[datetime | None, datetime | None] | None = None  # a gap's bounds, for a stop inside one

    @property
    def icao(self) -> str | None:
        return self.stop.airport["icao"] if self.stop.airport else None

    def side(self) -> Side:
        a = self.stop.airport
        return Side(time=self.depart or self.arrive, lat=a["latitude"], lon=a["longitude"], airport=a,
                    evidence=self.how)

    def to_json(self) -> dict:
        return {
            "airport": _airport_json(self.stop.airport),
            "arrival": _iso(self.arrive),
            "departure": _iso(self.depart),
            # when it could have been there: seen there, or the bounds of the gap it fell in
            "window_start": _iso(self.window[0] if self.window else self.arrive),
            "window_end": _iso(self.window[1] if self.window else self.depart),
            "evidence": self.stop.evidence,
            "how": self.how,
            "confidence": self.stop.confidence,
            "score": self.stop.score,
            "runner_up_score": self.stop.runner_up_score,
            "reasons": list(self.stop.reasons),
            "alternatives": [c.to_json() for c in self.stop.alternatives],
        }


@dataclass
class Leg:
    origin: Visit | None = None
    destination: Visit | None = None
    pieces: list[int] = field(default_factory=list)
    gaps: list[dict] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    takeoff: datetime | None = None
    landing: datetime | None = None


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _airport_json(a: dict | None) -> dict | None:
    if a is None:
        return None
    return {"icao": a["icao"], "iata": a.get("iata"), "name": a["name"], "country": a["country"],
            "latitude": a["latitude"], "longitude": a["longitude"]}


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


def _items(table: pl.DataFrame, events: pl.DataFrame) -> list[tuple[str, object]]:
    """Time-ordered visits and airborne pieces, consecutive visits at one airport merged."""
    from tailwatch.geo.airports import airport

    ground = table.filter(pl.col("ground"))
    at = airports_at(ground["lat_mid"].to_numpy(), ground["lon_mid"].to_numpy(), GROUND_AIRPORT_KM)
    ground_airport = dict(zip(ground["piece"].to_list(), at["icao"].to_list()))
    low = events.filter(pl.col("evidence").is_in(["low-climb", "low-descent"]))
    low_by_piece = {(r["piece"], r["kind"]): r for r in low.iter_rows(named=True)}
    tng = set(events.filter(pl.col("evidence") == "touch-and-go")["piece"].to_list())
    # the ground piece between a touch-and-go landing and its take-off
    touch = set(events.filter((pl.col("evidence") == "touch-and-go") & (pl.col("kind") == "landing"))
                ["piece"].to_list())
    touch = {p + 1 for p in touch}
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

    for row in table.iter_rows(named=True):
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


class Itinerary:
    """One aircraft's legs, stops and the points behind them (`points` has a `leg` column)."""

    def __init__(self, aircraft: dict, legs: list[Leg], points: pl.DataFrame, notes: list[str],
                 type_info: dict) -> None:
        self.aircraft = aircraft
        self.legs = legs
        self.points = points
        self.notes = notes
        self.type_info = type_info
        self.registrations: dict[int, str] = {}  # leg index → registration, when the address changed hands

    def __repr__(self) -> str:
        codes = [c or "?" for c in self.to_json()["route"]["airports"]]
        return f"Itinerary({self.aircraft.get('icao24')}: {len(self.legs)} legs, {' → '.join(codes)})"

    def _leg_points(self, i: int) -> pl.DataFrame:
        return self.points.filter(pl.col("leg") == i)

    def leg_json(self, i: int) -> dict:
        leg = self.legs[i]
        pts = self._leg_points(i)
        lat = pts["latitude"].to_numpy()
        lon = pts["longitude"].to_numpy()
        o = leg.origin.stop if leg.origin else None
        d = leg.destination.stop if leg.destination else None
        o_air = o.airport if o else None
        d_air = d.airport if d else None
        start = (o_air["latitude"], o_air["longitude"]) if o_air else ((lat[0], lon[0]) if lat.size else None)
        end = (d_air["latitude"], d_air["longitude"]) if d_air else ((lat[-1], lon[-1]) if lat.size else None)
        gc = float(haversine_km(*start, *end)) if start and end else 0.0
        flown = float(np.nansum(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]))) if lat.size > 1 else 0.0
        if lat.size:
            if o_air:
                flown += float(haversine_km(o_air["latitude"], o_air["longitude"], lat[0], lon[0]))
            if d_air:
                flown += float(haversine_km(lat[-1], lon[-1], d_air["latitude"], d_air["longitude"]))
        else:
            flown = gc
        conf = min(o.confidence if o else 0.0, d.confidence if d else 0.0)
        alternatives = [dict(c.to_json(), end="origin") for c in (o.alternatives if o else [])] + [
            dict(c.to_json(), end="destination") for c in (d.alternatives if d else [])]
        reasons = []
        if leg.origin:
            reasons += [f"origin: {r}" for r in leg.origin.stop.reasons]
        if leg.destination:
            reasons += [f"destination: {r}" for r in leg.destination.stop.reasons]
        reasons += leg.reasons
        times = pts["timestamp"]
        return {
            "origin": _short(o_air),
            "destination": _short(d_air),
            "takeoff": _iso(leg.takeoff),
            "landing": _iso(leg.landing),
            "origin_evidence": o.evidence if o else "unknown",
            "destination_evidence": d.evidence if d else "unknown",
            "confidence": round(float(conf), 2),
            "great_circle_km": round(gc, 1),
            "flown_km": round(flown, 1),
            "countries": [],
            "banned_countries": [],
            "max_payload_t": None,
            "origin_how": leg.origin.how if leg.origin else "data start",
            "destination_how": leg.destination.how if leg.destination else "data end",
            "first_point": _iso(times.min()) if pts.height else None,
            "last_point": _iso(times.max()) if pts.height else None,
            "n_points": pts.height,
            "callsigns": pts["callsign"].drop_nulls().unique(maintain_order=True).to_list() if pts.height else [],
            "reasons": reasons,
            "alternatives": alternatives,
            "gaps": [dict(g, start=_iso(g["start"]), end=_iso(g["end"])) for g in leg.gaps],
            **({"registration": self.registrations[i]} if i in self.registrations else {}),
        }

    def stops(self) -> list[dict]:
        """Every place between legs, in order, with its evidence (observed/inferred/unknown)."""
        out = []
        for i, leg in enumerate(self.legs):
            if i == 0 and leg.origin is not None:
                out.append(leg.origin.to_json())
            if leg.destination is not None:
                out.append(leg.destination.to_json())
        return out

    def to_json(self) -> dict:
        legs = [self.leg_json(i) for i in range(len(self.legs))]
        codes: list[str | None] = []
        if legs:
            codes.append(legs[0]["origin"]["icao"] if legs[0]["origin"] else None)
            codes += [leg["destination"]["icao"] if leg["destination"] else None for leg in legs]
        direct = 0.0
        if legs:
            first = self.legs[0].origin.stop.airport if self.legs[0].origin else None
            last = self.legs[-1].destination.stop.airport if self.legs[-1].destination else None
            air = self.points.filter(pl.col("leg").is_not_null())
            start = (first["latitude"], first["longitude"]) if first else (
                (air["latitude"][0], air["longitude"][0]) if air.height else None)
            end = (last["latitude"], last["longitude"]) if last else (
                (air["latitude"][-1], air["longitude"][-1]) if air.height else None)
            if start and end:
                direct = float(haversine_km(*start, *end))
        return {
            "schema": SCHEMA,
            "aircraft": self.aircraft,
            "legs": legs,
            "route": {
                "airports": codes,
                "direct_km": round(direct, 1),
                "flown_km": round(sum(leg["flown_km"] for leg in legs), 1),
                "legal_shortest_km": None,
            },
            "stops": self.stops(),
            "type": self.type_info,
            "notes": self.notes,
            "observed_points": self.points.height,
            # every point from the simulator: each report carries the simulated banner
            **({"simulated": True} if self._simulated() else {}),
        }

    def _simulated(self) -> bool:
        src = self.points.get_column("source", default=None)
        return bool(src is not None and src.len() and src.null_count() == 0 and src.str.starts_with("simulated").all())


def _short(a: dict | None) -> dict | None:
    return None if a is None else {"icao": a["icao"], "name": a["name"], "country": a["country"]}


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
                    used_airports: dict[str, int] | None = None) -> Itinerary:
    """The itinerary of ONE aircraft from its canonical points (any order, any source).

    `typecode` (or `aircraft["typecode"]`) selects cruise speed and runway need from the
    airlift type table; without one, a default cruise of 480 kt and no runway filter apply.
    `used_airports` (icao → days seen there, `history.airports_used` over the aircraft's or its
    operator's earlier points) is the history prior for unseen stops; the airports these points
    themselves show it at count too. The operator's country (`aircraft["country"]`, else the
    address block's) decides which jurisdictions' airports an unseen stop cannot be in.
    """
    icaos = points["icao24"].unique().to_list() if points.height else []
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
    cut, table = pieces(points)
    events = events_from_pieces(table)
    items = _items(table, events)
    ident = _aircraft_obj(aircraft, icao24, typecode)
    ctx = _context(items, cruise_kt, min_runway_ft, used_airports, ident.get("country"),
                   points["timestamp"].min() if points.height else None, max_leg_km)
    legs, notes = _walk(items, ctx)
    if not legs:
        notes += [f"no flight: on the ground at {v.icao or 'an unlisted site'} from {_iso(v.arrive)} to {_iso(v.depart)}"
                  for kind, v in items if kind == "visit"]
    piece_leg: dict[int, int] = {p: i for i, leg in enumerate(legs) for p in leg.pieces}
    mapping = pl.DataFrame({"piece": list(piece_leg), "leg": list(piece_leg.values())},
                           schema={"piece": pl.Int64, "leg": pl.Int64})
    frame = cut.join(mapping, on="piece", how="left").drop("dt_prev")
    itin = Itinerary(ident, legs, frame, notes, type_info)
    itin.registrations = _registrations(legs, aircraft, notes)
    return itin


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
