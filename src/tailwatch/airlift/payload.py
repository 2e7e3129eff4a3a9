"""Payload a type could lift over a leg, from its sourced payload–range diagram.

The diagram (see `types.PayloadRangePoint`): flat at the structural maximum
payload out to the range with that payload, then the fuel-limited line
(piecewise linear between the sourced points), then down to zero payload at the
ferry range when a source gives it. Three curves are built from the same points:
nominal (`value`), low (low payload limit, shortest ranges) and high (high limit,
longest ranges), so the band carries the spread between sources.

Reserve policy (applied the same way everywhere, documented in docs/aircraft_types.md):
a leg of flown distance d needs still-air range
    d × (1 + 5 % contingency) + 370 km alternate (200 NM) + 30 min hold at cruise speed.
The nominal value and the low bound use that required range; the high bound uses
the flown distance alone, because published ranges often already hold the maker's
reserves. Beyond the last sourced point with no sourced ferry range, the last
fuel-limited slope is extrapolated and the result is flagged `extrapolated`.

The optional fuel-burn refinement (openap) is in `refine.py`; it covers only
airliner types that openap models (none of the Il-76 / An-124 / military types).
Written by hand: no library publishes payload–range diagrams for these freighters;
the model is a few knots and `numpy.interp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailwatch.airlift.reserves import CONTINGENCY_FRACTION, required_range_km, reserve_km
from tailwatch.airlift.types import TypeSpec, aircraft_type
from tailwatch.errors import BadInput


Curve = list[tuple[float, float]]  # (range_km, payload_t) knots, range ascending


class UnknownType(BadInput):
    """No data for this aircraft type."""


def spec_or_raise(code: str | None) -> TypeSpec:
    spec = aircraft_type(code)
    if spec is None:
        from tailwatch.airlift.types import known_types

        raise UnknownType(f"unknown aircraft type {code!r}: no payload data (known: {', '.join(known_types())})")
    return spec


def _curve(spec: TypeSpec, which: str) -> tuple[Curve, bool]:
    """Knots of one curve ('nominal'|'low'|'high') and whether the ferry end is sourced."""
    pm = spec.figures.get("max_payload_t")
    if pm is None or pm.value is None or not spec.points:
        return [], False
    pmax = {"nominal": pm.value, "low": pm.low, "high": pm.high}[which] or pm.value
    pts = [(p.range_km if which == "nominal" else p.range_low_km if which == "low" else p.range_high_km,
            p.payload_t) for p in spec.points]
    ferry = spec.figures.get("ferry_range_km")
    ferry_sourced = ferry is not None and ferry.value is not None
    if ferry_sourced:
        fr = {"nominal": ferry.value, "low": ferry.low, "high": ferry.high}[which] or ferry.value
        pts.append((fr, 0.0))
    pts.sort(key=lambda rp: (-rp[1], rp[0]))
    above = [rp for rp in pts if rp[1] >= pmax]
    below = [rp for rp in pts if rp[1] < pmax]
    if above:  # a point at (or above) the structural limit ends the flat part
        knots = [(0.0, pmax), (max(r for r, _ in above), pmax)]
    elif len(below) >= 2:  # extend the fuel line back up to the structural limit
        (r1, p1), (r2, p2) = below[0], below[1]
        slope = (r2 - r1) / (p1 - p2) if p1 != p2 else 0.0
        knots = [(0.0, pmax), (max(0.0, r1 - slope * (pmax - p1)), pmax)]
    elif below:  # one point under the limit, no slope: only that point is known for sure
        r1, p1 = below[0]
        top = pmax if which == "high" else p1
        knots = [(0.0, top), (r1, top)]
    else:
        knots = [(0.0, pmax)]
    for r, p in below:
        if r > knots[-1][0] and p < knots[-1][1]:
            knots.append((r, p))
    return knots, ferry_sourced


def _eval(knots: Curve, ferry_sourced: bool, range_needed: float) -> tuple[float | None, bool]:
    """Payload on a curve at a required range; (None, False) where nothing can be said."""
    if not knots:
        return None, False
    rs = np.array([k[0] for k in knots])
    ps = np.array([k[1] for k in knots])
    if range_needed <= rs[-1]:
        return float(np.interp(range_needed, rs, ps)), False
    if ferry_sourced:
        return 0.0, False
    if len(knots) >= 3 or (len(knots) == 2 and ps[-1] < ps[0]):
        slope = (ps[-1] - ps[-2]) / (rs[-1] - rs[-2])
        return float(max(0.0, ps[-1] + slope * (range_needed - rs[-1]))), True
    return None, False


@dataclass(frozen=True)
class LegPayload:
    """The most a type could carry over one leg, with its band and how it was reached."""

    type: str
    distance_km: float
    required_range_km: float
    max_payload_t: float | None
    band_t: tuple[float | None, float | None]
    limited_by: str  # 'structure' | 'fuel' | 'range' | 'unknown' | 'sourced point' | 'fuel (openap)'
    extrapolated: bool
    refined: dict | None = None  # openap fuel-burn figure where openap models the type

    def to_json(self) -> dict:
        r = lambda v: None if v is None else round(v, 1)  # noqa: E731
        return {"distance_km": round(self.distance_km, 1), "required_range_km": round(self.required_range_km, 1),
                "max_payload_t": r(self.max_payload_t), "band_t": [r(self.band_t[0]), r(self.band_t[1])],
                "limited_by": self.limited_by, "extrapolated": self.extrapolated,
                **({"fuel_refined": self.refined} if self.refined else {})}


def leg_payload(code: str, distance_km: float) -> LegPayload:
    """Max payload over a leg of `distance_km` flown (reserves added per the policy above)."""
    if not np.isfinite(distance_km) or distance_km < 0:
        raise BadInput(f"leg distance must be a non-negative number of km, got {distance_km!r}")
    spec = spec_or_raise(code)
    need = required_range_km(spec, distance_km)
    nominal, ferry = _curve(spec, "nominal")
    value, extra = _eval(nominal, ferry, need)
    lo, extra_lo = _eval(*_curve(spec, "low"), need)
    hi, extra_hi = _eval(*_curve(spec, "high"), distance_km)
    if value is not None:
        lo = value if lo is None else min(lo, value)
        hi = value if hi is None else max(hi, value)
    pmax = spec.max_payload_t
    if value is None and nominal and need > nominal[-1][0]:
        # beyond a lone sourced point the payload is unknown, but bounded: a payload-range line never
        # rises with range, and the leg was flown, so it allowed between nothing and that point's load
        lo, hi = 0.0, nominal[-1][1]
    if value is None:
        limited = "unknown"
    elif value <= 0.0:
        limited = "range"
    elif pmax is not None and value >= pmax - 1e-9:
        limited = "structure"
    elif nominal and abs(value - nominal[0][1]) < 1e-9:
        limited = "sourced point"  # below the structural maximum, only a lower payload is sourced
    else:
        limited = "fuel"
    refined = None
    from tailwatch.airlift.refine import OPENAP_TYPES, refined_payload

    if spec.code in OPENAP_TYPES:
        r = refined_payload(spec.code, distance_km)
        if r is not None:
            refined = {"max_payload_t": round(r.max_payload_t, 1), "model": r.model}
            if value is None or extra:  # beyond the sourced points: the fuel model speaks instead
                value, limited, extra = r.max_payload_t, "fuel (openap)", False
                lo = value if lo is None else min(lo, value)
                hi = value if hi is None else max(hi, value)
    return LegPayload(spec.code, float(distance_km), need, value, (lo, hi), limited,
                      extra or extra_lo or extra_hi, refined)


def max_payload_t(code: str, distance_km: float) -> tuple[float | None, tuple[float | None, float | None]]:
    """(payload t, (low, high)) a type could carry over a leg of `distance_km` flown, reserves included.

    None where the sourced points say nothing (beyond a lone point with no ferry range).
    Raises UnknownType (a BadInput) for a type with no data; check `aircraft_type` first.
    """
    lp = leg_payload(code, distance_km)
    return lp.max_payload_t, lp.band_t


def range_km(code: str, payload_t: float) -> float:
    """Longest leg (flown km, reserves kept back) on which the type can carry `payload_t`.

    The inverse of `max_payload_t` on the nominal curve; 0.0 if the payload exceeds
    the structural maximum. On the extrapolated part the line is followed to zero payload.
    Raises UnknownType (a BadInput) when the type has no sourced payload–range figures.
    """
    spec = spec_or_raise(code)
    knots, ferry = _curve(spec, "nominal")
    if not knots:
        raise UnknownType(f"no sourced payload–range figures for {spec.code} ({spec.name}): range unknown")
    if payload_t > knots[0][1] + 1e-9:
        return 0.0
    rs = [k[0] for k in knots]
    ps = [k[1] for k in knots]
    still_air = None
    for i in range(1, len(knots)):
        if ps[i] <= payload_t <= ps[i - 1] and ps[i] < ps[i - 1]:
            still_air = rs[i - 1] + (ps[i - 1] - payload_t) / (ps[i - 1] - ps[i]) * (rs[i] - rs[i - 1])
            break
    if still_air is None:  # below the last knot: follow the last slope (or the flat end)
        if not ferry and len(knots) >= 2 and ps[-1] < ps[-2]:
            slope = (rs[-1] - rs[-2]) / (ps[-2] - ps[-1])
            still_air = rs[-1] + slope * (ps[-1] - payload_t)
        else:
            still_air = rs[-1]
    return max(0.0, (still_air - reserve_km(spec)) / (1.0 + CONTINGENCY_FRACTION))


LIGHT_PAYLOAD_SHARE = 0.2  # a light load: a fifth of the structural maximum


def light_payload_range_km(code: str | None) -> float | None:
    """The longest leg the type flies with a light payload (LIGHT_PAYLOAD_SHARE of its maximum),
    for telling how many stops a gap needs; None unless the sources give a fuel-limited line down
    towards zero payload (a lone point would understate the range, and an understated range would
    invent a stop)."""
    spec = aircraft_type(code) if code else None
    if spec is None or not spec.max_payload_t:
        return None
    try:
        full, light, empty = (range_km(spec.code, f * spec.max_payload_t) for f in (1.0, LIGHT_PAYLOAD_SHARE, 0.0))
    except UnknownType:
        return None
    return light if empty > light > full > 0 else None
