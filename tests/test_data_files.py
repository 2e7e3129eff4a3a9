"""Every shipped data file carries `source` and `as_of` on every row.

House rule: facts the analysis depends on live in `src/tailwatch/data/` as tables
whose every row says where the figure comes from and when it was true. This test
walks the whole folder so a new file cannot slip in without them.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

import tailwatch

DATA = Path(tailwatch.__file__).parent / "data"
TABLES = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in {".csv", ".parquet"})


def _read(path: Path) -> pl.DataFrame:
    if path.suffix.lower() == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema_length=0, comment_prefix="#")


def test_data_folder_has_tables() -> None:
    assert len(TABLES) >= 5, TABLES


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.name)
def test_every_row_has_source_and_as_of(path: Path) -> None:
    table = _read(path)
    assert table.height > 0, f"{path.name}: empty"
    for column in ("source", "as_of"):
        assert column in table.columns, f"{path.name}: no {column!r} column"
        text = table[column].cast(pl.Utf8).str.strip_chars()
        blank = table.filter(text.is_null() | (text == "")).height
        assert blank == 0, f"{path.name}: {blank} row(s) with an empty {column!r}"
    # as_of must at least start with a year (YYYY, YYYY-MM or a full date)
    as_of = table["as_of"].cast(pl.Utf8).str.strip_chars()
    bad = [v for v in as_of.unique().to_list() if not re.match(r"^(19|20)\d\d", v)]
    assert not bad, f"{path.name}: as_of values without a year: {bad[:5]}"


def test_aircraft_types_rows_are_well_formed() -> None:
    """Every type has a name; every figure parses or says `unknown`; every payload–range point
    has a payload; low ≤ value ≤ high wherever a band is given."""
    table = _read(DATA / "aircraft_types.csv")
    types = set(table["type"].to_list())
    named = set(table.filter(pl.col("field") == "name")["type"].to_list())
    assert types == named, f"types without a name row: {sorted(types - named)}"
    for row in table.filter(~pl.col("field").is_in(["name", "alias"])).iter_rows(named=True):
        where = f"{row['type']}/{row['field']}"
        if row["value"] == "unknown":
            continue
        value = float(row["value"])
        low = float(row["low"]) if row["low"] else value
        high = float(row["high"]) if row["high"] else value
        assert low <= value <= high, where
        if row["field"] == "range_km":
            assert row["payload_t"] and float(row["payload_t"]) >= 0, where
