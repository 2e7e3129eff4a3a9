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
    input files read without an archive, or those an engine gathered for many aircraft at once.
    An address is `identities_of` a batch of one, so `whois` and a batch give the same object."""
    query = (query or "").strip()
    if not query:
        return None
    if is_address(query):
        icao24 = query.lstrip("~").lower()
        return identities_of([icao24], archive, claims)[icao24]
    rows = registry(archive)
    how: dict[str, str] = {}
    icao24: str | None = None
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
    about = claims_about(archive, claims, icao24s=[icao24]) if icao24 is not None else said.clear()
    lists = _Lists(archive_watchlist(archive), [icao24] if icao24 else [])
    return _assemble(icao24, registration, how, records, said, about, rows, lists)


def identities_of(addresses: list[str], archive: Path | None = None, claims: pl.DataFrame | None = None,
                  safe: bool = False) -> dict[str, dict | None]:
    """`aircraft_identity` of many addresses (6 hex digits, lower case) at once: the registry, the
    list entries and the recordings' claims are each read or matched once for all of them, and each
    identity is assembled from its own rows, most often none (an aircraft no registry, list or
    recording names costs no frame of its own). The object of each address is the one a lookup of
    that address alone makes, key order included. `safe`: an address whose assembly fails is left out
    of the answer (identity is optional enrichment in a batch) instead of failing the batch."""
    wanted = list(dict.fromkeys(addresses))
    rows = registry(archive)
    found = rows.filter(pl.col("icao24").is_in(wanted)).collect() if wanted else rows.head(0).collect()
    records_of = ({h: part.sort("snapshot", maintain_order=True)
                   for (h,), part in found.partition_by("icao24", as_dict=True, maintain_order=True).items()}
                  if found.height else {})
    none = found.clear()
    said = claims_about(archive, claims, icao24s=wanted) if wanted else empty_seen()
    claims_of = ({h: part for (h,), part in said.partition_by("icao24", as_dict=True, maintain_order=True).items()}
                 if said.height else {})
    nothing_said = said.clear()
    lists = _Lists(archive_watchlist(archive), wanted)
    out: dict[str, dict | None] = {}
    for icao24 in wanted:
        try:
            out[icao24] = _assemble(icao24, None, {"icao24": "query"}, records_of.get(icao24, none), nothing_said,
                                    claims_of.get(icao24, nothing_said), rows, lists)
        except Exception:  # noqa: BLE001 - the caller asked for None over a failed batch
            if not safe:
                raise
    return out


def _assemble(icao24: str | None, registration: str | None, how: dict[str, str], records: pl.DataFrame,
              said: pl.DataFrame, about: pl.DataFrame, rows: pl.LazyFrame, lists: "_Lists") -> dict | None:
    """The identity object from the rows found for it: `records` (registry rows, oldest snapshot
    first), `said` (claims about the registration asked for) and `about` (claims about the address).
    Frames are touched only when they hold rows: most aircraft of a batch have none."""
    if icao24 is not None and records.height:  # follow the aircraft through its earlier/later registrations
        linked = [r for r in records.filter(pl.col("icao24") == icao24).select(
            pl.concat_list("prev_reg", "next_reg").explode().drop_nulls()).to_series().to_list() if r]
        if linked:
            records = pl.concat([records, *(by_registration(rows, r) for r in linked)]).unique(
                maintain_order=True).sort("snapshot")
    latest = records.filter(pl.col("icao24") == icao24).tail(1).to_dicts() if icao24 and records.height else []
    latest_row = latest[0] if latest else {}
    # every claim about the address, and those about the registration asked for
    if icao24 is not None and (said.height or about.height):
        said = pl.concat([said, about]).unique(maintain_order=True)
    if said.height:
        own = said.filter(pl.col("icao24") == icao24) if icao24 else said.clear()
    else:
        own = said
    said_now = recorded(own) if own.height else None
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
    entries = lists.of(icao24, registration)
    country = country_of(icao24) if icao24 else None
    if country is None and registration:
        country = registration_country(registration)
    if icao24 is None and not entries:
        return None
    if icao24 and not (country or latest_row or entries or country_name_of(icao24) or said_now):
        return None
    typecode = latest_row.get("typecode") or next((e["model"] for e in entries if e.get("model")), None)
    if typecode is None and said_now and said_now["typecode"]:
        typecode, how["typecode"] = said_now["typecode"], said_now["sources"]["typecode"]
    operator = latest_row.get("operator") or next((e["operator"] for e in entries if e.get("operator")), None)
    if operator is None and said_now and said_now["operator"]:
        operator, how["operator"] = said_now["operator"], said_now["sources"]["operator"]
    history = timeline(said) if said.height else []
    return {
        "icao24": icao24,
        "registration": registration,
        "typecode": typecode,
        "country": country,
        "watchlists": entries,
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
        "recorded_flights": recorded_flights(own) if own.height else [],
    }


class _Lists:
    """The list entries naming an address or a registration, matched for a batch of addresses at
    once: the entries naming any of them (their own address or a candidate's) are found with one
    filter, the registrations of every entry are indexed once, and each aircraft then takes its
    entries (in the list's order) from those rows, as one filter per aircraft would find them."""

    def __init__(self, watch: pl.DataFrame, addresses: list[str]) -> None:
        numbered = watch.with_row_index("_row")
        wanted = [a for a in addresses if a]
        self._by_address: dict[str, list[int]] = {}
        if wanted and watch.height:
            named = pl.concat([
                numbered.select("_row", pl.col("icao24").alias("_a")),
                numbered.select("_row", pl.col("candidates").list.eval(pl.element().struct.field("icao24")).alias("_a"))
                .explode("_a"),
            ]).filter(pl.col("_a").is_in(wanted))
            for row, address in named.iter_rows():
                self._by_address.setdefault(address, []).append(row)
        self._by_registration: dict[str, list[int]] | None = None
        self._numbered = numbered
        self._entries: dict[int, dict] = {}

    def _registrations(self) -> dict[str, list[int]]:
        if self._by_registration is None:
            self._by_registration = {}
            regs = pl.concat([
                self._numbered.select("_row", pl.col("registrations").alias("_r")).explode("_r"),
                self._numbered.select("_row", pl.col("previous_registrations").alias("_r")).explode("_r"),
            ]).drop_nulls()
            for row, reg in regs.iter_rows():
                self._by_registration.setdefault(reg, []).append(row)
        return self._by_registration

    def _entry(self, row: int) -> dict:
        found = self._entries.get(row)
        if found is None:
            e = self._numbered.row(row, named=True)
            found = self._entries[row] = {
                "list": e["list"], "id": e["entry_id"], "program": e["program"], "name": e["name"],
                "reason": e["reason"], "listing_date": e["listing_date"], "icao24": e["icao24"],
                "confidence": e["confidence"], "evidence": e["evidence"], "model": e["model"],
                "operator": e["operator"], "source": e["source"] or e["source_file"],
            }
        return dict(found)

    def of(self, icao24: str | None, registration: str | None) -> list[dict]:
        """The entries naming `icao24` or `registration` (now or before), in the list's order."""
        if self._numbered.height == 0:
            return []
        hits = set(self._by_address.get(icao24, ())) if icao24 else set()
        reg = normalize_registration(registration) if registration else None
        if reg:
            hits.update(self._registrations().get(reg, ()))
        return [self._entry(row) for row in sorted(hits)]


__all__ = ["aircraft_identity", "identities_of", "is_address", "recorded_flights"]
