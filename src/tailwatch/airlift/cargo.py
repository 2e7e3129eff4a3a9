"""Cargo to be flown: named sets from the shipped table, or a user's own CSV.

Data: `data/cargo_items.csv` — one row per item of a named set:
`set, item, kind (vehicle|item|reported_sorties), quantity, mass_kg, mass_low_kg,
mass_high_kg, length_m, width_m, height_m, source, as_of, note`; `unknown` where no
source gives the figure ("unknown — supply it"). A `reported_sorties` row records how
many flights a public report says moved that set, for comparison with the planner.

A user cargo file is a CSV with at least `item` and `mass_kg` (optional `quantity`,
`kind`, `length_m`, `width_m`, `height_m`, `source`); errors name the file and line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files
from pathlib import Path

from tailwatch.errors import BadInput

DATA_FILE = "cargo_items.csv"
KINDS = ("vehicle", "item")


@dataclass(frozen=True)
class CargoItem:
    """One line of a cargo: `quantity` units of the same thing (None = unknown)."""

    name: str
    kind: str
    quantity: int | None
    mass_kg: float | None
    mass_band_kg: tuple[float | None, float | None]
    length_m: float | None
    width_m: float | None
    height_m: float | None
    source: str
    as_of: str = ""
    note: str = ""

    @property
    def missing(self) -> list[str]:
        """Figures the planner needs and no source gave."""
        out = []
        if self.quantity is None:
            out.append("quantity")
        if self.mass_kg is None:
            out.append("mass")
        return out

    def to_json(self) -> dict:
        return {"item": self.name, "kind": self.kind, "quantity": self.quantity, "mass_kg": self.mass_kg,
                "mass_band_kg": list(self.mass_band_kg), "length_m": self.length_m, "width_m": self.width_m,
                "height_m": self.height_m, "source": self.source, "as_of": self.as_of,
                **({"missing": self.missing, "status": "unknown — supply it"} if self.missing else {})}


@dataclass(frozen=True)
class ReportedAirlift:
    """A public report of how many flights moved a cargo set."""

    description: str
    sorties: int
    source: str
    as_of: str
    note: str


@dataclass(frozen=True)
class Cargo:
    """A named cargo: its items and any reported airlift to compare with."""

    name: str
    items: tuple[CargoItem, ...]
    reported: tuple[ReportedAirlift, ...] = ()

    def scaled(self, count: int) -> Cargo:
        """The same cargo `count` times over (quantities multiplied; unknown stays unknown)."""
        if count < 1:
            raise BadInput(f"cargo count must be at least 1, got {count}")
        return replace(self, name=f"{count} × {self.name}" if count != 1 else self.name,
                       items=tuple(replace(i, quantity=None if i.quantity is None else i.quantity * count)
                                   for i in self.items))

    @property
    def known_mass_t(self) -> float:
        return sum(i.quantity * i.mass_kg for i in self.items if not i.missing) / 1000.0

    @property
    def incomplete(self) -> list[CargoItem]:
        return [i for i in self.items if i.missing]

    def to_json(self) -> dict:
        return {"name": self.name, "items": [i.to_json() for i in self.items],
                "known_mass_t": round(self.known_mass_t, 3),
                "reported": [r.__dict__ for r in self.reported]}


def _num(text: str | None, where: str, column: str) -> float | None:
    text = (text or "").strip()
    if not text or text.lower().startswith("unknown"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"{where}: {column} {text!r} is not a number (or 'unknown')") from None
    if value < 0:
        raise BadInput(f"{where}: {column} must not be negative, got {text}")
    return value


def _qty(text: str | None, where: str) -> int | None:
    v = _num(text, where, "quantity")
    if v is None:
        return None
    if v != int(v) or v < 1:
        raise BadInput(f"{where}: quantity must be a whole number ≥ 1, got {text}")
    return int(v)


def _parse(rows: list[dict[str, str]], label: str, default_source: str) -> tuple[list[CargoItem], list[ReportedAirlift]]:
    items: list[CargoItem] = []
    reported: list[ReportedAirlift] = []
    for line, row in rows:
        where = f"{label}:{line}"
        name = (row.get("item") or "").strip()
        if not name:
            raise BadInput(f"{where}: empty item name")
        kind = (row.get("kind") or "item").strip() or "item"
        if kind == "reported_sorties":
            reported.append(ReportedAirlift(name, _qty(row.get("quantity"), where) or 0,
                                            row.get("source") or default_source, row.get("as_of") or "",
                                            row.get("note") or ""))
            continue
        if kind not in KINDS:
            raise BadInput(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        qty_text = row.get("quantity")
        mass = _num(row.get("mass_kg"), where, "mass_kg")
        lo = _num(row.get("mass_low_kg"), where, "mass_low_kg")
        hi = _num(row.get("mass_high_kg"), where, "mass_high_kg")
        items.append(CargoItem(
            name=name, kind=kind,
            quantity=1 if qty_text is None or qty_text.strip() == "" else _qty(qty_text, where),
            mass_kg=mass, mass_band_kg=(lo if lo is not None else mass, hi if hi is not None else mass),
            length_m=_num(row.get("length_m"), where, "length_m"), width_m=_num(row.get("width_m"), where, "width_m"),
            height_m=_num(row.get("height_m"), where, "height_m"),
            source=(row.get("source") or default_source).strip(), as_of=(row.get("as_of") or "").strip(),
            note=(row.get("note") or "").strip()))
    return items, reported


@cache
def _sets() -> dict[str, Cargo]:
    text = files("tailwatch").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    grouped: dict[str, list] = {}
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        grouped.setdefault(row["set"], []).append((line, row))
    out = {}
    for name, rows in grouped.items():
        items, reported = _parse(rows, DATA_FILE, "")
        out[name] = Cargo(name, tuple(items), tuple(reported))
    return out


def known_sets() -> list[str]:
    return list(_sets())


def read_cargo_file(path: Path) -> Cargo:
    """A user cargo CSV (item, mass_kg, [quantity, kind, length_m, width_m, height_m, source])."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not a UTF-8 CSV ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "item" not in header or "mass_kg" not in header:
        raise BadInput(f"{path}:1: a cargo CSV needs 'item' and 'mass_kg' columns, found {header or 'nothing'}")
    rows = [(n, {(k or "").strip(): (v or "") for k, v in r.items()})
            for n, r in enumerate(reader, start=2) if any((v or "").strip() for v in r.values())]
    if not rows:
        raise BadInput(f"{path}: no cargo rows")
    items, reported = _parse(rows, str(path), f"user file {Path(path).name}")
    return Cargo(Path(path).stem, tuple(items), tuple(reported))


def load_cargo(name_or_path: str) -> Cargo:
    """A shipped cargo set by name (e.g. 'shahed-136', 's400-battery') or a CSV file path."""
    sets = _sets()
    key = name_or_path.strip().lower()
    if key in sets:
        return sets[key]
    path = Path(name_or_path)
    if path.suffix or path.exists():
        if not path.exists():
            raise BadInput(f"{path}: no such cargo file")
        return read_cargo_file(path)
    raise BadInput(f"unknown cargo {name_or_path!r}: give a CSV file or one of {', '.join(sets)}")


def merge_masses(base: Cargo, supplied: Cargo) -> Cargo:
    """Fill a set's unknown figures from a user's file (matched by item name, case-insensitive)."""
    by_name = {i.name.lower(): i for i in supplied.items}
    items = []
    for i in base.items:
        s = by_name.pop(i.name.lower(), None)
        if s is None:
            items.append(i)
            continue
        items.append(replace(i, quantity=s.quantity if s.quantity is not None else i.quantity,
                             mass_kg=s.mass_kg if s.mass_kg is not None else i.mass_kg,
                             mass_band_kg=s.mass_band_kg if s.mass_kg is not None else i.mass_band_kg,
                             length_m=s.length_m or i.length_m, width_m=s.width_m or i.width_m,
                             height_m=s.height_m or i.height_m, source=s.source))
    items.extend(by_name.values())
    return replace(base, items=tuple(items))
