"""Stops nobody saw: reason over a gap in coverage and say whether, and where, the aircraft landed.

Why by hand: no library infers landings from the ends of a broken track; traffic's
`landing_airport` takes the airport nearest the last point whatever its altitude.

For a gap between two observed ends (a *side* is the last point before or the first point
after, with its altitude, track, speed and vertical rate, or an airport where the aircraft
was seen on the ground):
1. Could it have flown straight through? Distance ÷ time against the type's cruise speed,
   with margins; the phase on each side (descending into, climbing out of the gap); whether
   the track before/after points along the gap or away from it.
2. If it must have landed: every airport the type can use is scored by how well it fits the
   outbound side (ahead on the track, at the distance a descent from that height needs) and
   the inbound side (behind the first point, at the distance its climb implies), by airport
   size, and by the time budget (flight times at cruise + a minimum turnaround must fit).
3. If no single airport fits both sides (a descent towards one place and a climb from another),
   two-stop chains are scored: the best candidates of each side paired, the time budget
   checked for both turnarounds, with a prior against the extra stop.
The best hypothesis is reported with a confidence (its fit, times its margin over the
runner-up), its runners-up and its reasons as sentences. Nothing scoring well → the stop is
reported with airport None and evidence "unknown": never an invented airport.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np
import polars as pl

from tailwatch.geo.airports import airports, usable_mask
from tailwatch.geo.geodesy import haversine_km, initial_bearing

DEFAULT_CRUISE_KT = 480.0  # used when the type is unknown: a jet freighter's cruise (one place)
TAILWIND_MARGIN = 1.15  # ground speed may exceed cruise TAS by this factor with wind
MIN_TURNAROUND_S = 30 * 60.0  # the shortest credible stop on the ground (refuel, crew)
PHASE_OVERHEAD_S = 15 * 60.0  # descent + approach + departure cost this much over cruise
THROUGH_SPEED_FRACTION = 0.6  # slower than this share of cruise on average = not a transit
DETOUR_DEG = 60.0  # track this far off the gap's direction = not flying through
LOW_PHASE_FT = 15_000.0  # below this, a descent is an approach and a climb a departure
DESCENT_KM_PER_FT = 0.3048 / np.tan(np.radians(3.0)) / 1000.0  # 3° path: ~5.8 km per 1000 ft
CLIMB_KM_PER_FT = 0.004  # ~4.4° climb-out: ~4 km per 1000 ft
SIZE_WEIGHT = {"large": 1.0, "medium": 0.7, "unknown": 0.5, "small": 0.25}
# an airport without scheduled service (air bases, private fields) is a less likely unseen stop;
# null: the sources do not say
SCHEDULED_WEIGHT = {True: 1.0, False: 0.4, None: 0.8}
ACCEPT_SCORE = 0.08  # below this fit the stop is reported unknown
TWO_STOP_PRIOR = 0.5  # an extra unseen stop must explain the geometry at least twice as well
TWO_STOP_BELOW = 0.3  # chains are tried only when the best single stop fits worse than this
TOP_PER_SIDE = 40
KT_KMH = 1.852
AMBIGUOUS = 0.75  # a runner-up scoring more than this share of the best: "unknown, candidates A/B/C"
HISTORY_BOOST = 4.0  # an airport the aircraft used on HISTORY_FULL_DAYS or more days scores 1 + this times more
HISTORY_FULL_DAYS = 3
SAME_PLACE_KM = 2.0  # two codes this close are one place (a runner-up there is no rival)
CITY_KM = 150.0  # the history prior may choose among airports this close; farther apart, geometry must


@dataclass(frozen=True)
class Context:
    """What the inference knows beyond the points: the type's speed and runway need, the airports
    the aircraft (or its operator) used before, and the jurisdictions barred to its operator."""

    cruise_kt: float | None = None
    min_runway_ft: float | None = None
    used: tuple[tuple[str, int], ...] = ()  # (icao, days seen there), from `history.airports_used`
    banned: frozenset[str] = frozenset()

    @classmethod
    def of(cls, cruise_kt=None, min_runway_ft=None, used: dict[str, int] | None = None,
           banned=()) -> "Context":
        return cls(cruise_kt, min_runway_ft, tuple(sorted((used or {}).items())), frozenset(banned))


@dataclass
class Side:
    """One observed end of a gap: a point with kinematics, or an airport where it was on the ground."""

    time: datetime
    lat: float
    lon: float
    alt: float | None = None
    track: float | None = None
    gs: float | None = None
    vrate: float | None = None
    airport: dict | None = None  # set when the aircraft was seen at an airport (ground / low)
    evidence: str | None = None

    def phase(self, outbound: bool) -> str:
        if self.airport is not None:
            return "airport"
        if self.alt is None:
            return "unknown"
        if self.alt < LOW_PHASE_FT and self.vrate is not None:
            if outbound and self.vrate < -300:
                return "approach"
            if not outbound and self.vrate > 300:
                return "departure"
            if (outbound and self.vrate > 300) or (not outbound and self.vrate < -300):
                # last heard climbing away (first heard descending in): the airport beyond the
                # gap is far along the track, as from cruise
                return "cruise"
        if self.alt < 3_000 and self.gs is not None and self.gs < 200:
            return "approach" if outbound else "departure"
        return "cruise" if self.alt >= LOW_PHASE_FT else "low"

    def describe(self, outbound: bool) -> str:
        if self.airport is not None:
            return f"on the ground at {self.airport['icao']}"
        bits = []
        if self.alt is not None:
            bits.append(_alt_text(self.alt))
        if self.vrate is not None and abs(self.vrate) >= 300:
            bits.append(("descending" if self.vrate < 0 else "climbing") + f" {abs(self.vrate):,.0f} ft/min")
        if self.track is not None:
            bits.append(f"track {self.track:03.0f}°")
        if self.gs is not None:
            bits.append(f"{self.gs:,.0f} kt")
        where = f"{self.lat:.3f}, {self.lon:.3f}"
        return f"{'last' if outbound else 'first'} seen {_time_text(self.time)} at {where}" + (
            f" ({', '.join(bits)})" if bits else "")


@dataclass
class Candidate:
    airport: dict
    score: float

    def to_json(self) -> dict:
        a = self.airport
        return {"icao": a["icao"], "name": a["name"], "country": a["country"], "score": round(self.score, 3)}


@dataclass
class Stop:
    """A landing in a gap (or at an open end): the airport or None, with why."""

    airport: dict | None
    evidence: str  # "observed" | "inferred" | "unknown"
    confidence: float
    reasons: list[str] = field(default_factory=list)
    alternatives: list[Candidate] = field(default_factory=list)
    score: float | None = None  # the chosen airport's score (None for observed stops)
    runner_up_score: float | None = None  # the best rival's score: how clearly the choice won


@dataclass
class GapVerdict:
    """What happened in a gap: flown through (no stops) or landed at `stops` (in order)."""

    through: bool
    stops: list[Stop]
    reasons: list[str]
    gap: dict


def _alt_text(alt: float) -> str:
    return f"FL{alt / 100:03.0f}" if alt >= 18_000 else f"{alt:,.0f} ft"


def _time_text(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M Z")


def duration_text(seconds: float) -> str:
    minutes = int(round(seconds / 60.0))
    days, rem = divmod(minutes, 24 * 60)
    h, m = divmod(rem, 60)
    if days:
        return f"{days} d {h} h {m:02d} min"
    return f"{h} h {m:02d} min" if h else f"{m} min"


@lru_cache(maxsize=8)
def candidate_airports(min_runway_ft: float | None) -> dict[str, np.ndarray]:
    """Arrays of the airports a type can use, for vectorised scoring."""
    frame = airports()
    usable = frame.filter(usable_mask(frame, min_runway_ft))
    if min_runway_ft is not None:  # a transport type needs that length on a hard runway, where the surface is known
        paved = pl.col("longest_paved_runway_ft")
        usable = usable.filter(paved.is_null() | (paved >= min_runway_ft))
    scheduled = usable["scheduled_service"].to_list()
    return {
        "lat": usable["latitude"].to_numpy(),
        "lon": usable["longitude"].to_numpy(),
        "elev": usable["elevation_ft"].fill_null(0.0).to_numpy(),
        "weight": usable["kind"].replace_strict(SIZE_WEIGHT, default=0.25, return_dtype=pl.Float64).to_numpy()
        * np.array([SCHEDULED_WEIGHT[v] for v in scheduled]),
        "country": usable["country"].fill_null("").to_numpy(),
        "index": {code: i for i, code in enumerate(usable["icao"].to_list())},
        "rows": usable,
    }


def _history_factor(days: int) -> float:
    """How much more an airport scores for the days the aircraft (or its fleet) was seen there."""
    return 1.0 + HISTORY_BOOST * min(days, HISTORY_FULL_DAYS) / HISTORY_FULL_DAYS


def prior_weight(cand: dict[str, np.ndarray], ctx: Context) -> np.ndarray:
    """Per candidate: airport size × history (airports it used before score up to
    1 + HISTORY_BOOST times more) × legality (0 in a jurisdiction barred to the operator)."""
    w = cand["weight"].copy()
    for code, days in ctx.used:
        i = cand["index"].get(code)
        if i is not None:
            w[i] *= _history_factor(days)
    if ctx.banned:
        w[np.isin(cand["country"], sorted(ctx.banned))] = 0.0
    return w


def _rival(score: np.ndarray, best: int, cand: dict[str, np.ndarray]) -> float:
    """The score of the best candidate that is another place than `best` (0 if there is none)."""
    if score[best] <= 0:
        return 0.0
    d = haversine_km(cand["lat"][best], cand["lon"][best], cand["lat"], cand["lon"])
    return float(max(np.where(d > SAME_PLACE_KM, score, 0.0).max(), 0.0))


def _angle_diff(a: np.ndarray, b: float) -> np.ndarray:
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def side_fit(side: Side, outbound: bool, cand: dict[str, np.ndarray]) -> np.ndarray:
    """How well each candidate airport fits one side of a gap, in [0, 1].

    Outbound (the end before a gap): the airport should lie ahead on the track, at the distance
    a descent from that height takes. Inbound: behind the first point, at the climb's distance.
    """
    lat, lon = cand["lat"], cand["lon"]
    if side.airport is not None:
        return (cand["rows"]["icao"].to_numpy() == side.airport["icao"]).astype(float)
    d = haversine_km(side.lat, side.lon, lat, lon)
    phase = side.phase(outbound)
    if side.track is None:
        dev = np.zeros_like(d)
        heading_known = False
    else:
        bearing = initial_bearing(side.lat, side.lon, lat, lon)
        direction = side.track if outbound else (side.track + 180.0) % 360.0
        dev = _angle_diff(bearing, direction)
        heading_known = True
    if phase in ("approach", "departure", "low"):
        agl = np.maximum((side.alt or 0.0) - cand["elev"], 0.0)
        per_ft = DESCENT_KM_PER_FT if (phase == "approach" or (phase == "low" and outbound)) else CLIMB_KM_PER_FT
        expected = agl * per_ft
        sigma = 0.5 * expected + 15.0
        fit = np.exp(-0.5 * ((d - expected) / sigma) ** 2)
        if heading_known:
            # high up, the track points at the airport; low down (circuit, downwind) less so,
            # but an airport ahead of a descent still beats one behind it
            w = np.clip((agl - 4_000.0) / 8_000.0, 0.0, 1.0)
            low_term = 0.5 + 0.5 * np.exp(-0.5 * (dev / 60.0) ** 2)
            fit = fit * ((1.0 - w) * low_term + w * np.exp(-0.5 * (dev / 45.0) ** 2))
        return fit
    if not heading_known:
        return np.full_like(d, 0.3)
    rad = np.radians(dev)
    along = d * np.cos(rad)
    cross = d * np.abs(np.sin(rad))
    sigma = 30.0 + 0.12 * np.maximum(along, 0.0)
    fit = np.exp(-0.5 * (cross / sigma) ** 2)
    behind = np.minimum(along, 0.0)
    return fit * np.exp(-0.5 * (behind / 30.0) ** 2)


def _airport_obj(row: dict) -> dict:
    return {k: row[k] for k in ("icao", "iata", "name", "country", "latitude", "longitude", "kind",
                                "longest_runway_ft", "elevation_ft")}


def _confidence(best: float, second: float) -> float:
    fit = min(1.0, best / 0.6) ** 0.5
    margin = 1.0 - (second / best if best > 0 else 1.0)
    return round(float(np.clip(fit * (0.4 + 0.6 * margin), 0.0, 0.99)), 2)


def _must_land(left: Side, right: Side, dt_s: float, cruise_kt: float) -> tuple[bool, bool, list[str]]:
    """(must_land, may_land, reasons) for a gap between two airborne sides."""
    dist = float(haversine_km(left.lat, left.lon, right.lat, right.lon))
    v_max = cruise_kt * KT_KMH * TAILWIND_MARGIN
    t_min = dist / v_max * 3600.0
    slack = dt_s - t_min
    v_req_kt = dist / max(dt_s, 1.0) * 3600.0 / KT_KMH
    reasons = [
        f"gap of {duration_text(dt_s)} over {dist:,.0f} km; straight flight needs ≥ {duration_text(t_min)} "
        f"at {cruise_kt:,.0f} kt (+{(TAILWIND_MARGIN - 1) * 100:.0f}% wind margin); "
        f"average speed needed {v_req_kt:,.0f} kt"
    ]
    reasons.append(f"before the gap: {left.describe(True)}; after: {right.describe(False)}")
    turnaround = MIN_TURNAROUND_S + PHASE_OVERHEAD_S
    may_land = slack >= turnaround
    if v_req_kt > cruise_kt * 1.5 and dist > 50:
        reasons.append("faster than the type can fly: positions or times on one side are doubtful; no stop assumed")
        return False, False, reasons
    ph_l, ph_r = left.phase(True), right.phase(False)
    if ph_l == "approach" and ph_r == "departure" and slack >= MIN_TURNAROUND_S * 0.5:
        reasons.append("descending into the gap and climbing out of it: a landing, not a transit")
        return True, True, reasons
    if not may_land:
        reasons.append(f"time to spare {duration_text(max(slack, 0))} is less than a turnaround and "
                       f"approach ({duration_text(turnaround)}): flown straight through")
        return False, False, reasons
    if v_req_kt < THROUGH_SPEED_FRACTION * cruise_kt:
        reasons.append(f"{v_req_kt:,.0f} kt average is below {THROUGH_SPEED_FRACTION:.0%} of cruise "
                       f"with {duration_text(slack)} to spare: it landed (or held for hours)")
        return True, True, reasons
    if dist > 200:
        gap_dir = float(initial_bearing(left.lat, left.lon, right.lat, right.lon))
        back_dir = float(initial_bearing(right.lat, right.lon, left.lat, left.lon))
        off = []
        if left.track is not None:
            dev = float(_angle_diff(np.array([gap_dir]), left.track)[0])
            if dev > DETOUR_DEG:
                off.append(f"the track before the gap points {dev:.0f}° away from where it reappears")
        if right.track is not None:
            dev = float(_angle_diff(np.array([(back_dir + 180.0) % 360.0]), right.track)[0])
            if dev > DETOUR_DEG:
                off.append(f"the track after the gap comes from {dev:.0f}° off the direct line")
        if off:
            reasons.append("; ".join(off) + f", with {duration_text(slack)} to spare: a detour with a stop")
            return True, True, reasons
    reasons.append(f"{duration_text(slack)} to spare: a stop cannot be excluded, but nothing shows one; "
                   "taken as flown through")
    return False, True, reasons


def _time_ok(d_km: np.ndarray, dt_s: float, stops: int, cruise_kt: float) -> np.ndarray:
    v_max = cruise_kt * KT_KMH * TAILWIND_MARGIN
    need = d_km / v_max * 3600.0 + stops * (MIN_TURNAROUND_S + PHASE_OVERHEAD_S)
    return need <= dt_s


def infer_gap(left: Side, right: Side, cruise_kt: float | None = None,
              min_runway_ft: float | None = None, ctx: Context | None = None) -> GapVerdict:
    """Decide what happened between `left` (last seen) and `right` (next seen)."""
    ctx = ctx or Context.of(cruise_kt, min_runway_ft)
    cruise = ctx.cruise_kt or DEFAULT_CRUISE_KT
    dt_s = (right.time - left.time).total_seconds()
    dist = float(haversine_km(left.lat, left.lon, right.lat, right.lon))
    gap = {"start": left.time, "end": right.time, "lat1": left.lat, "lon1": left.lon,
           "lat2": right.lat, "lon2": right.lon, "km": round(dist, 1)}
    speed_note = None if ctx.cruise_kt else f"type cruise speed unknown: default {DEFAULT_CRUISE_KT:.0f} kt assumed"
    if left.airport is not None and right.airport is not None:
        same = left.airport["icao"] == right.airport["icao"]
        reasons = [f"seen at {left.airport['icao']} until {_time_text(left.time)} and at "
                   f"{right.airport['icao']} from {_time_text(right.time)}"]
        if same:
            return GapVerdict(True, [], reasons + ["stayed on the ground (no flight between)"], gap)
        # flown between two airports nobody heard: one unseen leg
        return GapVerdict(False, [], reasons + ["flew between them unobserved"], gap)
    if left.airport is None and right.airport is None:
        must, may, reasons = _must_land(left, right, dt_s, cruise)
        if speed_note:
            reasons.insert(1, speed_note)
        if not must:
            return GapVerdict(True, [], reasons, gap)
    else:
        reasons = [f"gap of {duration_text(dt_s)} over {dist:,.0f} km",
                   f"before: {left.describe(True)}; after: {right.describe(False)}"]
        if speed_note:
            reasons.append(speed_note)
    stops = _locate(left, right, dt_s, cruise, ctx, reasons)
    return GapVerdict(False, stops, reasons, gap)


def _prior_reasons(ctx: Context, a: dict) -> list[str]:
    days = dict(ctx.used).get(a["icao"])
    out = []
    if days:
        out.append(f"the aircraft (or its operator) was seen at {a['icao']} on {days} day(s) before "
                   f"(history prior ×{_history_factor(days):.1f})")
    if ctx.banned:
        out.append("airports in jurisdictions barred to the operator were not considered "
                   f"({', '.join(sorted(ctx.banned)[:12])}{'…' if len(ctx.banned) > 12 else ''})")
    return out


def _legal_km(lat1: float, lon1: float, lat2: float, lon2: float, ctx: Context) -> float:
    """Shortest distance the operator may legally fly between two points (great circle when nothing is barred)."""
    direct = float(haversine_km(lat1, lon1, lat2, lon2))
    if not ctx.banned:
        return direct
    from tailwatch.airspace.routing import NoRoute, obstacles_for, shortest_path

    try:
        return shortest_path(obstacles_for(tuple(sorted(ctx.banned))), lat1, lon1, lat2, lon2).km
    except NoRoute:
        return direct  # an end inside barred airspace: the points say it was there; do not penalise


def _legal_filter(score: np.ndarray, order_n: int, left: Side, right: Side, dt_s: float, cruise: float,
                  cand: dict[str, np.ndarray], ctx: Context, reasons: list[str]) -> np.ndarray:
    """Drop leading candidates whose legal detour (around airspace barred to the operator) does
    not fit the time in the gap: the detour's shape, not the great circle, is what was flown."""
    if not ctx.banned:
        return score
    score = score.copy()
    dropped = []
    for _ in range(order_n):
        i = int(np.argmax(score))
        if score[i] <= 0:
            break
        km = _legal_km(left.lat, left.lon, cand["lat"][i], cand["lon"][i], ctx) + _legal_km(
            cand["lat"][i], cand["lon"][i], right.lat, right.lon, ctx)
        if _time_ok(np.array([km]), dt_s, 1, cruise)[0]:
            break
        dropped.append(f"{cand['rows']['icao'][i]} ({km:,.0f} km on legal routes)")
        score[i] = 0.0
    if dropped:
        reasons.append("too far once barred airspace is flown around: " + ", ".join(dropped))
    return score


def _far_rival(pure: np.ndarray, best: int, cand: dict[str, np.ndarray]) -> float:
    """Share of `best`'s geometric fit (before history) that its strongest rival reaches: any
    candidate farther than CITY_KM, or a neighbour that fits the track better.

    The history prior tells neighbouring airports apart (which of a city's fields it uses) when
    the track cannot; it must not choose between distant places that the track fits equally
    well (a cruise track with hours to spare fits every airport along it), nor overturn what
    the track says."""
    geo = pure * cand["weight"]  # with airport size and service: a big airport far away vs a strip on the line
    if geo[best] <= 0 or pure[best] <= 0:
        return 0.0
    d = haversine_km(cand["lat"][best], cand["lon"][best], cand["lat"], cand["lon"])
    far = np.where(d > CITY_KM, geo, 0.0).max() / geo[best]
    # the history prior confirms the choice of the track (with airport size and service) among
    # neighbours, it never overturns it: a neighbour that fits better is a rival at full strength
    near = np.where((d > SAME_PLACE_KM) & (d <= CITY_KM) & (geo > geo[best]), geo, 0.0).max() / geo[best]
    return float(max(far, near))


def _unclear(best: float, second: float, far: float) -> str | None:
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


def _unknown(reasons: list[str], rows: pl.DataFrame, score: np.ndarray, best: float, second: float,
             why: str) -> Stop:
    alts = _runners(rows, score, -1)
    names = "/".join(c.airport["icao"] for c in alts)
    return Stop(None, "unknown", 0.0, reasons + [f"{why}: unknown, candidates {names}"], alts,
                score=round(best, 4), runner_up_score=round(second, 4))


def _locate(left: Side, right: Side, dt_s: float, cruise: float, ctx: Context, reasons: list[str]) -> list[Stop]:
    """Score single stops, then two-stop chains; the airport sides pin their end."""
    cand = candidate_airports(ctx.min_runway_ft)
    rows = cand["rows"]
    if rows.height == 0:
        return [Stop(None, "unknown", 0.0, reasons + ["no airport usable by the type"])]
    prior = prior_weight(cand, ctx)
    fit_l = side_fit(left, True, cand)
    fit_r = side_fit(right, False, cand)
    d_l = haversine_km(left.lat, left.lon, cand["lat"], cand["lon"])
    d_r = haversine_km(right.lat, right.lon, cand["lat"], cand["lon"])
    pinned = left.airport is not None or right.airport is not None
    if pinned:
        single = fit_l * fit_r * _time_ok(d_l + d_r, dt_s, 0, cruise)
    else:
        single = fit_l * fit_r * prior * _time_ok(d_l + d_r, dt_s, 1, cruise)
        single = _legal_filter(single, 5, left, right, dt_s, cruise, cand, ctx, reasons)
    order = np.argsort(-single)
    best1 = float(single[order[0]])
    second1 = _rival(single, int(order[0]), cand)
    # two-stop chains
    best2 = 0.0
    chain = None
    runner2 = 0.0
    wl = fit_l * (1.0 if left.airport is not None else prior)
    wr = fit_r * (1.0 if right.airport is not None else prior)
    if best1 < TWO_STOP_BELOW and dt_s >= 2 * (MIN_TURNAROUND_S + PHASE_OVERHEAD_S):
        xs = np.argsort(-wl)[:TOP_PER_SIDE]
        ys = np.argsort(-wr)[:TOP_PER_SIDE]
        xs, ys = xs[wl[xs] > 0], ys[wr[ys] > 0]
        if xs.size and ys.size:
            xx, yy = np.meshgrid(xs, ys, indexing="ij")
            d_xy = haversine_km(cand["lat"][xx], cand["lon"][xx], cand["lat"][yy], cand["lon"][yy])
            n_stops = 2 - int(left.airport is not None) - int(right.airport is not None)
            ok = _time_ok(d_l[xx] + d_xy + d_r[yy], dt_s, max(n_stops, 1), cruise) & (d_xy > 50.0)
            pair = wl[xx] * wr[yy] * ok * TWO_STOP_PRIOR
            flat = np.argsort(-pair.ravel())
            if pair.size and pair.ravel()[flat[0]] > 0:
                best2 = float(pair.ravel()[flat[0]])
                runner2 = float(pair.ravel()[flat[1]]) if flat.size > 1 else 0.0
                i = flat[0]
                chain = (int(xx.ravel()[i]), int(yy.ravel()[i]))
    if chain is not None and best2 > best1:
        x, y = chain
        conf = _confidence(best2, max(runner2, best1))
        ax, ay = _airport_obj(rows.row(x, named=True)), _airport_obj(rows.row(y, named=True))
        chain_reason = (f"no single airport fits both sides (best single fit {best1:.2f}); the track before the "
                        f"gap points to {ax['icao']}, the climb/track after it comes from {ay['icao']} "
                        f"({float(haversine_km(ax['latitude'], ax['longitude'], ay['latitude'], ay['longitude'])):,.0f} km apart); "
                        "both turnarounds fit in the gap")
        out = []
        for idx, a, side, outbound in ((x, ax, left, True), (y, ay, right, False)):
            if side.airport is not None:
                continue  # the airport it was seen at is not a new stop
            side_score = wl if outbound else wr
            own = float(side_score[idx])
            rival = _rival(side_score, idx, cand)
            where = "before" if outbound else "after"
            pure = (fit_l if outbound else fit_r) * (side_score > 0)
            why = _unclear(own, rival, _far_rival(pure, idx, cand))
            if why is not None:
                out.append(_unknown(reasons + [chain_reason.split(";")[0]], rows, side_score, own, rival,
                                    f"the landing {where} the gap: {why}"))
                continue
            # each end of the chain is only as sure as its own side's margin over its runner-up
            side_conf = _confidence(own, rival)
            out.append(Stop(a, "inferred", min(conf, side_conf),
                            reasons + [chain_reason, _fit_reason(side, outbound, a)] + _prior_reasons(ctx, a)
                            + [f"score {own:.2f}, runner-up {rival:.2f}"],
                            _runners(rows, side_score, idx), score=round(own, 4), runner_up_score=round(rival, 4)))
        return out
    if pinned:
        anchor = left.airport or right.airport
        if best1 < ACCEPT_SCORE:
            reasons.append(f"the track {'after' if left.airport else 'before'} the gap does not fit {anchor['icao']} "
                           f"well (fit {best1:.2f}): an unseen stop in between cannot be excluded")
        else:
            reasons.append(f"consistent with a direct flight {'from' if left.airport else 'to'} {anchor['icao']}")
        return []
    why_not = _unclear(best1, second1, _far_rival(fit_l * fit_r * (single > 0), int(order[0]), cand))
    if why_not is not None:
        return [_unknown(reasons, rows, single, best1, second1, f"the track before and after the gap: {why_not}")]
    a = _airport_obj(rows.row(int(order[0]), named=True))
    conf = _confidence(best1, second1)
    why = [_fit_reason(left, True, a), _fit_reason(right, False, a)] + _prior_reasons(ctx, a)
    why.append(f"score {best1:.2f}, runner-up {second1:.2f} ({second1 / best1:.0%} of it)")
    spare = dt_s - (float(d_l[order[0]] + d_r[order[0]]) / (cruise * KT_KMH) * 3600.0 + MIN_TURNAROUND_S
                    + PHASE_OVERHEAD_S)
    if spare > 2 * (MIN_TURNAROUND_S + PHASE_OVERHEAD_S) + 6 * 3600:
        why.append(f"after flying via {a['icao']} at cruise, {duration_text(spare)} remain unaccounted for: "
                   "further unseen stops are possible")
    return [Stop(a, "inferred", conf, reasons + why, _runners(rows, single, int(order[0])),
                 score=round(best1, 4), runner_up_score=round(second1, 4))]


def _runners(rows: pl.DataFrame, score: np.ndarray, best: int, n: int = 3) -> list[Candidate]:
    order = np.argsort(-score)[: n + 1]
    return [Candidate(_airport_obj(rows.row(int(i), named=True)), float(score[i]))
            for i in order if int(i) != best and score[i] > 0][:n]


def _fit_reason(side: Side, outbound: bool, a: dict) -> str:
    if side.airport is not None:
        return f"{'before' if outbound else 'after'} the gap it was at {side.airport['icao']} ({side.evidence})"
    d = float(haversine_km(side.lat, side.lon, a["latitude"], a["longitude"]))
    b = float(initial_bearing(side.lat, side.lon, a["latitude"], a["longitude"]))
    if outbound:
        return f"{a['icao']} ({a['name']}) lies {d:,.0f} km from the last position, bearing {b:03.0f}°" + (
            f" (track {side.track:03.0f}°)" if side.track is not None else "")
    return f"{a['icao']} lies {d:,.0f} km from the first position after the gap, bearing {b:03.0f}°" + (
        f" (track {side.track:03.0f}°)" if side.track is not None else "")


def infer_end(side: Side, outbound: bool, min_runway_ft: float | None = None, ctx: Context | None = None) -> Stop:
    """Where a track that starts or stops mid-air (no gap partner) most likely came from / went to.

    Only a side in a low phase (approach, departure, or below 15,000 ft) is placed at an airport:
    the nearest *plausible* one for the type (runway), its history and its operator's bans, and
    only when it clearly beats the runner-up. A track that stops at cruise level gets airport
    None: "unknown", with where it was last seen.
    """
    ctx = ctx or Context.of(None, min_runway_ft)
    phase = side.phase(outbound)
    reasons = [side.describe(outbound)]
    if phase not in ("approach", "departure", "low"):
        verb = "no descent seen" if outbound else "no climb seen"
        return Stop(None, "unknown", 0.0, reasons + [f"{verb}: the {'landing' if outbound else 'take-off'} "
                                                     "place is not in the data"])
    if phase == "low" and ((outbound and (side.vrate or 0) > 300) or (not outbound and (side.vrate or 0) < -300)):
        return Stop(None, "unknown", 0.0, reasons + ["climbing where a descent was expected (or the reverse)"])
    cand = candidate_airports(ctx.min_runway_ft)
    geometry = side_fit(side, outbound, cand)
    fit = geometry * prior_weight(cand, ctx)
    order = np.argsort(-fit)
    best = float(fit[order[0]])
    second = _rival(fit, int(order[0]), cand)
    rows = cand["rows"]
    why_not = _unclear(best, second, _far_rival(geometry * (fit > 0), int(order[0]), cand))
    if why_not is not None:
        return _unknown(reasons, rows, fit, best, second, why_not)
    a = _airport_obj(rows.row(int(order[0]), named=True))
    conf = _confidence(best, second)
    return Stop(a, "inferred", conf, reasons + [_fit_reason(side, outbound, a)] + _prior_reasons(ctx, a) + [
        f"score {best:.2f}, runner-up {second:.2f} ({second / best:.0%} of it)"],
        _runners(rows, fit, int(order[0])), score=round(best, 4), runner_up_score=round(second, 4))
