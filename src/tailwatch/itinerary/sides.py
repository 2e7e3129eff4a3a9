"""The two observed ends of a gap (*sides*) and how well each airport fits one of them.

A side is the last point before a gap (outbound) or the first after it (inbound), with its
altitude, track, speed and vertical rate, or an airport where the aircraft was seen on the
ground. Its *phase* says what the points can tell: a descent below 15,000 ft points at an
airport a 3° path away, a climb at one a climb-out away; a cruise track only says "somewhere
ahead (behind), near the line". Why by hand: no library scores airports against a broken track.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from tailwatch.geo.geodesy import EARTH_RADIUS_KM, haversine_km, initial_bearing
from tailwatch.itinerary.candidates import to_candidates

LOW_PHASE_FT = 15_000.0  # below this, a descent is an approach and a climb a departure
DESCENT_KM_PER_FT = 0.3048 / np.tan(np.radians(3.0)) / 1000.0  # 3° path: ~5.8 km per 1000 ft
CLIMB_KM_PER_FT = 0.004  # ~4.4° climb-out: ~4 km per 1000 ft
# an 8° path, steeper than any normal descent or climb-out: a field nearer than this to a point
# heard at height cannot be where the aircraft landed (outbound) or took off (inbound) without
# circling on the way (FL370: ~80 km). A cruise side fades airports inside it instead of
# fitting them best (an airliner at FL370 45 km from Linate did not land there).
STEEP_KM_PER_FT = 0.3048 / np.tan(np.radians(8.0)) / 1000.0
# cruise: the cross-track tolerance grows 0.12 km per km ahead (a track ~7° off the line still
# points at the airport) from 30 km (the last heading itself is a few degrees uncertain)
CRUISE_CROSS_KM = 30.0
CRUISE_CROSS_PER_KM = 0.12
BEHIND_KM = 30.0  # an airport behind a cruise side fades over this many km
LOCALISED = ("approach", "departure", "low")  # phases that pin the airport to one neighbourhood
TURN_SIGMA_DEG = 40.0  # for counting stops, a cruise track may turn this much (1 σ) on the way (airways, detours)
TURN_BACK_DEG = 45.0  # last track within this of the bearing to the airport just left: a turn back
TURN_BACK_MIN_KM = 20.0  # nearer than this, the bearing says nothing


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

    def localised(self, outbound: bool) -> bool:
        """Whether the points pin the airport beyond the gap to one neighbourhood (a low descent
        or climb), rather than anywhere along a line (cruise)."""
        return self.phase(outbound) in LOCALISED

    def heads_back_to(self, airport: dict | None) -> bool:
        """Whether the last track points back at `airport` (the one just left): a turn back."""
        if airport is None or self.track is None:
            return False
        d = float(haversine_km(self.lat, self.lon, airport["latitude"], airport["longitude"]))
        if d < TURN_BACK_MIN_KM:
            return self.phase(True) in ("approach", "low")
        bearing = float(initial_bearing(self.lat, self.lon, airport["latitude"], airport["longitude"]))
        return float(angle_diff(np.array([bearing]), self.track)[0]) <= TURN_BACK_DEG

    def describe(self, outbound: bool) -> str:
        if self.airport is not None:
            return f"on the ground at {self.airport['icao']}"
        bits = []
        if self.alt is not None:
            bits.append(alt_text(self.alt))
        if self.vrate is not None and abs(self.vrate) >= 300:
            bits.append(("descending" if self.vrate < 0 else "climbing") + f" {abs(self.vrate):,.0f} ft/min")
        if self.track is not None:
            bits.append(f"track {self.track:03.0f}°")
        if self.gs is not None:
            bits.append(f"{self.gs:,.0f} kt")
        where = f"{self.lat:.3f}, {self.lon:.3f}"
        return f"{'last' if outbound else 'first'} seen {time_text(self.time)} at {where}" + (
            f" ({', '.join(bits)})" if bits else "")


def alt_text(alt: float) -> str:
    return f"FL{alt / 100:03.0f}" if alt >= 18_000 else f"{alt:,.0f} ft"


def time_text(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M Z")


def duration_text(seconds: float) -> str:
    minutes = int(round(seconds / 60.0))
    days, rem = divmod(minutes, 24 * 60)
    h, m = divmod(rem, 60)
    if days:
        return f"{days} d {h} h {m:02d} min"
    return f"{h} h {m:02d} min" if h else f"{m} min"


def angle_diff(a: np.ndarray, b: float) -> np.ndarray:
    """|a - b| in degrees, wrapped to [0, 180]: |((a - b + 180) mod 360) - 180|, worked in place
    on the difference (the same operations in the same order; a gap asks this over thousands of
    candidates)."""
    x = np.subtract(a, b)
    if not isinstance(x, np.ndarray):
        return np.abs((x + 180.0) % 360.0 - 180.0)
    x += 180.0
    np.remainder(x, 360.0, out=x)
    x -= 180.0
    return np.abs(x, out=x)


def too_near(side: Side, elev: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Factor in [0, 1] for each candidate at distance `d` from a side heard at height: 1 beyond
    the steepest plausible descent (climb) from that height above the field, fading inside it."""
    if side.alt is None:
        return np.ones_like(d)
    reach = np.maximum(side.alt - elev, 0.0)
    reach *= STEEP_KM_PER_FT
    short = np.maximum(reach - d, 0.0)
    # exp(-0.5 (short / (0.1 reach + 5))²), the same operations in place
    scale = 0.1 * reach
    scale += 5.0
    short /= scale
    short *= short
    short *= -0.5
    return np.exp(short, out=short)


def at_airport(airport: dict, cand: dict) -> np.ndarray:
    """1.0 at `airport`'s candidate, 0 elsewhere."""
    fit = np.zeros(cand["lat"].size)
    i = cand["index"].get(airport["icao"])
    if i is not None:
        fit[i] = 1.0
    return fit


CELL_DEG = 3.0  # `_cells`: the grid the candidates are grouped on to skip, a few hundred at a time, the far ones


def _cells(cand: dict) -> dict:
    """The candidates grouped by a CELL_DEG latitude/longitude grid, for `fit_bound` with a limit:
    each cell's members (positions in `cand`, ascending within a cell), its centre C (a unit
    vector) and its radius r, the longest chord from C to a member (a margin added for rounding).
    Any member Q has |Q·V - C·V| ≤ r for a unit vector V, so a bound worked out from C and r
    holds for every member. Made once per table and kept in it."""
    found = cand.get("cells")
    if found is not None:
        return found
    xyz = cand["xyz"]
    cell = (np.floor((np.asarray(cand["lat"]) + 90.0) / CELL_DEG).astype(np.int64) * 1000
            + np.floor((np.asarray(cand["lon"]) + 180.0) / CELL_DEG).astype(np.int64))
    order = np.argsort(cell, kind="stable")
    ids, starts, counts = np.unique(cell[order], return_index=True, return_counts=True)
    centre = np.add.reduceat(xyz[:, order], starts, axis=1) if order.size else np.zeros((3, 0))
    centre /= np.maximum(np.linalg.norm(centre, axis=0), 1e-300)
    chord = np.linalg.norm(xyz[:, order] - np.repeat(centre, counts, axis=1), axis=0)
    radius = (np.maximum.reduceat(chord, starts) if order.size else np.zeros(0)) * (1.0 + 1e-9) + 1e-12
    found = cand["cells"] = {"order": order, "starts": starts, "counts": counts, "centre": centre,
                             "radius": radius}
    return found


def _cell_members(cells: dict, passing: np.ndarray) -> np.ndarray:
    """Positions in the table of the members of the cells where `passing` holds, in cell order."""
    at = np.flatnonzero(passing)
    counts = cells["counts"][at]
    ends = np.cumsum(counts)
    pos = np.arange(int(ends[-1]) if ends.size else 0) + np.repeat(cells["starts"][at] - ends + counts, counts)
    return cells["order"][pos]


def fit_bound(side: Side, outbound: bool, cand: dict, limit: float | None = None) -> np.ndarray | None:
    """Per candidate, a t ≥ 0 with `side_fit` ≤ exp(-t²/2) (`within_fit` turns a fit into the
    t to keep), or None when the side does not narrow them (an airport side, a cruise side
    without a track). `limit`: only the t ≤ `limit` are asked for; candidates in grid cells
    (`_cells`) whose bound over the whole cell exceeds it get inf, unworked.

    Why: a gap's answer is decided by the airports that fit its sides best; scoring only those
    (`candidates.subset`) is the same answer at a fraction of the cost. The bounds are dot
    products with the candidates' unit vectors Q. A cruise side at P heading along the unit
    tangent D (D⊥ across it): Q·D = sin θ cos dev and Q·D⊥ = sin θ sin dev (θ the angle P-Q,
    dev the bearing's deviation from the track), and d / sin θ ≥ R, so the cross/along terms
    of the fit are at least R|Q·D⊥| / (30 + 0.12 R max(Q·D, 0)) and, behind, R|Q·D| / 30. A low
    descent or climb: (d - e) / (0.5 e + 15) at the farthest expected distance e (the lowest
    candidate field's), d at least R arccos(P·Q) less a km for rounding. A cell of centre C and
    radius r: every member's Q·V lies within r of C·V, so the same terms with C·V moved by r
    towards the smaller t bound every member's t (most of the world is dropped a cell at a time)."""
    if side.airport is not None:
        return None
    phase = side.phase(outbound)
    p_lat, p_lon = np.radians(side.lat), np.radians(side.lon)
    r = EARTH_RADIUS_KM
    localised = phase in LOCALISED
    if not localised and side.track is None:
        return None
    if localised:
        p = np.array([np.cos(p_lat) * np.cos(p_lon), np.cos(p_lat) * np.sin(p_lon), np.sin(p_lat)])
        agl = max(float(side.alt or 0.0) - cand["elev_min"], 0.0)
        expected = agl * max(DESCENT_KM_PER_FT, CLIMB_KM_PER_FT)
    else:
        direction = np.radians(side.track if outbound else (side.track + 180.0) % 360.0)
        north = np.array([-np.sin(p_lat) * np.cos(p_lon), -np.sin(p_lat) * np.sin(p_lon), np.cos(p_lat)])
        east = np.array([-np.sin(p_lon), np.cos(p_lon), 0.0])
        ahead = np.cos(direction) * north + np.sin(direction) * east
        across = -np.sin(direction) * north + np.cos(direction) * east
    xyz = cand["xyz"]  # (3, n): one row per axis, so a side's products are one matrix product
    members = None
    if limit is not None:
        cells = _cells(cand)
        c, rad = cells["centre"], cells["radius"]
        if localised:
            d = r * np.arccos(np.clip(p @ c + rad, -1.0, 1.0)) - 1.0
            low = np.maximum(d - expected, 0.0) / (0.5 * expected + 15.0)
        else:
            ca, cd = np.stack([across, ahead]) @ c
            cross = np.maximum(np.abs(ca) - rad, 0.0)
            cd += rad
            low = np.maximum(cross / (CRUISE_CROSS_KM / r + CRUISE_CROSS_PER_KM * np.maximum(cd, 0.0)),
                             -r / BEHIND_KM * cd)
        members = _cell_members(cells, low <= limit * (1.0 + 1e-9) + 1e-9)
        xyz = np.take(xyz, members, axis=1)  # (a fancy index on the second axis costs 5× more)
    if localised:
        d = r * np.arccos(np.clip(p @ xyz, -1.0, 1.0)) - 1.0
        t = np.maximum(d - expected, 0.0) / (0.5 * expected + 15.0)
    else:
        # rows: |Q·D⊥|, 0.12 Q·D and -R Q·D / 30, so that t = max(|Q·D⊥| / (30 / R + 0.12 max(Q·D, 0)),
        # max(-R Q·D / 30, 0)), worked out in place (a gap asks this over every airport)
        cross, along, behind = np.stack([across, CRUISE_CROSS_PER_KM * ahead, -r / BEHIND_KM * ahead]) @ xyz
        np.abs(cross, out=cross)
        np.maximum(along, 0.0, out=along)
        along += CRUISE_CROSS_KM / r
        cross /= along
        np.maximum(behind, 0.0, out=behind)
        t = np.maximum(cross, behind, out=cross)
    if members is None:
        return t
    full = np.full(cand["lat"].size, np.inf)
    full[members] = t
    return full


def within_fit(fit: float) -> float:
    """The largest t of `fit_bound` at which a fit may still reach `fit` (with a margin for rounding)."""
    return float(np.sqrt(2.0 * np.log(1.0 / fit))) * (1.0 + 1e-6) + 1e-6


def side_fit(side: Side, outbound: bool, cand: dict[str, np.ndarray]) -> np.ndarray:
    """How well each candidate airport fits one side of a gap, in [0, 1].

    Outbound (the end before a gap): the airport should lie ahead on the track, at the distance
    a descent from that height takes. Inbound: behind the first point, at the climb's distance.
    """
    if side.airport is not None:
        return at_airport(side.airport, cand)
    d, bearing = to_candidates(side.lat, side.lon, cand, bearing=side.track is not None)
    phase = side.phase(outbound)
    if side.track is None:
        dev = np.zeros_like(d)
        heading_known = False
    else:
        direction = side.track if outbound else (side.track + 180.0) % 360.0
        dev = angle_diff(bearing, direction)
        heading_known = True
    if phase in LOCALISED:
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
    # along = d cos(dev), cross = d |sin(dev)|, sigma = 30 + 0.12 max(along, 0); the fit is
    # exp(-0.5 (cross / sigma)²) × exp(-0.5 (min(along, 0) / 30)²) × `too_near`: the same
    # operations in the same order, worked in place (over a subset's thousands of candidates)
    rad = np.radians(dev, out=dev)
    along = np.cos(rad)
    along *= d
    cross = np.sin(rad, out=rad)
    np.abs(cross, out=cross)
    cross *= d
    sigma = np.maximum(along, 0.0)
    sigma *= CRUISE_CROSS_PER_KM
    sigma += CRUISE_CROSS_KM
    cross /= sigma
    cross *= cross
    cross *= -0.5
    fit = np.exp(cross, out=cross)
    behind = np.minimum(along, 0.0, out=along)
    behind /= BEHIND_KM
    behind *= behind
    behind *= -0.5
    fit *= np.exp(behind, out=behind)
    fit *= too_near(side, cand["elev"], d)
    return fit


def turn_fit(side: Side, outbound: bool, cand: dict[str, np.ndarray], at: np.ndarray | None = None,
             fit: np.ndarray | None = None) -> np.ndarray:
    """Whether each candidate could be the airport beyond a side, allowing for turns on the way:
    the test of "does one stop explain the positions" (`stopcount`), looser than `side_fit`,
    which ranks candidates. A pinned side (airport, low descent or climb) keeps its fit; a
    cruise track only needs the airport roughly ahead (behind, for the side after a gap).
    `at`: only these candidates (from the distances and bearings the side's fit worked out);
    `fit`: the side's `side_fit`, when it is known."""
    if side.airport is not None or side.localised(outbound):
        fit = side_fit(side, outbound, cand) if fit is None else fit
        return fit if at is None else fit[at]
    d, bearing = to_candidates(side.lat, side.lon, cand, bearing=side.track is not None)
    elev = cand["elev"]
    if at is not None:
        d, elev, bearing = d[at], elev[at], None if bearing is None else bearing[at]
    near = too_near(side, elev, d)
    if side.track is None:
        return near
    direction = side.track if outbound else (side.track + 180.0) % 360.0
    return np.exp(-0.5 * (angle_diff(bearing, direction) / TURN_SIGMA_DEG) ** 2) * near
