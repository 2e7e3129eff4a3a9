"""Thin tracks to the coverage open networks really have, and score itineraries against the truth.

Why by hand: no library models what a volunteer receiver network misses. The model here is
the one analysts describe: nothing over open ocean (beyond a coastal receiver's reach), nothing
over most of Africa (Sahara, Sahel, the centre and the south-west), one position every
1–10 minutes elsewhere (feeders share few positions; aggregators thin), the lowest part of
each climb and descent lost (no feeder near the airport), and receiver outages that hide
2–12 hours around one or two stops. The truth of every trip is kept beside its thinned points.

Scoring (`evaluate`): each itinerary stop names an airport (observed or inferred) or says
"unknown"; each has a time window (seen there, or the gap it fell in). A named stop is right
when the truth has a visit to that airport whose time overlaps its window; precision = right
named stops / named stops; recall = truth visits named right / truth visits. A truth visit
covered only by an "unknown" stop counts as *unknown*, the honest answer, apart from *wrong*.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import polars as pl

LAND_GRID_DEG = 0.5  # resolution of the land / coastal-reach raster
COASTAL_REACH_KM = 250.0  # a coastal receiver hears a cruising aircraft this far out to sea
# (name, lat_lo, lat_hi, lon_lo, lon_hi): land without receivers that share data
MASKS: tuple[tuple[str, float, float, float, float], ...] = (
    ("Sahara", 16.0, 31.0, -18.0, 36.0),
    ("Sahel", 8.0, 16.0, -18.0, 42.0),
    ("Central Africa", -18.0, 8.0, 8.0, 42.0),
    ("South-west Africa", -30.0, -18.0, 10.0, 25.0),
    ("South Atlantic", -60.0, 8.0, -38.0, 12.0),
)


@dataclass(frozen=True)
class CoverageLevel:
    """How well a trip was heard: masks, sampling, ends cut, outages around stops."""

    name: str
    interval_s: tuple[float, float]  # one position every U(lo, hi) seconds where heard
    masks: bool = True  # no positions over open ocean and the MASKS regions
    cut_below_ft: float | None = 3_000.0  # positions below this altitude are never heard
    outages: int = 0  # receiver outages of `outage_h` hours, each centred on a stop
    outage_h: tuple[float, float] = (2.0, 12.0)


LEVELS: dict[str, CoverageLevel] = {
    "full": CoverageLevel("full", (5.0, 15.0), masks=False, cut_below_ft=None),
    "regional": CoverageLevel("regional", (30.0, 120.0)),
    "sparse": CoverageLevel("sparse", (60.0, 600.0)),
    "sparse+outages": CoverageLevel("sparse+outages", (60.0, 600.0), outages=2),
}
# how an aircraft's earlier trips were heard, for its airport history: regional rates and masks,
# with receivers near the airports it used outside them (no ends cut)
HISTORY_LEVEL = CoverageLevel("history", (30.0, 120.0), masks=False, cut_below_ft=None)


@lru_cache(maxsize=1)
def _reach_grid() -> np.ndarray:
    """Boolean raster (lat rows from -90, lon columns from -180): a position there can be heard
    by some land receiver (on land, or within COASTAL_REACH_KM of it)."""
    from scipy.ndimage import binary_dilation

    from tailwatch.geo.countries import locate

    lat = np.arange(-90.0, 90.0, LAND_GRID_DEG) + LAND_GRID_DEG / 2
    lon = np.arange(-180.0, 180.0, LAND_GRID_DEG) + LAND_GRID_DEG / 2
    glat, glon = np.meshgrid(lat, lon, indexing="ij")
    land = locate(glat.ravel(), glon.ravel(), layer="land").reshape(glat.shape) != None  # noqa: E711
    cells = int(np.ceil(COASTAL_REACH_KM / (111.2 * LAND_GRID_DEG)))
    yy, xx = np.mgrid[-cells:cells + 1, -cells:cells + 1]
    disk = (yy ** 2 + xx ** 2) <= cells ** 2
    # longitude wraps: pad, dilate, crop
    padded = np.concatenate([land[:, -cells:], land, land[:, :cells]], axis=1)
    return binary_dilation(padded, structure=disk)[:, cells:-cells]


def audible(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where a position is inside coverage: near land and outside every MASKS region."""
    grid = _reach_grid()
    i = np.clip(((np.asarray(lat) + 90.0) / LAND_GRID_DEG).astype(int), 0, grid.shape[0] - 1)
    j = np.clip(((np.asarray(lon) + 180.0) / LAND_GRID_DEG).astype(int) % grid.shape[1], 0, grid.shape[1] - 1)
    ok = grid[i, j]
    for _, la0, la1, lo0, lo1 in MASKS:
        ok &= ~((lat >= la0) & (lat <= la1) & (lon >= lo0) & (lon <= lo1))
    return ok


def _sample_times(t: np.ndarray, lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    """Indices into sorted epoch seconds `t` at random intervals U(lo, hi): a thinned feed."""
    if t.size == 0:
        return np.zeros(0, dtype=np.int64)
    span = t[-1] - t[0]
    n = int(span / lo) + 2
    marks = t[0] + np.cumsum(rng.uniform(lo, hi, n)) - rng.uniform(0, hi)
    marks = marks[(marks >= t[0]) & (marks <= t[-1])]
    idx = np.searchsorted(t, marks)
    idx = np.clip(idx, 0, t.size - 1)
    # the nearest real point to each mark (within one native step)
    prev = np.clip(idx - 1, 0, t.size - 1)
    idx = np.where(np.abs(t[prev] - marks) < np.abs(t[idx] - marks), prev, idx)
    return np.unique(idx)


def thin(points: pl.DataFrame, level: CoverageLevel, stops: list[tuple[datetime, datetime]] = (),
         seed: int = 0) -> tuple[pl.DataFrame, list[tuple[datetime, datetime]]]:
    """One aircraft's points as `level` would have heard them, and the outages applied.

    `stops` are (landing, take-off) of the truth's intermediate stops, for outages centred on them.
    """
    rng = np.random.default_rng(seed)
    pts = points.sort("timestamp")
    t = pts["timestamp"].dt.epoch("us").to_numpy() / 1e6
    keep = np.zeros(t.size, dtype=bool)
    keep[_sample_times(t, *level.interval_s, rng)] = True
    lat, lon = pts["latitude"].to_numpy(), pts["longitude"].to_numpy()
    if level.masks:
        keep &= audible(lat, lon)
    if level.cut_below_ft is not None:
        alt = pts["altitude"].cast(pl.Float64).fill_null(0.0).to_numpy()
        keep &= alt >= level.cut_below_ft
    applied: list[tuple[datetime, datetime]] = []
    if level.outages and stops:
        picks = rng.choice(len(stops), size=min(level.outages, len(stops)), replace=False)
        for k in sorted(int(p) for p in picks):
            land, off = stops[k]
            hours = rng.uniform(*level.outage_h)
            mid = land + (off - land) / 2
            start, end = mid - timedelta(hours=hours / 2), mid + timedelta(hours=hours / 2)
            s, e = start.timestamp(), end.timestamp()
            keep &= ~((t >= s) & (t < e))
            applied.append((start, end))
    return pts.filter(pl.Series(keep)), applied


# --- truth and scoring --------------------------------------------------------------------


@dataclass
class Visit:
    """A truth visit: the aircraft was at `icao` from `arrive` to `depart` (None: open end)."""

    icao: str
    arrive: datetime | None
    depart: datetime | None


def visits_of_legs(legs: list[dict]) -> list[Visit]:
    """Truth visits from legs (origin, destination, takeoff, landing) in time order."""
    if not legs:
        return []
    out = [Visit(legs[0]["origin"], None, legs[0]["takeoff"])]
    for i, leg in enumerate(legs):
        nxt = legs[i + 1]["takeoff"] if i + 1 < len(legs) else None
        out.append(Visit(leg["destination"], leg["landing"], nxt))
    return out


@dataclass
class Score:
    named: int = 0
    right: int = 0
    wrong: int = 0
    unknown: int = 0  # truth visits left "unknown" (not named wrong)
    visits: int = 0
    found: int = 0  # truth visits named right
    wrong_names: list[str] = field(default_factory=list)
    visits_covered: int = 0  # truth visits at airports inside coverage (not in a mask, not far out to sea)
    found_covered: int = 0
    gaps: int = 0  # gaps where the itinerary gave, or the truth had, at least one unseen stop
    gaps_exact: int = 0  # of those, gaps given exactly as many stops as the aircraft made in them
    gaps_over: int = 0  # given more stops than it made (a reader would believe in a landing that was not)

    def add(self, other: "Score") -> "Score":
        return Score(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def count_exact(self) -> float:
        """Share of gaps with stops (given or true) whose number of stops is right."""
        return self.gaps_exact / self.gaps if self.gaps else 1.0

    @property
    def gaps_under(self) -> int:
        return self.gaps - self.gaps_exact - self.gaps_over

    @property
    def recall_covered(self) -> float:
        """Recall over visits at airports a receiver could hear (the rest no track can show)."""
        return self.found_covered / self.visits_covered if self.visits_covered else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.named if self.named else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.visits if self.visits else 1.0

    @property
    def unknown_share(self) -> float:
        """Of the stops not named right, the share said "unknown" rather than named wrong."""
        bad = self.unknown + self.wrong
        return self.unknown / bad if bad else 1.0


TOLERANCE = timedelta(minutes=30)


def evaluate(itin: dict, truth: list[Visit]) -> Score:
    """Match the itinerary's stops (JSON `stops`, each with `window_start`/`window_end`) to truth."""
    from tailwatch.times import parse_time as _t

    score = Score(visits=len(truth))
    used: set[int] = set()
    seen: set[int] = set()  # truth visits matched by an observed stop
    unknown_windows = []
    for stop in itin.get("stops", []):
        s, e = _t(stop.get("window_start")), _t(stop.get("window_end"))
        code = (stop.get("airport") or {}).get("icao")
        if code is None:
            unknown_windows.append((s, e))
            continue
        score.named += 1
        match = next((i for i, v in enumerate(truth) if i not in used and v.icao == code and _overlap(s, e, v)), None)
        if match is None:
            score.wrong += 1
            score.wrong_names.append(f"{code}@{stop.get('window_start')}")
        else:
            used.add(match)
            score.right += 1
            if stop.get("evidence") == "observed":
                seen.add(match)
    score.found = len(used)
    inside = _covered(truth)
    score.visits_covered = int(inside.sum())
    score.found_covered = sum(1 for i in used if inside[i])
    for i, v in enumerate(truth):
        if i not in used and any(_overlap(s, e, v) for s, e in unknown_windows):
            score.unknown += 1
    _count_stops(itin, [v for i, v in enumerate(truth) if i not in seen], score)
    return score


def _count_stops(itin: dict, truth: list[Visit], score: Score) -> None:
    """Per gap of the itinerary (flown through or not): stops given in it against the truth's
    visits that began and ended inside it (`truth`: the visits no observed stop showed); gaps
    where both are zero are not counted."""
    from tailwatch.times import parse_time as _t

    given: dict[tuple[str, str], int] = {}
    for leg in itin.get("legs", []):
        for g in leg.get("gaps", []):
            given.setdefault((g["start"], g["end"]), 0)
    for stop in itin.get("stops", []):
        key = (stop.get("window_start"), stop.get("window_end"))
        if stop.get("evidence") in ("inferred", "unknown") and key in given:
            given[key] += 1
    slack = timedelta(minutes=1)
    for (start, end), n in given.items():
        s, e = _t(start), _t(end)
        true = sum(1 for v in truth if v.arrive is not None and v.depart is not None
                   and v.arrive >= s - slack and v.depart <= e + slack)
        if n == 0 and true == 0:
            continue
        score.gaps += 1
        score.gaps_exact += int(n == true)
        score.gaps_over += int(n > true)


def _covered(truth: list[Visit]) -> np.ndarray:
    """Whether each visit's airport lies inside coverage as `audible` models it."""
    from tailwatch.geo.airports import airport

    pos = [airport(v.icao) or {} for v in truth]
    lat = np.array([p.get("latitude", np.nan) for p in pos], dtype=float)
    lon = np.array([p.get("longitude", np.nan) for p in pos], dtype=float)
    ok = np.isfinite(lat)
    out = np.zeros(len(truth), dtype=bool)
    if ok.any():
        out[ok] = audible(lat[ok], lon[ok])
    return out


def _overlap(start: datetime | None, end: datetime | None, v: Visit) -> bool:
    """Whether a stop's window [start, end] meets the visit's [arrive, depart] (open ends unbounded)."""
    if end is not None and v.arrive is not None and end + TOLERANCE < v.arrive:
        return False
    if start is not None and v.depart is not None and start - TOLERANCE > v.depart:
        return False
    return True


# --- simulated multi-stop trips -----------------------------------------------------------

@dataclass
class Trip:
    """A simulated trip: its full-rate points, its legs (the truth) and what it is."""

    name: str
    points: pl.DataFrame
    legs: list[dict]
    typecode: str
    country: str
    icao24: str

    @property
    def visits(self) -> list[Visit]:
        return visits_of_legs(self.legs)

    def stops(self) -> list[tuple[datetime, datetime]]:
        """(landing, take-off) of each intermediate stop."""
        return [(a["landing"], b["takeoff"]) for a, b in zip(self.legs[:-1], self.legs[1:])]


def _pool(banned: set[str], min_runway_ft: float) -> list[dict]:
    from tailwatch.geo.airports import airports

    frame = airports().filter(
        (pl.col("kind") == "large") & (pl.col("longest_runway_ft") >= max(min_runway_ft, 8_000.0))
        & ~pl.col("country").is_in(sorted(banned))
    )
    return frame.to_dicts()


# (lat_lo, lat_hi, lon_lo, lon_hi): where the watched freighters' trips go (Africa, the Middle
# East, Latin America and the Caribbean): airports there are drawn this many times as often
FOCUS = ((-35.0, 37.0, -18.0, 52.0), (12.0, 42.0, 34.0, 63.0), (-56.0, 30.0, -118.0, -34.0))
FOCUS_WEIGHT = 8.0


def random_trip(seed: int, n_legs: int, start: datetime, home: str = "UUWW", typecode: str = "IL76",
                country: str = "RU", legal: bool = True, step_s: float = 10.0, icao24: str | None = None,
                africa_atlantic: bool = False, reuse: list[str] = (), reuse_share: float = 0.0,
                route: list[str] | None = None, ground_hours: list[float] | None = None) -> Trip:
    """A trip of `n_legs` legs from `home` between large airports the operator may use, legs of
    800–5,500 km, ground stays of 2.5–30 h (short stays put two stops in one outage), each leg on
    the shortest path legal for an operator of `country` (`legal`), else the great circle.

    `africa_atlantic` draws airports in FOCUS regions more often; `reuse` (with `reuse_share`)
    makes the trip revisit airports of another trip, as freighters on a circuit do. `route` (ICAO
    codes, `home` first) and `ground_hours` (one per intermediate stop) fix the trip instead.
    """
    from tailwatch.airspace.bans import banned_jurisdictions
    from tailwatch.geo.airports import airport
    from tailwatch.geo.geodesy import haversine_km
    from tailwatch.sim.scenario import legal_waypoints
    from tailwatch.sim.trips import Performance, flight_time_s, simulate_trip

    rng = np.random.default_rng(seed)
    banned = set(banned_jurisdictions(operator_country=country, registration_country=country, when=start))
    pool = _pool(banned, 5_600.0)
    lat = np.array([a["latitude"] for a in pool])
    lon = np.array([a["longitude"] for a in pool])
    weight = np.ones(lat.size)
    if africa_atlantic:
        for la0, la1, lo0, lo1 in FOCUS:
            weight[(lat >= la0) & (lat <= la1) & (lon >= lo0) & (lon <= lo1)] = FOCUS_WEIGHT
    index = {a["icao"]: i for i, a in enumerate(pool)}
    again = np.array([index[c] for c in reuse if c in index], dtype=int)
    route = [airport(home)] if route is None else [airport(c) for c in route]
    for _ in range(n_legs - len(route) + 1):
        here = route[-1]
        d = haversine_km(here["latitude"], here["longitude"], lat, lon)
        fits = (d >= 800.0) & (d <= 5_500.0)
        if len(route) > 1:  # no immediate return
            fits &= np.array([a["icao"] != route[-2]["icao"] for a in pool])
        ok = np.flatnonzero(fits)
        known = again[fits[again]] if again.size else again
        if known.size and rng.random() < reuse_share:
            route.append(pool[int(rng.choice(known))])
            continue
        w = weight[ok] / weight[ok].sum()
        route.append(pool[int(rng.choice(ok, p=w))])
    n_legs = len(route) - 1
    ground = ([float(h) for h in ground_hours] if ground_hours is not None else
              [float(h) for h in rng.choice([2.5, 3.0, 4.0, 6.0, 10.0, 16.0, 24.0, 30.0], size=n_legs - 1)])
    perf = Performance()
    vias, t = [], start
    for i, (a, b) in enumerate(zip(route[:-1], route[1:])):
        via = legal_waypoints(a, b, t, country)[0] if legal else ()
        vias.append(via)
        t = t + timedelta(seconds=flight_time_s(a, b, perf, via)) + timedelta(hours=ground[i] if i < len(ground) else 0)
    icao24 = icao24 or f"{int(rng.integers(0x140000, 0x15FFFF)):06x}"
    points, legs = simulate_trip(route, start, ground, icao24, None, perf, step_s, seed, via=vias)
    return Trip(f"sim-{seed}", points, legs, typecode, country, icao24)


# --- seed-like trips: one stop between continents, hidden in a gap of 8–16 h ---------------

# (origin, stop, destination): legs like the seed trip's Caracas → Nouakchott → Algiers; under the
# masks the Atlantic, the Sahara and the Sahel are unheard, so the stop falls in one long gap
SEED_LIKE_ROUTES = (
    ("SVMI", "GQNO", "DAAG"), ("DAAG", "GQNO", "SVMI"), ("MUHA", "GQNO", "GMMN"),
    ("SVMI", "GOBD", "DTTA"), ("SKBO", "GQNO", "DAAG"), ("GMMN", "GOBD", "SVMI"),
    ("MUHA", "GVAC", "DAAG"), ("SVMI", "DIAP", "HECA"),
)


def decoy_history(route: tuple[str, ...], min_km: float = 250.0, max_km: float = 900.0) -> dict[str, int]:
    """A history prior that points away from the geometric answer: 3 days at the large airport
    nearest each stop (250–900 km from it, off the route), none at the stop itself."""
    from tailwatch.geo.airports import airport, airports
    from tailwatch.geo.geodesy import haversine_km

    big = airports().filter(pl.col("kind") == "large")
    out = {}
    for code in route[1:-1]:
        a = airport(code)
        d = haversine_km(a["latitude"], a["longitude"], big["latitude"].to_numpy(), big["longitude"].to_numpy())
        ok = (d >= min_km) & (d <= max_km) & ~big["icao"].is_in(list(route)).to_numpy()
        if ok.any():
            out[str(big["icao"][int(np.argmin(np.where(ok, d, np.inf)))])] = 3
    return out


def seed_like_trip(k: int, start: datetime) -> tuple[Trip, dict[str, int]]:
    """The k-th seed-like trip (a route of SEED_LIKE_ROUTES, ground stays of 3–9 h at the stop)
    and its decoy history."""
    route = SEED_LIKE_ROUTES[k % len(SEED_LIKE_ROUTES)]
    rng = np.random.default_rng(5_000 + k)
    trip = random_trip(5_000 + k, len(route) - 1, start, home=route[0], route=list(route),
                       ground_hours=[float(rng.uniform(3.0, 9.0)) for _ in route[1:-1]])
    trip.name = f"seedlike-{'-'.join(route)}-{k}"
    return trip, decoy_history(route)
