"""Registration <-> ICAO address where a state allocates addresses by a published rule.

Rules (facts from tar1090's `html/registrations.js`, written here from its
description, not its code):
- US N-numbers: N1 = 0xA00001 ... N99999 = 0xADF7C7, letter suffixes included
  (letters A-Z without I and O, at most two, only at the end); the address is the
  rank of the N-number in the FAA's ordering, in nested buckets of 101711 / 10111
  / 951 / 35 addresses under the first to fourth digit.
- Numbered blocks: RA-NNNNN = 0x140000 + N (Russia), CU-TNNNN = 0x0B03E8 + N - 1000 (Cuba).
- Japan JAxxxx from 0x840000, South Korea HLxxxx (the digits read as hex).
- Three-letter "stride" blocks: prefix + AAA..ZZZ at start + i1*s1 + i2*s2 + i3
  (France F-B/I/G/H/O, Germany D-A..D-I, Belgium, Denmark, Finland, Greece,
  Portugal, Romania, Turkey, Jordan, Pakistan, Singapore, Syria, Canada C-F/C-G,
  Argentina LV-).
No library does this in both directions (pyModeS has neither), hence this module.

Normalisation turns `RA78765`, `ra-78765`, `RA 78765` into `RA-78765` using the
nationality marks of `data/icao_blocks.csv`; N, JA and HL registrations carry no
hyphen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from tailwatch.identity.icao_blocks import blocks, parse_address

LIMITED = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # 24 letters: no I, no O (N-numbers, Japan)
FULL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# --- normalisation ---------------------------------------------------------------

_CLEAN = re.compile(r"[\s_.]+")


@lru_cache(maxsize=1)
def nationality_marks() -> dict[str, str]:
    """Nationality mark (e.g. 'RA', 'VP-B', and 'VP' for it) -> ISO2, from the blocks data file."""
    marks: dict[str, str] = {}
    rows = blocks().filter(pl.col("kind") == "country").select("iso2", "reg_prefixes").iter_rows()
    for iso, prefixes in rows:
        for mark in (prefixes or "").split("|"):
            if mark:
                marks.setdefault(mark, iso)
                marks.setdefault(mark.split("-")[0], iso)
    return marks


_N_NUMBER = re.compile(r"N[1-9][0-9A-Z]{0,4}")


def normalize_registration(text: str | None) -> str | None:
    """Canonical spelling of a registration: upper case, the hyphen where the state uses one.

    `RA78765`, `ra-78765`, `RA 78765` -> `RA-78765`; `N-12345` -> `N12345`; `JA-8089` -> `JA8089`.
    A registration already holding a hyphen keeps it; an unknown prefix is only upper-cased.
    """
    if text is None:
        return None
    reg = _CLEAN.sub("", str(text)).upper().strip("-")
    if not reg:
        return None
    flat = reg.replace("-", "")
    if _N_NUMBER.fullmatch(flat) or re.fullmatch(r"(JA|HL)[0-9A-Z]{4}", flat):
        return flat
    if "-" in reg:
        return reg
    marks = nationality_marks()
    for size in (4, 3, 2, 1):
        if len(flat) > size and flat[:size] in marks:
            return f"{flat[:size]}-{flat[size:]}"
    return flat


def registration_country(registration: str) -> str | None:
    """ISO2 of the state whose nationality mark the registration carries (None if unknown)."""
    reg = normalize_registration(registration)
    if not reg:
        return None
    if _N_NUMBER.fullmatch(reg):
        return "US"
    marks = nationality_marks()
    head = reg.split("-")[0]
    if "-" in reg and head in marks:
        sub = reg[: len(head) + 2]  # 'VP-B', 'B-H' marks that hold a hyphen
        return marks.get(sub, marks[head])
    for size in (4, 3, 2, 1):
        if reg[:size] in marks:
            return marks[reg[:size]]
    return None


# --- US N-numbers ------------------------------------------------------------------

N_FIRST = 0xA00001
N_COUNT = 915399  # N1 .. N99999 -> 0xA00001 .. 0xADF7C7
_BUCKET = (101711, 10111, 951, 35)  # addresses under each digit, by digit position
_LETTER_BLOCK = 601  # '', A, AA..AZ, B, BA.. : 1 + 24 * 25 suffixes after digits 1-3
N_PATTERN = re.compile(r"N([1-9][0-9]{0,4})([A-HJ-NP-Z]{0,2})")


def _letters_offset(suffix: str, two_allowed: bool) -> int:
    if not suffix:
        return 0
    if two_allowed:
        i1 = LIMITED.index(suffix[0])
        return 1 + i1 * 25 + (LIMITED.index(suffix[1]) + 1 if len(suffix) > 1 else 0)
    return LIMITED.index(suffix) + 1


def _letters(offset: int, two_allowed: bool) -> str:
    if offset == 0:
        return ""
    offset -= 1
    if two_allowed:
        first, rest = divmod(offset, 25)
        return LIMITED[first] + (LIMITED[rest - 1] if rest else "")
    return LIMITED[offset]


def n_number_to_icao(registration: str) -> int | None:
    """Address of a US N-number, or None when the text is not a valid N-number."""
    m = N_PATTERN.fullmatch(registration)
    if not m:
        return None
    digits, suffix = m.groups()
    if len(digits) + len(suffix) > 5 or (len(digits) == 4 and len(suffix) > 1):
        return None
    offset = (int(digits[0]) - 1) * _BUCKET[0]
    for level, d in enumerate(digits[1:], start=1):
        offset += _LETTER_BLOCK if level < 4 else 25
        offset += int(d) * (_BUCKET[level] if level < 4 else 1)
    offset += _letters_offset(suffix, two_allowed=len(digits) < 4)
    return N_FIRST + offset


def icao_to_n_number(address: int) -> str | None:
    """The N-number of an address in 0xA00001..0xADF7C7, else None."""
    offset = address - N_FIRST
    if offset < 0 or offset >= N_COUNT:
        return None
    first, offset = divmod(offset, _BUCKET[0])
    reg = f"N{first + 1}"
    for level in (1, 2, 3):
        if offset < _LETTER_BLOCK:
            return reg + _letters(offset, two_allowed=True)
        digit, offset = divmod(offset - _LETTER_BLOCK, _BUCKET[level])
        reg += str(digit)
    if offset < 25:
        return reg + _letters(offset, two_allowed=False)
    return reg + str(offset - 25)


# --- numbered, Japanese, Korean and stride blocks ------------------------------------


@dataclass(frozen=True)
class NumericRule:
    start: int
    first: int
    count: int
    prefix: str  # registration = prefix + number zero-padded to `digits`
    digits: int


NUMERIC_RULES = (
    NumericRule(0x140000, 0, 100000, "RA-", 5),
    NumericRule(0x0B03E8, 1000, 1000, "CU-T", 4),
)


@dataclass(frozen=True)
class StrideRule:
    start: int
    s1: int
    s2: int
    prefix: str
    first: str = "AAA"
    last: str = "ZZZ"
    alphabet: str = FULL

    def _rank(self, suffix: str) -> int:
        a = self.alphabet
        return a.index(suffix[0]) * self.s1 + a.index(suffix[1]) * self.s2 + a.index(suffix[2])

    @property
    def end(self) -> int:
        return self.start - self._rank(self.first) + self._rank(self.last)

    def to_icao(self, suffix: str) -> int | None:
        if len(suffix) != 3 or any(c not in self.alphabet for c in suffix):
            return None
        if not (self.first <= suffix <= self.last):
            return None
        return self.start - self._rank(self.first) + self._rank(suffix)

    def to_registration(self, address: int) -> str | None:
        if address < self.start or address > self.end:
            return None
        offset = address - self.start + self._rank(self.first)
        i1, offset = divmod(offset, self.s1)
        i2, i3 = divmod(offset, self.s2)
        n = len(self.alphabet)
        if i1 >= n or i2 >= n or i3 >= n:
            return None
        return self.prefix + self.alphabet[i1] + self.alphabet[i2] + self.alphabet[i3]


STRIDE_RULES = (
    StrideRule(0x380000, 1024, 32, "F-B"),
    StrideRule(0x388000, 1024, 32, "F-I"),
    StrideRule(0x390000, 1024, 32, "F-G"),
    StrideRule(0x398000, 1024, 32, "F-H"),
    StrideRule(0x3A0000, 1024, 32, "F-O"),
    StrideRule(0x3C4421, 1024, 32, "D-A", "AAA", "OZZ"),
    StrideRule(0x3C0001, 26 * 26, 26, "D-A", "PAA", "ZZZ"),
    StrideRule(0x3C8421, 1024, 32, "D-B", "AAA", "OZZ"),
    StrideRule(0x3C2001, 26 * 26, 26, "D-B", "PAA", "ZZZ"),
    StrideRule(0x3CC000, 26 * 26, 26, "D-C"),
    StrideRule(0x3D04A8, 26 * 26, 26, "D-E"),
    StrideRule(0x3D4950, 26 * 26, 26, "D-F"),
    StrideRule(0x3D8DF8, 26 * 26, 26, "D-G"),
    StrideRule(0x3DD2A0, 26 * 26, 26, "D-H"),
    StrideRule(0x3E1748, 26 * 26, 26, "D-I"),
    StrideRule(0x448421, 1024, 32, "OO-"),
    StrideRule(0x458421, 1024, 32, "OY-"),
    StrideRule(0x460000, 26 * 26, 26, "OH-"),
    StrideRule(0x468421, 1024, 32, "SX-"),
    StrideRule(0x490421, 1024, 32, "CS-"),
    StrideRule(0x4A0421, 1024, 32, "YR-"),
    StrideRule(0x4B8421, 1024, 32, "TC-"),
    StrideRule(0x740421, 1024, 32, "JY-"),
    StrideRule(0x760421, 1024, 32, "AP-"),
    StrideRule(0x768421, 1024, 32, "9V-"),
    StrideRule(0x778421, 1024, 32, "YK-"),
    StrideRule(0xC00001, 26 * 26, 26, "C-F"),
    StrideRule(0xC044A9, 26 * 26, 26, "C-G"),
    StrideRule(0xE01041, 4096, 64, "LV-"),
)

JA_FIRST, JA_COUNT, JA_D1, JA_D2 = 0x840000, 229840, 22984, 916
HL_RULES = ((0x71BA00, 0x71BF99, 0x7200), (0x71C000, 0x71C099, 0x8000), (0x71C200, 0x71C299, 0x8200))


def _ja_registration(address: int) -> str | None:
    offset = address - JA_FIRST
    if offset < 0 or offset >= JA_COUNT:
        return None
    d1, offset = divmod(offset, JA_D1)
    d2, offset = divmod(offset, JA_D2)
    if d2 > 9:  # 10 x 916 < 22984: the rest of each first-digit block is unallocated
        return None
    reg = f"JA{d1}{d2}"
    if offset < 340:
        d3, offset = divmod(offset, 34)
        return reg + str(d3) + (str(offset) if offset < 10 else LIMITED[offset - 10])
    l3, l4 = divmod(offset - 340, 24)
    return reg + LIMITED[l3] + LIMITED[l4]


def _ja_address(reg: str) -> int | None:
    m = re.fullmatch(r"JA([0-9])([0-9])([0-9A-HJ-NP-Z])([0-9A-HJ-NP-Z])", reg)
    if not m:
        return None
    d1, d2, c3, c4 = m.groups()
    offset = int(d1) * JA_D1 + int(d2) * JA_D2
    if c3.isdigit():
        offset += int(c3) * 34 + (int(c4) if c4.isdigit() else 10 + LIMITED.index(c4))
    elif c4.isdigit():
        return None
    else:
        offset += 340 + LIMITED.index(c3) * 24 + LIMITED.index(c4)
    return JA_FIRST + offset


def _hl_registration(address: int) -> str | None:
    for lo, hi, base in HL_RULES:
        if lo <= address <= hi:
            return f"HL{address - lo + base:x}".upper()
    return None


def _hl_address(reg: str) -> int | None:
    m = re.fullmatch(r"HL([0-9A-F]{4})", reg)
    if not m:
        return None
    value = int(m.group(1), 16)
    for lo, hi, base in HL_RULES:
        if 0 <= value - base <= hi - lo:
            return lo + value - base
    return None


# --- public API -------------------------------------------------------------------


@dataclass(frozen=True)
class RuleMatch:
    icao24: str
    registration: str
    rule: str  # which published allocation rule gave it


def registration_from_icao(icao24: str) -> RuleMatch | None:
    """The registration an address stands for by rule (None where no rule covers it)."""
    address = parse_address(icao24)
    if address is None:
        return None
    hexa = f"{address:06x}"
    if (reg := icao_to_n_number(address)) is not None:
        return RuleMatch(hexa, reg, "US N-number")
    if (reg := _ja_registration(address)) is not None:
        return RuleMatch(hexa, reg, "Japan JA")
    if (reg := _hl_registration(address)) is not None:
        return RuleMatch(hexa, reg, "South Korea HL")
    for rule in NUMERIC_RULES:
        if rule.start <= address < rule.start + rule.count:
            number = address - rule.start + rule.first
            return RuleMatch(hexa, f"{rule.prefix}{number:0{rule.digits}d}", f"numbered block {rule.prefix}")
    for stride in STRIDE_RULES:
        if (reg := stride.to_registration(address)) is not None:
            return RuleMatch(hexa, reg, f"stride block {stride.prefix}")
    return None


def icao_from_registration(registration: str) -> RuleMatch | None:
    """The address a registration maps to by rule (None where the state has no published rule)."""
    reg = normalize_registration(registration)
    if not reg:
        return None
    address: int | None = None
    rule = ""
    if reg.startswith("N") and (address := n_number_to_icao(reg)) is not None:
        rule = "US N-number"
    elif reg.startswith("JA") and (address := _ja_address(reg)) is not None:
        rule = "Japan JA"
    elif reg.startswith("HL") and (address := _hl_address(reg)) is not None:
        rule = "South Korea HL"
    else:
        for numeric in NUMERIC_RULES:
            m = re.fullmatch(re.escape(numeric.prefix) + r"([0-9]{%d})" % numeric.digits, reg)
            if m and numeric.first <= int(m.group(1)) < numeric.first + numeric.count:
                address = numeric.start + int(m.group(1)) - numeric.first
                rule = f"numbered block {numeric.prefix}"
                break
        else:
            for stride in STRIDE_RULES:
                if reg.startswith(stride.prefix) and len(reg) == len(stride.prefix) + 3:
                    address = stride.to_icao(reg[len(stride.prefix):])
                    if address is not None:
                        rule = f"stride block {stride.prefix}"
                        break
    if address is None:
        return None
    return RuleMatch(f"{address:06x}", reg, rule)


__all__ = [
    "normalize_registration", "registration_country", "registration_from_icao", "icao_from_registration",
    "n_number_to_icao", "icao_to_n_number", "RuleMatch", "nationality_marks",
]
