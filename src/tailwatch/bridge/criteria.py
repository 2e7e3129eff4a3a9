"""Which aircraft count: a watchlist, a country set, military address blocks, a type class.

Each criterion given narrows the set (a Russian *and* heavy-freighter query is what an investigator
means by `--from RU --class heavy-freighter`); within one criterion any value matches (RU or IR or CN).
Every decision keeps its reason, so an excluded aircraft says which test it failed.

Country of an aircraft (`--from`): its ICAO address block, its registration's prefix, the country a
watchlist entry gives for it, or the country of the operator named by a list entry. Each match says
which of these it came from.

Type classes are by ICAO type designator. `heavy-freighter` (documented in docs/bridge.md): the
designators that only exist as freighters or military transports, plus those shared with airliners
(B744, B748, B77L, A332) when the recordings or the list call the aircraft a freighter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tailwatch.identity.icao_blocks import country_of, is_military
from tailwatch.identity.registrations import registration_country

# designators that are freighters or military transports whatever the operator
HEAVY_FREIGHTERS = frozenset({
    "IL76", "IL76TD", "IL76MD", "IL76MD90A", "IL78", "A124", "AN124", "AN12", "AN22", "A225", "C17", "C5M", "Y20",
    "IL62", "A400", "B74F",
})
# designators shared by airliners and freighters: counted only when a source says freighter
FREIGHTER_IF_SAID = frozenset({"B744", "B744F", "B748", "B748F", "B77L", "A332", "A332F", "MD11", "B763"})
CLASSES = {"heavy-freighter"}


def _said_freighter(aircraft: dict) -> bool:
    code = (aircraft.get("typecode") or "").upper()
    if code.endswith("F") and code in FREIGHTER_IF_SAID:
        return True
    texts = [aircraft.get("model"), (aircraft.get("recorded") or {}).get("description")]
    texts += [w.get("model") for w in aircraft.get("watchlists") or []]
    return any(t and ("freight" in t.lower() or t.upper().endswith("F")) for t in texts)


def type_class(aircraft: dict) -> str | None:
    """`heavy-freighter` or None (unknown type → None)."""
    code = (aircraft.get("typecode") or (aircraft.get("recorded") or {}).get("typecode") or "").upper()
    if not code:
        return None
    if code in HEAVY_FREIGHTERS:
        return "heavy-freighter"
    if code in FREIGHTER_IF_SAID and _said_freighter(aircraft):
        return "heavy-freighter"
    return None


def operator_of(aircraft: dict) -> tuple[str | None, str | None]:
    """(operator, where it was found): the identity's, a list entry's, or the recordings' own field."""
    if aircraft.get("operator"):
        return aircraft["operator"], "identity"
    for w in aircraft.get("watchlists") or []:
        if w.get("operator"):
            return w["operator"], f"list {w.get('list')}"
    rec = (aircraft.get("recorded") or {}).get("operator")
    if rec:
        return rec, "the recording's own field"
    return None, None


def countries_of(aircraft: dict, entries: list[dict]) -> dict[str, str]:
    """Country → how it was found, for every way the aircraft is tied to a country."""
    out: dict[str, str] = {}
    hex_ = aircraft.get("icao24") or ""
    block = country_of(hex_) if hex_ else None
    if block:
        out.setdefault(block, "ICAO address block")
    reg = aircraft.get("registration") or (aircraft.get("recorded") or {}).get("registration")
    if reg:
        rc = registration_country(reg)
        if rc:
            out.setdefault(rc, f"registration prefix ({reg})")
    for e in entries:
        if e.get("country"):
            out.setdefault(e["country"], f"list entry {e.get('list')}/{e.get('id')}")
        if e.get("operator_country"):
            out.setdefault(e["operator_country"], f"operator {e.get('operator')} (list entry {e.get('list')})")
    return out


@dataclass(frozen=True)
class Criteria:
    """The tests an aircraft must pass; None / empty = not asked."""

    listed: frozenset[str] | None = None  # addresses the watchlist resolved to (None: no list asked)
    list_label: str = "watchlist"
    from_countries: frozenset[str] = frozenset()
    military: bool = False
    classes: frozenset[str] = frozenset()
    entries: dict = field(default_factory=dict, compare=False)  # icao24 → list entries (list, id, operator, country)

    def describe(self) -> list[str]:
        out = []
        if self.listed is not None:
            out.append(f"on {self.list_label} ({len(self.listed)} aircraft resolved)")
        if self.from_countries:
            out.append("from " + ",".join(sorted(self.from_countries)))
        if self.military:
            out.append("military address block")
        if self.classes:
            out.append("type class " + ",".join(sorted(self.classes)))
        return out

    def match(self, aircraft: dict) -> tuple[bool, list[str], list[str]]:
        """(flagged, why it counts, why not): every test given must pass."""
        hex_ = aircraft.get("icao24") or ""
        entries = [*self.entries.get(hex_, []), *(aircraft.get("watchlists") or [])]
        yes: list[str] = []
        no: list[str] = []
        if self.listed is not None:
            if hex_ in self.listed:
                names = sorted({f"{e.get('list')}/{e.get('id') or e.get('entry_id')}" for e in self.entries.get(hex_, [])})
                yes.append(f"on {self.list_label}" + (f" ({', '.join(names)})" if names else ""))
            else:
                no.append(f"not on {self.list_label}")
        if self.from_countries:
            ties = countries_of(aircraft, entries)
            hit = {c: how for c, how in ties.items() if c in self.from_countries}
            if hit:
                yes.append("; ".join(f"{c} by {how}" for c, how in sorted(hit.items())))
            else:
                said = ", ".join(f"{c} by {how}" for c, how in sorted(ties.items())) or "no country known"
                no.append(f"not from {','.join(sorted(self.from_countries))} ({said})")
        if self.military:
            if hex_ and is_military(hex_):
                yes.append("military address block")
            else:
                no.append("not in a military address block")
        if self.classes:
            cls = type_class(aircraft)
            if cls in self.classes:
                yes.append(f"type {aircraft.get('typecode')}: {cls}")
            else:
                no.append(f"type {aircraft.get('typecode') or 'unknown'} is not {','.join(sorted(self.classes))}")
        return (not no and bool(yes)), yes, no
