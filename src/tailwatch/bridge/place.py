"""Where the flights go: a country (ISO2), a list of airports (ICAO), or a polygon.

Why three kinds: investigators ask about a country ("into Venezuela"), about airports ("Amdjarass"),
or about an area with no border of its own (a region, a base and its surroundings). An itinerary's
airports carry their country; a polygon is tested against the airport's reference point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tailwatch.errors import BadInput

_ISO2 = re.compile(r"^[A-Za-z]{2}$")
_ICAO = re.compile(r"^[A-Za-z0-9]{4}$")


@dataclass(frozen=True)
class Destination:
    """The place flights must land in; `label` names it in every output."""

    label: str
    countries: frozenset[str] = frozenset()
    airports: frozenset[str] = frozenset()
    polygon: object | None = field(default=None, compare=False)  # a shapely geometry (lon, lat)

    def holds(self, place: dict | None) -> bool:
        """Whether an itinerary airport (`{"icao", "country"}`) lies in the destination."""
        if not place or not place.get("icao"):
            return False
        if place.get("country") in self.countries or place["icao"] in self.airports:
            return True
        if self.polygon is not None:
            lat, lon = place.get("latitude"), place.get("longitude")
            if lat is None or lon is None:
                from tailwatch.geo.airports import airport

                row = airport(place["icao"]) or {}
                lat, lon = row.get("latitude"), row.get("longitude")
            if lat is not None and lon is not None:
                import shapely

                return bool(shapely.contains_xy(self.polygon, float(lon), float(lat)))
        return False

    def crossed_by(self, leg: dict) -> bool:
        """Whether a leg's track crossed the destination's airspace (countries only: an airport list or a
        polygon has no airspace in the itinerary)."""
        return bool(self.countries & set(leg.get("countries") or []))


def parse_into(text: str, polygon=None, polygon_label: str | None = None) -> Destination:
    """`VE` (a country), `SVMI,SVVA` (airports) or a polygon already read by the caller."""
    if polygon is not None:
        return Destination(label=polygon_label or "polygon", polygon=polygon)
    parts = [p.strip().upper() for p in (text or "").split(",") if p.strip()]
    if not parts:
        raise BadInput("--into: give a country (ISO2), airports (ICAO codes) or a GeoJSON polygon file")
    if all(_ISO2.match(p) for p in parts):
        from tailwatch.geo.countries import country_names

        names = country_names()
        unknown = [p for p in parts if p not in names]
        if unknown:
            raise BadInput(f"--into: unknown country code {', '.join(unknown)} (ISO 3166-1 alpha-2, e.g. VE)")
        return Destination(label=",".join(parts), countries=frozenset(parts))
    if all(_ICAO.match(p) for p in parts):
        from tailwatch.geo.airports import airport

        unknown = [p for p in parts if airport(p) is None]
        if unknown:
            raise BadInput(f"--into: unknown airport {', '.join(unknown)} (ICAO codes, e.g. SVMI)")
        return Destination(label=",".join(parts), airports=frozenset(parts))
    raise BadInput(f"--into {text!r}: not a country code (VE), a list of ICAO airports (SVMI,SVVA) or a polygon file")


def parse_countries(text: str | None, option: str = "--from") -> frozenset[str]:
    """`RU,IR,CN` → the set, each checked against the country table."""
    if not text:
        return frozenset()
    from tailwatch.geo.countries import country_names

    parts = [p.strip().upper() for p in text.split(",") if p.strip()]
    names = country_names()
    bad = [p for p in parts if not _ISO2.match(p) or p not in names]
    if bad:
        raise BadInput(f"{option}: unknown country code {', '.join(bad)} (ISO 3166-1 alpha-2, e.g. RU,IR,CN)")
    return frozenset(parts)
