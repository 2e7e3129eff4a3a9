"""Fuel-burn refinement of the payload–range line, where openap models the type.

openap (LGPL, optional dependency) ships per-type fuel-flow models in its wheel; it
models airliners only. Coverage checked against openap 2.6.2 (`prop.available_aircraft`):
- B744F: covered (openap `b744`, the 747-400; the freighter shares wing, engines, tanks);
- B77L: only through openap's *synonym* b77l→b77w (a 777-300ER) — not used;
- IL76*, A124 (openap synonym a124→b744 is a stand-in, not a model), C17, A400, AN12,
  IL62, T204, C130J: not covered.

Method: cruise at openap's cruise Mach and height, integrate fuel flow over the
required range (reserves included, as in payload.py) starting at the sourced MTOW;
the operating empty mass of the freighter is not published, so it is calibrated so
the model passes through the sourced max-payload point. Climb and descent are not
modelled separately (the calibration absorbs their constant share).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from tailwatch.airlift.reserves import required_range_km
from tailwatch.airlift.types import aircraft_type

OPENAP_TYPES = {"B744F": "b744"}  # our code → openap native model (no synonyms)
STEP_KM = 50.0
ISA_TROPOPAUSE_SOUND_MS = 295.07  # speed of sound at/above 11 km, ISA
JET_FUEL_KG_PER_L = 0.8025  # OpenAP's `mfc` is a tank capacity in litres; its own mass model converts at this density


@dataclass(frozen=True)
class Refined:
    max_payload_t: float
    model: str


@cache
def _model(openap_code: str):
    try:
        from openap import FuelFlow, prop
    except ImportError:
        return None
    ac = prop.aircraft(openap_code)
    cruise = ac["cruise"]
    alt_m = float(cruise["height"])
    sound = ISA_TROPOPAUSE_SOUND_MS if alt_m >= 11000 else 340.29 - 0.0039 * alt_m  # troposphere approx.
    tas_kt = cruise["mach"] * sound * 3.6 / 1.852
    return FuelFlow(openap_code), tas_kt, alt_m / 0.3048, float(ac["mfc"]) * JET_FUEL_KG_PER_L


MAX_KM = 20000.0
N_MASSES = 64


@cache
def _burn_table(openap_code: str, mtow_kg: float):
    """Cumulative cruise fuel burned (kg) for a grid of start masses × distance steps.

    One vectorised openap call per 50 km step over all start masses, so any later
    question (including the tank-limited bisection) is an interpolation.
    """
    import numpy as np

    ff, tas, alt, _ = _model(openap_code)
    masses = np.linspace(0.35 * mtow_kg, mtow_kg, N_MASSES)
    steps = int(MAX_KM / STEP_KM)
    seconds = STEP_KM / (tas * 1.852) * 3600.0
    burned = np.zeros((steps + 1, N_MASSES))
    mass = masses.copy()
    for k in range(1, steps + 1):
        fuel = np.asarray(ff.enroute(mass=mass, tas=np.full_like(mass, tas), alt=np.full_like(mass, alt)),
                          dtype=float) * seconds
        burned[k] = burned[k - 1] + fuel
        mass = np.maximum(mass - fuel, 1.0)
    return masses, burned


def _burn_kg(openap_code: str, mtow_kg: float, start_mass_kg: float, distance_km: float) -> float:
    """Fuel burned cruising `distance_km` from `start_mass_kg` (bilinear in the table)."""
    import numpy as np

    masses, burned = _burn_table(openap_code, mtow_kg)
    pos = min(distance_km, MAX_KM) / STEP_KM
    k = int(np.floor(pos))
    frac = pos - k
    row = burned[k] if frac == 0 or k + 1 >= len(burned) else burned[k] * (1 - frac) + burned[k + 1] * frac
    return float(np.interp(start_mass_kg, masses, row))


def covered(code: str | None) -> bool:
    spec = aircraft_type(code)
    return spec is not None and spec.code in OPENAP_TYPES and _model(OPENAP_TYPES[spec.code]) is not None


@cache
def _calibrated_oew_kg(code: str) -> float | None:
    spec = aircraft_type(code)
    model = _model(OPENAP_TYPES[spec.code])
    if model is None or spec.mtow_t is None or not spec.points:
        return None
    p = spec.points[0]
    mtow = spec.mtow_t * 1000.0
    burn = _burn_kg(OPENAP_TYPES[spec.code], mtow, mtow, p.range_km)  # published range: reserves inside, as in payload.py
    return mtow - p.payload_t * 1000.0 - burn


def refined_payload(code: str, distance_km: float) -> Refined | None:
    """openap-refined max payload over a leg, or None where openap does not model the type."""
    if not covered(code):
        return None
    spec = aircraft_type(code)
    oc = OPENAP_TYPES[spec.code]
    max_fuel = _model(oc)[3]
    oew = _calibrated_oew_kg(spec.code)
    if oew is None:
        return None
    need = required_range_km(spec, distance_km)
    mtow = spec.mtow_t * 1000.0
    burn = _burn_kg(oc, mtow, mtow, need)
    if burn <= max_fuel:
        payload = mtow - oew - burn
    else:  # tank-limited: find the payload whose take-off mass burns exactly a full tank
        lo, hi = 0.0, mtow - oew - max_fuel
        if hi <= 0 or _burn_kg(oc, mtow, oew + max_fuel, need) > max_fuel:
            payload = 0.0
        else:
            for _ in range(30):
                mid = (lo + hi) / 2
                if _burn_kg(oc, mtow, oew + mid + max_fuel, need) <= max_fuel:
                    lo = mid
                else:
                    hi = mid
            payload = lo
    payload_t = max(0.0, min(spec.max_payload_t or payload / 1000.0, payload / 1000.0))
    return Refined(payload_t, f"openap {OPENAP_TYPES[spec.code]} cruise fuel flow, OEW calibrated on the sourced "
                              f"{spec.points[0].payload_t:g} t / {spec.points[0].range_km:,.0f} km point")
