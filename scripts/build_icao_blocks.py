"""Rebuild `src/tailwatch/data/icao_blocks.csv` from tar1090's `html/flags.js`.

Usage: python scripts/build_icao_blocks.py PATH/TO/flags.js [--out src/tailwatch/data/icao_blocks.csv]

Source: tar1090 (wiedehopf/tar1090, GPL-2.0+) `html/flags.js`, array `ICAO_Ranges`,
"mostly generated from the assignment table in the appendix to Chapter 9 of
Annex 10 Vol III" with tar1090's wider bounds (Russia 0x100000-0x1FFFFF, USA
0xA00000-0xAFFFFF, ...). Only the facts (ranges, country) are taken; no code.
Nationality marks (registration prefixes) come from ICAO Annex 7 as listed
below; the military rows are the published address blocks in MILITARY.
"""

from __future__ import annotations

import argparse
import csv
import re
from datetime import date
from pathlib import Path

FLAGS_SOURCE = "tar1090 html/flags.js ICAO_Ranges (ICAO Annex 10 Vol III ch.9 appendix, wider bounds)"
MARKS_SOURCE = "ICAO Annex 7 nationality marks"

ENTRY = re.compile(
    r"start:\s*0x(?P<start>[0-9A-Fa-f]{6}),\s*end:\s*0x(?P<end>[0-9A-Fa-f]{6}),\s*"
    r"country:\s*\"(?P<country>[^\"]*)\",\s*country_code:\s*(?:\"(?P<cc>[a-z]{2})\"|null)"
)

# flags.js flags Cook Islands with "sk" (Slovakia's flag file); the ISO code is CK.
CODE_FIXES = {("Cook Islands", "sk"): "CK"}

# ISO2 -> nationality marks (Annex 7). Several marks are separated by "|".
NATIONALITY_MARKS: dict[str, str] = {
    "ZW": "Z", "MZ": "C9", "ZA": "ZS|ZT|ZU", "EG": "SU", "LY": "5A", "MA": "CN", "TN": "TS", "BW": "A2",
    "BI": "9U", "CM": "TJ", "KM": "D6", "CG": "TN", "CI": "TU", "GA": "TR", "ET": "ET", "GQ": "3C",
    "GH": "9G", "GN": "3X", "GW": "J5", "LS": "7P", "KE": "5Y", "LR": "A8", "MG": "5R", "MW": "7Q",
    "MV": "8Q", "ML": "TZ", "MR": "5T", "MU": "3B", "NE": "5U", "NG": "5N", "UG": "5X", "QA": "A7",
    "CF": "TL", "RW": "9XR", "SN": "6V|6W", "SC": "S7", "SL": "9L", "SO": "6O", "SZ": "3D", "SD": "ST",
    "TZ": "5H", "TD": "TT", "TG": "5V", "ZM": "9J", "CD": "9S|9Q", "AO": "D2", "BJ": "TY", "CV": "D4",
    "DJ": "J2", "GM": "C5", "BF": "XT", "ST": "S9", "DZ": "7T", "BS": "C6", "BB": "8P", "BZ": "V3",
    "CO": "HK", "CR": "TI", "CU": "CU", "SV": "YS", "GT": "TG", "GY": "8R", "HT": "HH", "HN": "HR",
    "VC": "J8", "JM": "6Y", "NI": "YN", "PA": "HP", "DO": "HI", "TT": "9Y", "SR": "PZ", "AG": "V2",
    "GD": "J3", "MX": "XA|XB|XC", "VE": "YV", "RU": "RA|RF", "NA": "V5", "ER": "E3", "IT": "I",
    "ES": "EC", "FR": "F", "DE": "D", "BM": "VP-B|VQ-B", "KY": "VP-C", "TC": "VQ-T", "IM": "M",
    "GG": "2", "GB": "G", "AT": "OE", "BE": "OO", "BG": "LZ", "DK": "OY", "FI": "OH", "GR": "SX",
    "HU": "HA", "NO": "LN", "NL": "PH", "PL": "SP", "PT": "CS", "CZ": "OK", "RO": "YR", "SE": "SE",
    "CH": "HB", "TR": "TC", "RS": "YU", "CY": "5B", "IE": "EI", "IS": "TF", "LU": "LX", "MT": "9H",
    "MC": "3A", "SM": "T7", "AL": "ZA", "HR": "9A", "LV": "YL", "LT": "LY", "MD": "ER", "SK": "OM",
    "SI": "S5", "UZ": "UK", "UA": "UR", "BY": "EW", "EE": "ES", "MK": "Z3", "BA": "E7", "GE": "4L",
    "TJ": "EY", "ME": "4O", "AM": "EK", "AZ": "4K", "KG": "EX", "TM": "EZ", "BT": "A5", "FM": "V6",
    "MN": "JU", "KZ": "UP", "PW": "T8A", "AF": "YA", "BD": "S2", "MM": "XY|XZ", "KW": "9K", "LA": "RDPL",
    "NP": "9N", "OM": "A4O", "KH": "XU", "SA": "HZ", "KR": "HL", "KP": "P", "IQ": "YI", "IR": "EP",
    "IL": "4X", "JO": "JY", "LB": "OD", "MY": "9M", "PH": "RP", "PK": "AP", "SG": "9V", "LK": "4R",
    "SY": "YK", "HK": "B-H|B-K|B-L", "CN": "B", "AU": "VH", "IN": "VT", "JP": "JA", "TH": "HS",
    "VN": "VN", "YE": "7O", "BH": "A9C", "BN": "V8", "AE": "A6", "SB": "H4", "PG": "P2", "TW": "B",
    "ID": "PK", "MH": "V7", "CK": "E5", "WS": "5W", "US": "N", "CA": "C", "NZ": "ZK|ZL|ZM", "FJ": "DQ",
    "NR": "C2", "LC": "J6", "TO": "A3", "KI": "T3", "VU": "YJ", "AD": "C3", "DM": "J7", "KN": "V4",
    "SS": "Z8", "TL": "4W", "TV": "T2", "AR": "LV|LQ", "BR": "PP|PR|PS|PT|PU", "CL": "CC", "EC": "HC",
    "PY": "ZP", "PE": "OB", "UY": "CX", "BO": "CP",
}

# (start, end, ISO2, source, note): published military address blocks.
MILITARY = [
    ("ADF7C8", "AFFFFF", "US",
     "FAA N-number block ends at N99999 = 0xADF7C7 (tar1090 html/registrations.js); readsb military range list",
     "US addresses above the N-number space: military and other non-civil"),
    ("43C000", "43CFFF", "GB", "readsb military range list", "UK military block"),
]

COLUMNS = ["start", "end", "kind", "iso2", "country", "reg_prefixes", "source", "as_of", "note"]


def parse_flags_js(text: str) -> list[dict]:
    """The ICAO_Ranges entries of a flags.js text, in file order."""
    rows = []
    for m in ENTRY.finditer(text):
        cc = (m["cc"] or "").upper()
        cc = CODE_FIXES.get((m["country"], m["cc"]), cc)
        rows.append({"start": m["start"].upper(), "end": m["end"].upper(), "country": m["country"], "iso2": cc})
    return rows


def build_rows(flags_text: str, as_of: str) -> list[dict]:
    out = []
    for r in parse_flags_js(flags_text):
        kind = "country" if r["iso2"] else "special"
        note = "flags.js country_code 'sk' corrected to CK" if r["country"] == "Cook Islands" else ""
        out.append({
            "start": r["start"], "end": r["end"], "kind": kind, "iso2": r["iso2"], "country": r["country"],
            "reg_prefixes": NATIONALITY_MARKS.get(r["iso2"], ""),
            "source": FLAGS_SOURCE + ("; " + MARKS_SOURCE if r["iso2"] else ""),
            "as_of": as_of, "note": note,
        })
    for start, end, iso2, source, note in MILITARY:
        out.append({"start": start, "end": end, "kind": "military", "iso2": iso2, "country": "",
                    "reg_prefixes": "", "source": source, "as_of": as_of, "note": note})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flags_js", type=Path)
    parser.add_argument("--out", type=Path, default=Path("src/tailwatch/data/icao_blocks.csv"))
    parser.add_argument("--as-of", default=date.today().isoformat())
    args = parser.parse_args()
    rows = build_rows(args.flags_js.read_text(encoding="utf-8"), args.as_of)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {args.out}")


if __name__ == "__main__":
    main()
