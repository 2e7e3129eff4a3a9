"""Address -> allocating state (and military block), for one address or a whole column.

Data: `data/icao_blocks.csv` — ICAO Annex 10 Vol III address blocks with tar1090
flags.js's wider bounds, nationality marks (Annex 7) and published military blocks;
`source` and `as_of` on every row (rebuilt by `scripts/build_icao_blocks.py`).

Blocks nest (Hong Kong inside China, Bermuda inside the UK block), so the table is
flattened once into non-overlapping segments where the narrowest block wins; a
lookup is then one `np.searchsorted` over the segment starts, for 1 or 10^8 rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import polars as pl

DATA_FILE = "icao_blocks.csv"


def blocks() -> pl.DataFrame:
    """The data file as a frame (start/end as integers)."""
    return _blocks()


@lru_cache(maxsize=1)
def _blocks() -> pl.DataFrame:
    with (resources.files("tailwatch") / "data" / DATA_FILE).open("rb") as f:
        frame = pl.read_csv(f, infer_schema=False)
    return frame.with_columns(
        pl.col("start").str.to_integer(base=16).alias("start"),
        pl.col("end").str.to_integer(base=16).alias("end"),
        pl.col("iso2").fill_null(""),
        pl.col("country").fill_null(""),
        pl.col("reg_prefixes").fill_null(""),
    )


@dataclass(frozen=True)
class _Segments:
    starts: np.ndarray  # int64, sorted; a segment runs up to the next start
    codes: np.ndarray  # int32 index into `names` per segment, -1 where unassigned
    names: list[str]  # distinct labels


def _flatten(starts: list[int], ends: list[int], labels: list[str]) -> _Segments:
    """Non-overlapping segments; where ranges nest the narrowest one labels the segment."""
    bounds = sorted(set(starts) | {e + 1 for e in ends} | {0})
    s = np.asarray(starts, dtype=np.int64)
    e = np.asarray(ends, dtype=np.int64)
    width = e - s
    names = sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    codes = np.full(len(bounds), -1, dtype=np.int32)
    for k, lo in enumerate(bounds):  # a few hundred segments, built once
        cover = np.flatnonzero((s <= lo) & (e >= lo))
        if cover.size:
            codes[k] = index[labels[cover[np.argmin(width[cover])]]]
    return _Segments(np.asarray(bounds, dtype=np.int64), codes, names)


@lru_cache(maxsize=1)
def _country_segments() -> _Segments:
    b = _blocks().filter(pl.col("kind") != "military")
    return _flatten(b["start"].to_list(), b["end"].to_list(), b["iso2"].to_list())


@lru_cache(maxsize=1)
def _name_segments() -> _Segments:
    b = _blocks().filter(pl.col("kind") != "military")
    return _flatten(b["start"].to_list(), b["end"].to_list(), b["country"].to_list())


@lru_cache(maxsize=1)
def _military_segments() -> _Segments:
    b = _blocks().filter(pl.col("kind") == "military")
    return _flatten(b["start"].to_list(), b["end"].to_list(), b["iso2"].to_list())


def parse_address(icao24: str) -> int | None:
    """The integer value of a 6-hex-digit address (a leading '~' of non-ICAO addresses is dropped)."""
    text = (icao24 or "").strip().lower().lstrip("~")
    if len(text) != 6:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


def _label(seg: _Segments, value: int | None) -> str | None:
    if value is None:
        return None
    i = int(np.searchsorted(seg.starts, value, side="right")) - 1
    code = int(seg.codes[i]) if i >= 0 else -1
    return seg.names[code] if code >= 0 else None


def country_of(icao24: str) -> str | None:
    """ISO2 code of the state the address block is allocated to (None: unassigned, ICAO use, bad hex)."""
    return _label(_country_segments(), parse_address(icao24)) or None


def country_name_of(icao24: str) -> str | None:
    """Name of the allocation (a country, or 'ICAO (temporary)' ...), None where unassigned."""
    return _label(_name_segments(), parse_address(icao24)) or None


def is_military(icao24: str) -> bool:
    """Whether the address lies in a published military block (see the data file)."""
    return _label(_military_segments(), parse_address(icao24)) is not None


def _codes(icao24: pl.Series, seg: _Segments) -> np.ndarray:
    text = icao24.cast(pl.String).str.strip_chars().str.strip_chars_start("~")
    ints = text.str.to_integer(base=16, strict=False)
    valid = (text.str.len_chars() == 6).fill_null(False) & ints.is_not_null()
    values = ints.fill_null(-1).to_numpy().astype(np.int64)
    idx = np.searchsorted(seg.starts, values, side="right") - 1
    codes = seg.codes[np.clip(idx, 0, None)]
    return np.where(valid.to_numpy() & (idx >= 0), codes, -1)


def _gather(codes: np.ndarray, names: list[str], name: str) -> pl.Series:
    table = pl.Series(name, [n or None for n in names] + [None], dtype=pl.String)
    return table.gather(np.where(codes < 0, len(names), codes))


def countries_of(icao24: pl.Series) -> pl.Series:
    """Vectorised `country_of` over a Series of addresses (ISO2 or null)."""
    seg = _country_segments()
    return _gather(_codes(icao24, seg), seg.names, "country")


def military_of(icao24: pl.Series) -> pl.Series:
    """Vectorised `is_military` over a Series of addresses (bool)."""
    return pl.Series("military", _codes(icao24, _military_segments()) >= 0)


__all__ = ["country_of", "country_name_of", "is_military", "countries_of", "military_of", "blocks", "parse_address"]
