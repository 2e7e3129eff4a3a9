"""Names an investigator gives (hex address, registration, watchlist file) → aircraft identities.

A reader: it consults the archive's registries and its recordings' own claims (`seen/`), and
parses the user's watchlist file, so both engines and the application resolve aircraft the same
way before any point is read. Without an archive (`itinerary --input`), `claims` carries the
claims of the input files themselves.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from tailwatch.errors import BadInput, NoAircraft


def resolve_aircraft(query: str, archive: Path | None, claims: pl.DataFrame | None = None) -> dict:
    """The aircraft object for a hex address or registration (identity lookup when available)."""
    from tailwatch.identity.lookup import aircraft_identity, is_address

    ident = aircraft_identity(query, archive, claims)
    if ident and ident.get("icao24"):
        return ident
    if is_address(query):
        return {"icao24": query.strip().lstrip("~").lower(), "registration": None, "typecode": None,
                "country": None, "watchlists": []}
    raise NoAircraft(f"{query}: no address known for this registration")


def identity_or_none(icao24: str, archive: Path | None, claims: pl.DataFrame | None = None) -> dict | None:
    """`resolve_aircraft`, or None when the identity cannot be had (it is optional enrichment)."""
    try:
        return resolve_aircraft(icao24, archive, claims)
    except Exception:  # noqa: BLE001 - identity is optional enrichment here
        return None


def watchlist_aircraft(path: Path, archive: Path | None, notes: list[str] | None = None,
                       claims: pl.DataFrame | None = None) -> list[dict]:
    """Aircraft of a watchlist file; `notes` (when given) gains a line per unresolved entry (listed, never dropped)."""
    from tailwatch.identity.watchlist import load_watchlist

    if not path.exists():
        raise BadInput(f"{path}: no such file")
    return listed_aircraft(load_watchlist(path, archive, claims), path.name, archive, notes, claims)


def listed_aircraft(entries: pl.DataFrame, list_name: str, archive: Path | None, notes: list[str] | None = None,
                    claims: pl.DataFrame | None = None) -> list[dict]:
    """Aircraft of resolved watchlist `entries` (`watchlist.resolve`), unresolved entries noted."""
    if notes is not None:
        for row in entries.filter(pl.col("icao24").is_null()).iter_rows(named=True):
            notes.append(f"watchlist {list_name}: entry {row['list']} {row['entry_id']} ({row['name']}) "
                         "is unresolved (no address), so it is not in this report")
    hexes = [h for h in entries["icao24"].drop_nulls().unique(maintain_order=True).to_list()]
    out = []
    for h in hexes:
        try:
            out.append(resolve_aircraft(h, archive, claims))
        except NoAircraft:
            continue
    return out


def wanted_aircraft(archive: Path | None, aircraft: list[str] | None, watchlist: Path | None,
                    notes: list[str], claims: pl.DataFrame | None = None) -> list[dict]:
    """The identities of `--aircraft` names then of the `--watchlist` entries (unresolved ones noted)."""
    wanted = [resolve_aircraft(q, archive, claims) for q in aircraft or []]
    if watchlist is not None:
        wanted += watchlist_aircraft(watchlist, archive, notes, claims)
    return wanted


def in_window(ident: dict | None, start: datetime | None, end: datetime | None) -> dict | None:
    """The identity with only the recorded flights (the recordings' own origin/destination claims)
    that overlap [start, end]: an itinerary shows those of its own window."""
    if not ident or not ident.get("recorded_flights") or (start is None and end is None):
        return ident
    from tailwatch.seen import ISO

    lo = start.astimezone(timezone.utc).strftime(ISO) if start is not None else None
    hi = end.astimezone(timezone.utc).strftime(ISO) if end is not None else None
    flights = [f for f in ident["recorded_flights"]
               if (lo is None or f["last"] >= lo) and (hi is None or f["first"] <= hi)]
    return {**ident, "recorded_flights": flights}


def identities(archive: Path, seen: list[str], known: dict[str, dict], start: datetime | None = None,
               end: datetime | None = None) -> dict[str, dict | None]:
    """The identity of every aircraft seen: those asked for as resolved, the others looked up as one
    batch (`lookup.identities_of`: the archive's registries, lists and claims about all of them read
    once, an engine's batch of hundreds of aircraft), each as `identity_or_none` would give it."""
    from tailwatch.identity.lookup import identities_of, is_address
    from tailwatch.seen_store import read_seen

    missing = [h for h in seen if not known.get(h)]
    claims = read_seen(archive, icao24s=missing) if missing else None
    addresses = {h: h.strip().lstrip("~").lower() for h in missing if is_address(h)}
    try:
        found = identities_of(list(addresses.values()), archive, claims, safe=True) if addresses else {}
    except Exception:  # noqa: BLE001 - identity is optional enrichment: each aircraft on its own then
        found = {}
        addresses = {}
    out: dict[str, dict | None] = {}
    for h in seen:
        ident = known.get(h)
        if not ident:
            if addresses.get(h) in found:
                ident = _address_identity(found[addresses[h]], addresses[h])
            else:
                ident = identity_or_none(h, archive, claims)
        out[h] = in_window(ident, start, end)
    return out


def _address_identity(ident: dict | None, icao24: str) -> dict:
    """`resolve_aircraft` of an address from its looked-up identity (None: only the address is known)."""
    if ident and ident.get("icao24"):
        return ident
    return {"icao24": icao24, "registration": None, "typecode": None, "country": None, "watchlists": []}
