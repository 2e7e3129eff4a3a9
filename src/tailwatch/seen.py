"""The identity a recording states about an aircraft: its `seen/` claims (docs/schema.md).

Many recordings name the aircraft they carry: an FR24 flight file gives its registration, type
code, airline and its own origin and destination; a readsb trace or `aircraft.json` written
with an aircraft database gives `r`, `t`, `desc`, `ownOp`, `year` and `dbFlags`. None of that
is a position, so it cannot ride on the points; and it is what lets an investigator name an
aircraft by its registration when no registry is imported, and follow an address that changes
registration (or a registration that moves to another address).

Ground layer: the claims schema (`schema.SEEN_SCHEMA`), how a reader's raw rows become claims
(`claims`), and the pure summaries every consumer shares (`recorded`, `timeline`); readers build
claims, `seen_store` stores and reads them, `identity.lookup` ranks them below registries and
registration rules.
"""

from __future__ import annotations

import polars as pl

from tailwatch.schema import SEEN_SCHEMA

# What a claim row states beyond the address: a row stating none of these is not kept (a
# callsign alone is already in the points). The callsign rides along where a claim is made.
CLAIM_FIELDS = ("registration", "typecode", "description", "operator", "year", "military", "interesting",
                "pia", "ladd", "origin", "destination")
FLAGS = ("military", "interesting", "pia", "ladd")
# dbFlags bits (readsb README-json: military = dbFlags & 1, interesting & 2, PIA & 4, LADD & 8)
DB_FLAG_BITS = {"military": 1, "interesting": 2, "pia": 4, "ladd": 8}
HEX6 = r"^[0-9a-f]{6}$"
UPPER = ("registration", "typecode", "callsign", "origin", "destination")  # text compared upper case
EVIDENCE = "the recording's own field"
ISO = "%Y-%m-%dT%H:%M:%SZ"  # times in the timeline as every JSON output writes them


# rows in a fixed order (every column), so the same source always writes the same bytes
ORDER = ["icao24", "first", "last", *(c for c in SEEN_SCHEMA if c not in ("icao24", "first", "last"))]


def empty_seen() -> pl.DataFrame:
    return pl.DataFrame(schema=SEEN_SCHEMA)


def _text(name: str) -> pl.Expr:
    """Stripped text, empty as null."""
    return pl.col(name).cast(pl.String).str.strip_chars().replace("", None)


def db_flags(flags: pl.Expr, known: pl.Expr) -> list[pl.Expr]:
    """The four dbFlags booleans. readsb writes `dbFlags` only when it is not zero, so where the
    database knew the aircraft (`known`: it gave a registration or type) and no flags are written,
    each flag is false; where the recording carries no database field at all, null (not known)."""
    value = flags.cast(pl.Int64, strict=False)
    return [pl.when(value.is_not_null()).then((value & bit) != 0).when(known).then(False).otherwise(None).alias(name)
            for name, bit in DB_FLAG_BITS.items()]


def claims(rows: pl.DataFrame) -> pl.DataFrame:
    """A reader's raw claim rows → SEEN_SCHEMA claims: one row per distinct (icao24, claim, source,
    file), with the first and last time it was made. Text is stripped, empty text is null, the
    address lower-case (rows with no valid ICAO address are left out), registrations and type codes
    upper case, callsigns as the points keep them; rows claiming nothing but a callsign, or with no
    time (a claim is dated by when the recording made it), are dropped.
    `rows` needs `icao24`, `source`, `file`, `first`, `last`; any SEEN_SCHEMA column it lacks is null.
    Rows come out in the order of their first appearance, by address and time, so a file always
    gives the same rows. Eager steps: a reader calls this once per file, and on a few hundred rows
    the lazy optimiser's planning cost four times the work (measured)."""
    present = set(rows.columns)
    cols = []
    for name, dtype in SEEN_SCHEMA.items():
        if name not in present:
            cols.append(pl.lit(None, dtype).alias(name))
        elif dtype == pl.String():
            text = _text(name)
            text = text.str.to_lowercase() if name == "icao24" else text.str.to_uppercase() if name in UPPER else text
            cols.append(text.alias(name))
        else:
            cols.append(pl.col(name).cast(dtype, strict=False).alias(name))
    frame = rows.select(cols).filter(
        pl.col("icao24").str.contains(HEX6) & pl.col("first").is_not_null()
        & pl.any_horizontal(pl.col(c).is_not_null() for c in CLAIM_FIELDS))
    keys = [c for c in SEEN_SCHEMA if c not in ("first", "last")]
    return (frame.group_by(keys, maintain_order=True).agg(pl.col("first").min(), pl.col("last").max())
            .select(list(SEEN_SCHEMA)).sort("icao24", "first", maintain_order=True))


def recorded(claims_of_one: pl.DataFrame) -> dict | None:
    """What the recordings last said of ONE address: the registration of its newest claim, and each
    field's newest non-null value among the claims made under that registration (or under none), with
    the file it came from (`{"registration": ..., "typecode": ..., "sources": {field: ...}}`); None when
    they said nothing. Fields of claims under another registration are not mixed in: a re-registered
    aircraft's old type or flags stay in its timeline."""
    if claims_of_one.height == 0:
        return None
    ordered = claims_of_one.sort("last", "first", nulls_last=False)
    named = ordered.filter(pl.col("registration").is_not_null())
    if named.height:
        current = named["registration"][-1]
        ordered = ordered.filter(pl.col("registration").is_null() | (pl.col("registration") == current))
    out: dict = {}
    sources: dict[str, str] = {}
    for name in ("registration", "typecode", "description", "operator", "year", *FLAGS):
        known = ordered.filter(pl.col(name).is_not_null())
        if known.height:
            out[name] = known[name][-1]
            sources[name] = f"{EVIDENCE} ({known['file'][-1]})"
        else:
            out[name] = None
    out["sources"] = sources
    return out


def timeline(claims_rows: pl.DataFrame) -> list[dict]:
    """The identity timeline: one entry per (address, registration) the recordings claimed, with the
    first and last time, the type and operator last claimed with it and the files, oldest first. An
    address under two registrations (or a registration under two addresses) shows as two entries:
    this is how a re-registered, re-flagged aircraft is followed."""
    rows = claims_rows.filter(pl.col("registration").is_not_null())
    if rows.height == 0:
        return []
    ordered = rows.sort("last")
    table = ordered.group_by("icao24", "registration").agg(
        pl.col("first").min(), pl.col("last").max(),
        pl.col("typecode").drop_nulls().last(), pl.col("operator").drop_nulls().last(),
        pl.col("file").unique().sort().alias("files"), pl.col("source").unique().sort().alias("sources"),
    ).sort("first", "icao24", "registration")
    return table.with_columns(pl.col("first", "last").dt.convert_time_zone("UTC").dt.strftime(ISO)).to_dicts()


def changes(entries: list[dict]) -> str | None:
    """One line when the timeline shows a change of registration or of address, else None."""
    addresses = list(dict.fromkeys(e["icao24"] for e in entries))
    registrations = list(dict.fromkeys(e["registration"] for e in entries))
    if len(registrations) > 1 and len(addresses) == 1:
        return f"the recordings name address {addresses[0]} as " + ", then ".join(registrations)
    if len(addresses) > 1 and len(registrations) == 1:
        return f"the recordings name registration {registrations[0]} on address " + ", then ".join(addresses)
    if len(addresses) > 1 or len(registrations) > 1:
        return "the recordings name " + ", then ".join(f"{e['registration']} on {e['icao24']}" for e in entries)
    return None


__all__ = ["CLAIM_FIELDS", "DB_FLAG_BITS", "EVIDENCE", "FLAGS", "changes", "claims", "db_flags", "empty_seen",
           "recorded", "timeline"]
