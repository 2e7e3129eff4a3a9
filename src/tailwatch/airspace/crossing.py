"""Which national airspaces a track crossed, in order, with entry and exit times.

Observed points are located all at once (`geo.countries.locate_ids`), the legs of many
aircraft in one pass (`densify_many`, `track_runs`: a group's tracks laid end to end). Where
consecutive points are far apart the great circle between them is filled in every
`STEP_KM` with linearly interpolated times; fill points inside a *gap* (more than `GAP_KM`
or `GAP_S` between fixes) are marked inferred, fill between close fixes counts as observed.
Entry and exit times are those of the first and last point of each consecutive run inside
one country, each tagged observed or inferred by the point that set it. Longitudes are
handled on the sphere (slerp on unit vectors), so the antimeridian and the poles need no
special case.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from tailwatch.geo.geodesy import EARTH_RADIUS_KM, from_unit_vectors, haversine_km, to_unit_vectors

STEP_KM = 10.0
GAP_KM = 30.0
GAP_S = 300.0


def densify(lat: ArrayLike, lon: ArrayLike, t: ArrayLike, inferred: ArrayLike | None = None,
            step_km: float = STEP_KM, gap_km: float = GAP_KM, gap_s: float = GAP_S) -> pl.DataFrame:
    """Track points plus great-circle fill (vectorised).

    `t` is epoch seconds (NaN where unknown); `inferred` marks input points that are themselves
    assumptions (e.g. an airport standing for an unobserved take-off). Returns columns
    latitude, longitude, t, inferred, source_index (index of the segment's first input point).
    """
    lat = np.asarray(lat, float)
    inferred = np.zeros(lat.size, bool) if inferred is None else inferred
    out, _ = densify_many(lat, lon, t, inferred, np.array([lat.size]), step_km, gap_km, gap_s)
    return pl.DataFrame(out)


def densify_many(lat: ArrayLike, lon: ArrayLike, t: ArrayLike, inferred: ArrayLike, sizes: ArrayLike,
                 step_km: float = STEP_KM, gap_km: float = GAP_KM, gap_s: float = GAP_S
                 ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """`densify` of many tracks laid end to end (`sizes` points each) in one pass over all their
    segments: (columns of the filled tracks end to end, size of each filled track). A segment joins
    two consecutive points of one track, never the last point of a track to the next's first.

    Each point but a track's last starts a segment cut into k = ceil(km / `step_km`) pieces (at
    least one) whose ends are slerped on unit vectors (`geo.geodesy.to_unit_vectors`, back with
    `from_unit_vectors`); a track's last point (a lone point too) is kept as given. The arithmetic
    is the same per segment whatever the other tracks, so a track densified with others is
    densified alone.

    Why it is laid out this way: a group's tracks are hundreds of thousands of points, nearly all
    a few km apart, so per point only the unit vector and its way back to degrees are worked out
    (each column once, the same operations as the geodesy functions, so the same bits); the
    segment's great-circle km (`haversine_km`) and angle are asked only of the segments that may be
    longer than `_SURE_KM` (`_short_segments`) or have no position: a shorter one is one piece
    and no gap whatever the last bits of its km, and a segment's answers are its own (element-wise),
    so the few asked give the bits the whole array would."""
    out, sizes, _ = _densify(lat, lon, t, inferred, sizes, step_km, gap_km, gap_s, round_trip=True)
    return out, sizes


def _densify(lat: ArrayLike, lon: ArrayLike, t: ArrayLike, inferred: ArrayLike, sizes: ArrayLike,
             step_km: float, gap_km: float, gap_s: float, round_trip: bool
             ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """`densify_many`, and with `round_trip` False its segments' first points left as given instead
    of brought back from their unit vectors: then also a mask of those points (what `densified_runs`
    locates without the round trip wherever it cannot change the answer), None otherwise."""
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    t = np.asarray(t, float)
    inferred = np.asarray(inferred, bool)
    sizes = np.asarray(sizes, np.int64)
    n = lat.size
    ends = np.cumsum(sizes)
    starts = ends - sizes
    track = np.repeat(np.arange(sizes.size), sizes)
    last = np.zeros(n, bool)
    last[ends[sizes > 0] - 1] = True
    seg = np.flatnonzero(~last)  # first point of each segment; the second is seg + 1
    ask = np.flatnonzero(~_short_segments(lat, lon)[seg])  # segments (numbered in `seg`) whose km and angle are worked out
    a = seg[ask]
    d_ask = haversine_km(lat[a], lon[a], lat[a + 1], lon[a + 1])
    k = np.ones(seg.size, np.int64)  # sub-segments per segment
    k[ask] = np.maximum(np.ceil(d_ask / step_km).astype(np.int64), 1)
    dt = np.diff(t)[seg]
    gap = (np.nan_to_num(dt, nan=np.inf) > gap_s) | inferred[seg] | inferred[seg + 1]
    gap[ask] |= d_ask > gap_km
    count = np.ones(n, np.int64)  # output points per input point: k for a segment's first, 1 for a last
    count[seg] = k
    first_out = np.cumsum(count) - count  # where each input point's first output point goes
    total = int(count.sum())
    out = {"latitude": np.empty(total), "longitude": np.empty(total), "t": np.empty(total),
           "inferred": np.empty(total, bool), "source_index": np.empty(total, np.int64)}
    # a track's last point (a lone point too) as given
    ends_at = np.flatnonzero(last)
    pos = first_out[ends_at]
    out["latitude"][pos], out["longitude"][pos], out["t"][pos] = lat[ends_at], lon[ends_at], t[ends_at]
    out["inferred"][pos], out["source_index"][pos] = inferred[ends_at], ends_at - starts[track[ends_at]]
    # a segment's first point (fraction 0) has slerp weights exactly 1 and 0: its own unit vector
    # brought back to degrees (`from_unit_vectors`, step for step); its time t + 0 * dt as the fill's
    # (unknown when dt is)
    pos = first_out[seg]
    rough = None
    if round_trip:
        back_lat, back_lon = _round_trip(lat, lon)  # every point's (element-wise: its own bits)
        out["latitude"][pos], out["longitude"][pos] = back_lat[seg], back_lon[seg]
        del back_lat, back_lon
    else:
        out["latitude"][pos], out["longitude"][pos] = lat[seg], lon[seg]
        rough = np.zeros(total, bool)
        rough[pos] = True
    out["t"][pos] = t[seg] + 0.0 * dt
    out["inferred"][pos], out["source_index"][pos] = inferred[seg], seg - starts[track[seg]]
    # fill points at fractions j / k (j = 1 … k-1) are slerped; so is a segment's first point when
    # its angle is not finite (an unknown position: the fill is unknown too). Only asked segments
    # can be either: a short one is one piece between two known positions.
    u = np.stack([np.stack(_unit_columns(lat[a], lon[a]), axis=-1),
                  np.stack(_unit_columns(lat[a + 1], lon[a + 1]), axis=-1)])
    omega = np.arccos(np.clip(np.einsum("ij,ij->i", u[0], u[1]), -1.0, 1.0))
    k_ask = k[ask]
    odd = ~np.isfinite(omega)
    many = np.where(odd, k_ask, k_ask - 1)
    sid = np.repeat(np.arange(ask.size), many)  # the asked segment of each slerped point
    j = np.arange(sid.size) - np.repeat(np.cumsum(many) - many, many) + (~odd)[sid]
    if sid.size:
        g, w, s = j / k_ask[sid], omega[sid], a[sid]
        small = w < 1e-9
        so = np.where(small, 1.0, np.sin(w))
        wa = np.where(small, 1 - g, np.sin((1 - g) * w) / so)
        wb = np.where(small, g, np.sin(g * w) / so)
        v = wa[:, None] * u[0][sid] + wb[:, None] * u[1][sid]
        pos = first_out[s] + j
        out["latitude"][pos], out["longitude"][pos] = from_unit_vectors(v)
        out["t"][pos] = t[s] + g * dt[ask[sid]]
        out["inferred"][pos] = np.where(g == 0, inferred[s], gap[ask[sid]])
        out["source_index"][pos] = s - starts[track[s]]
        if rough is not None:
            rough[pos] = False  # slerped: its own bits already
    return out, np.bincount(track, weights=count, minlength=sizes.size).astype(np.int64), rough


_SURE_KM = 9.0  # a segment shorter than this many km is one piece, never a gap
_SURE_DEG = float(np.degrees(_SURE_KM / EARTH_RADIUS_KM))


def _short_segments(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Per consecutive pair of points, whether it is surely under `_SURE_KM` apart: |Δlat| + |Δlon|
    (degrees, as given) under `_SURE_DEG`, since the great circle is never longer than the way
    along the meridian then along the parallel (R |Δφ| + R cos φ |Δλ|). False where a position is
    unknown. Worked out from the degrees alone: no trigonometry for the pairs that need none."""
    with np.errstate(invalid="ignore"):
        spread = np.abs(np.diff(lat))
        spread += np.abs(np.diff(lon))
        return spread < _SURE_DEG


def _unit_columns(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`to_unit_vectors(lat, lon)` as three columns, step for step (the same bits; cos(lat) once)."""
    p, q = np.radians(lat), np.radians(lon)
    cos_p = np.cos(p)
    return cos_p * np.cos(q), cos_p * np.sin(q), np.sin(p)


def _round_trip(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points brought to unit vectors and back to degrees, as a segment's first point is."""
    return _degrees_of(*_unit_columns(lat, lon))


def _degrees_of(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`from_unit_vectors` of the vectors (x, y, z) given as columns: the same operations (the norm
    as `np.linalg.norm` sums the squares: x² + y², then + z²), without stacking them."""
    norm = np.sqrt(x * x + y * y + z * z)
    return (np.degrees(np.arcsin(np.clip(z / norm, -1, 1))), np.degrees(np.arctan2(y / norm, x / norm)))


RUN_SCHEMA = {"country": pl.String, "entry_t": pl.Float64, "exit_t": pl.Float64,
              "entry_evidence": pl.String, "exit_evidence": pl.String,
              "evidence": pl.String, "observed_points": pl.UInt32,
              "points": pl.UInt32, "first_index": pl.UInt32, "last_index": pl.UInt32}


def country_runs(track: pl.DataFrame, layer: str = "airspace") -> pl.DataFrame:
    """Ordered runs inside one country: country, entry_t, exit_t, entry/exit evidence,
    observed_points, points, first/last index (into `track`)."""
    return country_runs_many([track], layer)[0]


def country_runs_many(tracks: list[pl.DataFrame], layer: str = "airspace") -> list[pl.DataFrame]:
    """`country_runs` of many tracks (densified legs of many aircraft): one `track_runs` over all
    of them, a frame per track."""
    sizes = np.array([t.height for t in tracks], np.int64)
    if not tracks or sizes.sum() == 0:
        return [pl.DataFrame(schema=RUN_SCHEMA) for _ in tracks]
    frame = pl.concat([t.select("latitude", "longitude", "t", "inferred") for t in tracks if t.height],
                      how="vertical_relaxed")
    runs, per_track = track_runs(frame["latitude"].to_numpy(), frame["longitude"].to_numpy(),
                                 frame["t"].to_numpy(), frame["inferred"].to_numpy(), sizes, layer)
    every = pl.DataFrame(runs, schema=RUN_SCHEMA)
    at = np.r_[0, np.cumsum(per_track)]
    return [every.slice(int(at[k]), int(per_track[k])) for k in range(len(tracks))]


def densified_runs(lat: ArrayLike, lon: ArrayLike, t: ArrayLike, inferred: ArrayLike, sizes: ArrayLike,
                   layer: str = "airspace") -> tuple[dict[str, np.ndarray | list], np.ndarray]:
    """`track_runs` of `densify_many`'s tracks: the same runs, without bringing every fix to a unit
    vector and back. A segment's first point is that round trip of the fix, which moves it by
    about 1e-13 degrees; where the fix lies well inside a decided cell (`geo.countries.settled_ids`)
    the round trip is in the same cell and has the same answer, so only the other points (a few
    per cent: near borders and coasts, cell edges, the poles) are brought back and located."""
    filled, filled_sizes, rough = _densify(lat, lon, t, inferred, sizes, STEP_KM, GAP_KM, GAP_S, round_trip=False)
    return track_runs(filled["latitude"], filled["longitude"], filled["t"], filled["inferred"], filled_sizes,
                      layer, rough=rough)


def _located(lat: np.ndarray, lon: np.ndarray, rough: np.ndarray | None, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """`locate_ids` of the points, those marked `rough` standing for their unit-vector round trip:
    settled by their cell where it cannot matter, brought back and located otherwise."""
    from tailwatch.geo.countries import locate_ids, settled_ids

    if rough is None or not rough.any():
        return locate_ids(lat, lon, layer=layer)
    ids = np.full(lat.size, -2, np.int32)
    marked = np.flatnonzero(rough)
    ids[marked] = settled_ids(lat[marked], lon[marked], layer)
    rest = np.flatnonzero(ids == -2)
    rest_lat, rest_lon = lat[rest], lon[rest]
    back = rough[rest]
    if back.any():
        rest_lat[back], rest_lon[back] = _round_trip(rest_lat[back], rest_lon[back])
    found, codes = locate_ids(rest_lat, rest_lon, layer=layer)
    ids[rest] = found
    return ids, codes


def track_runs(lat: np.ndarray, lon: np.ndarray, t: np.ndarray, inferred: np.ndarray, sizes: np.ndarray,
               layer: str = "airspace", rough: np.ndarray | None = None) -> tuple[dict[str, np.ndarray | list], np.ndarray]:
    """The runs of many densified tracks laid end to end (`sizes` points each): every point located
    at once (`geo.countries.locate_ids`), then one run-length pass: a run is a stretch of one
    jurisdiction inside one track (outside every country is no run). Returns the `RUN_SCHEMA`
    columns of all runs in track order and the number of runs of each track. `rough`: the points
    given as fixes that stand for their unit-vector round trip (`densified_runs`)."""
    sizes = np.asarray(sizes, np.int64)
    ids, codes = _located(np.asarray(lat, float), np.asarray(lon, float), rough, layer)
    track = np.repeat(np.arange(sizes.size), sizes)
    n = ids.size
    start = np.ones(n, bool)
    if n:
        start[1:] = (ids[1:] != ids[:-1]) | (track[1:] != track[:-1])
    first = np.flatnonzero(start)
    last = np.empty_like(first)
    last[:-1] = first[1:] - 1
    last[-1:] = n - 1
    inside = ids[first] >= 0
    first, last = first[inside], last[inside]
    observed = np.r_[0, np.cumsum(~np.asarray(inferred, bool))]
    observed_points = (observed[last + 1] - observed[first]).astype(np.uint32)
    origin = (np.cumsum(sizes) - sizes)[track[first]]
    word = np.array(["observed", "inferred"], dtype=object)
    runs = {"country": codes[ids[first]].tolist(), "entry_t": t[first], "exit_t": t[last],
            "entry_evidence": word[inferred[first].astype(int)].tolist(),
            "exit_evidence": word[inferred[last].astype(int)].tolist(),
            "evidence": word[(observed_points == 0).astype(int)].tolist(),
            "observed_points": observed_points, "points": (last - first + 1).astype(np.uint32),
            "first_index": (first - origin).astype(np.uint32), "last_index": (last - origin).astype(np.uint32)}
    return runs, np.bincount(track[first], minlength=sizes.size).astype(np.int64)


def _iso(t: float | None) -> str | None:
    if t is None or not np.isfinite(t):
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(float(t), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_times(t: np.ndarray) -> list[str | None]:
    """`_iso` of many epoch seconds at once: the second `datetime.fromtimestamp` gives (the
    fraction rounded half to even to the microsecond first, as it does), None where unknown."""
    t = np.asarray(t, float)
    known = np.isfinite(t)
    frac, whole = np.modf(np.where(known, t, 0.0))
    us = np.round(frac * 1e6)
    whole = whole + (us >= 1e6) - (us < 0)
    text = pl.from_epoch(pl.Series(whole.astype(np.int64)), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return pl.Series(text).set(pl.Series(~known), None).to_list() if not known.all() else text.to_list()


def crossings(lat: ArrayLike, lon: ArrayLike, t: ArrayLike, inferred: ArrayLike | None = None) -> list[dict]:
    """Ordered list of {country, entry, exit, entry_evidence, exit_evidence, evidence,
    observed_points} for a track (times ISO 8601 Z or null)."""
    runs = country_runs(densify(lat, lon, t, inferred))
    return [{"country": r["country"], "entry": _iso(r["entry_t"]), "exit": _iso(r["exit_t"]),
             "entry_evidence": r["entry_evidence"], "exit_evidence": r["exit_evidence"],
             "evidence": r["evidence"], "observed_points": int(r["observed_points"])}
            for r in runs.iter_rows(named=True)]


def countries_on_arc(lat1: float, lon1: float, lat2: float, lon2: float) -> list[str]:
    """Countries (in order, each once) whose airspace the great circle between two points crosses."""
    return countries_on_arcs([(lat1, lon1, lat2, lon2)])[0]


_ARCS: dict[tuple[float, float, float, float], tuple[str, ...]] = {}  # answers already worked out
_ARCS_KEPT = 100_000


def countries_on_arcs(arcs: list[tuple[float, float, float, float]]) -> list[list[str]]:
    """`countries_on_arc` of many (lat1, lon1, lat2, lon2) arcs: the ones not answered before are
    sampled every `STEP_KM` and located in one pass (a batch's direct lines between airports,
    which repeat from day to day, are worked out once)."""
    keys = [tuple(float(v) for v in arc) for arc in arcs]
    known = {k: _ARCS.get(k) for k in dict.fromkeys(keys)}  # a batch's answers, whatever another thread keeps
    todo = [k for k, v in known.items() if v is None]
    if todo:
        lats, lons, sizes = [], [], []
        for lat1, lon1, lat2, lon2 in todo:
            plat, plon = _arc_points(lat1, lon1, lat2, lon2)
            lats.append(plat)
            lons.append(plon)
            sizes.append(plat.size)
        from tailwatch.geo.countries import locate

        found = locate(np.concatenate(lats), np.concatenate(lons))
        at = 0
        for key, size in zip(todo, sizes):
            seen: list[str] = []
            for c in found[at:at + size]:
                if c is not None and c not in seen:
                    seen.append(c)
            known[key] = tuple(seen)
            at += size
        if len(_ARCS) + len(todo) > _ARCS_KEPT:
            _ARCS.clear()
        _ARCS.update({k: known[k] for k in todo})
    return [list(known[k]) for k in keys]


def _arc_points(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[np.ndarray, np.ndarray]:
    """The great circle between two points sampled every `STEP_KM` or closer, ends included."""
    n = max(int(np.ceil(haversine_km(lat1, lon1, lat2, lon2) / STEP_KM)), 1) + 1
    t = np.linspace(0.0, 1.0, n)
    a, b = to_unit_vectors(lat1, lon1), to_unit_vectors(lat2, lon2)
    omega = float(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0)))
    if omega < 1e-12:
        v = np.repeat(a[None, :], n, axis=0)
    else:
        v = (np.sin((1 - t) * omega)[:, None] * a + np.sin(t * omega)[:, None] * b) / np.sin(omega)
    return from_unit_vectors(v)


__all__ = ["densify", "densify_many", "densified_runs", "track_runs", "iso_times", "country_runs", "country_runs_many", "crossings", "countries_on_arc", "countries_on_arcs"]
