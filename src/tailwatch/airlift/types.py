"""Aircraft type specifications for airlift questions (payload, hold, speed, range).

Data: `data/aircraft_types.csv` — long format, one figure per row:
`type, field, payload_t, value, low, high, unit, source, as_of, note`
(`field=range_km` rows are payload–range points at `payload_t`; `alias` rows map
ICAO designators and spellings onto a type; `value` may be `unknown`).

Written by hand because no maintained library publishes payload–range figures:
openap covers airliners only and gives masses and cruise speeds, not payload–range
points or zero-fuel masses (its figures are cited row by row where used). For a
passenger type the payload is what the leg allowed (passengers + bags + cargo).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

from tailwatch.geo.geodesy import KT_TO_KMH

DATA_FILE = "aircraft_types.csv"
M_TO_FT = 1 / 0.3048


@dataclass(frozen=True)
class Figure:
    """One sourced number: nominal value with a low/high band where sources disagree."""

    value: float | None
    low: float | None
    high: float | None
    unit: str
    source: str
    as_of: str
    note: str = ""

    @property
    def band(self) -> tuple[float | None, float | None]:
        return (self.low, self.high)


@dataclass(frozen=True)
class PayloadRangePoint:
    """A point of the payload–range diagram: `payload_t` carried over `range_km` (low..high)."""

    payload_t: float
    range_km: float
    range_low_km: float
    range_high_km: float
    source: str
    as_of: str
    note: str = ""


@dataclass(frozen=True)
class TypeSpec:
    """What a type can lift and how fast it flies, each figure traceable to a source row."""

    code: str
    name: str
    aliases: tuple[str, ...]
    figures: dict[str, Figure] = field(repr=False)
    points: tuple[PayloadRangePoint, ...] = ()

    def _v(self, key: str) -> float | None:
        f = self.figures.get(key)
        return f.value if f else None

    @property
    def mtow_t(self) -> float | None:
        return self._v("mtow_t")

    @property
    def max_payload_t(self) -> float | None:
        return self._v("max_payload_t")

    @property
    def max_payload_band_t(self) -> tuple[float | None, float | None]:
        f = self.figures.get("max_payload_t")
        return f.band if f else (None, None)

    @property
    def cruise_kmh(self) -> float | None:
        return self._v("cruise_kmh")

    @property
    def cruise_kt(self) -> float | None:
        v = self.cruise_kmh
        return None if v is None else v / KT_TO_KMH

    @property
    def ferry_range_km(self) -> float | None:
        return self._v("ferry_range_km")

    @property
    def hold_length_m(self) -> float | None:
        return self._v("hold_length_m")

    @property
    def hold_width_m(self) -> float | None:
        return self._v("hold_width_m")

    @property
    def hold_height_m(self) -> float | None:
        return self._v("hold_height_m")

    @property
    def ramp_length_m(self) -> float | None:
        return self._v("ramp_length_m")

    @property
    def troops(self) -> float | None:
        return self._v("troops")

    @property
    def seats(self) -> float | None:
        return self._v("seats")

    @property
    def min_runway_ft(self) -> float | None:
        return self._v("min_runway_ft")

    def source_of(self, key: str) -> str | None:
        f = self.figures.get(key)
        return None if f is None else f"{f.source} (as of {f.as_of})"

    def to_json(self) -> dict:
        """Plain dict: every figure with its band and source, the payload–range points."""
        return {
            "code": self.code,
            "name": self.name,
            "aliases": list(self.aliases),
            "cruise_kt": None if self.cruise_kt is None else round(self.cruise_kt, 1),
            "figures": {
                k: {"value": f.value, "low": f.low, "high": f.high, "unit": f.unit,
                    "source": f.source, "as_of": f.as_of, **({"note": f.note} if f.note else {})}
                for k, f in self.figures.items()
            },
            "payload_range": [
                {"payload_t": p.payload_t, "range_km": p.range_km,
                 "range_band_km": [p.range_low_km, p.range_high_km], "source": p.source, "as_of": p.as_of}
                for p in self.points
            ],
        }


def normalise_code(code: str) -> str:
    """Upper case without separators: 'Il-76 MD-90A' → 'IL76MD90A'."""
    return re.sub(r"[^A-Z0-9]", "", code.upper())


def _num(text: str) -> float | None:
    text = (text or "").strip()
    if not text or text.lower() == "unknown":
        return None
    return float(text)


@cache
def _table() -> tuple[dict[str, TypeSpec], dict[str, str]]:
    """Parse the data file once: specs by code and an alias → code index."""
    text = files("tailwatch").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    rows: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader(text.splitlines()):
        rows.setdefault(row["type"], []).append(row)
    specs: dict[str, TypeSpec] = {}
    alias_index: dict[str, str] = {}
    for code, items in rows.items():
        figures: dict[str, Figure] = {}
        points: list[PayloadRangePoint] = []
        aliases: list[str] = []
        name = code
        for r in items:
            fld = r["field"]
            if fld == "name":
                name = r["value"]
            elif fld == "alias":
                aliases.append(r["value"])
            elif fld == "range_km":
                v, lo, hi = _num(r["value"]), _num(r["low"]), _num(r["high"])
                if v is None:
                    continue
                points.append(PayloadRangePoint(float(r["payload_t"]), v, lo if lo is not None else v,
                                                hi if hi is not None else v, r["source"], r["as_of"], r["note"]))
            else:
                v = _num(r["value"])
                lo, hi = _num(r["low"]), _num(r["high"])
                figures[fld] = Figure(v, lo if lo is not None else v, hi if hi is not None else v,
                                      r["unit"], r["source"], r["as_of"], r["note"])
        points.sort(key=lambda p: -p.payload_t)
        specs[code] = TypeSpec(code, name, tuple(aliases), figures, tuple(points))
        alias_index[normalise_code(code)] = code
        for a in aliases:
            alias_index.setdefault(normalise_code(a), code)
    return specs, alias_index


def known_types() -> list[str]:
    """Type codes with data, in file order."""
    return list(_table()[0])


def resolve_code(code: str | None) -> str | None:
    """The data file's type code for an ICAO designator, variant or spelling; None if unknown."""
    if not code:
        return None
    return _table()[1].get(normalise_code(code))


def aircraft_type(code: str | None) -> TypeSpec | None:
    """The TypeSpec for a type code (IL76, IL76TD, A124, C17, B77L …); None if no data."""
    resolved = resolve_code(code)
    return None if resolved is None else _table()[0][resolved]
