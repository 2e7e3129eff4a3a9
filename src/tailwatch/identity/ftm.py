"""OpenSanctions / FollowTheMoney JSON lines: aircraft and their operators into list entries (identity/sanctions.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import polars as pl

from tailwatch.errors import BadInput
from tailwatch.files import read_all
from tailwatch.identity.ofac import decode_text
from tailwatch.identity.sanctions import AVIATION_WORDS, HEX6, dedupe, entries_frame


LEGAL = {"LegalEntity", "Company", "Organization", "PublicBody"}


class WrongShape(ValueError):
    """A JSON line that is not a FollowTheMoney entity (the reader adds the file and line)."""


def _flatten_ftm(obj: dict, out: dict[str, dict]) -> str | None:
    """Index an entity and any entities nested in its properties (targets.nested.json).

    The shape is checked as it is read: an entity is an object whose `id` and `schema` are
    strings and whose `properties` map names to lists of strings, numbers or nested entities."""
    ent_id = obj.get("id")
    if not ent_id:
        return None
    if not isinstance(ent_id, str):
        raise WrongShape(f"entity id is {type(ent_id).__name__}, not a string")
    if not isinstance(obj.get("schema"), str):
        raise WrongShape(f"entity {ent_id}: schema is missing or not a string")
    properties = obj.get("properties") or {}
    if not isinstance(properties, dict):
        raise WrongShape(f"entity {ent_id}: properties is a {type(properties).__name__}, not an object")
    if not isinstance(obj.get("topics") or [], list):
        raise WrongShape(f"entity {ent_id}: topics is not a list")
    props: dict[str, list] = {}
    for key, values in properties.items():
        flat = []
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, dict):
                nested = _flatten_ftm(v, out)
                if nested:
                    flat.append(nested)
            elif isinstance(v, list):
                raise WrongShape(f"entity {ent_id}: property {key} holds a list inside its list")
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
    text = decode_text(read_all(path))
    at = text.find("\x00")
    if at >= 0:
        raise BadInput(f"{path}:{text.count(chr(10), 0, at) + 1}: NUL byte in a text list (binary or damaged file?)")
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise BadInput(f"{path}:{lineno}: not a JSON line: {exc}") from None
        if not isinstance(obj, dict):
            raise BadInput(f"{path}:{lineno}: a JSON {type(obj).__name__}, not a FollowTheMoney entity "
                           "(an object with id, schema and properties)")
        try:
            _flatten_ftm(obj, entities)
        except WrongShape as exc:
            raise BadInput(f"{path}:{lineno}: not a FollowTheMoney entity: {exc}") from None
        except RecursionError:
            raise BadInput(f"{path}:{lineno}: entities nested too deep") from None

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
        return "; ".join(dedupe(progs)) or None, (min(dates)[:10] if dates else None)

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
