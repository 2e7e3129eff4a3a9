"""Went dark and position withheld: silences of one aircraft, told apart from holes in the coverage.

Two kinds of interval, each with its evidence:
- `position_withheld` (*observed*): the aircraft was heard (the archive's heard minutes: replies to
  interrogations DF 4/5/11/20/21, altitude-only or other messages) but sent no position for at least
  `min_gap_s`. Bounds are the first and last message of the silent stretch.
- `dark_in_coverage` (*inferred*): between two positions at least `min_gap_s` apart (or after the
  last position, the aircraft still airborne) nothing at all was heard from it, while receivers were
  hearing other aircraft along the path it must have flown. Coverage is judged from the other
  aircraft only: the path between the gap's ends (straight, at constant speed; after the last
  position, extrapolated along its track and speed for `lookahead_s`) is sampled every `sample_s`;
  a sample is covered when another aircraft's position lies within `radius_km` and `window_s` of it.
  The gap is called dark when at least `min_covered` of the samples are covered, by at least
  `min_others` different aircraft. A gap over an area where nothing else is heard either (ocean,
  desert, beyond the receivers) is a coverage hole and is *not* called dark.

Gaps with both ends on the ground (or below `ground_ft`) are stops, the itinerary's business, and are
left out; so is a gap the aircraft had time to spend anywhere but on the straight line between its
ends (slower than `min_straight_speed` of its own speed: it may have landed, or left the area and come
back), since where it was is then unknown, and with it the coverage that would make it "dark". This also
bounds the samples of a gap by the aircraft's endurance, never by the gap's length.

Why a coverage grid: a day boundary or a long silence is sampled every minute, and testing every
sample against every point of its box and window cost samples × points (a 20 h gap against a day
of traffic: minutes of CPU; a years-long gap allocated samples × 20,000 floats, ~250 GiB). The
other aircraft are therefore indexed once per batch (`Coverage`): their points grouped by aircraft,
minute and 0.25° cell, each group keeping the exact bounds of its points (time span, latitude and
longitude range, the radius of its points around its first one). A sample looks only at the groups
of the 1° cells it can reach within `window_s`; a group wholly inside the test decides "covered, by
this aircraft" at once, a group wholly outside is skipped, and only the groups straddling the
100 km circle or the window edge are opened and their points tested one by one, with the same
arithmetic as before. The answer is therefore the same as testing every point, while the work and
memory follow the traffic near the path, in chunks of samples: never the gap's length times the
traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from tailwatch.geo.geodesy import EARTH_RADIUS_KM, haversine_in_place, haversine_km
from tailwatch.schema import epoch_us

KM_PER_DEG = 111.195
KT_KM_PER_S = 1.852 / 3600.0
SAMPLE_CHUNK = 4096  # samples judged at once
PAIR_CHUNK = 1 << 20  # (sample, group) or (sample, point) pairs held at once
_PER_DEG = 2  # cells of the coverage grid's index to a degree (0.5°) ...
_FINE = 4  # ... each split in four for the groups (0.25°)
_MINUTES = 1 << 32  # key = cell × _MINUTES + minute since the index's first


@dataclass(frozen=True)
class DarkRules:
    min_gap_s: float = 300.0
    # a gap is judged along its straight path only when the aircraft had no time to be anywhere
    # else: the straight line needs at least this share of its own ground speed at the ends (the
    # itinerary's flown-through test). Slower, it may have landed or gone out of the area and
    # back, and coverage along a line it did not fly says nothing.
    min_straight_speed: float = 0.72
    sample_s: float = 60.0
    radius_km: float = 100.0
    window_s: float = 600.0
    min_covered: float = 0.75
    min_others: int = 2
    lookahead_s: float = 900.0
    ground_ft: float = 1500.0


class Samples:
    """Where the aircraft should have been, one sample per `sample_s`: made a chunk at a time,
    so a silence of years holds no more than `SAMPLE_CHUNK` samples in memory."""

    def __init__(self, n: int, make) -> None:
        self.n = n
        self._make = make  # (lo, hi) → (lat, lon, t) of samples lo..hi-1

    def take(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._make(np.arange(lo, hi, dtype=np.float64))

    def chunks(self):
        for lo in range(0, self.n, SAMPLE_CHUNK):
            yield self.take(lo, min(lo + SAMPLE_CHUNK, self.n))

    def bounds(self) -> tuple[float, float, float, float, float, float, float]:
        """(lat min, lat max, lon min, lon max, |lat| max, t min, t max) over every sample."""
        acc = np.array([np.inf, -np.inf, np.inf, -np.inf, -np.inf, np.inf, -np.inf])
        for lat, lon, t in self.chunks():
            acc = np.array([min(acc[0], lat.min()), max(acc[1], lat.max()), min(acc[2], lon.min()),
                            max(acc[3], lon.max()), max(acc[4], np.abs(lat).max()), min(acc[5], t.min()),
                            max(acc[6], t.max())])
        return tuple(float(v) for v in acc)  # type: ignore[return-value]

    @classmethod
    def of(cls, lat: np.ndarray, lon: np.ndarray, t: np.ndarray) -> "Samples":
        """Samples given as arrays."""
        def make(k: np.ndarray):
            i = k.astype(np.int64)
            return lat[i], lon[i], t[i]
        return cls(int(np.asarray(t).size), make)


def _path_samples(lat0, lon0, lat1, lon1, t0: float, t1: float, step: float) -> Samples:
    """Straight-line (in lat/lon, fine for gaps of a few hundred km) samples between two fixes."""
    n = max(int((t1 - t0) // step), 1)
    dlon = (lon1 - lon0 + 540.0) % 360.0 - 180.0

    def make(k: np.ndarray):
        f = (k + 0.5) / n
        return lat0 + f * (lat1 - lat0), (lon0 + f * dlon + 540.0) % 360.0 - 180.0, t0 + f * (t1 - t0)
    return Samples(n, make)


def _extrapolate(lat, lon, track_deg, speed_kt, t0: float, seconds: float, step: float) -> Samples:
    n = max(int(seconds // step), 1)

    def make(k: np.ndarray):
        dt = (k + 1.0) * step
        km = speed_kt * KT_KM_PER_S * dt
        b = np.radians(track_deg)
        la = lat + km * np.cos(b) / KM_PER_DEG
        lo = lon + km * np.sin(b) / (KM_PER_DEG * max(np.cos(np.radians(lat)), 0.1))
        return la, (lo + 540.0) % 360.0 - 180.0, t0 + dt
    return Samples(n, make)


def _spread(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, index) of every element of the ranges [starts[k], starts[k] + counts[k])."""
    owner = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    return owner, starts[owner] + (np.arange(owner.size) - first[owner])


def _batches(counts: np.ndarray, limit: int):
    """Slices of consecutive ranges holding about `limit` elements together (one range at least)."""
    ends = np.cumsum(counts)
    lo = 0
    while lo < counts.size:
        base = ends[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(ends, base + limit, side="right")), lo + 1)
        yield slice(lo, hi)
        lo = hi


def _group_order(t: np.ndarray, sub: np.ndarray, code: np.ndarray, key: np.ndarray, minute: np.ndarray,
                 cell: np.ndarray) -> np.ndarray:
    """`np.lexsort((t, sub, code, key))` (key = cell × `_MINUTES` + minute) in two stable sorts, not four:
    (cell, minute, code, sub) packed into one integer in that order when it fits in 63 bits (a batch
    spans days, not years, and a few thousand aircraft), sorted after the times. Stable sorts keep
    ties in input order as lexsort does, so the order is the same; the grid's set-up is its cost.
    Where the times already rise within every group in input order, the sort of the packed
    groups alone gives that order (16x chunk, 0.28 M positions: ~9 -> ~3 ms)."""
    if t.size == 0:
        return np.zeros(0, np.int64)
    minutes, codes = int(minute.max()) + 1, int(code.max()) + 1
    fits = (int(cell.max()) + 1) * minutes * codes * 4 < (1 << 63)
    if fits and min(int(cell.min()), int(minute.min()), int(code.min()), int(sub.min())) >= 0 and sub.max() < 4:
        packed = ((cell * minutes + minute) * codes + code) * 4 + sub
        # the positions come as the archive holds them, each aircraft's in time order, so within
        # a group (one aircraft, minute and cell) the times mostly rise already: one stable sort
        # of the groups (the scan's sorted runs make it cheap) is then the whole order, as ties in
        # time keep the input order either way. Checked, else the times are sorted first
        order = np.argsort(packed, kind="stable")
        grouped, at = packed[order], t[order]
        if bool(np.all((grouped[1:] != grouped[:-1]) | (at[1:] >= at[:-1]))):
            return order
        by_time = np.argsort(t, kind="stable")
        return by_time[np.argsort(packed[by_time], kind="stable")]
    return np.lexsort((t, sub, code, key))


def _codes(icao24: pl.Series) -> tuple[dict[str, int], np.ndarray]:
    """Each address's number (its rank among the distinct addresses, in string order) and the
    number of every row. The archive's scans hand an aircraft's positions back together, a few
    hundred runs for a few hundred thousand rows: each run is numbered once and repeated (16x
    chunk, 0.28 M positions: ~5 -> ~1 ms); rows in many short runs are looked up one by one."""
    runs = icao24.rle().struct.unnest()
    names = runs["value"].unique().sort()
    code_of = {name: k for k, name in enumerate(names.to_list())}
    if runs.height * 8 <= icao24.len():
        per_run = np.array([code_of[name] for name in runs["value"].to_list()], dtype=np.int64)
        return code_of, np.repeat(per_run, runs["len"].to_numpy())
    return code_of, icao24.replace_strict(names, pl.int_range(names.len(), eager=True),
                                          return_dtype=pl.Int64).to_numpy()


class Coverage:
    """The other aircraft's positions as a coverage grid (see the module docstring): built once for
    a batch, asked once per silence with the aircraft it judges left out."""

    def __init__(self, positions: pl.DataFrame) -> None:
        frame = positions.select("icao24", "timestamp", "latitude", "longitude").drop_nulls()
        frame = frame.filter(pl.col("latitude").is_not_nan() & pl.col("longitude").is_not_nan())
        self.code_of, code = _codes(frame["icao24"])
        self.size = frame.height
        if self.size == 0:
            return
        t = epoch_us(frame["timestamp"]) / 1e6
        lat = frame["latitude"].cast(pl.Float64).to_numpy()
        lon = frame["longitude"].cast(pl.Float64).to_numpy()
        minute = np.floor(t / 60.0).astype(np.int64)
        self.m0 = int(minute.min())
        cell = _cell(np.floor(lat * _PER_DEG).astype(np.int64), np.floor(lon * _PER_DEG).astype(np.int64), _PER_DEG)
        sub = np.floor(lat * _FINE).astype(np.int64) % 2 * 2 + np.floor(lon * _FINE).astype(np.int64) % 2
        key = cell * _MINUTES + (minute - self.m0)
        order = _group_order(t, sub, code, key, minute - self.m0, cell)
        t, lat, lon, code, key, sub = t[order], lat[order], lon[order], code[order], key[order], sub[order]
        new = np.r_[True, (key[1:] != key[:-1]) | (code[1:] != code[:-1]) | (sub[1:] != sub[:-1])]
        starts = np.flatnonzero(new)
        self.t, self.lat, self.lon = t, lat, lon
        self.minutes = _distinct(minute - self.m0)  # the minutes anything was heard in
        self.g_start = starts
        self.g_n = np.diff(np.r_[starts, t.size])
        self.g_key, self.g_code = key[starts], code[starts]
        self.g_t0, self.g_t1 = t[starts], t[np.r_[starts[1:], t.size] - 1]
        self.g_lat0, self.g_lat1 = np.minimum.reduceat(lat, starts), np.maximum.reduceat(lat, starts)
        self.g_lon0, self.g_lon1 = np.minimum.reduceat(lon, starts), np.maximum.reduceat(lon, starts)
        alat, alon = lat[starts], lon[starts]  # each group's anchor: its first point
        self.g_xyz = _unit(alat, alon)
        owner = np.repeat(np.arange(starts.size), self.g_n)
        self.g_r = np.maximum.reduceat(_km_from_anchors(alat, alon, owner, lat, lon), starts)

    @classmethod
    def of(cls, others: "pl.DataFrame | Coverage | None") -> "Coverage":
        if isinstance(others, Coverage):
            return others
        return cls(others if others is not None else pl.DataFrame(schema=_POSITIONS))

    def judge(self, samples: Samples, rules: DarkRules, exclude: str | None = None) -> tuple[float, int]:
        """(share of samples covered by other aircraft, how many other aircraft covered them): a
        sample is covered when a position of another aircraft (not `exclude`) lies inside the
        samples' box (padded by `radius_km`) and window, within `window_s` and `radius_km` of it."""
        if self.size == 0 or samples.n == 0:
            return 0.0, 0
        lat_min, lat_max, lon_min, lon_max, abs_max, t_min, t_max = samples.bounds()
        pad = rules.radius_km / KM_PER_DEG
        near = (t_min - rules.window_s, t_max + rules.window_s, lat_min - pad, lat_max + pad, lon_min, lon_max,
                pad / max(np.cos(np.radians(abs_max)), 0.1))
        skip = self.code_of.get(exclude, -1) if exclude is not None else -1
        # chord² thresholds of each group: surely within `radius_km` of a sample / surely beyond it
        margin = 1e-3  # km: far above the rounding of the distances compared
        self._sure = _chord2(rules.radius_km - self.g_r - margin)
        self._none = _chord2(rules.radius_km + self.g_r + margin)
        covered, who = 0, np.zeros(len(self.code_of), bool)
        for lat, lon, t in samples.chunks():
            hit, who = self._chunk(lat, lon, t, near, skip, rules, who)
            covered += int(hit.sum())
        return covered / samples.n, int(who.sum())

    def _reach(self, lat: np.ndarray, lon: np.ndarray, t: np.ndarray, rules: DarkRules
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sample, first group, group count) for every cell each sample can reach, skipping the
        samples with nothing heard anywhere within `window_s`."""
        m_lo = np.floor((t - rules.window_s) / 60.0).astype(np.int64) - self.m0 - 1
        m_hi = np.floor((t + rules.window_s) / 60.0).astype(np.int64) - self.m0 + 1
        live = np.flatnonzero(np.searchsorted(self.minutes, m_hi, side="right")
                              > np.searchsorted(self.minutes, m_lo, side="left"))
        s, cell = _cells_in_reach(lat[live], lon[live], rules, _PER_DEG)
        s = live[s]
        lo = np.searchsorted(self.g_key, cell * _MINUTES + np.clip(m_lo, 0, _MINUTES - 1)[s], side="left")
        hi = np.searchsorted(self.g_key, cell * _MINUTES + np.clip(m_hi, -1, _MINUTES - 1)[s], side="right")
        return s, lo, np.maximum(hi - lo, 0)

    def _chunk(self, lat, lon, t, near, skip: int, rules: DarkRules, who: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Covered flags of these samples, and `who` (a flag per aircraft) updated."""
        t_lo, t_hi, lat_lo, lat_hi, lon_min, lon_max, lon_pad = near
        w, radius = rules.window_s, rules.radius_km
        hit = np.zeros(lat.size, bool)
        xyz = _unit(lat, lon)
        # samples whose whole reach lies inside the samples' box in longitude: the box test cannot
        # fail there for a point within `radius_km` (elsewhere it is made group by group)
        reach = _lon_reach(lat, rules)
        e1, e2 = _east_of(lon, lon_min), _east_of(lon, lon_max)
        lon_inside = ((e1 - reach >= -lon_pad + 1e-7) & (e1 + reach < 180.0 - 1e-7)
                      & (e2 + reach <= lon_pad - 1e-7) & (e2 - reach >= -180.0 + 1e-7))
        owner, first, count = self._reach(lat, lon, t, rules)
        for part in _batches(count, PAIR_CHUNK):
            s, g = _spread(first[part], count[part])
            s = owner[part][s]
            # cheapest tests first, each on what the one before left
            ts, t0, t1 = t[s], self.g_t0[g], self.g_t1[g]
            d0, d1 = np.abs(ts - t0), np.abs(ts - t1)
            live = (self.g_code[g] != skip) & ~(((ts < t0) | (ts > t1)) & (d0 > w) & (d1 > w))
            s, g, d0, d1 = s[live], g[live], d0[live], d1[live]
            chord2 = 2.0 - 2.0 * np.einsum("ij,ij->i", xyz[s], self.g_xyz[g])
            live = chord2 <= self._none[g]
            s, g, d0, d1, chord2 = s[live], g[live], d0[live], d1[live], chord2[live]
            t0, t1 = self.g_t0[g], self.g_t1[g]
            glat0, glat1 = self.g_lat0[g], self.g_lat1[g]
            near_all = (t0 >= t_lo) & (t1 <= t_hi) & (glat0 >= lat_lo) & (glat1 <= lat_hi)
            near_none = (t1 < t_lo) | (t0 > t_hi) | (glat1 < lat_lo) | (glat0 > lat_hi)
            edge = np.flatnonzero(~lon_inside[s])
            if edge.size:  # the box's longitude test, group by group, where a reach leaves the box
                ge = g[edge]
                a1, b1 = _east_of(self.g_lon0[ge], lon_min), _east_of(self.g_lon1[ge], lon_min)
                a2, b2 = _east_of(self.g_lon0[ge], lon_max), _east_of(self.g_lon1[ge], lon_max)
                mono1, mono2 = b1 >= a1, b2 >= a2  # no wrap inside the group: the test is monotone in it
                near_all[edge] &= mono1 & (a1 >= -lon_pad) & mono2 & (b2 <= lon_pad)
                near_none[edge] |= (mono1 & (b1 < -lon_pad)) | (mono2 & (a2 > lon_pad))
            sure = (d0 <= w) & (d1 <= w) & near_all & (chord2 <= self._sure[g])
            hit[s[sure]] = True
            who[self.g_code[g[sure]]] = True
            maybe = ~sure & ~near_none
            s, g = s[maybe], g[maybe]
            unknown = ~(hit[s] & who[self.g_code[g]])  # else nothing left to learn from this pair
            s, g = s[unknown], g[unknown]
            for cut in _batches(self.g_n[g], PAIR_CHUNK):  # the straddling groups, point by point
                k, p = _spread(self.g_start[g[cut]], self.g_n[g[cut]])
                ks, ot, olat, olon = s[cut][k], self.t[p], self.lat[p], self.lon[p]
                ok = ((ot >= t_lo) & (ot <= t_hi) & (olat >= lat_lo) & (olat <= lat_hi)
                      & (np.abs(t[ks] - ot) <= w))
                ks, p, k, olon = ks[ok], p[ok], k[ok], olon[ok]
                ok = (_east_of(olon, lon_min) >= -lon_pad) & (_east_of(olon, lon_max) <= lon_pad)
                ks, p, k = ks[ok], p[ok], k[ok]
                close = np.asarray(haversine_km(lat[ks], lon[ks], self.lat[p], self.lon[p])) <= radius
                hit[ks[close]] = True
                who[self.g_code[g[cut][k[close]]]] = True
        return hit, who


def _distinct(values: np.ndarray) -> np.ndarray:
    """`np.unique` of non-negative integers: a count per value where their range is not much
    larger than their number (a grid's minutes: days of them for a few hundred thousand
    points), instead of a sort."""
    if values.size and 0 <= int(values.min()) and int(values.max()) < max(4 * values.size, 1 << 16):
        return np.flatnonzero(np.bincount(values)).astype(values.dtype)
    return np.unique(values)


def _km_from_anchors(alat: np.ndarray, alon: np.ndarray, owner: np.ndarray, lat: np.ndarray,
                     lon: np.ndarray) -> np.ndarray:
    """`haversine_km(alat[owner], alon[owner], lat, lon)` with the same bits, the anchor's
    radians and cosine worked out once a group, not once a point (the same operations on the
    same values, in the same order)."""
    p1 = np.radians(alat)
    cos1 = np.cos(p1)[owner]
    p2 = np.radians(lat)
    dlmb = np.radians(np.asarray(lon, dtype=float) - np.asarray(alon, dtype=float)[owner])
    dlmb /= 2
    return haversine_in_place(p2 - p1[owner], cos1 * np.cos(p2), dlmb)


_POSITIONS = {"icao24": pl.String, "timestamp": pl.Datetime("us", "UTC"), "latitude": pl.Float64, "longitude": pl.Float64}


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p, q = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(q), np.cos(p) * np.sin(q), np.sin(p)], axis=-1)


def _chord2(km: np.ndarray) -> np.ndarray:
    """Squared chord of the unit sphere for great-circle distances `km` (-1 where negative: nothing is closer)."""
    angle = np.clip(np.asarray(km, dtype=float), 0.0, np.pi * EARTH_RADIUS_KM) / EARTH_RADIUS_KM
    return np.where(np.asarray(km) < 0, -1.0, (2.0 * np.sin(angle / 2.0)) ** 2)


def _lon_reach(lat: np.ndarray, rules: DarkRules) -> np.ndarray:
    """Degrees of longitude either side of each sample that points within `radius_km` can lie
    (the spherical cap's extent, with a margin; 180 where the cap holds a pole)."""
    delta = (rules.radius_km + 1.0) / EARTH_RADIUS_KM
    cos_lat = np.cos(np.radians(lat))
    polar = (np.abs(lat) + np.degrees(delta) + 0.01 >= 89.0) | (cos_lat <= np.sin(delta) * 1.01)
    return np.where(polar, 180.0,
                    np.degrees(np.arcsin(np.clip(np.sin(delta) / np.maximum(cos_lat, 1e-9), 0, 1))) * 1.001 + 0.01)


def _cells_in_reach(lat: np.ndarray, lon: np.ndarray, rules: DarkRules, per_deg: int = 1
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(sample, cell number) of every cell (`per_deg` to a degree) holding points within
    `radius_km` of each sample (a spherical cap's latitude and longitude extent, with a margin)."""
    delta = (rules.radius_km + 1.0) / EARTH_RADIUS_KM
    reach_lat = np.degrees(delta) + 0.01
    rows = 180 * per_deg
    i_lo = np.clip(np.floor((lat - reach_lat) * per_deg), -rows // 2, rows // 2 - 1).astype(np.int64)
    i_hi = np.clip(np.floor((lat + reach_lat) * per_deg), -rows // 2, rows // 2 - 1).astype(np.int64)
    reach_lon = _lon_reach(lat, rules)
    j_lo = np.floor((lon - reach_lon) * per_deg).astype(np.int64)
    n_j = np.minimum(np.floor((lon + reach_lon) * per_deg).astype(np.int64) - j_lo + 1, 2 * rows)
    n_i = i_hi - i_lo + 1
    s, k = _spread(np.zeros(lat.size, np.int64), n_i * n_j)
    return s, _cell(i_lo[s] + k // n_j[s], j_lo[s] + k % n_j[s], per_deg)


def reach_keys(samples: Samples, rules: DarkRules) -> np.ndarray:
    """Sorted distinct `hour × CELLS + 1° cell` keys of every (hour, cell) holding points that can
    cover a sample (`within window_s + 1 s and radius_km`): what an engine reads for a silence, by
    the path it must have flown, however long the silence (one key per hour and cell crossed)."""
    keys = [np.zeros(0, np.int64)]
    for lat, lon, t in samples.chunks():
        s, cell = _cells_in_reach(lat, lon, rules)
        h_lo = np.floor((t - rules.window_s - 1.0) / 3600.0).astype(np.int64)
        h_hi = np.floor((t + rules.window_s + 1.0) / 3600.0).astype(np.int64)
        keys.append(np.unique(np.r_[h_lo[s] * CELLS + cell, h_hi[s] * CELLS + cell]))
    return np.unique(np.concatenate(keys))


CELLS = 180 * 360  # 1° cells of the globe: key = hour since 1970 × CELLS + cell number (`_cell`)


def _cell(i: np.ndarray, j: np.ndarray, per_deg: int = 1) -> np.ndarray:
    """Number of the cell of row `i` and column `j` (wrapped) of a grid of `per_deg` cells to a degree."""
    rows = 180 * per_deg
    return (np.clip(i, -rows // 2, rows // 2 - 1) + rows // 2) * (2 * rows) + (j + rows) % (2 * rows)


def _east_of(lon: np.ndarray, ref: float) -> np.ndarray:
    """Degrees east of `ref` in [-180, 180) (the same arithmetic as the point test has always used)."""
    return (lon - ref + 540.0) % 360.0 - 180.0


def coverage(samples: "Samples | tuple[np.ndarray, np.ndarray, np.ndarray]", others: "pl.DataFrame | Coverage",
             rules: DarkRules, exclude: str | None = None) -> tuple[float, int]:
    """(share of samples covered by other aircraft, how many other aircraft covered them)."""
    if not isinstance(samples, Samples):
        samples = Samples.of(*samples)
    return Coverage.of(others).judge(samples, rules, exclude)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(float(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _place(lat: float, lon: float) -> dict:
    return {"latitude": round(float(lat), 4), "longitude": round(float(lon), 4)}


def withheld(track: pl.DataFrame, heard: pl.DataFrame | None, rules: DarkRules = DarkRules()) -> list[dict]:
    """Stretches of at least `min_gap_s` where the aircraft was heard without a position (observed)."""
    from tailwatch.hiding.heard import intervals

    if heard is None or heard.height == 0:
        return []
    silent = intervals(heard, max_gap_s=90.0, positions=False)
    out = []
    pos_t = epoch_us(track["timestamp"]) / 1e6 if track.height else np.zeros(0)
    for row in silent.iter_rows(named=True):
        a, b = row["start"].timestamp(), row["end"].timestamp()
        # the minutes are whole minutes: clip to the positions either side
        before = pos_t[pos_t <= a]
        after = pos_t[pos_t >= b]
        if b - a < rules.min_gap_s:
            continue
        out.append({
            "kind": "position_withheld", "evidence": "observed",
            "start": _iso(a), "end": _iso(b), "duration_s": round(float(b - a), 1),
            "messages": int(row["messages"]),
            "last_position_before": _iso(before.max()) if before.size else None,
            "first_position_after": _iso(after.min()) if after.size else None,
            "reasons": [f"{row['messages']} messages heard from the aircraft in {round((b - a) / 60)} min, none with a position message"],
        })
    return out


def _around(samples: Samples, rules: DarkRules) -> tuple[datetime, datetime, tuple[float, float, float, float]]:
    """Time window and (south, west, north, east) box where other aircraft can cover the samples."""
    lat_min, lat_max, lon_min, lon_max, abs_max, t_min, t_max = samples.bounds()
    pad = rules.radius_km / KM_PER_DEG
    lon_pad = pad / max(np.cos(np.radians(min(abs_max + pad, 89.0))), 0.1)
    west, east = (lon_min - lon_pad + 540.0) % 360.0 - 180.0, (lon_max + lon_pad + 540.0) % 360.0 - 180.0
    return (datetime.fromtimestamp(t_min - rules.window_s, timezone.utc),
            datetime.fromtimestamp(t_max + rules.window_s, timezone.utc),
            (max(lat_min - pad, -90.0), west, min(lat_max + pad, 90.0), east))


Silence = tuple[int, float, float | None, Samples]


def track_columns(track: pl.DataFrame) -> dict[str, np.ndarray]:
    """The columns the silences are read from, as arrays: t (s), latitude, longitude, alt, ground
    (reported on the ground), gs, trk (NaN where null). Read straight from the columns where that
    is the same (times in microseconds, no null `onground`: a float column's nulls are NaN in its
    array), else one select for all of them (a Series method each costs a query of its own); over a
    whole chunk of tracks at once in a batch."""
    stamp, ground = track.schema["timestamp"], track["onground"]
    if isinstance(stamp, pl.Datetime) and stamp.time_unit == "us" and ground.null_count() == 0:
        out = {"t": epoch_us(track["timestamp"]) / 1e6, "latitude": track["latitude"].to_numpy(),
               "longitude": track["longitude"].to_numpy(), "ground": ground.to_numpy()}
        for column, name in (("altitude", "alt"), ("groundspeed", "gs"), ("track", "trk")):
            out[name] = track[column].cast(pl.Float64).to_numpy()
        return out
    return selected_columns(track)


def selected_columns(track: pl.DataFrame) -> dict[str, np.ndarray]:
    """`track_columns` by one select, whatever the columns' types and nulls (its general path)."""
    cols = track.select(pl.col("timestamp").dt.epoch("us").alias("t"), "latitude", "longitude",
                        pl.col("altitude").cast(pl.Float64).fill_null(np.nan).alias("alt"),
                        pl.col("onground").fill_null(False).alias("ground"),
                        pl.col("groundspeed").cast(pl.Float64).fill_null(np.nan).alias("gs"),
                        pl.col("track").cast(pl.Float64).fill_null(np.nan).alias("trk"))
    out = {c: cols[c].to_numpy() for c in ("latitude", "longitude", "alt", "ground", "gs", "trk")}
    out["t"] = cols["t"].to_numpy() / 1e6
    return out


def heard_times(heard: pl.DataFrame | None) -> np.ndarray | None:
    """The sorted first and last times (s) of an aircraft's heard minutes, None when there are none."""
    if heard is None or heard.height == 0:
        return None
    ends = heard.select(pl.col("first").dt.epoch("us"), pl.col("last").dt.epoch("us"))
    return np.sort(np.r_[ends["first"].to_numpy(), ends["last"].to_numpy()] / 1e6)


def _silences(track: pl.DataFrame, heard: pl.DataFrame | None, rules: DarkRules,
              window_end: datetime | None) -> list[Silence]:
    """(index of the last position before, start, end or None when trailing, path samples) of each
    silence of the aircraft that other aircraft could show to be dark: airborne, nothing heard."""
    if track.height < 1:
        return []
    end_t = window_end.timestamp() if window_end is not None else None
    found = silences_of_tracks(track_columns(track), np.array([0, track.height]), [heard_times(heard)],
                               [end_t], rules)
    return [silence for _, silence in found]


def silences_of_tracks(cols: dict[str, np.ndarray], bounds: np.ndarray, heard_t: list[np.ndarray | None],
                       end_t: list[float | None], rules: DarkRules) -> list[tuple[int, Silence]]:
    """(track, silence) of every silence of many tracks in one pass: `cols` (`track_columns`) holds
    the tracks one after another, track k in rows `bounds[k]:bounds[k + 1]`, each sorted, with its
    heard times (`heard_times`) and window end (s, or None). A silence's index is its track's own
    row. Each track's silences are those `_silences` finds in it alone, in its order: gaps first,
    then the trailing one; the figures are element-wise, so the same bits."""
    t, lat, lon, alt = cols["t"], cols["latitude"], cols["longitude"], cols["alt"]
    ground = cols["ground"] | (alt < rules.ground_ft)
    gs_all, trk_all = cols["gs"], cols["trk"]
    bounds = np.asarray(bounds, dtype=np.int64)
    sizes = np.diff(bounds)
    owner = np.repeat(np.arange(sizes.size), sizes)
    i_s = np.flatnonzero((owner[1:] == owner[:-1]) & (np.diff(t) >= rules.min_gap_s) & ~(ground[:-1] & ground[1:]))
    if i_s.size:
        straight = np.asarray(haversine_km(lat[i_s], lon[i_s], lat[i_s + 1], lon[i_s + 1])) / np.maximum(t[i_s + 1] - t[i_s], 1.0)
        ends = np.c_[gs_all[i_s], gs_all[i_s + 1]]
        known = np.isfinite(ends).sum(axis=1)
        own = np.where(known > 0, np.nansum(ends, axis=1) / np.maximum(known, 1), np.nan) * KT_KM_PER_S  # no speed: not judged
        on_line = np.nan_to_num(straight >= rules.min_straight_speed * own, nan=False) & (own > 0)
        i_s = i_s[on_line]
    first_gap = np.searchsorted(owner[i_s], np.arange(sizes.size + 1)) if i_s.size else np.zeros(sizes.size + 1, int)
    out: list[tuple[int, Silence]] = []
    for k in np.flatnonzero(sizes > 0).tolist():
        start, last = int(bounds[k]), int(bounds[k + 1]) - 1
        spans = [(int(i), t[i], t[i + 1]) for i in i_s[first_gap[k]:first_gap[k + 1]]]
        trailing = not ground[last] and (end_t[k] is None or end_t[k] - t[last] >= rules.lookahead_s)
        for i, a, b in spans + ([(last, t[last], None)] if trailing else []):
            if heard_t[k] is not None:  # heard during the gap: not silent (position withheld is reported apart)
                h = heard_t[k]
                inside = h[(h > a + 1.0) & (h < (b if b is not None else a + rules.lookahead_s) - 1.0)]
                if inside.size:
                    continue
            if b is not None:
                samples = _path_samples(lat[i], lon[i], lat[i + 1], lon[i + 1], a, b, rules.sample_s)
            else:
                gs, trk = float(gs_all[i]), float(trk_all[i])
                if np.isnan(gs) or np.isnan(trk):
                    continue
                samples = _extrapolate(lat[i], lon[i], trk, gs, a, rules.lookahead_s, rules.sample_s)
            out.append((k, (i - start, a, b, samples)))
    return out


Box = tuple[datetime, datetime, tuple[float, float, float, float]]


def silence_boxes(track: pl.DataFrame, heard: pl.DataFrame | None = None, rules: DarkRules = DarkRules(),
                  window_end: datetime | None = None) -> list[Box]:
    """(start, end, (south, west, north, east)) where other aircraft must be looked up to judge
    each silence of `track`: what an engine gathers (one pruned query) before `dark_gaps` runs."""
    return [_around(samples, rules) for *_, samples in _silences(track, heard, rules, window_end)]


def silence_reach(track: pl.DataFrame, heard: pl.DataFrame | None = None, rules: DarkRules = DarkRules(),
                  window_end: datetime | None = None) -> np.ndarray:
    """`reach_keys` of every silence of `track`: the (hour, 1° cell) keys whose points can decide
    them, what an engine reads (one query for a whole batch) to build the `Coverage` grid."""
    keys = [reach_keys(samples, rules) for *_, samples in _silences(track, heard, rules, window_end)]
    return np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)


def dark_gaps(track: pl.DataFrame, others: pl.DataFrame | Coverage | None, heard: pl.DataFrame | None = None,
              rules: DarkRules = DarkRules(), window_end: datetime | None = None) -> list[dict]:
    """Intervals the aircraft (`track`: its positions, sorted) went silent inside coverage (inferred).

    `others`: the other aircraft's positions (icao24, timestamp, latitude, longitude), at least
    those inside the `silence_boxes` of `track` (more do no harm: coverage looks only near the path),
    or a `Coverage` grid of them built once for a batch; the aircraft itself is never its own evidence.
    """
    out = []
    if track.height < 1:
        return out
    silences = _silences(track, heard, rules, window_end)
    if not silences:
        return out
    lat, lon = track["latitude"].to_numpy(), track["longitude"].to_numpy()
    grid = Coverage.of(others)
    icao24 = track["icao24"][0] if "icao24" in track.columns else None
    for i, a, b, samples in silences:
        share, n_others = grid.judge(samples, rules, exclude=icao24)
        if share < rules.min_covered or n_others < rules.min_others:
            continue
        reasons = [f"nothing heard from the aircraft for {round(((b or a + rules.lookahead_s) - a) / 60)} min"
                   + ("" if b is not None else " after its last position, airborne"),
                   f"{share:.0%} of its {'path' if b is not None else 'expected path'} covered: "
                   f"{n_others} other aircraft heard within {rules.radius_km:.0f} km and "
                   f"{rules.window_s / 60:.0f} min"]
        out.append({
            "kind": "dark_in_coverage", "evidence": "inferred",
            "start": _iso(a), "end": _iso(b) if b is not None else None,
            "duration_s": round(float(b - a), 1) if b is not None else None,
            "from": _place(lat[i], lon[i]), "to": _place(lat[i + 1], lon[i + 1]) if b is not None else None,
            "coverage": {"share": round(share, 3), "other_aircraft": n_others},
            "reasons": reasons,
        })
    return out


def hiding_evidence(track: pl.DataFrame, others: pl.DataFrame | Coverage | None, heard: pl.DataFrame | None = None,
                    rules: DarkRules = DarkRules(), window_end: datetime | None = None) -> list[dict]:
    """Both kinds for one aircraft, in time order, each with the leg it falls in when `track` has `leg`."""
    found = withheld(track, heard, rules) + dark_gaps(track, others, heard, rules, window_end)
    if found and track.height and track.get_column("leg", default=None) is not None:
        t = epoch_us(track["timestamp"]) / 1e6
        legs = track["leg"].to_numpy()
        for item in found:
            start = datetime.fromisoformat(item["start"].replace("Z", "+00:00")).timestamp()
            k = int(np.searchsorted(t, start, side="right")) - 1
            leg = legs[max(k, 0)] if legs.size else None
            item["leg"] = None if leg is None or (isinstance(leg, float) and np.isnan(leg)) else int(leg)
    return sorted(found, key=lambda d: d["start"])


def window_pad(seconds: float = DarkRules().window_s + DarkRules().lookahead_s) -> timedelta:
    """How far beyond an aircraft's time range the other aircraft are needed."""
    return timedelta(seconds=seconds)
