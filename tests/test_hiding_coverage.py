"""The coverage grid (hiding.dark.Coverage) against the test it replaces, on real traffic.

The reference below is the every-point test as `dark_in_coverage` defines it (a sample is covered
by a position of another aircraft inside the samples' box and window, within `window_s` and
`radius_km` of it); the grid must give the same share and the same count of aircraft, at the
quickstart's own place and moved to the antimeridian and to 73°N, where the box's longitude
padding and the wrap matter. The batch path (one grid for every aircraft) must give the
documents the single-aircraft path gives, and a silence of years must stay small in memory.
"""

from __future__ import annotations

import tracemalloc
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tailwatch.archive import ArchiveWriter
from tailwatch.geo.geodesy import haversine_km
from tailwatch.hiding.dark import (
    KM_PER_DEG,
    Coverage,
    DarkRules,
    _FINE,
    _MINUTES,
    _PER_DEG,
    _cell,
    _codes,
    _extrapolate,
    _group_order,
    _path_samples,
    dark_gaps,
    silence_reach,
)
from tailwatch.ingest.pipeline import read_file

RULES = DarkRules()


@pytest.fixture(scope="module")
def quickstart(traffic_samples: Path) -> pl.DataFrame:
    """Real OpenSky positions of ~200 aircraft over three hours (traffic's quickstart sample)."""
    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    return frame.filter(pl.col("latitude").is_not_null()).sort(["icao24", "timestamp"])


def every_point(samples, others: pl.DataFrame, rules: DarkRules) -> tuple[float, int]:
    """The reference: each sample against each position of the others, no index."""
    lat, lon, t = samples.take(0, samples.n)
    ot = others["timestamp"].dt.epoch("us").to_numpy() / 1e6
    olat, olon = others["latitude"].to_numpy(), others["longitude"].to_numpy()
    codes = others["icao24"].to_numpy()
    pad = rules.radius_km / KM_PER_DEG
    lon_pad = pad / max(np.cos(np.radians(np.abs(lat).max())), 0.1)
    near = ((ot >= t.min() - rules.window_s) & (ot <= t.max() + rules.window_s)
            & (olat >= lat.min() - pad) & (olat <= lat.max() + pad)
            & ((olon - lon.min() + 540.0) % 360.0 - 180.0 >= -lon_pad)
            & ((olon - lon.max() + 540.0) % 360.0 - 180.0 <= lon_pad))
    ot, olat, olon, codes = ot[near], olat[near], olon[near], codes[near]
    covered, who = np.zeros(lat.size, bool), set()
    for k in range(lat.size):
        ok = (np.abs(t[k] - ot) <= rules.window_s)
        ok[ok] = haversine_km(lat[k], lon[k], olat[ok], olon[ok]) <= rules.radius_km
        covered[k] = ok.any()
        who.update(codes[ok].tolist())
    return float(covered.mean()), len(who)


def _moved(frame: pl.DataFrame, dlat: float, dlon: float) -> pl.DataFrame:
    return frame.with_columns((pl.col("latitude") + dlat).clip(-90, 90),
                              ((pl.col("longitude") + dlon + 540.0) % 360.0 - 180.0))


@pytest.mark.parametrize("dlat, dlon", [(0.0, 0.0), (0.0, 178.5), (25.0, -2.0)],
                         ids=["quickstart", "antimeridian", "73N"])
def test_grid_judges_as_every_point(quickstart: pl.DataFrame, dlat: float, dlon: float) -> None:
    points = _moved(quickstart, dlat, dlon)
    grid = Coverage(points)
    rng = np.random.default_rng(7)
    judged = []
    for icao24 in rng.choice(points["icao24"].unique().sort().to_numpy(), 6, replace=False):
        track = points.filter(pl.col("icao24") == icao24)
        others = points.filter(pl.col("icao24") != icao24)
        t = track["timestamp"].dt.epoch("us").to_numpy() / 1e6
        lat, lon = track["latitude"].to_numpy(), track["longitude"].to_numpy()
        i, j = 0, track.height - 1  # the whole track as one silence, a jump away and one far out
        for samples in (_path_samples(lat[i], lon[i], lat[j], lon[j], t[i], t[j], RULES.sample_s),
                        _path_samples(lat[i], lon[i], lat[i] + 3.0, lon[i] - 4.0, t[i], t[i] + 5400.0, RULES.sample_s),
                        _path_samples(lat[i] - 12.0, lon[i] - 25.0, lat[i] - 14.0, lon[i] - 20.0, t[i], t[j], RULES.sample_s),
                        _extrapolate(lat[j], lon[j], 45.0, 420.0, t[j], RULES.lookahead_s, RULES.sample_s)):
            got = grid.judge(samples, RULES, exclude=str(icao24))
            assert got == every_point(samples, others, RULES), icao24
            judged.append(got)
    shares = [share for share, _ in judged]
    # the cases are not trivial: covered, uncovered and partly covered silences, many aircraft
    assert max(shares) == 1.0 and min(shares) == 0.0 and any(0.0 < s < 1.0 for s in shares)
    assert max(n for _, n in judged) >= 10


def test_a_silence_of_years_stays_small(quickstart: pl.DataFrame) -> None:
    """An airborne fix and another three years later. Under the rules in force the silence is not
    judged at all (the aircraft had time to be anywhere: no straight path to cover); judged anyway
    (`min_straight_speed=0`), its 1.6 M one-minute samples go a chunk at a time (the every-point
    test allocated samples × 20,000 floats: ~250 GB)."""
    from dataclasses import replace

    years = timedelta(days=3 * 365)
    first = quickstart.filter(pl.col("icao24") == quickstart["icao24"][0])
    track = pl.concat([first.head(1), first.tail(1).with_columns(pl.col("timestamp") + years)]).with_columns(
        pl.lit(35000.0, pl.Float32).alias("altitude"), pl.lit(False).alias("onground"))
    others = pl.concat([quickstart, quickstart.with_columns(pl.col("timestamp") + years)])
    grid = Coverage(others)
    # in force: only the 15 min after the last fix can be judged, a handful of keys
    assert silence_reach(track, None, RULES).size < 40
    assert [d for d in dark_gaps(track, grid, None, RULES) if d["end"] is not None] == []
    every = replace(RULES, min_straight_speed=0.0)
    tracemalloc.start()
    try:
        keys = silence_reach(track, None, every)
        found = dark_gaps(track, grid, None, every)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # nothing heard along most of the three years: a coverage hole, not dark (only the 15 min
    # after the last fix, flown on among the replayed traffic, may be)
    assert [d for d in found if d["end"] is not None] == []
    assert peak < 200e6, peak
    # what an engine reads: one key per hour and 1° cell the path reaches, not a box of years
    hours = 3 * 365 * 24
    assert hours < keys.size < 40 * hours


def test_batch_and_single_aircraft_documents_agree(quickstart: pl.DataFrame, tmp_path: Path) -> None:
    """Two replayed days of the quickstart fleet: the day boundary is a long airborne silence for
    every aircraft still flying at the end of the recording. `--all` (one chunk: one coverage grid,
    one query), `--all` in chunks (each read once, with a grid of its own), and one aircraft at a
    time give the same documents."""
    from tailwatch.engines.duckdb_itinerary import itineraries

    hour = quickstart.filter(pl.col("timestamp") < quickstart["timestamp"].min() + timedelta(minutes=70))
    archive = tmp_path / "arc"
    writer = ArchiveWriter(archive, "replayed")
    for day in range(2):
        writer.write(hour.with_columns(pl.col("timestamp") + timedelta(days=day)))
    writer.flush()
    writer.commit({"source": "replayed quickstart"})
    docs, _ = itineraries(archive, None, None, None, None, every_aircraft=True)
    assert len(docs) == hour["icao24"].n_unique()
    # read and built in chunks of a few thousand points, each chunk read once and judged against
    # a coverage grid of its own: the same documents, in the same order
    import tailwatch.engines.duckdb_itinerary as engine

    reads: list[tuple[str, int]] = []

    def counted(name):
        real = getattr(engine, name)

        def call(archive, keys_or_chunk, *args, **kwargs):
            reads.append((name, len(keys_or_chunk)))
            return real(archive, keys_or_chunk, *args, **kwargs)
        return call

    with pytest.MonkeyPatch.context() as patch:
        for name in ("points_for", "positions_in_cells"):
            patch.setattr(engine, name, counted(name))
        chunked, frames = itineraries(archive, None, None, None, None, every_aircraft=True, with_points=False,
                                      chunk_points=5_000, workers=1)  # in this process: its reads are counted
    assert chunked == docs and frames == {}
    chunks = [n for name, n in reads if name == "points_for"]
    assert len(chunks) > 3 and sum(chunks) == len(docs)  # every aircraft read once
    assert [name for name, _ in reads] == ["points_for", "positions_in_cells"] * len(chunks)
    dark = [d for d in docs if any(x["kind"] == "dark_in_coverage" for x in d.get("dark_intervals", []))]
    rng = np.random.default_rng(3)
    chosen = dark[:3] + [docs[k] for k in rng.choice(len(docs), 3, replace=False)]
    for doc in chosen:
        icao24 = doc["aircraft"]["icao24"]
        (one,), _ = itineraries(archive, [icao24], None, None, None)
        one["notes"] = [n for n in one.get("notes", [])]
        assert one == doc, icao24


def test_group_order_is_the_lexsort_it_replaces(quickstart: pl.DataFrame) -> None:
    """The grid's group order from one or two stable sorts is `np.lexsort((t, sub, code, key))` on the
    quickstart's own positions, in their order and shuffled (many share a second, a cell and an aircraft: ties in every key), and
    the lexsort itself when the packed key could overflow (addresses numbered past 2^40)."""
    frame = quickstart.select("icao24", "timestamp", "latitude", "longitude").drop_nulls()
    t = frame["timestamp"].dt.epoch("us").to_numpy() // 1_000_000 / 1.0  # whole seconds: many ties
    lat, lon = frame["latitude"].to_numpy(), frame["longitude"].to_numpy()
    code = frame["icao24"].rank("dense").cast(pl.Int64).to_numpy() - 1
    minute = np.floor(t / 60.0).astype(np.int64)
    minute -= minute.min()
    cell = _cell(np.floor(lat * _PER_DEG).astype(np.int64), np.floor(lon * _PER_DEG).astype(np.int64), _PER_DEG)
    sub = np.floor(lat * _FINE).astype(np.int64) % 2 * 2 + np.floor(lon * _FINE).astype(np.int64) % 2
    key = cell * _MINUTES + minute
    assert frame.height > 10_000 and np.unique(t).size < t.size
    reference = np.lexsort((t, sub, code, key))
    assert np.array_equal(_group_order(t, sub, code, key, minute, cell), reference)
    # in the frame's order the times rise within every group (the one-sort path); shuffled they
    # do not (the times sorted first): the lexsort's order both ways
    within = np.lexsort((sub, code, key))
    assert np.all((np.diff(key[within]) != 0) | (np.diff(code[within]) != 0) | (np.diff(sub[within]) != 0)
                  | (np.diff(t[within]) >= 0))
    mixed = np.random.default_rng(11).permutation(t.size)
    t2, sub2, code2, key2, minute2, cell2 = t[mixed], sub[mixed], code[mixed], key[mixed], minute[mixed], cell[mixed]
    assert np.array_equal(_group_order(t2, sub2, code2, key2, minute2, cell2), np.lexsort((t2, sub2, code2, key2)))
    huge = code << 40  # packed past 63 bits: the lexsort is taken
    assert np.array_equal(_group_order(t, sub, huge, key, minute, cell), np.lexsort((t, sub, huge, key)))
    assert _group_order(t[:0], sub[:0], code[:0], key[:0], minute[:0], cell[:0]).size == 0


def test_grid_radii_and_minutes_are_those_of_the_plain_calls(quickstart: pl.DataFrame) -> None:
    """The grid's group radii take each anchor's radians and cosine once (`_km_from_anchors`):
    the bits of `haversine_km` from the repeated anchors, on the real quickstart day's groups;
    its minutes are counted (`_distinct`), the values and dtype of `np.unique`, and a range far
    wider than the values still takes the sort."""
    from tailwatch.geo.geodesy import haversine_km
    from tailwatch.hiding.dark import Coverage, _distinct, _km_from_anchors

    grid = Coverage(quickstart)
    assert grid.g_start.size > 1_000 and (grid.g_n > 1).sum() > 500
    owner = np.repeat(np.arange(grid.g_start.size), grid.g_n)
    alat, alon = grid.lat[grid.g_start], grid.lon[grid.g_start]
    got = _km_from_anchors(alat, alon, owner, grid.lat, grid.lon)
    assert np.array_equal(got, haversine_km(alat[owner], alon[owner], grid.lat, grid.lon)) and got.max() > 0
    minute = np.floor(grid.t / 60.0).astype(np.int64) - grid.m0
    for values in (minute, minute[::7], np.r_[minute[:100], 10**9], np.zeros(0, np.int64)):
        assert np.array_equal(_distinct(values), np.unique(values)) and _distinct(values).dtype == values.dtype


def test_addresses_numbered_by_runs_as_by_lookup(quickstart: pl.DataFrame) -> None:
    """`_codes` numbers each address by its rank among the distinct ones: from the runs of the
    real quickstart's addresses (each aircraft's positions together, as the archive's scans give
    them) and row by row where the rows are shuffled (many short runs), the numbers of the
    lookup it replaced; no address, no numbers."""
    for icao24 in (quickstart["icao24"], quickstart["icao24"].shuffle(seed=7)):
        names = icao24.unique().sort()
        want = icao24.replace_strict(names, pl.int_range(names.len(), eager=True), return_dtype=pl.Int64).to_numpy()
        code_of, code = _codes(icao24)
        assert code_of == {name: k for k, name in enumerate(names.to_list())}
        assert code.dtype == np.int64 and np.array_equal(code, want)
    assert quickstart["icao24"].rle().len() * 8 <= quickstart.height  # the run path was taken above
    code_of, code = _codes(quickstart["icao24"].clear())
    assert code_of == {} and code.size == 0
