"""`whois`: one address or registration -> everything tailwatch knows about the aircraft.

Offline with no archive (allocation rules, the country table, the seed watchlist);
with an archive, its imported registries (history included) and watchlists too, and what
the archive's own recordings say of the aircraft (`seen/` claims: `tailwatch.seen`). The
result is the itinerary JSON `aircraft` object plus extras (operator, owner, history,
how each fact was found, the recorded identity and its timeline).

Ranking, for each fact: an imported registry first, then a registration allocation rule, then
the recordings' own fields ("the recording's own field (FILE)"): the claims of FR24 files and
readsb databases give an address for a registration nothing else knows, and a registration,
type and operator when nothing better is known. A list entry's model and operator come before
the recordings' type and operator (a list names what it sanctions).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from tailwatch.identity.icao_blocks import country_name_of, country_of, is_military
from tailwatch.identity.registrations import (
    icao_from_registration, normalize_registration, registration_country, registration_from_icao,
)
from tailwatch.identity.registry import by_icao24, by_registration, key_of, registry
from tailwatch.identity.watchlist import archive_watchlist
from tailwatch.seen import EVIDENCE, ISO, changes, empty_seen, recorded, timeline
from tailwatch.seen_store import claims_about, key_of as seen_key

_HEX = re.compile(r"~?[0-9a-fA-F]{6}")


def is_address(query: str) -> bool:
    """A 6-hex-digit query is an address (registrations with hyphens never match)."""
    return bool(_HEX.fullmatch(query.strip()))


def _history(records: pl.DataFrame) -> list[dict]:
    cols = ["snapshot", "icao24", "registration", "typecode", "operator", "owner", "source"]
    return records.select(cols).unique(maintain_order=True).to_dicts() if records.height else []


def _from_recording(rows: pl.DataFrame) -> str:
    return f"{EVIDENCE} ({rows.sort('last')['file'][-1]})"


def recorded_flights(claims: pl.DataFrame) -> list[dict]:
    """What the recordings say each flight was (FR24: origin and destination), oldest first."""
    rows = claims.filter(pl.col("origin").is_not_null() | pl.col("destination").is_not_null())
    if rows.height == 0:
        return []
    return rows.sort("first").select(
        "callsign", "origin", "destination",
        pl.col("first").dt.convert_time_zone("UTC").dt.strftime(ISO), pl.col("last").dt.convert_time_zone("UTC").dt.strftime(ISO),
        "source", "file").unique(maintain_order=True).with_columns(
        pl.lit("the recording's own claim, not observed").alias("evidence")).to_dicts()


def aircraft_identity(query: str, archive: Path | None = None, claims: pl.DataFrame | None = None) -> dict | None:
    """Identity of the aircraft named by `query` (hex address or registration), None if nothing is known.

    `claims` (SEEN_SCHEMA rows) stands for the archive's `seen/` table when given: the claims of
    input files read without an archive, or those an engine gathered for many aircraft at once."""
    query = (query or "").strip()
    if not query:
        return None
    rows = registry(archive)
    said = empty_seen()
    icao24: str | None = None
    registration: str | None = None
    how: dict[str, str] = {}
    if is_address(query):
        icao24 = query.lstrip("~").lower()
        records = by_icao24(rows, icao24)
        how["icao24"] = "query"
    else:
        registration = normalize_registration(query)
        records = by_registration(rows, registration or query)
        current = records.filter(pl.col("reg_key") == key_of(registration or query))
        rule = icao_from_registration(registration or query)
        if current.height:
            icao24 = current["icao24"][-1]
            how["icao24"] = f"{current['source'][-1]} registry {current['snapshot'][-1]}"
            if rule is not None and rule.icao24 != icao24:
                how["rule"] = f"the {rule.rule} rule gives {rule.icao24}; the registry differs"
        elif rule is not None:
            icao24, how["icao24"] = rule.icao24, f"rule: {rule.rule}"
        said = claims_about(archive, claims, registrations=[registration or query])
        named = said.filter(pl.col("registration").is_not_null()).sort("last")
        if icao24 is None and named.height:
            icao24 = named["icao24"][-1]
            how["icao24"] = _from_recording(named.filter(pl.col("icao24") == icao24))
        elif icao24 is not None and named.height and set(named["icao24"].to_list()) - {icao24}:
            how["recorded"] = (f"the recordings name {registration or query} on "
                               + ", ".join(dict.fromkeys(named["icao24"].to_list())) + f"; {how['icao24']} gives {icao24}")
        if icao24 is not None:
            records = pl.concat([records, by_icao24(rows, icao24)]).unique(maintain_order=True).sort("snapshot")
        how["registration"] = "query"
    if icao24 is not None and records.height:  # follow the aircraft through its earlier/later registrations
        linked = [r for r in records.filter(pl.col("icao24") == icao24).select(
            pl.concat_list("prev_reg", "next_reg").explode().drop_nulls()).to_series().to_list() if r]
        if linked:
            records = pl.concat([records, *(by_registration(rows, r) for r in linked)]).unique(
                maintain_order=True).sort("snapshot")
    latest = records.filter(pl.col("icao24") == icao24).tail(1).to_dicts() if icao24 and records.height else []
    latest_row = latest[0] if latest else {}
    if icao24 is not None:  # every claim about the address, and those about the registration asked for
        said = pl.concat([said, claims_about(archive, claims, icao24s=[icao24])]).unique(maintain_order=True)
    own = said.filter(pl.col("icao24") == icao24) if icao24 else said.clear()
    said_now = recorded(own)
    if registration is None:
        if latest_row.get("registration"):
            registration = latest_row["registration"]
            how["registration"] = f"{latest_row['source']} registry {latest_row['snapshot']}"
        elif icao24 and (rule := registration_from_icao(icao24)) is not None:
            registration, how["registration"] = rule.registration, f"rule: {rule.rule}"
        elif said_now and said_now["registration"]:
            registration = said_now["registration"]
            how["registration"] = said_now["sources"]["registration"]
    if said_now and said_now["registration"] and registration and seen_key(said_now["registration"]) != seen_key(registration):
        how.setdefault("recorded", f"the recordings last named {icao24} {said_now['registration']} "
                                   f"({said_now['sources']['registration']})")
    lists = _list_entries(archive, icao24, registration)
    country = country_of(icao24) if icao24 else None
    if country is None and registration:
        country = registration_country(registration)
    if icao24 is None and not lists:
        return None
    if icao24 and not (country or latest_row or lists or country_name_of(icao24) or said_now):
        return None
    typecode = latest_row.get("typecode") or next((e["model"] for e in lists if e.get("model")), None)
    if typecode is None and said_now and said_now["typecode"]:
        typecode, how["typecode"] = said_now["typecode"], said_now["sources"]["typecode"]
    operator = latest_row.get("operator") or next((e["operator"] for e in lists if e.get("operator")), None)
    if operator is None and said_now and said_now["operator"]:
        operator, how["operator"] = said_now["operator"], said_now["sources"]["operator"]
    history = timeline(said)
    return {
        "icao24": icao24,
        "registration": registration,
        "typecode": typecode,
        "country": country,
        "watchlists": lists,
        "country_name": country_name_of(icao24) if icao24 else None,
        "military_block": is_military(icao24) if icao24 else None,
        "model": latest_row.get("model"),
        "manufacturer": latest_row.get("manufacturer"),
        "serialnumber": latest_row.get("serialnumber"),
        "operator": operator,
        "owner": latest_row.get("owner"),
        "found_by": how,
        "history": _history(records),
        "recorded": said_now,
        "identity_history": history,
        "identity_changes": changes(history),
        "recorded_flights": recorded_flights(own),
    }


def _list_entries(archive: Path | None, icao24: str | None, registration: str | None) -> list[dict]:
    watch = archive_watchlist(archive)
    reg = normalize_registration(registration) if registration else None
    cond = pl.lit(False)
    if icao24:
        cond = cond | (pl.col("icao24") == icao24) | pl.col("candidates").list.eval(
            pl.element().struct.field("icao24") == icao24).list.any()
    if reg:
        cond = cond | pl.col("registrations").list.contains(reg) | pl.col("previous_registrations").list.contains(reg)
    hits = watch.filter(cond)
    out = []
    for e in hits.iter_rows(named=True):
        out.append({
            "list": e["list"], "id": e["entry_id"], "program": e["program"], "name": e["name"],
            "reason": e["reason"], "listing_date": e["listing_date"], "icao24": e["icao24"],
            "confidence": e["confidence"], "evidence": e["evidence"], "model": e["model"],
            "operator": e["operator"], "source": e["source"] or e["source_file"],
        })
    return out


__all__ = ["aircraft_identity", "is_address", "recorded_flights"]
