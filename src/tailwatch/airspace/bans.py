"""Which states bar an aircraft from their airspace on a given day.

`data/airspace_bans.csv`: one row per jurisdiction (ISO2) × rule — `applies_to`
(operator_country | registration_country | operator | all), `match` (ISO2, operator name, or
`*` for a closure to all civil traffic such as Ukraine's since 24 Feb 2022),
`from`/`to` (ISO dates, `to` empty while in force), `instrument` (the measure's short name as a
report quotes it: "Regulation (EU) 2022/334", "SI 2022/183"; optional, the source stands in for
it), `source` (the full citation), `as_of`, `note`.
`jurisdiction` is a code of `geo.countries` (the territory whose airspace law applies, not
necessarily a state): a crossing is judged against the jurisdiction whose airspace it is.
EU rules (Reg. 833/2014 Art. 3d, whose scope, Art. 13, is the territory of the Union) are
expanded to the 27 member states — whose codes include their outermost regions — plus the
Union territories with their own code (Saint-Martin `MF`, Åland `AX`); they do not reach the
overseas countries and territories of Annex II TFEU nor the Faroe Islands. Such territories
(Greenland, Curaçao, Gibraltar …) and US territories appear only where a sourced measure
names them; any other one is treated as open for want of a sourced closure.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

import polars as pl

APPLIES_TO = ("operator_country", "registration_country", "operator", "all")


def _bans_path() -> Path:
    return Path(str(resources.files("tailwatch") / "data" / "airspace_bans.csv"))


@lru_cache(maxsize=4)
def load_bans(path: Path | None = None) -> pl.DataFrame:
    """The bans table with `from`/`to` parsed as dates."""
    from tailwatch.errors import BadInput

    path = path or _bans_path()
    frame = pl.read_csv(path, infer_schema=False)
    missing = {"jurisdiction", "applies_to", "match", "from", "to", "source", "as_of"} - set(frame.columns)
    if missing:
        raise BadInput(f"{path}: missing columns {sorted(missing)}")
    bad = frame.with_row_index("line", offset=2).filter(~pl.col("applies_to").is_in(APPLIES_TO))
    if bad.height:
        raise BadInput(f"{path}:{bad['line'][0]}: applies_to must be one of {APPLIES_TO}")
    return frame.with_columns(
        pl.col("from").str.to_date("%Y-%m-%d", strict=False),
        pl.col("to").str.to_date("%Y-%m-%d", strict=False),
        pl.col("jurisdiction").str.to_uppercase(),
    )


def _as_date(when: date | datetime | str | None) -> date | None:
    if when is None:
        return None
    if isinstance(when, datetime):
        return when.date()
    if isinstance(when, date):
        return when
    return datetime.fromisoformat(str(when).replace("Z", "+00:00")).date()


def banning_rules(operator_country: str | None = None, registration_country: str | None = None,
                  operator: str | None = None, when: date | datetime | str | None = None,
                  bans: pl.DataFrame | None = None) -> pl.DataFrame:
    """The rows of the bans table that bar this aircraft on `when` (any date if None)."""
    if bans is None:  # the packaged table: the same question is asked for every leg of a batch
        return _packaged_rules((operator_country or "").upper(), (registration_country or "").upper(),
                               (operator or "").casefold(), _as_date(when))
    return _rules(bans, operator_country, registration_country, operator, when)


@lru_cache(maxsize=4096)
def _packaged_rules(operator_country: str, registration_country: str, operator: str, day: date | None) -> pl.DataFrame:
    """Two levels, so a batch's many (aircraft, day) questions cost a frame filter only per
    distinct answer: the rules matching the aircraft (once per country pair and operator), then the
    ones in force on the day, found on those few rows' dates in Python. Days with the same rules
    in force share one frame, which `airspace.enrich` recognises by identity."""
    matching, starts, ends = _packaged_matching(operator_country, registration_country, operator)
    if day is None:
        return matching
    keep = tuple((f is None or f <= day) and (t is None or t >= day) for f, t in zip(starts, ends))
    return _packaged_in_force(operator_country, registration_country, operator, keep)


@lru_cache(maxsize=256)
def _packaged_matching(operator_country: str, registration_country: str, operator: str
                       ) -> tuple[pl.DataFrame, list[date | None], list[date | None]]:
    rows = _rules(load_bans(), operator_country, registration_country, operator, None)
    return rows, rows["from"].to_list(), rows["to"].to_list()


@lru_cache(maxsize=1024)
def _packaged_in_force(operator_country: str, registration_country: str, operator: str,
                       keep: tuple[bool, ...]) -> pl.DataFrame:
    """The matching rules of `_packaged_matching` whose `keep` flag is set (as `_rules` filters
    them by day: a rule with no start or end date is open on that side)."""
    rows = _packaged_matching(operator_country, registration_country, operator)[0]
    return rows.filter(pl.Series(keep, dtype=pl.Boolean))


def _rules(bans: pl.DataFrame, operator_country: str | None, registration_country: str | None,
           operator: str | None, when: date | datetime | str | None) -> pl.DataFrame:
    keys = {"operator_country": (operator_country or "").upper(),
            "registration_country": (registration_country or "").upper(),
            "operator": (operator or "").casefold()}
    cond = pl.col("applies_to") == "all"
    for applies, value in keys.items():
        if value:
            match = pl.col("match").str.to_lowercase() if applies == "operator" else pl.col("match").str.to_uppercase()
            cond = cond | ((pl.col("applies_to") == applies) & (match == value))
    rows = bans.filter(cond)
    day = _as_date(when)
    if day is not None:
        rows = rows.filter((pl.col("from").is_null() | (pl.col("from") <= day))
                           & (pl.col("to").is_null() | (pl.col("to") >= day)))
    return rows


def banned_jurisdictions(operator_country: str | None = None, registration_country: str | None = None,
                         operator: str | None = None, when: date | datetime | str | None = None,
                         bans: pl.DataFrame | None = None) -> list[str]:
    """Sorted ISO2 codes whose airspace this aircraft may not enter on `when`."""
    rows = banning_rules(operator_country, registration_country, operator, when, bans)
    return sorted(set(rows["jurisdiction"].to_list()))


def _bars_whom(rows: pl.DataFrame) -> str:
    """Who a jurisdiction's rules bar, in words ("carriers and aircraft of Russia")."""
    from tailwatch.geo.countries import country_names

    names = country_names()
    kinds = set(rows["applies_to"].to_list())
    if "all" in kinds:
        return "all civil flights"
    matches = sorted({m.upper() for m in rows.filter(pl.col("applies_to") != "operator")["match"].to_list()})
    of = " and ".join(names.get(m, m) for m in matches)
    if {"operator_country", "registration_country"} <= kinds:
        return f"carriers and aircraft of {of}"
    if "operator_country" in kinds:
        return f"carriers of {of}"
    if "registration_country" in kinds:
        return f"aircraft registered in {of}"
    return "operator " + ", ".join(sorted(set(rows["match"].to_list())))


def ban_details(rules: pl.DataFrame, codes: list[str]) -> dict[str, dict]:
    """For each barred jurisdiction in `codes` (rows of `banning_rules`): its name, the instrument
    and the date the earliest rule barring this aircraft took effect, whom it bars, the source, and
    `union` = "EU" for Union territory (one Regulation, reported as "EU airspace")."""
    from tailwatch.geo.countries import country_names, eu_territories

    names = country_names()
    union = eu_territories()
    out: dict[str, dict] = {}
    for code in dict.fromkeys(codes):
        rows = rules.filter(pl.col("jurisdiction") == code).sort("from", nulls_last=True)
        if rows.height == 0:
            continue
        first = rows.row(0, named=True)
        instrument = first.get("instrument") or first["source"]
        out[code] = {
            "name": names.get(code, code),
            "instrument": instrument,
            "since": first["from"].isoformat() if first["from"] is not None else None,
            "bars": _bars_whom(rows),
            "union": "EU" if code in union else None,
            "source": first["source"],
        }
    return out
