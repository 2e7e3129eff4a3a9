"""Sanctions lists -> watchlist entries (one row per listed aircraft or listed operator).

Formats, from their published descriptions:
- OFAC `sdn.xml` (`sdnList/sdnEntry`: uid, lastName, sdnType, programList/program,
  idList/id with idType + idNumber, e.g. `Aircraft Tail Number`, `Aircraft Mode S
  Transponder Code`, `Aircraft Manufacturer's Serial Number (MSN)`, `Aircraft Model`,
  `Aircraft Operator`, `Previous Aircraft Tail Number`).
- OFAC `SDN_ADVANCED.XML` (`DistinctParty/Profile/Feature[@FeatureTypeID]` with
  `FeatureVersion/VersionDetail`; every ID — feature type, party sub-type, list,
  sanctions type — is resolved by label through `ReferenceValueSets`, never by number;
  listing dates from `SanctionsEntry/EntryEvent/Date`, programs from `SanctionsMeasure`).
  See OFAC's "SDN advanced notes".
- OFAC CSV set: `sdn.csv` (no header; ent_num, SDN_Name, SDN_Type, Program, Title,
  Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks; `-0-` = empty),
  with `sdn_comments.csv` (ent_num, Remarks_Extended) and `alt.csv` (ent_num, alt_num,
  alt_type, alt_name, alt_remarks) read from the same folder when present. Aircraft facts
  are in Remarks: `Aircraft Tail Number ...; Aircraft Mode S Transponder Code ...;
  Aircraft Manufacturer's Serial Number (MSN) ...` (straight or curly apostrophe).
- OpenSanctions / FollowTheMoney entities as JSON lines (`{"id", "schema", "properties"}`;
  nested `targets.nested.json` too): `Airplane` (registrationNumber holds tail numbers
  and Mode S codes alike: 6 hex digits without a hyphen are taken as a Mode S code),
  `Sanction` (entity, program, listingDate/startDate), listed LegalEntity/Company/
  Organization and `Ownership` (owner -> asset) links: a listed company that owns or
  operates aircraft, or owns an aviation company, becomes an "operator" entry whose
  fleet is taken from the registries at resolution time.
The readers are `identity/ofac.py` and `identity/ftm.py`; this module holds the entries table
they fill and the remark parsing they share. All XML goes through defusedxml: DTD entities (the "billion laughs" bomb) are refused.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import polars as pl

from tailwatch.identity.registrations import normalize_registration


ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "list": pl.String(),
    "entry_id": pl.String(),
    "program": pl.String(),
    "name": pl.String(),
    "kind": pl.String(),  # aircraft | operator
    "registrations": pl.List(pl.String()),
    "previous_registrations": pl.List(pl.String()),
    "mode_s": pl.String(),  # lower-case hex as published on the list
    "msn": pl.String(),
    "model": pl.String(),
    "operator": pl.String(),
    "listing_date": pl.String(),  # ISO date where the list gives one
    "reason": pl.String(),  # why it is on the watchlist ("listed", "operator listed: ...")
    "note": pl.String(),
    "source": pl.String(),  # publication the entry comes from (seed and hand lists)
    "as_of": pl.String(),
    "source_file": pl.String(),
}
HEX6 = re.compile(r"^[0-9A-Fa-f]{6}$")
AVIATION_WORDS = re.compile(r"\b(AIR|AIRLINES?|AIRWAYS|AVIA\w*|AVIATION|AERO\w*|CARGO|JET|FLY\w*)\b", re.I)


def empty_entries() -> pl.DataFrame:
    return pl.DataFrame(schema=ENTRY_SCHEMA)


def entries_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows (dicts with ENTRY_SCHEMA keys, missing ones null) -> an entries frame."""
    clean = []
    for row in rows:
        item = {k: row.get(k) for k in ENTRY_SCHEMA}
        for k in ("registrations", "previous_registrations"):
            item[k] = dedupe([normalize_registration(r) for r in (item[k] or []) if r])
        if item["mode_s"]:
            item["mode_s"] = item["mode_s"].strip().lower()
        clean.append(item)
    return pl.DataFrame(clean, schema=ENTRY_SCHEMA)


def dedupe(values: list) -> list:
    out: list = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


def norm_label(text: str) -> str:
    """Feature / idType label with curly apostrophes straightened and blanks collapsed."""
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u2018", "'")).strip()


LABELS = {
    "Aircraft Tail Number": "tail",
    "Previous Aircraft Tail Number": "previous_tail",
    "Aircraft Mode S Transponder Code": "mode_s",
    "Aircraft Manufacturer's Serial Number (MSN)": "msn",
    "Aircraft Model": "model",
    "Aircraft Operator": "operator",
    "Aircraft Manufacture Date": "built",
    "Aircraft Construction Number (also called L/N or S/N or F/N)": "construction_number",
}
_REMARK = re.compile(
    r"(?P<label>Previous Aircraft Tail Number|Aircraft Tail Number|Aircraft Mode S Transponder Code|"
    r"Aircraft Manufacturer's Serial Number \(MSN\)|Aircraft Model|Aircraft Operator|Aircraft Manufacture Date|"
    r"Aircraft Construction Number \(also called L/N or S/N or F/N\))\s+(?P<value>[^;]+)"
)


def parse_aircraft_remarks(remarks: str) -> dict[str, list[str]]:
    """Aircraft facts in an OFAC Remarks text: {'tail': [...], 'mode_s': [...], 'msn': [...], ...}."""
    facts: dict[str, list[str]] = defaultdict(list)
    text = norm_label(remarks or "")
    for m in _REMARK.finditer(text):
        # the last fact runs into "(aircraft) [PROGRAM] (Linked To: ...)." - cut it there
        value = re.split(r"\s+[(\[]", m.group("value").strip(), maxsplit=1)[0].strip().rstrip(".").strip()
        facts[LABELS[m.group("label")]].append(value)
    linked = re.findall(r"Linked To:\s*([^;.)]+)", text)
    if linked:
        facts["linked_to"].extend(v.strip() for v in linked)
    return dict(facts)


def aircraft_row(list_name: str, entry_id: str, name: str | None, facts: dict[str, list[str]],
                  program: str | None, listing_date: str | None, path: Path) -> dict:
    tails = list(facts.get("tail", []))
    if not tails and name and looks_like_registration(name):
        tails.append(name)
    mode_s = next((m for m in facts.get("mode_s", []) if HEX6.match(m.strip())), None)
    operator = (facts.get("operator") or facts.get("linked_to") or [None])[0]
    return {
        "list": list_name, "entry_id": entry_id, "program": program, "name": name, "kind": "aircraft",
        "registrations": tails, "previous_registrations": facts.get("previous_tail", []),
        "mode_s": mode_s, "msn": (facts.get("msn") or [None])[0], "model": (facts.get("model") or [None])[0],
        "operator": operator, "listing_date": listing_date, "reason": "listed", "source_file": str(path),
    }


def looks_like_registration(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9]{1,4}-[A-Z0-9]{1,6}|N[1-9][0-9A-Z]{0,4}", text.strip().upper()))


def operator_rows(list_name: str, aircraft: list[dict], entities: dict[str, dict], path: Path) -> list[dict]:
    """Listed entities named as the operator of a listed aircraft: their whole fleet is of interest."""
    operators = {_name_key(a["operator"]) for a in aircraft if a.get("operator")}
    rows = []
    for entry_id, ent in entities.items():
        if _name_key(ent["name"]) in operators:
            rows.append({
                "list": list_name, "entry_id": entry_id, "program": ent.get("program"), "name": ent["name"],
                "kind": "operator", "operator": ent["name"], "listing_date": ent.get("listing_date"),
                "reason": f"operator listed: {ent['name']}", "source_file": str(path),
            })
    return rows


def _name_key(name: str | None) -> str:
    return re.sub(r"[^0-9A-Z]+", " ", (name or "").upper()).strip()


__all__ = ["ENTRY_SCHEMA", "entries_frame", "empty_entries", "parse_aircraft_remarks"]  # the readers: ofac.py, ftm.py
