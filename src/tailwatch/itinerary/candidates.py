"""The airports an unseen stop could be at, what is known of them beyond the track, and when
the best of them may be named.

Geometry weighs first, history second. A candidate's score is its fit to the track (both
sides, `sides.side_fit`) × airport size and service × legality; the aircraft's history (days it
or its fleet was seen there, `itinerary/history.py`) multiplies in only among candidates that
geometry cannot tell apart: ones whose path through the gap is within HISTORY_TIE_DETOUR of
the geometric best's and a fit within HISTORY_TIE_SHARE of it (`tie_band`), or, for one side of a
gap, within CITY_KM of its best and as close in fit (`city_band`). Habit breaks ties; it never
carries an airport that needs a real detour over one on the line, nor one the track fits worse.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from tailwatch.geo.airports import airports, usable_mask
from tailwatch.geo.geodesy import EARTH_RADIUS_KM, bearing_from, km_from, lat_trig, to_unit_vectors

SIZE_WEIGHT = {"large": 1.0, "medium": 0.7, "unknown": 0.5, "small": 0.25}
# an airport without scheduled service (air bases, private fields) is a less likely unseen stop;
# null: the sources do not say
SCHEDULED_WEIGHT = {True: 1.0, False: 0.4, None: 0.8}
# the history prior: an airport used on HISTORY_FULL_DAYS or more days scores 1 + HISTORY_BOOST
# times more, but only inside the tie band below (freighters fly circuits, so among places the
# track fits alike the one it used is likelier; outside the band it multiplies nothing)
HISTORY_BOOST = 4.0
HISTORY_FULL_DAYS = 3
# the tie band: a path through the gap at most 5 % (or 50 km) longer than the geometric best's,
# and a geometric score at least 90 % of it. The seed trip's Caracas → Sahara gap: via
# Nouakchott ≈ 5,300 km (on the line), via Dakar ≈ 5,850 km (+10 %): outside the band, so
# Dakar's history cannot outweigh the line; where the sides make Dakar's path only 5 % longer,
# the tracks still fit Nouakchott 1.24 times better: outside the band too.
HISTORY_TIE_DETOUR = 0.05
HISTORY_TIE_KM = 50.0
HISTORY_TIE_SHARE = 0.9
SAME_PLACE_KM = 2.0  # two codes this close are one place (a runner-up there is no rival)
CITY_KM = 150.0  # the history prior may choose among airports this close; farther apart, geometry must
ACCEPT_SCORE = 0.08  # below this fit the stop is reported unknown
AMBIGUOUS = 0.75  # a runner-up scoring more than this share of the best: "unknown, candidates A/B/C"


@dataclass(frozen=True)
class Context:
    """What the inference knows beyond the points: the type's speed, runway need and range with a
    plausible payload, the airports the aircraft (or its operator) used before, and the
    jurisdictions barred to its operator."""

    cruise_kt: float | None = None
    min_runway_ft: float | None = None
    used: tuple[tuple[str, int], ...] = ()  # (icao, days seen there), from `history.airports_used`
    banned: frozenset[str] = frozenset()
    max_leg_km: float | None = None  # the longest leg the type flies with a light payload (None: unknown)

    @classmethod
    def of(cls, cruise_kt=None, min_runway_ft=None, used: dict[str, int] | None = None,
           banned=(), max_leg_km: float | None = None) -> "Context":
        return cls(cruise_kt, min_runway_ft, tuple(sorted((used or {}).items())), frozenset(banned), max_leg_km)


@dataclass
class Candidate:
    airport: dict
    score: float

    def to_json(self) -> dict:
        a = self.airport
        return {"icao": a["icao"], "name": a["name"], "country": a["country"], "score": round(self.score, 3)}


@lru_cache(maxsize=8)
def candidate_airports(min_runway_ft: float | None) -> dict[str, np.ndarray]:
    """Arrays of the airports a type can use, for vectorised scoring."""
    frame = airports()
    usable = frame.filter(usable_mask(frame, min_runway_ft))
    if min_runway_ft is not None:  # a transport type needs that length on a hard runway, where the surface is known
        paved = pl.col("longest_paved_runway_ft")
        usable = usable.filter(paved.is_null() | (paved >= min_runway_ft))
    scheduled = usable["scheduled_service"].to_list()
    lat, lon = usable["latitude"].to_numpy(), usable["longitude"].to_numpy()
    elev = usable["elevation_ft"].fill_null(0.0).to_numpy()
    return {
        "lat": lat,
        "lon": lon,
        "elev": elev,
        "weight": usable["kind"].replace_strict(SIZE_WEIGHT, default=0.25, return_dtype=pl.Float64).to_numpy()
        * np.array([SCHEDULED_WEIGHT[v] for v in scheduled]),
        "country": usable["country"].fill_null("").to_numpy(),
        "index": {code: i for i, code in enumerate(usable["icao"].to_list())},
        "rows": usable,
        # for `subset`: unit vectors (the reach bounds of `sides.fit_bound` are dot products)
        "xyz": np.ascontiguousarray(to_unit_vectors(lat, lon).T),
        # for `to_candidates`: the latitudes' radians, cosines and sines, worked out once, not per point
        "trig": lat_trig(lat),
        "row_objs": {},  # for `airport_row`: airport dicts by row, shared with the table's subsets
        "elev_min": float(elev.min()) if elev.size else 0.0,
        "at": None,  # a subset's positions in `rows` (None: every row, in order)
        "bound": None,  # a subset's bound on the fits of the candidates left out (None: none left out)
    }


class Inexact(Exception):
    """A subset of the candidates cannot prove what scoring all of them would answer."""


class _SubIndex:
    """icao → position in a subset, through the full table's index (built in O(1) per subset)."""

    def __init__(self, index: dict[str, int], at: np.ndarray):
        self._index, self._at = index, at

    def get(self, code: str, default=None):
        i = self._index.get(code)
        if i is None:
            return default
        j = int(np.searchsorted(self._at, i))
        return j if j < self._at.size and self._at[j] == i else default

    def __contains__(self, code: str) -> bool:
        return self.get(code) is not None

    def __getitem__(self, code: str) -> int:
        j = self.get(code)
        if j is None:
            raise KeyError(code)
        return j


def subset(cand: dict, at: np.ndarray, bound: float | None) -> dict:
    """The candidates at the sorted positions `at` of `cand` (all airports, or a subset), for a
    gap whose answer only the best-fitting ones decide. `bound`: every candidate left out scores
    below it, history prior included (it fits the side(s) below it, `sides.fit_bound`, and the
    airports of the prior are kept; None: the subset is only read where it is whole).
    The per-candidate arrays are the full table's, element for element, so every score is bit
    for bit the one scoring all airports gives; what depends on the ones left out (a maximum, a
    ranking) is checked against `bound` where it is read (`top`, `rival`, `far_rival`,
    `city_band`, `tie_band`, `check_max`), which raise `Inexact` when it cannot be proven."""
    full_at = at if cand["at"] is None else cand["at"][at]
    sub = {k: cand[k][at] for k in ("lat", "lon", "elev", "weight", "country")}
    sub["trig"] = tuple(v[at] for v in _trig(cand))
    full_index = cand.get("full_index", cand["index"])
    sub.update(index=_SubIndex(full_index, full_at), full_index=full_index, rows=cand["rows"], at=full_at,
               row_objs=cand.get("row_objs"),
               bound=None if bound is None else float(bound), elev_min=cand["elev_min"])
    return sub


def _left_out(cand: dict) -> float | None:
    """The most a candidate left out of a subset can score (None: none left out)."""
    return cand.get("bound")


def airport_row(cand: dict, i: int) -> dict:
    """The airport of candidate `i` (a position in `cand`, a subset or all airports)."""
    at = cand.get("at")
    row = int(i) if at is None else int(at[i])
    kept = cand.get("row_objs")  # a named Polars row costs ~10 µs, and a batch reads the same few often
    if kept is None:
        return airport_obj(cand["rows"].row(row, named=True))
    obj = kept.get(row)
    if obj is None:
        obj = kept[row] = airport_obj(cand["rows"].row(row, named=True))
    return dict(obj)  # a copy: a stop's airport is its own


def _top_of_all(score: np.ndarray, k: int) -> np.ndarray:
    """`np.argsort(-score)[:k]` without sorting every airport: the `k + 1` best found by a partition
    and sorted alone. When their scores fall strictly (no tie, no NaN), the `k` best and their order
    are the only ones any sort can give, so this is that answer; otherwise (ties, whose order is the
    sort's own) the full sort gives it."""
    if 0 < k < score.size - 1:
        neg = -score
        part = np.argpartition(neg, k)[: k + 1]
        order = part[np.argsort(neg[part])]
        v = score[order]
        if (v[:-1] > v[1:]).all():
            return order[:k]
    return np.argsort(-score)[:k]


def top(score: np.ndarray, k: int, cand: dict, exact_outside: bool = False) -> np.ndarray:
    """Positions of the `k` best scores, best first: `np.argsort(-score)[:k]` over all airports.
    In a subset, the same positions when the `k` best are all in it and their order is unique
    (no tie among positive scores); `exact_outside`: the scores left out are exactly 0 (an
    airport side), so only ties matter."""
    out = _left_out(cand)
    if out is None:
        return _top_of_all(score, k)
    if score.size > k + 1:
        part = np.argpartition(-score, k)[: k + 1]
        order = part[np.argsort(-score[part])]
    else:
        order = np.argsort(-score)
    v = score[order]
    if np.any((v[:-1] == v[1:]) & (v[:-1] > 0)):
        raise Inexact("tied scores")
    best = order[:k]
    if not exact_outside and (best.size < k or v[best.size - 1] <= out):
        raise Inexact("the best scores may lie outside the subset")
    return best


_TO_CANDIDATES: dict[tuple[float, float, int], list] = {}  # (lat, lon, id) → [cand, km, bearing or None, dlon]
_KEPT = 16  # a gap asks about its two sides and its best candidates, over and over: the last few are enough
_TO_CANDIDATES_LOCK = threading.Lock()  # the web server builds itineraries on several threads


def _trig(cand: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates' `lat_trig` (kept in the table; a table built by hand gets it on first use)."""
    trig = cand.get("trig")
    if trig is None:
        trig = cand["trig"] = lat_trig(cand["lat"])
    return trig


def to_candidates(lat: float, lon: float, cand: dict[str, np.ndarray], bearing: bool = False
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """(great-circle km, initial bearing when asked) from one point to every candidate airport.
    A gap's inference asks this for its two sides from several tests (the sides' fits, the turn
    test, the time budget, the rivals of the best); each array over the tens of thousands of
    candidates is worked out once per point and kept, read-only, for the last few points."""
    key = (float(lat), float(lon), id(cand))
    with _TO_CANDIDATES_LOCK:
        entry = _TO_CANDIDATES.get(key)
    if entry is None or entry[0] is not cand:
        km, dlon = km_from(lat, lon, cand["lon"], _trig(cand))
        km.flags.writeable = False
        entry = [cand, km, None, dlon]
        with _TO_CANDIDATES_LOCK:
            if len(_TO_CANDIDATES) >= _KEPT:
                _TO_CANDIDATES.pop(next(iter(_TO_CANDIDATES)))
            _TO_CANDIDATES[key] = entry
    found = entry[2]
    if bearing and found is None:
        found = bearing_from(lat, entry[3], _trig(cand))
        found.flags.writeable = False
        entry[2] = found
    return entry[1], found


_NEAR: dict[tuple[float, float, int], list] = {}  # (lat, lon, id) → [cand, km]: `near_best`, the last few


def near_best(cand: dict, best: int) -> np.ndarray:
    """km from candidate `best` to every candidate, where it may be CITY_KM or less; inf where it
    cannot. The distances from a best candidate are only read against SAME_PLACE_KM and CITY_KM
    (`city_band`, `rival`, `far_rival`), and a great circle is at least R × the latitudes'
    difference in radians, so only the candidates in that latitude band (a km of margin for
    rounding) are worked out, by `to_candidates`' formula (the same bits)."""
    lat, lon = cand["lat"][best], cand["lon"][best]
    key = (float(lat), float(lon), id(cand))
    with _TO_CANDIDATES_LOCK:
        entry = _NEAR.get(key)
    if entry is None or entry[0] is not cand:
        p, cos2, sin2 = _trig(cand)
        band = np.flatnonzero(np.abs(p - p[best]) <= (CITY_KM + 1.0) / EARTH_RADIUS_KM)
        km = np.full(p.size, np.inf)
        km[band] = km_from(lat, lon, cand["lon"][band], (p[band], cos2[band], sin2[band]))[0]
        km.flags.writeable = False
        entry = [cand, km]
        with _TO_CANDIDATES_LOCK:
            if len(_NEAR) >= _KEPT:
                _NEAR.pop(next(iter(_NEAR)))
            _NEAR[key] = entry
    return entry[1]


def history_factor(days: int) -> float:
    """How much more an airport scores for the days the aircraft (or its fleet) was seen there."""
    return 1.0 + HISTORY_BOOST * min(days, HISTORY_FULL_DAYS) / HISTORY_FULL_DAYS


def history_factors(cand: dict[str, np.ndarray], ctx: Context) -> np.ndarray:
    """Per candidate: the history prior's factor (1 where the aircraft was never seen)."""
    h = np.ones(cand["lat"].size)
    for code, days in ctx.used:
        i = cand["index"].get(code)
        if i is not None:
            h[i] = history_factor(days)
    return h


def base_weight(cand: dict[str, np.ndarray], ctx: Context, exclude: str | None = None) -> np.ndarray:
    """Per candidate, before history: airport size and service × legality (0 in a jurisdiction
    barred to the operator, and 0 for `exclude`, the airport just left when no turn back shows)."""
    w = cand["weight"].copy()
    if ctx.banned:
        w[np.isin(cand["country"], sorted(ctx.banned))] = 0.0
    if exclude is not None and exclude in cand["index"]:
        w[cand["index"][exclude]] = 0.0
    return w


def check_max(value: float, cand: dict) -> None:
    """In a subset: raise `Inexact` unless `value` (a maximum over the subset) beats every
    candidate left out."""
    out = _left_out(cand)
    if out is not None and value <= out:
        raise Inexact("the maximum may lie outside the subset")


def tie_band(path_km: np.ndarray, geo: np.ndarray, cand: dict | None = None) -> np.ndarray:
    """Candidates geometry cannot tell from its best: a path through the gap at most
    HISTORY_TIE_DETOUR (or HISTORY_TIE_KM) longer than the best-fitting candidate's, and a fit at
    least HISTORY_TIE_SHARE of its."""
    best = int(np.argmax(geo))
    if cand is not None:
        check_max(float(geo[best]), cand)
    if geo[best] <= 0:
        return np.zeros(geo.size, dtype=bool)
    limit = path_km[best] + max(HISTORY_TIE_DETOUR * path_km[best], HISTORY_TIE_KM)
    return (path_km <= limit) & (geo >= HISTORY_TIE_SHARE * geo[best])


def city_band(geo: np.ndarray, cand: dict[str, np.ndarray]) -> np.ndarray:
    """For one side of a gap: candidates within CITY_KM of the best-fitting one, fitting at least
    HISTORY_TIE_SHARE as well."""
    best = int(np.argmax(geo))
    check_max(float(geo[best]), cand)
    if geo[best] <= 0:
        return np.zeros(geo.size, dtype=bool)
    near = near_best(cand, best) <= CITY_KM
    return near & (geo >= HISTORY_TIE_SHARE * geo[best])


def with_history(geo: np.ndarray, band: np.ndarray, cand: dict[str, np.ndarray], ctx: Context) -> np.ndarray:
    """Geometric scores with the history prior multiplied in inside `band` only."""
    if not ctx.used:
        return geo
    return geo * np.where(band, history_factors(cand, ctx), 1.0)


def rival(score: np.ndarray, best: int, cand: dict[str, np.ndarray]) -> float:
    """The score of the best candidate that is another place than `best` (0 if there is none)."""
    if score[best] <= 0:
        return 0.0
    d = near_best(cand, best)
    second = float(max(np.where(d > SAME_PLACE_KM, score, 0.0).max(), 0.0))
    check_max(second, cand)
    return second


def far_rival(pure: np.ndarray, best: int, cand: dict[str, np.ndarray]) -> float:
    """Share of `best`'s geometric fit (before history) that its strongest rival reaches: any
    candidate farther than CITY_KM, or a neighbour that fits the track better.

    The history prior tells neighbouring airports apart (which of a city's fields it uses) when
    the track cannot; it must not choose between distant places that the track fits equally
    well (a cruise track with hours to spare fits every airport along it), nor overturn what
    the track says.

    Read only against AMBIGUOUS (`unclear`): in a subset whose far rival may be an airport left
    out (none kept beats the bound on those), the far share is that bound over the best's fit,
    an upper bound on the true share, returned where it is proven at most AMBIGUOUS (the same
    verdict as scoring every airport; otherwise `Inexact`)."""
    geo = pure * cand["weight"]  # with airport size and service: a big airport far away vs a strip on the line
    if geo[best] <= 0 or pure[best] <= 0:
        return 0.0
    d = near_best(cand, best)
    far_max = np.where(d > CITY_KM, geo, 0.0).max()
    # (weights are at most 1: a fit bounds its geo) the best beats every one left out
    check_max(float(geo[best]), cand)
    out = _left_out(cand)
    if out is not None and far_max <= out:  # the rival may be left out: below `out`, so its share below this
        far_max = out
        if far_max / geo[best] > AMBIGUOUS:
            raise Inexact("the far rival may lie outside the subset")
    far = far_max / geo[best]
    # the history prior confirms the choice of the track (with airport size and service) among
    # neighbours, it never overturns it: a neighbour that fits better is a rival at full strength
    near = np.where((d > SAME_PLACE_KM) & (d <= CITY_KM) & (geo > geo[best]), geo, 0.0).max() / geo[best]
    return float(max(far, near))


def unclear(best: float, second: float, far: float) -> str | None:
    """Why the best candidate may not be named (None: it clearly beats every other place)."""
    if best < ACCEPT_SCORE:
        return f"no usable airport fits (best fit {best:.2f})"
    if second > AMBIGUOUS * best:
        return (f"the best airport scores {best:.2f} and the runner-up {second:.2f}: "
                f"not clearly beaten (needs under {AMBIGUOUS:.0%} of the best)")
    if far > AMBIGUOUS:
        return (f"without the history prior, another airport fits the track at {far:.0%} of the best "
                f"(a place more than {CITY_KM:.0f} km away, or a neighbour that fits better)")
    return None


def airport_obj(row: dict) -> dict:
    return {k: row[k] for k in ("icao", "iata", "name", "country", "latitude", "longitude", "kind",
                                "longest_runway_ft", "elevation_ft")}


def runners(cand: dict, score: np.ndarray, best: int, n: int = 3) -> list[Candidate]:
    """The `n` best candidates other than `best` (-1: the `n` best), best first."""
    order = top(score, n + 1, cand)
    return [Candidate(airport_row(cand, i), float(score[i]))
            for i in order if int(i) != best and score[i] > 0][:n]


def prior_reasons(ctx: Context, a: dict, boosted: bool) -> list[str]:
    """The history and legality sentences for a named stop (`boosted`: the prior applied)."""
    days = dict(ctx.used).get(a["icao"])
    out = []
    if days:
        out.append(f"the aircraft (or its operator) was seen at {a['icao']} on {days} day(s) before "
                   + (f"(history prior ×{history_factor(days):.1f})" if boosted else
                      "(history prior not applied: other airports fit the track with a shorter path)"))
    if ctx.banned:
        out.append("airports in jurisdictions barred to the operator were not considered "
                   f"({', '.join(sorted(ctx.banned)[:12])}{'…' if len(ctx.banned) > 12 else ''})")
    return out
