"""Address -> country table: ICAO Annex 10 blocks with tar1090's wider bounds, vectorised lookup."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tailwatch.identity.icao_blocks import blocks, countries_of, country_name_of, country_of, is_military, military_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("icao24", "iso2"),
    [
        ("100000", "RU"), ("1fffff", "RU"), ("1533ad", "RU"),  # Russia 0x100000-0x1FFFFF
        ("a00000", "US"), ("afffff", "US"), ("a061d9", "US"),  # USA 0xA00000-0xAFFFFF
        ("0d8000", "VE"), ("0dffff", "VE"),  # Venezuela 0x0D8000-0x0DFFFF
        ("05e000", "MR"), ("05e7ff", "MR"), ("05e800", None),  # Mauritania 0x05E000-0x05E7FF
        ("424200", "BM"), ("43c000", "GB"), ("400000", "BM"),  # UK territories nested in the UK block
        ("789000", "HK"), ("788fff", "CN"), ("7a0000", "CN"),  # Hong Kong inside China
        ("730abc", "IR"), ("508001", "UA"), ("4b1805", "CH"),
        ("000000", None), ("ffffff", None), ("f00001", None),  # unassigned / ICAO use
        ("zzzzzz", None), ("12345", None), ("", None),  # not an address
        ("~1533ad", "RU"),  # readsb's marker of non-ICAO addresses is ignored
    ],
)
def test_country_of(icao24, iso2):
    assert country_of(icao24) == iso2


def test_names_and_special_blocks():
    assert country_name_of("1533ad") == "Russia"
    assert country_name_of("f00001") == "ICAO (temporary)"
    assert country_name_of("000000") is None


def test_military_blocks():
    assert is_military("adf7c8") and is_military("afffff") and is_military("43c123")
    assert not is_military("adf7c7")  # N99999, the last civil N-number
    assert not is_military("1533ad")


def test_every_row_has_source_and_as_of():
    table = blocks()
    assert table.height > 200
    assert table["source"].null_count() == 0 and table["as_of"].null_count() == 0
    assert (table["source"].str.len_chars() > 10).all()
    assert (table["start"] <= table["end"]).all()
    country_rows = table.filter(pl.col("kind") == "country")
    assert (country_rows["reg_prefixes"].str.len_chars() > 0).all()


def test_vectorised_equals_scalar():
    rng = np.random.default_rng(7)
    values = [f"{v:06x}" for v in rng.integers(0, 1 << 24, 5000)] + ["bad", "", "~a061d9", "1533AD"]
    series = pl.Series("icao24", values + [None])
    vec = countries_of(series).to_list()
    assert vec == [country_of(v) for v in values] + [None]
    mil = military_of(series).to_list()
    assert mil == [is_military(v) for v in values] + [False]
    assert countries_of(pl.Series("icao24", [], dtype=pl.String)).len() == 0


def test_build_script_parses_flags_js_format(tmp_path):
    spec = importlib.util.spec_from_file_location("build_icao_blocks", ROOT / "scripts" / "build_icao_blocks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    snippet = """let ICAO_Ranges = [
	{ start: 0x100000, end: 0x1FFFFF, country: "Russia", country_code: "ru" },
	{ start: 0x901000, end: 0x9017FF, country: "Cook Islands", country_code: "sk" },
	{ start: 0xF00000, end: 0xF07FFF, country: "ICAO (temporary)", country_code: null },
];"""
    rows = module.build_rows(snippet, "2026-11-25")
    by_country = {r["country"]: r for r in rows}
    assert by_country["Russia"]["iso2"] == "RU" and by_country["Russia"]["reg_prefixes"] == "RA|RF"
    assert by_country["Cook Islands"]["iso2"] == "CK"  # flags.js's 'sk' flag file corrected
    assert by_country["ICAO (temporary)"]["kind"] == "special"
    assert any(r["kind"] == "military" and r["start"] == "ADF7C8" for r in rows)
    assert all(r["source"] and r["as_of"] == "2026-11-25" for r in rows)
