"""Cut tracks into pieces: runs of points of one aircraft, all on the ground or all airborne.

A piece ends where the aircraft touches or leaves the ground, where the receivers fall
silent for longer than `GAP_S`, or where readsb flags a new leg (`new_leg` column, when the
reader provides it). Everything is one pass of array operations over all aircraft at once (an aircraft boundary
is just another place where a piece starts), so a day of a whole feed cuts in seconds; the
per-piece summary gathers each piece's ends by index (cumulative sums for the end windows),
with no group-by and no per-aircraft loop. Stops are then reasoned over pieces, never over points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

GAP_S = 600.0  # a silence longer than this (10 min) ends a piece
MAX_GROUND_ALT_FT = 15_000.0  # no airport is higher: an "on ground" flag above this is noise
MAX_GROUND_SPEED_KT = 200.0  # no aircraft rolls faster on the ground
TAXI_SPEED_KT = 50.0  # without a ground flag, slower than this is on the ground (fixed wing)
END_WINDOW_S = 120.0  # vertical rate and track at a piece's ends are taken over this window


def _altitude() -> pl.Expr:
    return pl.coalesce(pl.col("altitude"), pl.col("geoaltitude")).cast(pl.Float64)


def ground_expr() -> pl.Expr:
    """True where a point is on the ground.

    The reader's flag wins when present (sanity-checked against altitude and speed); without
    one, a barometric altitude ≤ 0 ft (FR24 zeroes it on the ground) or a speed under taxi
    speed counts as ground.
    """
    alt = _altitude()
    gs = pl.col("groundspeed").cast(pl.Float64)
    flagged = (
        pl.col("onground")
        & (alt.is_null() | (alt < MAX_GROUND_ALT_FT))
        & (gs.is_null() | (gs < MAX_GROUND_SPEED_KT))
    )
    unflagged = (alt <= 0.0) | ((gs < TAXI_SPEED_KT) & (alt.is_null() | (alt < MAX_GROUND_ALT_FT)))
    return pl.when(pl.col("onground").is_not_null()).then(flagged).otherwise(unflagged.fill_null(False))


def _shift_prev(a: np.ndarray, fill) -> np.ndarray:
    out = np.empty_like(a)
    out[0] = fill
    out[1:] = a[:-1]
    return out


def _shift_next(a: np.ndarray, fill) -> np.ndarray:
    out = np.empty_like(a)
    out[-1] = fill
    out[:-1] = a[1:]
    return out


@dataclass
class Cut:
    """The cut of a frame, as arrays: which rows survive (`rows`, positions into the input) in
    (icao24, timestamp) order, and per surviving row its ground state and piece id."""

    rows: np.ndarray | None  # None: the input was sorted and nothing was dropped
    ground: np.ndarray
    piece: np.ndarray
    dt_prev: np.ndarray
    new: np.ndarray
    # the input was sorted and only stale rows were dropped: `rows` are the True positions of this
    # mask, and a boolean filter takes them at a fraction of a gather's cost (same rows, same order)
    keep: np.ndarray | None = None


def ensure_columns(points: pl.DataFrame) -> pl.DataFrame:
    """Add the canonical columns a frame lacks as nulls (a live window may carry fewer)."""
    from tailwatch.schema import POINT_SCHEMA

    missing = [pl.lit(None, dtype=t).alias(c) for c, t in POINT_SCHEMA.items() if c not in points.columns]
    return points.with_columns(missing) if missing else points


def _address_numbers(icao24: pl.Series) -> np.ndarray:
    """Each row's address as a number (-1 where it is not hexadecimal): parsed once a run where
    the rows come an aircraft at a time (a chunk's points: a few hundred runs for half a million
    rows), else row by row."""
    runs = icao24.rle().struct.unnest()
    if runs.height * 8 <= icao24.len():
        numbers = runs["value"].str.to_integer(base=16, strict=False).fill_null(-1).to_numpy()
        return np.repeat(numbers, runs["len"].to_numpy())
    return icao24.str.to_integer(base=16, strict=False).fill_null(-1).to_numpy()


def _cut(points: pl.DataFrame, gap_s: float) -> Cut:
    icao = _address_numbers(points["icao24"])
    ts = points["timestamp"].dt.epoch("us").to_numpy()
    ordered = bool(np.all((icao[1:] > icao[:-1]) | ((icao[1:] == icao[:-1]) & (ts[1:] >= ts[:-1]))))
    rows = None if ordered else np.lexsort((ts, icao))
    lat, lon = points["latitude"].to_numpy(), points["longitude"].to_numpy()
    g = points.select(ground_expr()).to_series().to_numpy()
    onew = points["new_leg"].fill_null(False).to_numpy() if "new_leg" in points.columns else None
    if rows is not None:
        icao, ts, lat, lon, g = icao[rows], ts[rows], lat[rows], lon[rows], g[rows]
        onew = onew[rows] if onew is not None else None
    same = _shift_prev(icao, -2) == icao
    stale = same & (_shift_prev(lat, np.nan) == lat) & (_shift_prev(lon, np.nan) == lon)
    kept = None
    if stale.any():
        keep = ~stale
        kept = keep if rows is None else None
        rows = (np.arange(icao.size) if rows is None else rows)[keep]
        icao, ts, g = icao[keep], ts[keep], g[keep]
        onew = onew[keep] if onew is not None else None
        same = _shift_prev(icao, -2) == icao
    g = g.astype(np.int8)
    same_next = _shift_next(icao, -2) == icao
    prev = np.where(same, _shift_prev(g, 0), g)
    nxt = np.where(same_next, _shift_next(g, 0), g)
    ground = (g + prev + nxt) >= 2
    dt_prev = np.where(same, (ts - _shift_prev(ts, 0)) / 1e6, np.nan)
    new = ~same | (dt_prev > gap_s) | (ground != _shift_prev(ground, False))
    if onew is not None:
        new |= onew.astype(bool)
    piece = np.cumsum(new, dtype=np.int64) - 1
    return Cut(rows, ground, piece, dt_prev, new, kept)


def _take(points: pl.DataFrame, cut: Cut, columns: list[str] | None = None) -> pl.DataFrame:
    frame = points if columns is None else points.select(columns)
    if cut.keep is not None:
        return frame.filter(pl.Series(cut.keep))
    return frame if cut.rows is None else frame[cut.rows]


def cut_pieces(points: pl.DataFrame, gap_s: float = GAP_S) -> pl.DataFrame:
    """Sorted points with `alt` (ft, baro else geometric), `ground`, `dt_prev`, `piece` (global id).

    Repeated positions are dropped (stale state vectors: feeds forward-fill them, with
    altitudes that no longer belong to them; a parked aircraft loses nothing). A one-point
    ground blip inside an airborne run (or the reverse) is smoothed away by a 3-point majority;
    a real touch-and-go lasts several points. Array work is NumPy over all aircraft at once:
    an aircraft boundary is just another place where a piece starts.
    """
    if points.height == 0:
        return points.with_columns(pl.lit(None, pl.Float64).alias("alt"), pl.lit(None, pl.Boolean).alias("ground"),
                                   pl.lit(None, pl.Float64).alias("dt_prev"), pl.lit(None, pl.Int64).alias("piece"))
    points = ensure_columns(points)
    cut = _cut(points, gap_s)
    return _take(points, cut).with_columns(
        _altitude().alias("alt"),
        pl.Series("ground", cut.ground),
        pl.Series("dt_prev", cut.dt_prev).fill_nan(None),
        pl.Series("piece", cut.piece),
    )


class _Column:
    """A float column and the positions of its valid (non-NaN) values, found once.

    A piece table asks only a few points per piece (its ends, its end windows' bounds) for the
    next or last valid value: a binary search among the valid positions answers those, where
    a running maximum/minimum over every point (the index of the last/next valid one at each
    position) cost three full passes a column (~10 ms of a 0.5 M-point chunk). Same indices."""

    def __init__(self, values: np.ndarray) -> None:
        self.v = values
        self.n = values.size
        at = np.flatnonzero(~np.isnan(values))
        # the valid positions with the answer past either end: `n` after the last, -1 before the first
        self._after = np.r_[at, self.n]
        self._before = np.r_[-1, at]
        self.valid_at = self._after[:-1]

    def next_valid(self, lo: np.ndarray) -> np.ndarray:
        """Index of the next valid element at or after each of `lo` (size if none)."""
        k = np.searchsorted(self.valid_at, lo, side="left")
        return self._after[k]

    def last_valid(self, hi: np.ndarray) -> np.ndarray:
        """Index of the last valid element at or before each of `hi` (-1 if none)."""
        k = np.searchsorted(self.valid_at, hi, side="right")
        return self._before[k]

    def first_in(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nv = self.next_valid(lo)
        ok = nv <= hi
        return np.where(ok, self.v[np.minimum(nv, self.n - 1)], np.nan), np.where(ok, nv, -1)

    def last_in(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lv = self.last_valid(hi)
        ok = lv >= lo
        return np.where(ok, self.v[np.maximum(lv, 0)], np.nan), np.where(ok, lv, -1)


def _floats(frame: pl.DataFrame, name: str) -> np.ndarray:
    return frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()


TABLE_FLOATS = ("lat0", "lon0", "alt0", "lat1", "lon1", "alt1", "gs0", "gs1", "track0", "track1", "vrate0",
                "vrate1", "lat_mid", "lon_mid", "lat0b", "lon0b", "lat1a", "lon1a")


def piece_table(cut_points: pl.DataFrame) -> pl.DataFrame:
    """One row per piece of a frame from `cut_pieces` (see `_table`)."""
    n = cut_points.height
    if n == 0:
        return _empty_table()
    new = np.r_[True, cut_points["piece"].to_numpy()[1:] != cut_points["piece"].to_numpy()[:-1]]
    return _table(cut_points, cut_points["piece"].to_numpy(), new, cut_points["ground"].to_numpy())


def _empty_table() -> pl.DataFrame:
    schema = {"piece": pl.Int64, "icao24": pl.String, "ground": pl.Boolean, "n": pl.UInt32,
              "t0": pl.Datetime("us", "UTC"), "t1": pl.Datetime("us", "UTC")}
    return pl.DataFrame(schema=schema | {c: pl.Float64 for c in TABLE_FLOATS})


def _table(frame: pl.DataFrame, piece: np.ndarray, new: np.ndarray, ground: np.ndarray) -> pl.DataFrame:
    """One row per piece: ends, end kinematics (vertical rate, track over the first/last 2 min).

    Columns: piece, icao24, ground, n, t0, t1, lat0, lon0, alt0, lat1, lon1, alt1, gs0, gs1,
    track0, track1, vrate0, vrate1, lat_mid, lon_mid (the middle point, for parked aircraft),
    and the end-window positions used when no track is reported. `frame` is in cut order.
    """
    n = frame.height
    ts = frame["timestamp"].dt.epoch("us").to_numpy()
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:] - 1, n - 1]
    secs = (ts - ts.min()) // 1_000_000
    key = piece * (1 << 40) + secs
    w = int(END_WINDOW_S)
    head_end = np.searchsorted(key, key[starts] + w, side="right") - 1
    tail_start = np.searchsorted(key, key[ends] - w, side="left")
    lat, lon = frame["latitude"].to_numpy(), frame["longitude"].to_numpy()
    # a cut frame carries `alt` (`cut_pieces` made it with `_altitude()`): read, not computed again
    alt_values = (frame["alt"] if "alt" in frame.columns and frame["alt"].dtype == pl.Float64
                  else frame.select(_altitude()).to_series()).fill_null(np.nan).to_numpy()
    alt, gs, track = _Column(alt_values), _Column(_floats(frame, "groundspeed")), _Column(_floats(frame, "track"))
    vr = _floats(frame, "vertical_rate")
    alt0, _ = alt.first_in(starts, ends)
    alt1, _ = alt.last_in(starts, ends)
    gs0, _ = gs.first_in(starts, ends)
    gs1, _ = gs.last_in(starts, ends)
    track0, _ = track.first_in(starts, head_end)
    track1, _ = track.last_in(tail_start, ends)
    # mean reported vertical rate over the end windows, else the altitude slope there
    have = ~np.isnan(vr)
    cs = np.r_[0.0, np.cumsum(np.where(have, vr, 0.0))]
    cc = np.r_[0, np.cumsum(have)]

    def mean(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        count = cc[hi + 1] - cc[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, (cs[hi + 1] - cs[lo]) / np.maximum(count, 1), np.nan)

    def slope(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        a_lo, i_lo = alt.first_in(lo, hi)
        a_hi, i_hi = alt.last_in(lo, hi)
        span = (ts[np.maximum(i_hi, 0)] - ts[np.maximum(i_lo, 0)]) / 6e7
        ok = (i_lo >= 0) & (i_hi >= 0) & (span >= 0.3)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, (a_hi - a_lo) / np.where(ok, span, 1.0), np.nan)

    vrate0 = mean(starts, head_end)
    vrate0 = np.where(np.isnan(vrate0), slope(starts, head_end), vrate0)
    vrate1 = mean(tail_start, ends)
    vrate1 = np.where(np.isnan(vrate1), slope(tail_start, ends), vrate1)
    mid = (starts + ends) // 2
    t_us = frame["timestamp"]
    table = pl.DataFrame({
        "piece": piece[starts],
        "icao24": frame["icao24"].gather(starts),
        "ground": ground[starts],
        "n": (ends - starts + 1).astype(np.uint32),
        "t0": t_us.gather(starts),
        "t1": t_us.gather(ends),
        "lat0": lat[starts], "lon0": lon[starts], "alt0": alt0,
        "lat1": lat[ends], "lon1": lon[ends], "alt1": alt1,
        "gs0": gs0, "gs1": gs1, "track0": track0, "track1": track1, "vrate0": vrate0, "vrate1": vrate1,
        "lat_mid": lat[mid], "lon_mid": lon[mid],
        "lat0b": lat[head_end], "lon0b": lon[head_end], "lat1a": lat[tail_start], "lon1a": lon[tail_start],
    })
    return table.with_columns([pl.col(c).fill_nan(None) for c in TABLE_FLOATS])


NEEDED = ["timestamp", "icao24", "latitude", "longitude", "altitude", "geoaltitude", "groundspeed", "track",
          "vertical_rate"]


def piece_summary(points: pl.DataFrame, gap_s: float = GAP_S) -> pl.DataFrame:
    """The piece table straight from points, without materialising the cut frame (the fast
    path for event detection over a whole feed)."""
    if points.height == 0:
        return _empty_table()
    points = ensure_columns(points)
    cut = _cut(points, gap_s)
    cols = NEEDED
    return fill_tracks(_table(_take(points, cut, cols), cut.piece, cut.new, cut.ground))


def fill_tracks(table: pl.DataFrame) -> pl.DataFrame:
    """Where a piece's end has no reported track, use the bearing over its end window."""
    from tailwatch.geo.geodesy import initial_bearing

    b0 = initial_bearing(table["lat0"].to_numpy(), table["lon0"].to_numpy(),
                         table["lat0b"].to_numpy(), table["lon0b"].to_numpy())
    b1 = initial_bearing(table["lat1a"].to_numpy(), table["lon1a"].to_numpy(),
                         table["lat1"].to_numpy(), table["lon1"].to_numpy())
    same0 = (table["lat0"] == table["lat0b"]) & (table["lon0"] == table["lon0b"])
    same1 = (table["lat1"] == table["lat1a"]) & (table["lon1"] == table["lon1a"])
    return table.with_columns(
        pl.coalesce(pl.col("track0"), pl.when(~same0).then(pl.Series(b0))).alias("track0"),
        pl.coalesce(pl.col("track1"), pl.when(~same1).then(pl.Series(b1))).alias("track1"),
    ).drop("lat0b", "lon0b", "lat1a", "lon1a")


def pieces(points: pl.DataFrame, gap_s: float = GAP_S) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(cut points, piece table) for all aircraft in `points`."""
    cut = cut_pieces(points, gap_s)
    if cut.height == 0:
        return cut, piece_table(cut)
    return cut, fill_tracks(piece_table(cut))
