"""Operator fleets from the archive's registries: the other addresses an airport-history prior counts."""

from __future__ import annotations

from pathlib import Path


def fleet_of(archive: Path, aircraft: dict) -> list[str]:
    """Other addresses the archive's registries give the same operator (an empty list when none)."""
    return fleets(archive, [aircraft])[aircraft["icao24"]]


def fleets(archive: Path, aircraft: list[dict]) -> dict[str, list[str]]:
    """Each aircraft's operator fleet (other addresses), for `itinerary.history.priors`: the
    registries are read once for every operator of the batch (`registry.by_operators`), not once
    per aircraft, and each aircraft takes the addresses its operator's key names."""
    from tailwatch.identity.registry import by_operators, registry

    operators = [a.get("operator") for a in aircraft if a.get("operator")]
    named = by_operators(registry(archive), operators) if operators else {}
    out: dict[str, list[str]] = {}
    for a in aircraft:
        own = a.get("icao24")
        out[a["icao24"]] = sorted(h for h in named.get(a.get("operator") or "", ()) if h != own)
    return out
