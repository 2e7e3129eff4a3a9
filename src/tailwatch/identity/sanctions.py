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
All XML goes through defusedxml: DTD entities (the "billion laughs" bomb) are refused.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import polars as pl

from tailwatch.identity.registrations import normalize_registration
from tailwatch.errors import BadInput
from tailwatch.files import read_all

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
            item[k] = _dedupe([normalize_registration(r) for r in (item[k] or []) if r])
        if item["mode_s"]:
            item["mode_s"] = item["mode_s"].strip().lower()
        clean.append(item)
    return pl.DataFrame(clean, schema=ENTRY_SCHEMA)


def _dedupe(values: list) -> list:
    out: list = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


# --- OFAC labels and remarks --------------------------------------------------------

def _label(text: str) -> str:
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
    text = _label(remarks or "")
    for m in _REMARK.finditer(text):
        # the last fact runs into "(aircraft) [PROGRAM] (Linked To: ...)." - cut it there
        value = re.split(r"\s+[(\[]", m.group("value").strip(), maxsplit=1)[0].strip().rstrip(".").strip()
        facts[LABELS[m.group("label")]].append(value)
    linked = re.findall(r"Linked To:\s*([^;.)]+)", text)
    if linked:
        facts["linked_to"].extend(v.strip() for v in linked)
    return dict(facts)


def _aircraft_row(list_name: str, entry_id: str, name: str | None, facts: dict[str, list[str]],
                  program: str | None, listing_date: str | None, path: Path) -> dict:
    tails = list(facts.get("tail", []))
    if not tails and name and _looks_like_registration(name):
        tails.append(name)
    mode_s = next((m for m in facts.get("mode_s", []) if HEX6.match(m.strip())), None)
    operator = (facts.get("operator") or facts.get("linked_to") or [None])[0]
    return {
        "list": list_name, "entry_id": entry_id, "program": program, "name": name, "kind": "aircraft",
        "registrations": tails, "previous_registrations": facts.get("previous_tail", []),
        "mode_s": mode_s, "msn": (facts.get("msn") or [None])[0], "model": (facts.get("model") or [None])[0],
        "operator": operator, "listing_date": listing_date, "reason": "listed", "source_file": str(path),
    }


def _looks_like_registration(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9]{1,4}-[A-Z0-9]{1,6}|N[1-9][0-9A-Z]{0,4}", text.strip().upper()))


def _operator_rows(list_name: str, aircraft: list[dict], entities: dict[str, dict], path: Path) -> list[dict]:
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


# --- XML ---------------------------------------------------------------------------

def _iterparse(path: Path):
    """defusedxml iterparse over the (decompressed) file; entity declarations are refused."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    data = read_all(path)
    try:
        for event, elem in DET.iterparse(io.BytesIO(data), events=("end",), forbid_dtd=False,
                                          forbid_entities=True, forbid_external=True):
            yield event, elem
    except DefusedXmlException as exc:
        raise BadInput(f"{path}: XML refused: {type(exc).__name__} ({exc}); "
                       "entity declarations are not allowed (entity-expansion bomb?)") from exc
    except Exception as exc:  # xml.etree.ElementTree.ParseError and friends
        if type(exc).__name__ == "ParseError":
            raise BadInput(f"{path}: not well-formed XML: {exc}") from exc
        raise


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(elem, name: str):
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _children(elem, name: str) -> list:
    return [c for c in elem if _local(c.tag) == name]


def _text(elem, name: str) -> str | None:
    c = _child(elem, name) if elem is not None else None
    return c.text.strip() if c is not None and c.text and c.text.strip() else None


def xml_root_name(head: bytes) -> str | None:
    """Local name of the first element of an XML head, or None."""
    text = head.decode("utf-8", errors="replace")
    for m in re.finditer(r"<([A-Za-z_][\w.\-:]*)", text):
        name = m.group(1)
        if not name.startswith(("?", "!")):
            return name.split(":")[-1]
    return None


def read_sdn_xml(path: Path) -> pl.DataFrame:
    """OFAC `sdn.xml` -> entries (aircraft, plus listed entities that operate them)."""
    aircraft: list[dict] = []
    entities: dict[str, dict] = {}
    for _, elem in _iterparse(path):
        if _local(elem.tag) != "sdnEntry":
            continue
        uid = _text(elem, "uid") or ""
        name = " ".join(x for x in (_text(elem, "firstName"), _text(elem, "lastName")) if x) or None
        sdn_type = (_text(elem, "sdnType") or "").lower()
        programs_el = _child(elem, "programList")
        programs = [p.text.strip() for p in _children(programs_el, "program")] if programs_el is not None else []
        facts: dict[str, list[str]] = defaultdict(list)
        id_list = _child(elem, "idList")
        for id_el in (_children(id_list, "id") if id_list is not None else []):
            label = LABELS.get(_label(_text(id_el, "idType") or ""))
            number = _text(id_el, "idNumber")
            if label and number:
                facts[label].append(number)
        remarks = _text(elem, "remarks")
        if remarks:
            for k, v in parse_aircraft_remarks(remarks).items():
                facts.setdefault(k, []).extend(x for x in v if x not in facts.get(k, []))
        program = "; ".join(programs) or None
        is_aircraft = sdn_type == "aircraft" or any(k in facts for k in ("tail", "mode_s", "msn", "model"))
        if is_aircraft:
            aircraft.append(_aircraft_row("OFAC SDN", uid, name, facts, program, None, path))
        elif sdn_type == "entity" and name:
            entities[uid] = {"name": name, "program": program}
        elem.clear()
    return entries_frame(aircraft + _operator_rows("OFAC SDN", aircraft, entities, path))


def read_sdn_advanced(path: Path) -> pl.DataFrame:
    """OFAC `SDN_ADVANCED.XML` -> entries; every ID resolved through ReferenceValueSets."""
    refs: dict[tuple[str, str], tuple[str, dict]] = {}
    parties: dict[str, dict] = {}
    entries: dict[str, dict] = defaultdict(lambda: {"programs": [], "dates": [], "list": None})
    for _, elem in _iterparse(path):
        tag = _local(elem.tag)
        if tag == "ReferenceValueSets":
            for value_set in elem:
                for ref in value_set:
                    refs[(_local(ref.tag), ref.get("ID", ""))] = ((ref.text or "").strip(), dict(ref.attrib))
            elem.clear()
        elif tag == "DistinctParty":
            party = _advanced_party(elem, refs)
            if party:
                parties[party["profile"]] = party
            elem.clear()
        elif tag == "SanctionsEntry":
            entry = entries[elem.get("ProfileID", "")]
            entry["list"] = refs.get(("List", elem.get("ListID", "")), ("",))[0] or entry["list"]
            for event in _children(elem, "EntryEvent"):
                date = _child(event, "Date")
                if date is not None and _text(date, "Year"):
                    entry["dates"].append("-".join(
                        f"{int(_text(date, p) or 1):0{4 if p == 'Year' else 2}d}" for p in ("Year", "Month", "Day")))
            for measure in _children(elem, "SanctionsMeasure"):
                kind = refs.get(("SanctionsType", measure.get("SanctionsTypeID", "")), ("",))[0]
                comment = _text(measure, "Comment")
                if kind.lower() == "program" and comment:
                    entry["programs"].append(comment)
            elem.clear()
    if not refs:
        raise BadInput(f"{path}: no ReferenceValueSets: not an OFAC advanced XML file")
    aircraft, entities = [], {}
    for profile, party in parties.items():
        entry = entries.get(profile, {"programs": [], "dates": [], "list": None})
        program = "; ".join(_dedupe(entry["programs"])) or None
        listed = min(entry["dates"]) if entry["dates"] else None
        list_name = "OFAC SDN"
        if party["aircraft"]:
            aircraft.append(_aircraft_row(list_name, profile, party["name"], party["facts"], program, listed, path))
        elif party["name"]:
            entities[profile] = {"name": party["name"], "program": program, "listing_date": listed}
    return entries_frame(aircraft + _operator_rows("OFAC SDN", aircraft, entities, path))


def _advanced_party(elem, refs: dict) -> dict | None:
    profile = _child(elem, "Profile")
    if profile is None:
        return None
    sub_type, attrs = refs.get(("PartySubType", profile.get("PartySubTypeID", "")), ("", {}))
    party_type = refs.get(("PartyType", attrs.get("PartyTypeID", "")), ("",))[0]
    name = None
    for identity in _children(profile, "Identity"):
        for alias in _children(identity, "Alias"):
            if alias.get("Primary") == "true":
                parts = [v.text.strip() for v in alias.iter() if _local(v.tag) == "NamePartValue" and v.text]
                name = " ".join(parts) or name
    facts: dict[str, list[str]] = defaultdict(list)
    for feature in _children(profile, "Feature"):
        label = _label(refs.get(("FeatureType", feature.get("FeatureTypeID", "")), ("",))[0])
        key = LABELS.get(label)
        if key is None:
            continue
        for detail in (d for d in feature.iter() if _local(d.tag) == "VersionDetail"):
            ref_id = detail.get("DetailReferenceID")
            value = refs.get(("DetailReference", ref_id), ("",))[0] if ref_id else (detail.text or "").strip()
            if value:
                facts[key].append(value)
    is_aircraft = sub_type.lower() == "aircraft" or party_type.lower() == "aircraft" or any(
        k in facts for k in ("tail", "mode_s", "msn", "model"))
    return {"profile": profile.get("ID") or elem.get("FixedRef", ""), "name": name,
            "aircraft": is_aircraft, "facts": dict(facts)}


# --- OFAC CSV ------------------------------------------------------------------------

SDN_CSV_COLUMNS = ["ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type",
                   "Tonnage", "GRT", "Vess_flag", "Vess_owner", "Remarks"]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv_rows(path: Path) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(_decode(read_all(path)).replace("\x1a", ""))))
    return [[("" if v.strip() == "-0-" else v.strip()) for v in row] for row in rows if row and any(row)]


def is_sdn_csv(head: bytes) -> bool:
    """OFAC sdn.csv: no header, integer ent_num first, 12 fields, `-0-` placeholders."""
    line = _decode(head).splitlines()[0] if head else ""
    try:
        row = next(csv.reader([line]))
    except (StopIteration, csv.Error):
        return False
    return len(row) >= 12 and row[0].strip().isdigit() and "-0-" in line


def read_sdn_csv(path: Path) -> pl.DataFrame:
    """OFAC `sdn.csv` (+ `sdn_comments.csv`, `alt.csv` beside it) -> entries."""
    extended: dict[str, str] = defaultdict(str)
    comments = path.with_name("sdn_comments.csv")
    if comments.exists():
        for row in _csv_rows(comments):
            if len(row) >= 2:
                extended[row[0]] += "; " + row[1]
    aliases: dict[str, list[str]] = defaultdict(list)
    alt = path.with_name("alt.csv")
    if alt.exists():
        for row in _csv_rows(alt):
            if len(row) >= 4 and row[3]:
                aliases[row[0]].append(row[3])
    aircraft, entities = [], {}
    for lineno, row in enumerate(_csv_rows(path), start=1):
        if len(row) < 12 or not row[0].isdigit():
            raise BadInput(f"{path}:{lineno}: not an OFAC sdn.csv row ({len(row)} fields)")
        rec = dict(zip(SDN_CSV_COLUMNS, row))
        remarks = rec["Remarks"] + extended.get(rec["ent_num"], "")
        facts = parse_aircraft_remarks(remarks)
        program = "; ".join(p.strip(" []") for p in re.split(r"\]\s*\[", rec["Program"]) if p.strip(" []")) or None
        if rec["SDN_Type"].lower() == "aircraft" or any(k in facts for k in ("tail", "mode_s", "msn")):
            for a in aliases.get(rec["ent_num"], []):
                if _looks_like_registration(a):
                    facts.setdefault("previous_tail", []).append(a)
            aircraft.append(_aircraft_row("OFAC SDN", rec["ent_num"], rec["SDN_Name"] or None, facts, program, None, path))
        elif not rec["SDN_Type"] and rec["SDN_Name"]:
            entities[rec["ent_num"]] = {"name": rec["SDN_Name"], "program": program}
    return entries_frame(aircraft + _operator_rows("OFAC SDN", aircraft, entities, path))


# --- FollowTheMoney / OpenSanctions ----------------------------------------------------

LEGAL = {"LegalEntity", "Company", "Organization", "PublicBody"}


def _flatten_ftm(obj: dict, out: dict[str, dict]) -> str | None:
    """Index an entity and any entities nested in its properties (targets.nested.json)."""
    ent_id = obj.get("id")
    if not ent_id:
        return None
    props: dict[str, list] = {}
    for key, values in (obj.get("properties") or {}).items():
        flat = []
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, dict):
                nested = _flatten_ftm(v, out)
                if nested:
                    flat.append(nested)
            elif v is not None:
                flat.append(str(v))
        props[key] = flat
    out[ent_id] = {**obj, "properties": props}
    return ent_id


def is_ftm(head: bytes) -> bool:
    first = head.lstrip().split(b"\n", 1)[0]
    try:
        obj = json.loads(first)
    except ValueError:
        return False
    return isinstance(obj, dict) and "schema" in obj and "properties" in obj


def read_ftm(path: Path) -> pl.DataFrame:
    """FollowTheMoney JSON lines -> Airplane entries and listed-operator entries."""
    entities: dict[str, dict] = {}
    for lineno, line in enumerate(_decode(read_all(path)).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise BadInput(f"{path}:{lineno}: not a JSON line: {exc}") from exc
        if isinstance(obj, dict):
            _flatten_ftm(obj, entities)

    def p(ent: dict, key: str) -> list[str]:
        return ent["properties"].get(key, [])

    def name_of(value: str) -> str:
        ent = entities.get(value)
        return (p(ent, "name") or [value])[0] if ent else value

    sanctions: dict[str, list[dict]] = defaultdict(list)
    owners: dict[str, list[str]] = defaultdict(list)  # asset id -> owner ids
    owned: dict[str, list[str]] = defaultdict(list)  # owner id -> asset ids
    for ent in entities.values():
        if ent.get("schema") == "Sanction":
            for target in p(ent, "entity"):
                sanctions[target].append(ent)
        elif ent.get("schema") == "Ownership":
            for owner in p(ent, "owner"):
                for asset in p(ent, "asset"):
                    owners[asset].append(owner)
                    owned[owner].append(asset)

    def listed(ent_id: str) -> bool:
        ent = entities.get(ent_id, {})
        return bool(sanctions.get(ent_id)) or "sanction" in (ent.get("topics") or [])

    def program_date(ent_id: str) -> tuple[str | None, str | None]:
        progs, dates = [], []
        for s in sanctions.get(ent_id, []):
            progs += p(s, "program") + p(s, "programId")
            dates += p(s, "listingDate") + p(s, "startDate")
        return "; ".join(_dedupe(progs)) or None, (min(dates)[:10] if dates else None)

    rows: list[dict] = []
    operator_ids: set[str] = set()
    for ent_id, ent in entities.items():
        if ent.get("schema") != "Airplane":
            continue
        regs, modes = [], []
        for value in p(ent, "registrationNumber"):
            (modes if HEX6.match(value.strip()) and "-" not in value else regs).append(value.strip())
        ops = p(ent, "operator") + p(ent, "owner") + owners.get(ent_id, [])
        operator_ids.update(o for o in ops if o in entities)
        program, date = program_date(ent_id)
        rows.append({
            "list": "OpenSanctions", "entry_id": ent_id, "program": program,
            "name": (p(ent, "name") or [None])[0], "kind": "aircraft", "registrations": regs,
            "mode_s": modes[0] if modes else None, "msn": (p(ent, "serialNumber") or [None])[0],
            "model": (p(ent, "model") or p(ent, "type") or [None])[0],
            "operator": name_of(ops[0]) if ops else None, "listing_date": date,
            "reason": "listed" if listed(ent_id) or not sanctions else "linked to a listed entity",
            "note": "; ".join(f"Mode S {m}" for m in modes[1:]) or None, "source_file": str(path),
        })
    # listed companies: operators of listed aircraft, owners of aircraft, owners of aviation companies
    candidates = set(operator_ids)
    for ent_id, ent in entities.items():
        if ent.get("schema") in LEGAL and listed(ent_id):
            names = " ".join(p(ent, "name"))
            if AVIATION_WORDS.search(names) or any(entities.get(a, {}).get("schema") == "Airplane" for a in owned[ent_id]):
                candidates.add(ent_id)
            for asset in owned[ent_id]:  # a listed owner of an airline puts that airline's fleet on the list
                sub = entities.get(asset, {})
                if sub.get("schema") in LEGAL and AVIATION_WORDS.search(" ".join(p(sub, "name"))):
                    candidates.add(asset)
    for ent_id in sorted(candidates):
        ent = entities.get(ent_id)
        if ent is None or ent.get("schema") not in LEGAL:
            continue
        name = name_of(ent_id)
        via = [name_of(o) for o in owners.get(ent_id, []) if listed(o)]
        if not listed(ent_id) and not via:
            continue
        program, date = program_date(ent_id)
        reason = f"operator listed: {name}" if listed(ent_id) else f"operator owned by listed {', '.join(via)}"
        rows.append({
            "list": "OpenSanctions", "entry_id": ent_id, "program": program, "name": name, "kind": "operator",
            "operator": name, "listing_date": date, "reason": reason,
            "note": "; ".join(p(ent, "alias")[:5]) or None, "source_file": str(path),
        })
    return entries_frame(rows)


__all__ = [
    "ENTRY_SCHEMA", "entries_frame", "empty_entries", "parse_aircraft_remarks", "read_sdn_xml",
    "read_sdn_advanced", "read_sdn_csv", "read_ftm", "is_sdn_csv", "is_ftm", "xml_root_name",
]
