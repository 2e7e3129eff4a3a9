"""Which national airspaces a track crossed, in order, with entry and exit times.

Observed points are located all at once (one STRtree query, `geo.countries.locate`). Where
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

from tailwatch.geo.geodesy import from_unit_vectors, haversine_km, to_unit_vectors

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
    lon = np.asarray(lon, float)
    t = np.asarray(t, float)
    inferred_in = np.zeros(lat.size, bool) if inferred is None else np.asarray(inferred, bool)
    n = lat.size
    if n < 2:
        return pl.DataFrame({"latitude": lat, "longitude": lon, "t": t, "inferred": inferred_in,
                             "source_index": np.arange(n)})
    d = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    dt = np.diff(t)
    gap = (d > gap_km) | (np.nan_to_num(dt, nan=np.inf) > gap_s) | inferred_in[:-1] | inferred_in[1:]
    k = np.maximum(np.ceil(d / step_km).astype(int), 1)  # sub-segments per segment
    seg = np.repeat(np.arange(n - 1), k)
    frac = np.arange(seg.size) - np.repeat(np.cumsum(k) - k, k)
    frac = frac / k[seg]
    a, b = to_unit_vectors(lat[:-1], lon[:-1]), to_unit_vectors(lat[1:], lon[1:])
    omega = np.arccos(np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0))[seg]
    small = omega < 1e-9
    so = np.where(small, 1.0, np.sin(omega))
    wa = np.where(small, 1 - frac, np.sin((1 - frac) * omega) / so)
    wb = np.where(small, frac, np.sin(frac * omega) / so)
    v = wa[:, None] * a[seg] + wb[:, None] * b[seg]
    flat, flon = from_unit_vectors(v)
    ft = t[:-1][seg] + frac * dt[seg]
    finf = np.where(frac == 0, inferred_in[:-1][seg], gap[seg])
    return pl.DataFrame({
        "latitude": np.r_[flat, lat[-1]], "longitude": np.r_[flon, lon[-1]], "t": np.r_[ft, t[-1]],
        "inferred": np.r_[finf, inferred_in[-1]], "source_index": np.r_[seg, n - 1],
    })


RUN_SCHEMA = {"country": pl.String, "entry_t": pl.Float64, "exit_t": pl.Float64,
              "entry_evidence": pl.String, "exit_evidence": pl.String,
              "evidence": pl.String, "observed_points": pl.UInt32,
              "points": pl.UInt32, "first_index": pl.UInt32, "last_index": pl.UInt32}


def country_runs(track: pl.DataFrame, layer: str = "airspace") -> pl.DataFrame:
    """Ordered runs inside one country: country, entry_t, exit_t, entry/exit evidence,
    observed_points, points, first/last index (into `track`)."""
    return country_runs_many([track], layer)[0]


def country_runs_many(tracks: list[pl.DataFrame], layer: str = "airspace") -> list[pl.DataFrame]:
    """`country_runs` of many tracks (densified legs of many aircraft): one `locate_track` over
    all of them, the runs of all in one group-by, a frame per track."""
    from tailwatch.geo.countries import locate

    sizes = [t.height for t in tracks]
    if not tracks or sum(sizes) == 0:
        return [pl.DataFrame(schema=RUN_SCHEMA) for _ in tracks]
    key = np.repeat(np.arange(len(tracks)), sizes)
    frame = pl.concat([t.select("latitude", "longitude", "t", "inferred") for t in tracks if t.height],
                      how="vertical_relaxed")
    country = locate(frame["latitude"].to_numpy(), frame["longitude"].to_numpy(), layer=layer)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    frame = frame.with_columns(country=pl.Series(country.tolist(), dtype=pl.String), key=pl.Series(key),
                               i=pl.Series((np.arange(key.size) - starts[key]).astype(np.uint32)))
    new_run = pl.col("country").ne_missing(pl.col("country").shift(1)) | pl.col("key").ne(pl.col("key").shift(1))
    frame = frame.with_columns(run=new_run.fill_null(True).cum_sum())
    ev = pl.when(pl.col("inferred")).then(pl.lit("inferred")).otherwise(pl.lit("observed"))
    runs = (frame.filter(pl.col("country").is_not_null())
            .group_by("run", maintain_order=True)
            .agg(pl.col("key").first(), pl.col("country").first(),
                 entry_t=pl.col("t").first(), exit_t=pl.col("t").last(),
                 entry_evidence=ev.first(), exit_evidence=ev.last(),
                 observed_points=(~pl.col("inferred")).sum().cast(pl.UInt32),
                 points=pl.len().cast(pl.UInt32),
                 first_index=pl.col("i").first(), last_index=pl.col("i").last()))
    runs = runs.with_columns(
        evidence=pl.when(pl.col("observed_points") > 0).then(pl.lit("observed")).otherwise(pl.lit("inferred"))
    ).drop("run")
    by_key = {k: part.drop("key") for (k,), part in runs.partition_by("key", as_dict=True, maintain_order=True).items()}
    empty = pl.DataFrame(schema=RUN_SCHEMA)
    return [by_key.get(k, empty).select(list(RUN_SCHEMA)) for k in range(len(tracks))]


def _iso(t: float | None) -> str | None:
    if t is None or not np.isfinite(t):
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(float(t), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


__all__ = ["densify", "country_runs", "country_runs_many", "crossings", "countries_on_arc", "countries_on_arcs"]
