"""Sortie planner: how many flights a cargo needs on a leg, and what each carries.

Written by hand: the general bin-packing libraries (OR-Tools, py3dbp) are heavy or
unmaintained for this small job, and the question here is a one-dimension-per-
resource packing with at most a few hundred units per leg.

Model (kept deliberately simple, and said so in every plan's `notes`):
- mass: each sortie carries at most the leg's `max_payload_t`;
- floor length: a `vehicle` drives on and uses its length of the hold floor (ramp
  not counted), divided by the lanes side by side (hold width // vehicle width);
- volume: an `item` with all three dimensions uses its box volume of the hold box;
  an item with a dimension unknown is packed by mass only (noted).
First-fit decreasing on the largest normalised demand; for 12 units or fewer the
count is then proved minimal (or improved) by an exhaustive search.
An item that cannot enter the hold (longer, wider or higher than it) is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tailwatch.airlift.cargo import Cargo
from tailwatch.airlift.types import TypeSpec
from tailwatch.errors import BadInput

EXACT_LIMIT = 12
EPS = 1e-9


class CargoDoesNotFit(BadInput):
    """An item cannot physically enter the aircraft's hold."""


@dataclass(frozen=True)
class Hold:
    """The usable hold: floor length (ramp excluded), width and height; None where unknown."""

    type: str
    length_m: float | None
    width_m: float | None
    height_m: float | None

    @classmethod
    def of(cls, spec: TypeSpec) -> Hold:
        return cls(spec.code, spec.hold_length_m, spec.hold_width_m, spec.hold_height_m)

    @property
    def volume_m3(self) -> float | None:
        if None in (self.length_m, self.width_m, self.height_m):
            return None
        return self.length_m * self.width_m * self.height_m


@dataclass(frozen=True)
class Unit:
    """One physical piece to load."""

    name: str
    kind: str
    mass_t: float
    length_m: float | None
    width_m: float | None
    height_m: float | None


def check_fit(unit: Unit, hold: Hold) -> None:
    """Raise CargoDoesNotFit if the unit cannot enter the hold (turning items, not vehicles)."""
    l, w, h = unit.length_m, unit.width_m, unit.height_m
    L, W, H = hold.length_m, hold.width_m, hold.height_m
    if h is not None and H is not None and h > H + EPS:
        raise CargoDoesNotFit(f"refused: {unit.name!r} is {h:g} m high: higher than the {hold.type} hold ({H:g} m)")
    if l is not None and L is not None and l > L + EPS:
        raise CargoDoesNotFit(f"refused: {unit.name!r} is {l:g} m long: longer than the {hold.type} hold floor ({L:g} m)")
    if w is not None and W is not None and w > W + EPS:
        turned = unit.kind != "vehicle" and l is not None and l <= W + EPS and (L is None or w <= L + EPS)
        if not turned:
            raise CargoDoesNotFit(f"refused: {unit.name!r} is {w:g} m wide: wider than the {hold.type} hold ({W:g} m)")


def units_of(cargo: Cargo) -> list[Unit]:
    """Every loadable unit (items with unknown quantity or mass are left out and reported)."""
    out = []
    for item in cargo.items:
        if item.missing:
            continue
        out.extend(Unit(item.name, item.kind, item.mass_kg / 1000.0, item.length_m, item.width_m, item.height_m)
                   for _ in range(item.quantity))
    return out


def _demand(unit: Unit, hold: Hold, capacity_t: float) -> tuple[float, float, float]:
    """Fractions of one sortie's mass, floor length and volume the unit uses."""
    mass = unit.mass_t / capacity_t if capacity_t > 0 else math.inf
    floor = 0.0
    if unit.kind == "vehicle" and unit.length_m is not None and hold.length_m:
        lanes = 1
        if unit.width_m and hold.width_m:
            lanes = max(1, int(hold.width_m // unit.width_m))
        floor = unit.length_m / lanes / hold.length_m
    volume = 0.0
    if unit.kind != "vehicle" and None not in (unit.length_m, unit.width_m, unit.height_m) and hold.volume_m3:
        volume = unit.length_m * unit.width_m * unit.height_m / hold.volume_m3
    return mass, floor, volume


def _ffd(demands: list[tuple[float, float, float]]) -> list[list[int]]:
    order = sorted(range(len(demands)), key=lambda i: -max(demands[i]))
    bins: list[list[int]] = []
    loads: list[list[float]] = []
    for i in order:
        d = demands[i]
        for b, load in enumerate(loads):
            if all(load[r] + d[r] <= 1.0 + EPS for r in range(3)):
                bins[b].append(i)
                for r in range(3):
                    load[r] += d[r]
                break
        else:
            bins.append([i])
            loads.append(list(d))
    return bins


def _exact(demands: list[tuple[float, float, float]], k: int) -> list[list[int]] | None:
    """An assignment into k sorties if one exists (depth-first, symmetry-pruned)."""
    order = sorted(range(len(demands)), key=lambda i: -max(demands[i]))
    loads = [[0.0, 0.0, 0.0] for _ in range(k)]
    bins: list[list[int]] = [[] for _ in range(k)]

    def place(pos: int) -> bool:
        if pos == len(order):
            return True
        i = order[pos]
        d = demands[i]
        tried_empty = False
        for b in range(k):
            if not bins[b]:
                if tried_empty:
                    continue
                tried_empty = True
            if all(loads[b][r] + d[r] <= 1.0 + EPS for r in range(3)):
                bins[b].append(i)
                for r in range(3):
                    loads[b][r] += d[r]
                if place(pos + 1):
                    return True
                bins[b].pop()
                for r in range(3):
                    loads[b][r] -= d[r]
        return False

    return [b for b in bins if b] if place(0) else None


@dataclass
class Sortie:
    """One flight's load."""

    items: dict[str, int]
    mass_t: float
    floor_m: float
    volume_fraction: float

    def to_json(self) -> dict:
        return {"items": self.items, "mass_t": round(self.mass_t, 3), "floor_m": round(self.floor_m, 2),
                "volume_fraction": round(self.volume_fraction, 3)}


@dataclass
class SortiePlan:
    """How a cargo splits into flights for one payload limit."""

    capacity_t: float | None
    sorties: list[Sortie] = field(default_factory=list)
    lower_bound: int = 0
    method: str = ""
    too_heavy: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int | None:
        """Sorties needed; None when the leg's payload is unknown or a unit can never go."""
        if self.capacity_t is None or self.too_heavy or (self.unknown and not self.sorties):
            return None
        return len(self.sorties)

    def to_json(self) -> dict:
        return {"capacity_t": None if self.capacity_t is None else round(self.capacity_t, 2),
                "sorties": self.count, "at_least": self.count is not None and bool(self.unknown),
                "status": ("unknown — supply it" if self.unknown and not self.sorties else
                           "at least (some items unknown)" if self.unknown else "complete"),
                "lower_bound": self.lower_bound, "method": self.method,
                "loads": [s.to_json() for s in self.sorties], "too_heavy_for_leg": self.too_heavy,
                "unknown_supply_it": self.unknown, "notes": self.notes}


def plan_sorties(cargo: Cargo, capacity_t: float | None, hold: Hold) -> SortiePlan:
    """Split `cargo` into sorties of at most `capacity_t` in `hold` (refuses items that cannot enter)."""
    units = units_of(cargo)
    for u in units:
        check_fit(u, hold)
    plan = SortiePlan(capacity_t)
    plan.unknown = [f"{i.name}: {', '.join(i.missing)} unknown — supply it" for i in cargo.incomplete]
    if capacity_t is None:
        plan.notes.append("payload for this leg unknown: no sourced payload–range point covers it")
        return plan
    if capacity_t <= 0:
        plan.too_heavy = sorted({u.name for u in units}) or ["(any payload)"]
        plan.notes.append("the leg is beyond the type's range with any payload")
        return plan
    plan.too_heavy = sorted({u.name for u in units if u.mass_t > capacity_t + EPS})
    if plan.too_heavy:
        plan.notes.append(f"heavier than the {capacity_t:.1f} t the leg allows: {', '.join(plan.too_heavy)}")
        return plan
    if not units:
        plan.method = "nothing to load"
        return plan
    demands = [_demand(u, hold, capacity_t) for u in units]
    bins = _ffd(demands)
    plan.lower_bound = max(1, *(math.ceil(sum(d[r] for d in demands) - EPS) for r in range(3)))
    plan.method = "first-fit decreasing"
    if len(units) <= EXACT_LIMIT and len(bins) > plan.lower_bound:
        for k in range(plan.lower_bound, len(bins)):
            found = _exact(demands, k)
            if found is not None:
                bins = found
                break
        plan.method = "exact (exhaustive search)"
    elif len(bins) == plan.lower_bound:
        plan.method += " (equals the lower bound: optimal)"
    for b in bins:
        counts: dict[str, int] = {}
        for i in b:
            counts[units[i].name] = counts.get(units[i].name, 0) + 1
        plan.sorties.append(Sortie(counts, sum(units[i].mass_t for i in b),
                                   sum(demands[i][1] for i in b) * (hold.length_m or 0.0),
                                   sum(demands[i][2] for i in b)))
    if any(u.kind == "vehicle" and u.length_m is None for u in units):
        plan.notes.append("floor length not checked for vehicles without a length")
    if hold.length_m is None and any(u.kind == "vehicle" for u in units):
        plan.notes.append(f"{hold.type} hold length unknown: vehicles packed by mass only")
    if any(u.kind != "vehicle" and None in (u.length_m, u.width_m, u.height_m) for u in units):
        plan.notes.append("volume not checked for items with a dimension unknown (packed by mass)")
    return plan
