"""Was a gap in coverage flown through, or did the aircraft land in it? (Then `locate` says where.)

Distance ÷ time against the type's cruise speed, with margins; the phase on each side
(descending into, climbing out of the gap); whether the track before/after points along the gap
or away from it. Two sides seen at airports are an unseen leg (or a stay on the ground).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailwatch.geo.geodesy import haversine_km, initial_bearing
from tailwatch.itinerary.candidates import Context
from tailwatch.itinerary.locate import legal_km, locate
from tailwatch.itinerary.sides import Side, angle_diff, duration_text, time_text
from tailwatch.itinerary.stops import Stop
from tailwatch.itinerary.timing import (
    DEFAULT_CRUISE_KT,
    KT_KMH,
    MIN_TURNAROUND_S,
    PHASE_OVERHEAD_S,
    TAILWIND_MARGIN,
    Gap,
)

# slower than this share of cruise on average = not a transit: a 15 % headwind on a route 10 %
# longer than the great circle still averages 0.77 of cruise; flown-through gaps of the sparse
# bench average 0.80 or more (scripts/sparse_bench.py). Measured on the legal route when
# airspace is barred to the operator (its detour is flown, not the great circle).
THROUGH_SPEED_FRACTION = 0.72
DETOUR_DEG = 60.0  # track this far off the gap's direction = not flying through


@dataclass
class GapVerdict:
    """What happened in a gap: flown through (no stops) or landed at `stops` (in order)."""

    through: bool
    stops: list[Stop]
    reasons: list[str]
    gap: dict


def _must_land(left: Side, right: Side, dt_s: float, cruise_kt: float,
               ctx: Context | None = None) -> tuple[bool, bool, list[str]]:
    """(must_land, may_land, reasons) for a gap between two airborne sides."""
    dist = float(haversine_km(left.lat, left.lon, right.lat, right.lon))
    t_min = dist / (cruise_kt * KT_KMH * TAILWIND_MARGIN) * 3600.0
    slack = dt_s - t_min
    v_req_kt = dist / max(dt_s, 1.0) * 3600.0 / KT_KMH
    reasons = [
        f"gap of {duration_text(dt_s)} over {dist:,.0f} km; straight flight needs ≥ {duration_text(t_min)} "
        f"at {cruise_kt:,.0f} kt (+{(TAILWIND_MARGIN - 1) * 100:.0f}% wind margin); "
        f"average speed needed {v_req_kt:,.0f} kt",
        f"before the gap: {left.describe(True)}; after: {right.describe(False)}",
    ]
    turnaround = MIN_TURNAROUND_S + PHASE_OVERHEAD_S
    if v_req_kt > cruise_kt * 1.5 and dist > 50:
        reasons.append("faster than the type can fly: positions or times on one side are doubtful; no stop assumed")
        return False, False, reasons
    ph_l, ph_r = left.phase(True), right.phase(False)
    if ph_l == "approach" and ph_r == "departure" and slack >= MIN_TURNAROUND_S * 0.5:
        reasons.append("descending into the gap and climbing out of it: a landing, not a transit")
        return True, True, reasons
    if slack < turnaround:
        reasons.append(f"time to spare {duration_text(max(slack, 0))} is less than a turnaround and "
                       f"approach ({duration_text(turnaround)}): flown straight through")
        return False, False, reasons
    if v_req_kt < THROUGH_SPEED_FRACTION * cruise_kt and ctx is not None and ctx.banned:
        legal = legal_km(left.lat, left.lon, right.lat, right.lon, ctx, {})
        if legal > dist * 1.01:
            v_req_kt = legal / max(dt_s, 1.0) * 3600.0 / KT_KMH
            reasons.append(f"the legal route around barred airspace is {legal:,.0f} km: "
                           f"average speed needed {v_req_kt:,.0f} kt")
    if v_req_kt < THROUGH_SPEED_FRACTION * cruise_kt:
        reasons.append(f"{v_req_kt:,.0f} kt average is below {THROUGH_SPEED_FRACTION:.0%} of cruise "
                       f"with {duration_text(slack)} to spare: it landed (or held for hours)")
        return True, True, reasons
    if dist > 200:
        gap_dir = float(initial_bearing(left.lat, left.lon, right.lat, right.lon))
        back_dir = float(initial_bearing(right.lat, right.lon, left.lat, left.lon))
        off = []
        if left.track is not None:
            dev = float(angle_diff(np.array([gap_dir]), left.track)[0])
            if dev > DETOUR_DEG:
                off.append(f"the track before the gap points {dev:.0f}° away from where it reappears")
        if right.track is not None:
            dev = float(angle_diff(np.array([(back_dir + 180.0) % 360.0]), right.track)[0])
            if dev > DETOUR_DEG:
                off.append(f"the track after the gap comes from {dev:.0f}° off the direct line")
        if off:
            reasons.append("; ".join(off) + f", with {duration_text(slack)} to spare: a detour with a stop")
            return True, True, reasons
    reasons.append(f"{duration_text(slack)} to spare: a stop cannot be excluded, but nothing shows one; "
                   "taken as flown through")
    return False, True, reasons


def infer_gap(left: Side, right: Side, cruise_kt: float | None = None,
              min_runway_ft: float | None = None, ctx: Context | None = None,
              came_from: dict | None = None) -> GapVerdict:
    """Decide what happened between `left` (last seen) and `right` (next seen).

    `came_from`: the airport the aircraft took off from before `left` (observed or inferred), which
    is no candidate for a stop in the gap unless the last track turns back towards it."""
    ctx = ctx or Context.of(cruise_kt, min_runway_ft)
    cruise = ctx.cruise_kt or DEFAULT_CRUISE_KT
    dt_s = (right.time - left.time).total_seconds()
    dist = float(haversine_km(left.lat, left.lon, right.lat, right.lon))
    gap = {"start": left.time, "end": right.time, "lat1": left.lat, "lon1": left.lon,
           "lat2": right.lat, "lon2": right.lon, "km": round(dist, 1)}
    speed_note = None if ctx.cruise_kt else f"type cruise speed unknown: default {DEFAULT_CRUISE_KT:.0f} kt assumed"
    if left.airport is not None and right.airport is not None:
        same = left.airport["icao"] == right.airport["icao"]
        reasons = [f"seen at {left.airport['icao']} until {time_text(left.time)} and at "
                   f"{right.airport['icao']} from {time_text(right.time)}"]
        if same:
            return GapVerdict(True, [], reasons + ["stayed on the ground (no flight between)"], gap)
        # flown between two airports nobody heard: one unseen leg
        return GapVerdict(False, [], reasons + ["flew between them unobserved"], gap)
    if left.airport is None and right.airport is None:
        must, may, reasons = _must_land(left, right, dt_s, cruise, ctx)
        if speed_note:
            reasons.insert(1, speed_note)
        if not must:
            return GapVerdict(True, [], reasons, gap)
    else:
        reasons = [f"gap of {duration_text(dt_s)} over {dist:,.0f} km",
                   f"before: {left.describe(True)}; after: {right.describe(False)}"]
        if speed_note:
            reasons.append(speed_note)
    stops = locate(Gap(left, right, dt_s, cruise, ctx, came_from), reasons)
    return GapVerdict(False, stops, reasons, gap)
