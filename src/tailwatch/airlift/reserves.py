"""The reserve policy every payload figure assumes: contingency, alternate and hold, as still-air range.

Shared by the sourced payload–range line (`payload`) and the fuel-burn refinement (`refine`),
so both answer for the same flight.
"""

from __future__ import annotations

from tailwatch.airlift.types import TypeSpec

CONTINGENCY_FRACTION = 0.05
ALTERNATE_KM = 370.0
HOLD_MIN = 30.0
DEFAULT_HOLD_KMH = 800.0  # model parameter when a type has no sourced cruise speed


def reserve_km(spec: TypeSpec) -> float:
    """Fixed part of the reserves as still-air distance: alternate plus the hold flown at cruise."""
    return ALTERNATE_KM + HOLD_MIN / 60.0 * (spec.cruise_kmh or DEFAULT_HOLD_KMH)


def required_range_km(spec: TypeSpec, distance_km: float) -> float:
    """Still-air range a leg of `distance_km` flown needs with the reserve policy above."""
    return distance_km * (1.0 + CONTINGENCY_FRACTION) + reserve_km(spec)
