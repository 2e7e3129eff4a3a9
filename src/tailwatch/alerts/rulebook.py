"""The rules file (YAML, alerts/rules.py shows one): what each rule asks for, checked on load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tailwatch.errors import BadInput


KINDS = ("seen", "takeoff", "landing", "region", "country", "dark", "squawk", "dark_in_coverage", "gnss_degraded")
EMERGENCY_CODES = ("7500", "7600", "7700")
DEFAULT_RULES: list[dict] = [
    {"name": "watchlist-seen", "when": "seen"},
    {"name": "watchlist-takeoff", "when": "takeoff"},
    {"name": "watchlist-landing", "when": "landing"},
    {"name": "watchlist-dark", "when": "dark", "minutes": 15},
    {"name": "watchlist-emergency", "when": "squawk"},
]


@dataclass
class Rule:
    name: str
    when: str
    aircraft: str | frozenset[str] = "watchlist"  # 'watchlist', 'any' or a set of addresses
    dedupe_s: float = 1800.0
    region: dict | None = None
    countries: tuple[str, ...] = ()
    minutes: float = 15.0
    airport_km: float = 15.0
    min_altitude_ft: float = 1500.0
    codes: tuple[str, ...] = EMERGENCY_CODES
    hold_seconds: float = 60.0
    airports: tuple[str, ...] = ()  # takeoff/landing: only these airports (empty = any)
    radius_km: float = 100.0  # dark_in_coverage: how near other aircraft must be heard
    min_others: int = 2
    nacp_below: float = 8  # gnss_degraded thresholds (hiding.interference)
    nic_below: float = 7
    min_points: int = 3
    share: float = 0.10
    min_aircraft: int = 3
    window_minutes: float = 30.0


def _rule_from(entry: dict, index: int, where: str, dedupe_s: float) -> Rule:
    if not isinstance(entry, dict):
        raise BadInput(f"{where}: rule {index + 1}: expected a mapping, got {type(entry).__name__}")
    when = str(entry.get("when", "")).lower()
    if when not in KINDS:
        raise BadInput(f"{where}: rule {index + 1}: 'when' must be one of {', '.join(KINDS)}, got {when!r}")
    name = str(entry.get("name") or f"{when}-{index + 1}")
    aircraft = entry.get("aircraft", "watchlist")
    if isinstance(aircraft, list):
        aircraft = frozenset(str(a).strip().lower() for a in aircraft)
    elif aircraft not in ("watchlist", "any"):
        raise BadInput(f"{where}: rule {name!r}: aircraft must be 'watchlist', 'any' or a list of addresses")
    rule = Rule(name=name, when=when, aircraft=aircraft,
                dedupe_s=float(entry.get("dedupe_minutes", dedupe_s / 60.0)) * 60.0)
    if when == "region" or (when == "gnss_degraded" and "region" in entry):
        region = entry.get("region")
        if not isinstance(region, dict) or not ({"bbox", "circle", "polygon"} & set(region)):
            raise BadInput(f"{where}: rule {name!r}: region needs bbox, circle or polygon")
        rule.region = region
    if when == "country":
        countries = entry.get("countries") or entry.get("country")
        if isinstance(countries, str):
            countries = [countries]
        if not countries:
            raise BadInput(f"{where}: rule {name!r}: country rule needs 'countries'")
        rule.countries = tuple(str(c).upper() for c in countries)
    for key in ("minutes", "airport_km", "min_altitude_ft", "hold_seconds", "radius_km", "nacp_below", "nic_below",
                "share", "window_minutes"):
        if key in entry:
            setattr(rule, key, float(entry[key]))
    for key in ("min_others", "min_points", "min_aircraft"):
        if key in entry:
            setattr(rule, key, int(entry[key]))
    if "codes" in entry:
        rule.codes = tuple(str(c).zfill(4) for c in entry["codes"])
    if "airports" in entry:
        rule.airports = tuple(str(a).upper() for a in entry["airports"])
    return rule


def parse_rules(doc: dict | list | None, where: str = "rules") -> list[Rule]:
    """Rules from a parsed YAML document (a mapping with `rules:` or a bare list)."""
    if doc is None:
        doc = {"rules": DEFAULT_RULES}
    if isinstance(doc, list):
        doc = {"rules": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise BadInput(f"{where}: expected a mapping with a 'rules' list")
    dedupe_s = float(doc.get("dedupe_minutes", 30)) * 60.0
    return [_rule_from(e, i, where, dedupe_s) for i, e in enumerate(doc["rules"])]


def load_rules(path: Path | None) -> list[Rule]:
    """Rules from a YAML file, or the defaults (watchlist seen/takeoff/landing/dark/emergency)."""
    import yaml

    if path is None:
        return parse_rules(None)
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise BadInput(f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if doc is None:  # an empty file: no rules (the defaults apply only without --rules)
        return []
    return parse_rules(doc, str(path))


def region_mask(region: dict, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Which points lie inside a rule's region (vectorised)."""
    if "bbox" in region:
        lon0, lat0, lon1, lat1 = map(float, region["bbox"])
        return (lat >= lat0) & (lat <= lat1) & (lon >= lon0) & (lon <= lon1)
    if "circle" in region:
        from tailwatch.geo.geodesy import haversine_km

        c = region["circle"]
        d = haversine_km(lat, lon, np.full_like(lat, float(c["lat"])), np.full_like(lon, float(c["lon"])))
        return np.asarray(d) <= float(c["radius_km"])
    import shapely

    poly = shapely.Polygon([(float(x), float(y)) for x, y in region["polygon"]])
    return shapely.contains_xy(poly, lon, lat)
