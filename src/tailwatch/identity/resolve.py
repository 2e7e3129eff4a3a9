"""Names an investigator gives (hex address, registration, watchlist file) → aircraft identities.

A reader: it consults the archive's registries and parses the user's watchlist file, so both
engines and the application resolve aircraft the same way before any point is read.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tailwatch.errors import BadInput, NoAircraft


def resolve_aircraft(query: str, archive: Path | None) -> dict:
    """The aircraft object for a hex address or registration (identity lookup when available)."""
    from tailwatch.identity.lookup import aircraft_identity, is_address

    ident = aircraft_identity(query, archive)
    if ident and ident.get("icao24"):
        return ident
    if is_address(query):
        return {"icao24": query.strip().lstrip("~").lower(), "registration": None, "typecode": None,
                "country": None, "watchlists": []}
    raise NoAircraft(f"{query}: no address known for this registration")


def identity_or_none(icao24: str, archive: Path | None) -> dict | None:
    """`resolve_aircraft`, or None when the identity cannot be had (it is optional enrichment)."""
    try:
        return resolve_aircraft(icao24, archive)
    except Exception:  # noqa: BLE001 - identity is optional enrichment here
        return None


def watchlist_aircraft(path: Path, archive: Path | None, notes: list[str] | None = None) -> list[dict]:
    """Aircraft of a watchlist file; `notes` (when given) gains a line per unresolved entry (listed, never dropped)."""
    from tailwatch.identity.watchlist import load_watchlist

    if not path.exists():
        raise BadInput(f"{path}: no such file")
    entries = load_watchlist(path, archive)
    if notes is not None:
        for row in entries.filter(pl.col("icao24").is_null()).iter_rows(named=True):
            notes.append(f"watchlist {path.name}: entry {row['list']} {row['entry_id']} ({row['name']}) "
                         "is unresolved (no address), so it is not in this report")
    hexes = [h for h in entries["icao24"].drop_nulls().unique(maintain_order=True).to_list()]
    out = []
    for h in hexes:
        try:
            out.append(resolve_aircraft(h, archive))
        except NoAircraft:
            continue
    return out


def wanted_aircraft(archive: Path | None, aircraft: list[str] | None, watchlist: Path | None,
                    notes: list[str]) -> list[dict]:
    """The identities of `--aircraft` names then of the `--watchlist` entries (unresolved ones noted)."""
    wanted = [resolve_aircraft(q, archive) for q in aircraft or []]
    if watchlist is not None:
        wanted += watchlist_aircraft(watchlist, archive, notes)
    return wanted
