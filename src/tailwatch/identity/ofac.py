"""OFAC's lists: sdn.xml, SDN_ADVANCED.XML and the CSV set, streamed into list entries (identity/sanctions.py).

The XML files are parsed as a stream (`_iterparse`): the published sdn.xml is hundreds of
megabytes, and reading it whole held the file and its tree at once (1.4 GB for 200 MB).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path

import polars as pl

from tailwatch.errors import BadInput
from tailwatch.files import read_all, read_head
from tailwatch.identity.sanctions import (
    LABELS,
    aircraft_row,
    dedupe,
    entries_frame,
    looks_like_registration,
    norm_label,
    operator_rows,
    parse_aircraft_remarks,
)


XML_REFUSED = "entity declarations are not allowed (entity-expansion bomb?)"


def _refuse_entities(path: Path) -> None:
    """BadInput if the document's prolog declares entities (internal: the "billion laughs" bomb; external:
    a file or URL the parser would read). OFAC's files declare none. Read from the head of the file, before
    any parser sees the document type declaration."""
    head = read_head(path)
    root = re.search(rb"<(?![?!])", head)
    prolog = head[:root.start()] if root else head
    if b"<!ENTITY" in prolog:
        raise BadInput(f"{path}: XML refused: EntitiesForbidden (the document type declares entities); {XML_REFUSED}")
    if root is None and b"<!DOCTYPE" in head:
        raise BadInput(f"{path}: XML refused: a document type declaration longer than {len(head):,} bytes")


def _iterparse(path: Path, targets: frozenset[str], skip: frozenset[str] = frozenset()):
    """The complete elements named in `targets` (local names), streamed from the (inflated) file.

    lxml's iterparse in C, asked only for the target elements (and `skip`: large sections of no
    interest, dropped as they end): entities are never resolved, no DTD or URL is loaded, a
    document declaring entities is refused before parsing (`_refuse_entities`) and again if the
    parser finds a declaration. The file is read as a stream, never whole, and each element is
    cleared once read, with every finished element before it: the memory held is one entry plus
    what the caller keeps, whatever the size of the file (a 200 MB sdn.xml)."""
    from lxml import etree

    from tailwatch.files import open_bytes

    _refuse_entities(path)
    wanted = sorted(targets | skip)
    first = True
    try:
        with open_bytes(path) as stream:
            context = etree.iterparse(stream, events=("end",), tag=[f"{{*}}{t}" for t in wanted],
                                      resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                                      remove_comments=True, remove_pis=True)
            for _, elem in context:
                if first:
                    dtd = elem.getroottree().docinfo.internalDTD
                    if dtd is not None and list(dtd.entities()):
                        raise BadInput(f"{path}: XML refused: EntitiesForbidden (the document type declares "
                                       f"entities); {XML_REFUSED}")
                    first = False
                if _local(elem.tag) in targets:
                    yield elem
                elem.clear(keep_tail=False)
                for node in (elem, *elem.iterancestors()):  # finished elements before this one: gone
                    while node.getprevious() is not None:
                        del node.getparent()[0]
    except etree.XMLSyntaxError as exc:
        if "entit" in str(exc).lower():
            raise BadInput(f"{path}: XML refused: EntitiesForbidden ({exc}); {XML_REFUSED}") from exc
        raise BadInput(f"{path}: not well-formed XML: {exc}") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(elem, name: str):
    """The first child named `name` in any namespace (or none): lxml's search, in C."""
    return elem.find(f"{{*}}{name}")


def _children(elem, name: str) -> list:
    return elem.findall(f"{{*}}{name}")


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
    for elem in _iterparse(path, frozenset({"sdnEntry"})):
        uid = _text(elem, "uid") or ""
        name = " ".join(x for x in (_text(elem, "firstName"), _text(elem, "lastName")) if x) or None
        sdn_type = (_text(elem, "sdnType") or "").lower()
        programs_el = _child(elem, "programList")
        programs = [p.text.strip() for p in _children(programs_el, "program")] if programs_el is not None else []
        facts: dict[str, list[str]] = defaultdict(list)
        id_list = _child(elem, "idList")
        for id_el in (_children(id_list, "id") if id_list is not None else []):
            label = LABELS.get(norm_label(_text(id_el, "idType") or ""))
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
            aircraft.append(aircraft_row("OFAC SDN", uid, name, facts, program, None, path))
        elif sdn_type == "entity" and name:
            entities[uid] = {"name": name, "program": program}
        elem.clear()
    return entries_frame(aircraft + operator_rows("OFAC SDN", aircraft, entities, path))


def read_sdn_advanced(path: Path) -> pl.DataFrame:
    """OFAC `SDN_ADVANCED.XML` -> entries; every ID resolved through ReferenceValueSets."""
    refs: dict[tuple[str, str], tuple[str, dict]] = {}
    parties: dict[str, dict] = {}
    entries: dict[str, dict] = defaultdict(lambda: {"programs": [], "dates": [], "list": None})
    for elem in _iterparse(path, frozenset({"ReferenceValueSets", "DistinctParty", "SanctionsEntry"}),
                           skip=frozenset({"Location", "IDRegDocument", "ProfileRelationship"})):
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
        program = "; ".join(dedupe(entry["programs"])) or None
        listed = min(entry["dates"]) if entry["dates"] else None
        list_name = "OFAC SDN"
        if party["aircraft"]:
            aircraft.append(aircraft_row(list_name, profile, party["name"], party["facts"], program, listed, path))
        elif party["name"]:
            entities[profile] = {"name": party["name"], "program": program, "listing_date": listed}
    return entries_frame(aircraft + operator_rows("OFAC SDN", aircraft, entities, path))


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
        label = norm_label(refs.get(("FeatureType", feature.get("FeatureTypeID", "")), ("",))[0])
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


SDN_CSV_COLUMNS = ["ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type",
                   "Tonnage", "GRT", "Vess_flag", "Vess_owner", "Remarks"]


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def csv_fault(exc: csv.Error) -> str:
    """The csv module's complaint, said for a person fixing the file."""
    if "field larger" in str(exc):
        return f"a field longer than {csv.field_size_limit():,} characters (a quote never closed?)"
    return f"unbalanced or stray quote, not a well-formed CSV record ({exc})"


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line, fields) of an OFAC CSV file, `-0-` read as empty; BadInput names the file and line of a NUL
    byte, a malformed quote or an oversized field."""
    text = decode_text(read_all(path)).replace("\x1a", "")  # DOS end-of-file marker
    at = text.find("\x00")
    if at >= 0:
        raise BadInput(f"{path}:{text.count(chr(10), 0, at) + 1}: NUL byte in a text list (binary or damaged file?)")
    reader = csv.reader(io.StringIO(text), strict=True)
    out, start = [], 1
    try:
        for row in reader:
            if row and any(row):
                out.append((start, [("" if v.strip() == "-0-" else v.strip()) for v in row]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BadInput(f"{path}:{start}: {csv_fault(exc)}") from None
    return out


def is_sdn_csv(head: bytes) -> bool:
    """OFAC sdn.csv: no header, integer ent_num first, 12 fields, `-0-` placeholders."""
    line = decode_text(head).splitlines()[0] if head else ""
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
        for _, row in _csv_rows(comments):
            if len(row) >= 2:
                extended[row[0]] += "; " + row[1]
    aliases: dict[str, list[str]] = defaultdict(list)
    alt = path.with_name("alt.csv")
    if alt.exists():
        for _, row in _csv_rows(alt):
            if len(row) >= 4 and row[3]:
                aliases[row[0]].append(row[3])
    aircraft, entities = [], {}
    for lineno, row in _csv_rows(path):
        if len(row) < 12 or not row[0].isdigit():
            raise BadInput(f"{path}:{lineno}: not an OFAC sdn.csv row ({len(row)} fields)")
        rec = dict(zip(SDN_CSV_COLUMNS, row))
        remarks = rec["Remarks"] + extended.get(rec["ent_num"], "")
        facts = parse_aircraft_remarks(remarks)
        program = "; ".join(p.strip(" []") for p in re.split(r"\]\s*\[", rec["Program"]) if p.strip(" []")) or None
        if rec["SDN_Type"].lower() == "aircraft" or any(k in facts for k in ("tail", "mode_s", "msn")):
            for a in aliases.get(rec["ent_num"], []):
                if looks_like_registration(a):
                    facts.setdefault("previous_tail", []).append(a)
            aircraft.append(aircraft_row("OFAC SDN", rec["ent_num"], rec["SDN_Name"] or None, facts, program, None, path))
        elif not rec["SDN_Type"] and rec["SDN_Name"]:
            entities[rec["ent_num"]] = {"name": rec["SDN_Name"], "program": program}
    return entries_frame(aircraft + operator_rows("OFAC SDN", aircraft, entities, path))
