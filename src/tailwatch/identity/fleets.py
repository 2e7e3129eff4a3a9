"""Operator fleets from the archive's registries: the other addresses an airport-history prior counts."""

from __future__ import annotations

from pathlib import Path


def fleet_of(archive: Path, aircraft: dict) -> list[str]:
    """Other addresses the archive's registries give the same operator (an empty list when none)."""
    operator = aircraft.get("operator")
    if not operator:
        return []
    from tailwatch.identity.registry import by_operator, registry

    rows = by_operator(registry(archive), [operator])
    own = aircraft.get("icao24")
    return sorted({h for h in rows["icao24"].drop_nulls().to_list() if h != own}) if rows.height else []


def fleets(archive: Path, aircraft: list[dict]) -> dict[str, list[str]]:
    """Each aircraft's operator fleet (other addresses), for `itinerary.history.priors`."""
    return {a["icao24"]: fleet_of(archive, a) for a in aircraft}
