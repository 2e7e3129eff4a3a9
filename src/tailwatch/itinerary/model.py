"""An itinerary as data: visits (the aircraft at a place between legs), legs between them, and
the JSON every report reads (`tailwatch.itinerary/1`, ../shared/DESIGN.md). Each leg keeps its
point range, gaps and reasons, so every figure can be traced back to rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from tailwatch.geo.geodesy import haversine_in_place, haversine_km
from tailwatch.itinerary.detour import leg_detour, route_distances
from tailwatch.itinerary.sides import Side
from tailwatch.itinerary.stops import Stop

SCHEMA = "tailwatch.itinerary/1"
OBSERVED_HOW = ("ground", "touch-and-go", "low-descent", "low-climb")
TIME_ASSUMED_NOTE = "times assumed from the recording file's time, not in the data"


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
    trip: int = 0  # which trip (trips.py: the track split at silences over 48 h) the leg belongs to


def _iso(t: datetime | None) -> str | None:
    """`t.strftime("%Y-%m-%dT%H:%M:%SZ")`: its wall time to the second with a Z (a document's tens of
    thousands of times: `isoformat` writes the same digits for a four-digit year at a fraction of
    the cost)."""
    if t is None:
        return None
    if t.year >= 1000:
        return t.isoformat(timespec="seconds")[:19] + "Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _airport_json(a: dict | None) -> dict | None:
    if a is None:
        return None
    return {"icao": a["icao"], "iata": a.get("iata"), "name": a["name"], "country": a["country"],
            "latitude": a["latitude"], "longitude": a["longitude"]}


def _short(a: dict | None) -> dict | None:
    return None if a is None else {"icao": a["icao"], "name": a["name"], "country": a["country"]}


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
        self.trips: list[dict] = []  # per trip: its first and last point (trips.py)
        self.untracked: list[dict] = []  # the silences over the bound between trips (trips.untracked_entry)

    def __repr__(self) -> str:
        codes = [c or "?" for c in self.to_json()["route"]["airports"]]
        return f"Itinerary({self.aircraft.get('icao24')}: {len(self.legs)} legs, {' → '.join(codes)})"

    def _leg_points(self, i: int) -> pl.DataFrame:
        return self.points.filter(pl.col("leg") == i)

    def leg_json(self, i: int, figures: LegFigures | None = None) -> dict:
        """Leg i as JSON (`figures`: its point figures, when the caller worked out every leg's at once)."""
        leg = self.legs[i]
        fig = figures if figures is not None else leg_figures(self._leg_points(i)).get(i, NO_POINTS)
        o = leg.origin.stop if leg.origin else None
        d = leg.destination.stop if leg.destination else None
        o_air = o.airport if o else None
        d_air = d.airport if d else None
        # the ends' distances stay one scalar call each: NumPy's scalar path may differ from its
        # array path in the last bit, and these are the figures every document printed so far
        start = (o_air["latitude"], o_air["longitude"]) if o_air else ((fig.lat0, fig.lon0) if fig.n else None)
        end = (d_air["latitude"], d_air["longitude"]) if d_air else ((fig.lat1, fig.lon1) if fig.n else None)
        gc = float(haversine_km(*start, *end)) if start and end else 0.0
        flown = fig.hops_km
        if fig.n:
            if o_air:
                flown += float(haversine_km(o_air["latitude"], o_air["longitude"], fig.lat0, fig.lon0))
            if d_air:
                flown += float(haversine_km(fig.lat1, fig.lon1, d_air["latitude"], d_air["longitude"]))
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
        detour_km, detour_pct = leg_detour(gc, flown)
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
            "first_point": _iso(fig.first),
            "last_point": _iso(fig.last),
            "n_points": fig.n,
            "callsigns": list(fig.callsigns),
            "reasons": reasons,
            "alternatives": alternatives,
            "gaps": [dict(g, start=_iso(g["start"]), end=_iso(g["end"])) for g in leg.gaps],
            "trip": leg.trip,
            "both_ends_known": bool(o_air and d_air),
            "detour_km": detour_km,  # flown against this leg's own great circle
            "detour_pct": detour_pct,
            "position_sources": dict(fig.sources),
            "time_assumed": fig.assumed > 0,
            **({"registration": self.registrations[i]} if i in self.registrations else {}),
        }

    def stops(self) -> list[dict]:
        """Every place between legs, in order, with its evidence (observed/inferred/unknown)."""
        out = []
        for i, leg in enumerate(self.legs):
            # the first leg of each trip adds its origin: nothing joins it to the trip before
            if (i == 0 or leg.trip != self.legs[i - 1].trip) and leg.origin is not None:
                out.append(leg.origin.to_json())
            if leg.destination is not None:
                out.append(leg.destination.to_json())
        return out

    def to_json(self, figures: dict[int, LegFigures] | None = None) -> dict:
        """The document (`figures`: its legs' `leg_figures`, when its batch worked them out at once)."""
        if figures is None:
            figures = leg_figures(self.points)  # every leg's point figures in one pass over the points
        legs = [self.leg_json(i, figures.get(i, NO_POINTS)) for i in range(len(self.legs))]
        return {
            "schema": SCHEMA,
            "aircraft": self.aircraft,
            "legs": legs,
            "route": {
                "airports": route_airports(legs),
                **route_distances(legs),  # direct_km, flown_km: the legs with both ends known
                "legal_shortest_km": None,
                "trips": self._trips_json(legs),
            },
            "stops": self.stops(),
            "untracked": list(self.untracked),
            "type": self.type_info,
            "notes": self.notes,
            "observed_points": self.points.height,
            # every point from the simulator: each report carries the simulated banner
            **({"simulated": True} if self._simulated() else {}),
            **({"time_assumed": True} if time_assumed_count(self.points) else {}),
        }

    def _trips_json(self, legs: list[dict]) -> list[dict]:
        """Per trip: its time span, its legs (indices) and its airports in order."""
        out = []
        for k, span in enumerate(self.trips or [{"start": None, "end": None}]):
            mine = [i for i, leg in enumerate(legs) if leg["trip"] == k]
            out.append({"trip": k, "start": span.get("start"), "end": span.get("end"), "legs": mine,
                        "airports": route_airports([legs[i] for i in mine])})
        return out

    def _simulated(self) -> bool:
        src = self.points.get_column("source", default=None)
        if src is None or src.len() == 0 or src.null_count() or src.dtype != pl.String:
            return bool(src is not None and src.len() and src.null_count() == 0
                        and src.str.starts_with("simulated").all())
        # every string starts with "simulated" exactly when all lie in ["simulated", "simulatee"):
        # the least and the greatest say it (string order is code point order), without a query
        return "simulated" <= src.min() and src.max() < "simulatee"


@dataclass(frozen=True)
class LegFigures:
    """What a leg's JSON says about its own points: how many, their first and last time and
    position, callsigns in order of appearance, the sum of the hops between consecutive points
    (km), how many have an assumed time, and how the positions were obtained."""

    n: int = 0
    first: datetime | None = None
    last: datetime | None = None
    callsigns: tuple[str, ...] = ()
    hops_km: float = 0.0
    lat0: float | None = None
    lon0: float | None = None
    lat1: float | None = None
    lon1: float | None = None
    assumed: int = 0
    sources: tuple[tuple[str, int], ...] = ()


NO_POINTS = LegFigures()


def leg_figures(points: pl.DataFrame) -> dict[int, LegFigures]:
    """`LegFigures` of every leg of an itinerary's points (`leg` column; rows in time order within a
    leg): `leg_figures_many` with one itinerary."""
    return leg_figures_many([points])[0]


_FIGURE_COLUMNS = ("leg", "latitude", "longitude", "timestamp", "callsign")


def leg_figures_many(frames: list[pl.DataFrame]) -> list[dict[int, LegFigures]]:
    """`LegFigures` of every leg of many itineraries' points (each with a `leg` column; rows in
    time order within a leg), one dict per frame, from one group-by and one array of hop
    distances over all of them.

    Why this way: a document used to cut its points per leg and ask each slice a dozen Polars
    questions, and then asked the same questions once per itinerary, which for a batch of hundreds
    of aircraft was hundreds of query plans. The figures are the same numbers: frames are laid end
    to end (`_k` their number) and grouped by (frame, leg), so each leg's rows, their order and
    their aggregates are its own; its hops are the elements of the one array between its own rows
    (element-wise, so the same bits), summed per leg by the same `np.nansum`. Frames whose columns
    differ in kind are grouped apart (a concatenation needs one schema)."""
    out: list[dict[int, LegFigures]] = [{} for _ in frames]
    kinds: dict[tuple, list[int]] = {}
    for k, points in enumerate(frames):
        if points.height and "leg" in points.columns:
            types = points.schema  # built anew by each call: asked once
            extra = tuple(c for c in ("time_assumed", "position_source") if c in types)
            schema = tuple(types[c] for c in (*_FIGURE_COLUMNS, *extra))
            kinds.setdefault((extra, schema), []).append(k)
    for (extra, _), members in kinds.items():
        # the columns taken as they are (each eager `select` is a query plan of its own)
        parts = [pl.DataFrame([*(frames[k].get_column(c) for c in (*_FIGURE_COLUMNS, *extra)),
                               pl.Series("_k", np.full(frames[k].height, k, np.int64))]) for k in members]
        rows = pl.concat(parts, how="vertical", rechunk=True) if len(parts) > 1 else parts[0]
        if rows["leg"].null_count():
            rows = rows.filter(rows["leg"].is_not_null())
        if rows.height == 0:
            continue
        leg_at, k_at = rows["leg"].to_numpy(), rows["_k"].to_numpy()
        if ((np.diff(leg_at) < 0) & (k_at[1:] == k_at[:-1])).any():  # legs numbered in time order need no sort
            rows = rows.sort("_k", "leg", maintain_order=True)  # stable: time order kept
        aggs = [pl.len().alias("n"), pl.col("timestamp").min().alias("first"),
                pl.col("timestamp").max().alias("last"),
                pl.col("callsign").drop_nulls().unique(maintain_order=True).alias("callsigns")]
        if "time_assumed" in extra:
            aggs.append(pl.col("time_assumed").cast(pl.Boolean).sum().alias("assumed"))
        if "position_source" in extra:
            aggs.append(pl.col("position_source").count().alias("sourced"))  # non-null
        per = rows.group_by("_k", "leg", maintain_order=True).agg(aggs)
        lat = rows["latitude"].to_numpy()
        lon = rows["longitude"].to_numpy()
        # each hop's km (`_hops_km`: haversine_km's bits), NaN (no position) as 0 for the sums: what
        # np.nansum does to each leg's slice before it sums it the same way
        hops = _hops_km(lat, lon) if rows.height > 1 else np.zeros(0)
        hops[np.isnan(hops)] = 0.0
        owners, legs, counts = per["_k"].to_list(), per["leg"].to_list(), per["n"].to_list()
        firsts, lasts, calls = per["first"].to_list(), per["last"].to_list(), per["callsigns"].to_list()
        assumed = per["assumed"].to_list() if "assumed" in per.columns else [0] * per.height
        sourced = per["sourced"].to_list() if "sourced" in per.columns else [0] * per.height
        s = 0
        for j, leg in enumerate(legs):
            n = counts[j]
            e = s + n
            out[owners[j]][leg] = LegFigures(
                n=n, first=firsts[j], last=lasts[j], callsigns=tuple(calls[j]),
                hops_km=float(hops[s:e - 1].sum()) if n > 1 else 0.0,
                lat0=lat[s], lon0=lon[s], lat1=lat[e - 1], lon1=lon[e - 1], assumed=int(assumed[j] or 0),
                # the few legs that say how they were positioned: counted as `position_sources` counts
                sources=tuple(position_sources(rows.slice(s, n)).items()) if sourced[j] else ())
            s = e
    return out


def _hops_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """`haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])`, step for step (the same bits), with each
    point's radians and cosine worked out once instead of once per hop end."""
    p = np.radians(lat)
    cos_p = np.cos(p)
    dlmb = np.radians(np.asarray(lon[1:], dtype=float) - np.asarray(lon[:-1], dtype=float))
    dlmb /= 2
    return haversine_in_place(p[1:] - p[:-1], cos_p[:-1] * cos_p[1:], dlmb)


def route_airports(legs: list[dict]) -> list[str | None]:
    """ICAO codes along the legs (None for an unknown end): each trip's first origin, then every
    leg's destination. A new trip adds its own origin, since nothing joins it to the last trip."""
    codes: list[str | None] = []
    for i, leg in enumerate(legs):
        if i == 0 or leg.get("trip", 0) != legs[i - 1].get("trip", 0):
            codes.append(leg["origin"]["icao"] if leg["origin"] else None)
        codes.append(leg["destination"]["icao"] if leg["destination"] else None)
    return codes


def position_sources(points: pl.DataFrame) -> dict[str, int]:
    """How the positions were obtained (`position_source` extension column): counts per source,
    nulls (the source does not say) not counted; {} when no point says."""
    col = points.get_column("position_source", default=None)
    if col is None or col.len() == 0 or col.null_count() == col.len():
        return {}
    counts = col.drop_nulls().value_counts()
    # most first, a tie by name: value_counts alone leaves tied counts in whatever order its threads
    # finished, so the same points could print their sources in two orders
    counts = counts.sort([counts.columns[1], counts.columns[0]], descending=[True, False])
    return {str(k): int(n) for k, n in counts.iter_rows()}


def time_assumed_count(points: pl.DataFrame) -> int:
    """How many points carry `time_assumed = true`: their time was not in the data."""
    col = points.get_column("time_assumed", default=None)
    # a Boolean sum skips nulls (not known to be assumed); a column of nulls only sums to None
    return 0 if col is None else int(col.sum() or 0)
