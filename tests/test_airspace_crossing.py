"""Crossings: ordered countries with entry/exit times, observed vs inferred, antimeridian, pole."""

from __future__ import annotations

import numpy as np

from tailwatch.airspace.crossing import countries_on_arc, country_runs, crossings, densify
from tailwatch.geo.geodesy import great_circle_points, haversine_km

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def _track(lat1, lon1, lat2, lon2, kmh=800.0, every_s=60.0):
    d = float(haversine_km(lat1, lon1, lat2, lon2))
    n = int(d / kmh * 3600 / every_s) + 1
    lat, lon = great_circle_points(lat1, lon1, lat2, lon2, n)
    t = T0 + np.arange(n) * d / (n - 1) / kmh * 3600
    return lat, lon, t


def test_observed_track_moscow_yerevan():
    lat, lon, t = _track(55.6, 37.27, 40.15, 44.4)
    out = crossings(lat, lon, t)
    codes = [c["country"] for c in out]
    assert codes[0] == "RU" and codes[-1] == "AM"
    assert "GE" in codes
    assert all(c["evidence"] == "observed" for c in out)
    # runs are in time order and entry ≤ exit
    entries = [c["entry"] for c in out]
    assert entries == sorted(entries)
    assert all(c["entry"] <= c["exit"] for c in out)
    assert out[0]["entry"] == "2023-11-14T22:13:20Z"


def test_gap_is_filled_by_great_circle_and_marked_inferred():
    lat, lon, t = _track(55.6, 37.27, 40.15, 44.4)
    # no coverage over the Caucasus: drop every point between 44.5°N and 40.9°N
    keep = (lat > 44.5) | (lat < 40.9)
    out = crossings(lat[keep], lon[keep], t[keep])
    ge = [c for c in out if c["country"] == "GE"]
    assert ge and all(c["evidence"] == "inferred" for c in ge)
    assert ge[0]["entry_evidence"] == "inferred" and ge[0]["observed_points"] == 0
    # interpolated entry time lies inside the gap
    assert out[0]["evidence"] == "observed"


def test_densify_spacing_and_flags():
    lat = np.array([0.0, 0.0, 0.0])
    lon = np.array([0.0, 0.05, 2.0])  # 5.6 km then 217 km
    t = np.array([0.0, 25.0, 1000.0])
    d = densify(lat, lon, t)
    step = haversine_km(d["latitude"][:-1], d["longitude"][:-1], d["latitude"][1:], d["longitude"][1:])
    assert step.max() <= 10.0 + 1e-9
    assert d["inferred"].sum() == d.height - 3  # fill of the long segment only; the 3 fixes observed
    assert not d["inferred"][0] and not d["inferred"][1] and not d["inferred"][-1]
    assert np.all(np.diff(d["t"].to_numpy()) > 0)


def test_antimeridian_anadyr_to_nome():
    lat, lon, t = _track(64.73, 177.5, 64.5, -165.4)
    assert lon.max() > 170 and lon.min() < -160
    codes = [c["country"] for c in crossings(lat, lon, t)]
    assert codes[0] == "RU" and codes[-1] == "US"
    assert countries_on_arc(64.73, 177.5, 64.5, -165.4)[0] == "RU"


def test_over_the_pole_svalbard_to_alert_with_gap():
    # Longyearbyen → over the North Pole → Alert: only the two ends observed
    lat, lon = great_circle_points(78.25, 15.5, 82.5, -62.3, 3)
    mid_lat, mid_lon = 89.9, 0.0
    lat = np.array([78.25, mid_lat, 82.5])
    lon = np.array([15.5, mid_lon, -62.3])
    t = np.array([T0, T0 + 3600, T0 + 7200])
    runs = country_runs(densify(lat, lon, t))
    codes = runs["country"].to_list()
    assert codes[0] == "NO" and codes[-1] == "CA"
    last = runs.row(-1, named=True)
    assert last["entry_evidence"] == "inferred" and last["exit_evidence"] == "observed"


def test_empty_and_single_point():
    assert crossings(np.array([]), np.array([]), np.array([])) == []
    one = crossings(np.array([48.85]), np.array([2.35]), np.array([T0]))
    assert [c["country"] for c in one] == ["FR"]


def test_runs_of_many_tracks_at_once_are_each_tracks_own(traffic_samples):
    """`country_runs_many` locates the legs of a whole chunk in one pass; a run never continues
    from one track into the next (two legs both ending and starting in Germany are two runs)."""
    import polars as pl
    from polars.testing import assert_frame_equal

    from tailwatch.airspace.crossing import country_runs, country_runs_many, densify
    from tailwatch.ingest.pipeline import read_file

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null()).sort("icao24", "timestamp")
    busiest = frame.group_by("icao24").len().sort("len", "icao24", descending=True)["icao24"].head(12).to_list()
    tracks = []
    for icao24 in busiest:
        own = frame.filter(pl.col("icao24") == icao24)
        t = own["timestamp"].dt.epoch("us").to_numpy() / 1e6
        tracks.append(densify(own["latitude"].to_numpy(), own["longitude"].to_numpy(), t))
    tracks.insert(3, tracks[2].head(0))  # an empty leg keeps its place
    tracks += [densify(*_track(48.85, 2.35, 50.03, 8.57)), densify(*_track(50.03, 8.57, 48.35, 11.78))]  # CDG-FRA, FRA-MUC
    together = country_runs_many(tracks)
    assert len(together) == len(tracks) and together[3].height == 0
    for track, runs in zip(tracks, together):
        assert_frame_equal(runs, country_runs(track))
    assert together[-2]["country"].to_list()[0] == "FR" and together[-2]["country"].to_list()[-1] == "DE"
    assert together[-1]["country"].to_list() == ["DE"] and together[-1]["first_index"][0] == 0
    assert country_runs_many([]) == []


def test_densify_many_is_each_track_densified_alone(traffic_samples):
    """All the legs of a group are filled in one pass over their segments: each comes out exactly
    as filled alone (same floats), a segment never joins one track's last point to the next
    track's first, and empty tracks, lone points and unknown times keep their place."""
    import polars as pl

    from tailwatch.airspace.crossing import densify_many
    from tailwatch.ingest.pipeline import read_file

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null()).sort("icao24", "timestamp")
    tracks = []
    for icao24 in frame["icao24"].unique(maintain_order=True).head(25).to_list():
        own = frame.filter(pl.col("icao24") == icao24).gather_every(7)  # sparser: gaps get filled
        t = own["timestamp"].dt.epoch("us").to_numpy() / 1e6
        tracks.append((own["latitude"].to_numpy(), own["longitude"].to_numpy(), t, np.zeros(own.height, bool)))
    lat, lon, t = _track(55.97, 37.41, 40.15, 44.40)  # SVO-EVN with an unknown landing time
    tracks[4:4] = [(np.empty(0), np.empty(0), np.empty(0), np.empty(0, bool)),
                   (np.array([50.0]), np.array([8.5]), np.array([np.nan]), np.array([True])),
                   (lat, lon, np.r_[t[:-1], np.nan], np.r_[True, np.zeros(lat.size - 2, bool), True])]
    sizes = np.array([x[0].size for x in tracks])
    together, filled = densify_many(*(np.concatenate([x[i] for x in tracks]) for i in range(4)), sizes)
    assert filled.sum() == together["latitude"].size
    at = np.r_[0, np.cumsum(filled)]
    for k, track in enumerate(tracks):
        alone = densify(*track)
        for column in alone.columns:
            assert np.array_equal(together[column][at[k]:at[k + 1]], alone[column].to_numpy(), equal_nan=True), (k, column)
    assert filled[4] == 0 and filled[5] == 1
    gc = tracks[6]
    mine = slice(at[6], at[7])
    assert together["inferred"][mine][0] and together["inferred"][mine][-1]  # the airports stand for unseen ends
    assert np.isnan(together["t"][mine][-1]) and together["latitude"][mine][-1] == gc[0][-1]
    assert (np.diff(together["source_index"][mine]) >= 0).all()


def test_runs_are_the_point_by_point_answers_cut_where_the_jurisdiction_changes(traffic_samples):
    """`track_runs` locates all tracks at once and cuts runs in one pass: the runs must be what
    locating every point against the polygons and walking each track point by point gives."""
    import polars as pl

    from tailwatch.airspace.crossing import densify_many, track_runs
    from tailwatch.geo import countries
    from tailwatch.ingest.pipeline import read_file

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null()).sort("icao24", "timestamp")
    sizes = frame.group_by("icao24", maintain_order=True).len()["len"].to_numpy()
    t = frame["timestamp"].dt.epoch("us").to_numpy() / 1e6
    inferred = np.zeros(frame.height, bool)
    inferred[::50] = True  # some points stand for assumptions
    filled, fsizes = densify_many(frame["latitude"].to_numpy(), frame["longitude"].to_numpy(), t, inferred, sizes)
    runs, per_track = track_runs(filled["latitude"], filled["longitude"], filled["t"], filled["inferred"], fsizes)
    with np.errstate(invalid="ignore"):
        where = countries._exact(filled["latitude"], (filled["longitude"] + 180.0) % 360.0 - 180.0,
                                 countries.spatial_index("airspace"), "airspace")
    expected, start = [], 0
    for size in fsizes:
        track_runs_here, i = [], 0
        while i < size:
            j = i
            while j + 1 < size and where[start + j + 1] == where[start + i]:
                j += 1
            if where[start + i] is not None:
                inf = filled["inferred"][start + i:start + j + 1]
                track_runs_here.append((where[start + i], filled["t"][start + i], filled["t"][start + j],
                                        "inferred" if inf[0] else "observed", "inferred" if inf[-1] else "observed",
                                        int((~inf).sum()), j - i + 1, i, j))
            i = j + 1
        expected += track_runs_here
        start += size
    got = list(zip(runs["country"], runs["entry_t"], runs["exit_t"], runs["entry_evidence"], runs["exit_evidence"],
                   runs["observed_points"].tolist(), runs["points"].tolist(), runs["first_index"].tolist(),
                   runs["last_index"].tolist()))
    assert got == expected and per_track.sum() == len(expected) and len(expected) > 100
    assert runs["evidence"] == ["observed" if n else "inferred" for n in runs["observed_points"].tolist()]


def test_iso_times_of_many_are_each_ones_own():
    """A group's entry and exit times are written at once: each the second `datetime.fromtimestamp`
    gives, fractions that round up to the next second included, None where unknown."""
    from datetime import datetime, timezone

    from tailwatch.airspace.crossing import iso_times

    rng = np.random.default_rng(11)
    whole = np.floor(rng.uniform(1.5e9, 1.9e9, 3000))
    t = np.r_[rng.uniform(1.5e9, 1.9e9, 20_000), whole + 0.9999995, whole + 0.9999996, whole - 4e-7, whole + 0.5,
              np.nan, np.inf, -np.inf, 0.0, -0.3]
    got = iso_times(t)
    want = [datetime.fromtimestamp(float(x), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if np.isfinite(x) else None
            for x in t]
    assert got == want and got[-5:-2] == [None, None, None] and got[-1] == "1969-12-31T23:59:59Z"
    assert iso_times(np.empty(0)) == []


def _densify_by_definition(lat, lon, t, inferred, sizes, step_km=10.0, gap_km=30.0, gap_s=300.0):
    """The filled tracks as the slerp defines them, every segment's km and angle worked out over the
    whole arrays with the geodesy functions: what `densify_many` must give, to the bit."""
    from tailwatch.geo.geodesy import from_unit_vectors, to_unit_vectors

    ends = np.cumsum(sizes)
    starts = ends - sizes
    track = np.repeat(np.arange(sizes.size), sizes)
    last = np.zeros(lat.size, bool)
    last[ends[sizes > 0] - 1] = True
    u = to_unit_vectors(lat, lon)
    d = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    omega = np.arccos(np.clip(np.einsum("ij,ij->i", u[:-1], u[1:]), -1.0, 1.0))
    cols = {"latitude": [], "longitude": [], "t": [], "inferred": [], "source_index": []}
    for i in range(lat.size):
        src = i - starts[track[i]]
        if last[i]:
            rows = [(lat[i], lon[i], t[i], inferred[i])]
        else:
            dt = t[i + 1] - t[i]
            k = max(int(np.ceil(d[i] / step_km)) if np.isfinite(d[i]) else 1, 1)
            gap = d[i] > gap_km or np.nan_to_num(dt, nan=np.inf) > gap_s or inferred[i] or inferred[i + 1]
            first = from_unit_vectors(u[i][None, :])
            rows = []
            for j in range(k):
                if j == 0 and np.isfinite(omega[i]):
                    rows.append((first[0][0], first[1][0], t[i] + 0.0 * dt, inferred[i]))
                    continue
                g, w = j / k, omega[i]
                so = 1.0 if w < 1e-9 else np.sin(w)
                wa = (1 - g) if w < 1e-9 else np.sin((1 - g) * w) / so
                wb = g if w < 1e-9 else np.sin(g * w) / so
                v = np.asarray(wa)[None, None] * u[i][None, :] + np.asarray(wb)[None, None] * u[i + 1][None, :]
                la, lo = from_unit_vectors(v)
                rows.append((la[0], lo[0], t[i] + g * dt, inferred[i] if g == 0 else gap))
        for la, lo, tt, inf in rows:
            cols["latitude"].append(la)
            cols["longitude"].append(lo)
            cols["t"].append(tt)
            cols["inferred"].append(bool(inf))
            cols["source_index"].append(src)
    return {c: np.array(v, dtype=bool if c == "inferred" else np.int64 if c == "source_index" else float)
            for c, v in cols.items()}


def test_densify_many_gives_the_slerp_definitions_bits(traffic_samples):
    """`densify_many` works out a segment's km and angle only where its chord may pass 9 km: on real
    tracks (sparser, so some are filled), segments just under and over 9, 10 and 30 km, unknown
    positions and times, the antimeridian and a pole, it gives the definition's floats to the bit."""
    import polars as pl

    from tailwatch.airspace.crossing import densify_many
    from tailwatch.ingest.pipeline import read_file

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null()).sort("icao24", "timestamp")
    tracks = []
    for every, icao24 in zip((1, 5, 20, 60), frame["icao24"].unique(maintain_order=True).head(4).to_list()):
        own = frame.filter(pl.col("icao24") == icao24).gather_every(every)
        tracks.append((own["latitude"].to_numpy(), own["longitude"].to_numpy(),
                       own["timestamp"].dt.epoch("us").to_numpy() / 1e6, np.zeros(own.height, bool)))
    # along the equator: 1° of longitude is 111.2 km; hops just either side of the thresholds
    km = np.array([8.99, 9.0, 9.01, 9.999999, 10.0, 10.000001, 19.99, 20.01, 29.999, 30.0, 30.001, 0.0, 250.0])
    lon = np.r_[0.0, np.cumsum(km / 111.19508)]
    tracks.append((np.zeros(lon.size), lon, np.arange(lon.size) * 60.0, np.zeros(lon.size, bool)))
    tracks.append((np.array([64.7, np.nan, 64.5, 89.99, 89.99, 10.0]),
                   np.array([177.5, 179.0, -165.4, 0.0, 180.0, np.nan]),
                   np.array([0.0, 100.0, np.nan, 900.0, 1000.0, 1100.0]),
                   np.array([True, False, False, False, False, True])))
    tracks.append((np.array([50.0]), np.array([8.5]), np.array([np.nan]), np.array([True])))
    sizes = np.array([x[0].size for x in tracks])
    lat, lon, t, inferred = (np.concatenate([x[i] for x in tracks]) for i in range(4))
    with np.errstate(invalid="ignore"):
        got, filled = densify_many(lat, lon, t, inferred, sizes)
        want = _densify_by_definition(lat, lon, t, inferred, sizes)
    assert filled.sum() == got["latitude"].size == want["latitude"].size > lat.size
    for column, values in want.items():
        mine = got[column]
        if values.dtype.kind == "f":  # the same bits, NaN where the definition has NaN (of either sign)
            known = ~np.isnan(values)
            same = (np.array_equal(np.isnan(mine), ~known)
                    and np.array_equal(mine[known].view(np.int64), values[known].view(np.int64)))
        else:
            same = np.array_equal(mine, values)
        assert same, (column, np.flatnonzero(mine != values)[:5])


def test_densified_runs_are_the_runs_of_the_densified_tracks(traffic_samples):
    """`densified_runs` locates a fix that stands for its unit-vector round trip by its cell where
    the round trip cannot leave it: the runs are those `track_runs` finds on `densify_many`'s
    points, to the bit, on real tracks (some sparser, so filled) and on fixes placed where the
    shortcut must not be taken: on cell edges and within 1e-9° of them, near the poles, across the
    antimeridian, longitudes a turn away, along land borders and coasts, unknown positions."""
    import polars as pl

    from tailwatch.airspace.crossing import densified_runs, densify_many, track_runs
    from tailwatch.ingest.pipeline import read_file

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null()).sort("icao24", "timestamp")
    tracks = []
    for every, icao24 in zip((1, 3, 9, 30, 1, 1), frame["icao24"].unique(maintain_order=True).head(6).to_list()):
        own = frame.filter(pl.col("icao24") == icao24).gather_every(every)
        tracks.append((own["latitude"].to_numpy(), own["longitude"].to_numpy(),
                       own["timestamp"].dt.epoch("us").to_numpy() / 1e6, np.zeros(own.height, bool)))
    rng = np.random.default_rng(29)
    edge_lat = np.r_[np.arange(40.0, 52.0, 0.25), np.arange(40.0, 52.0, 0.25) + 1e-9, np.arange(40.0, 52.0, 0.25) - 1e-12]
    edge_lon = np.r_[np.arange(-6.0, 18.0, 0.5), np.arange(-6.0, 18.0, 0.5) - 1e-9, np.arange(-6.0, 18.0, 0.5) + 3e-13]
    odd = [(edge_lat, edge_lon),
           (np.array([79.99, 80.0, 80.01, 85.0, 89.9, 90.0, 89.9, -89.0, -80.0]),
            np.array([10.0, 20.0, 30.0, 40.0, 50.0, 0.0, -170.0, 100.0, -60.0])),
           (np.array([64.7, 64.8, 64.9, 65.0]), np.array([179.99, 180.0, -179.99, 190.0])),
           (np.array([48.5, 48.6, 36.0, 35.95, 50.2]), np.array([7.8 - 360.0, 7.9 + 720.0, -5.6, -5.5, 6.1])),
           (np.array([48.9, np.nan, 49.0, 49.1]), np.array([8.2, 8.3, np.nan, 8.4]))]
    for lat, lon in odd:
        tracks.append((lat, lon, np.arange(lat.size) * 30.0, np.zeros(lat.size, bool)))
    # along the French-German and Swiss borders and the Strait of Gibraltar, fixes every few hundred metres
    for (lat1, lon1, lat2, lon2) in ((48.95, 8.0, 47.6, 7.5), (47.5, 7.6, 47.7, 9.5), (36.2, -6.0, 35.8, -5.2)):
        lat, lon, t = _track(lat1, lon1, lat2, lon2, every_s=2.0)
        tracks.append((lat + rng.normal(0, 1e-4, lat.size), lon + rng.normal(0, 1e-4, lat.size), t,
                       rng.random(lat.size) < 0.05))
    sizes = np.array([x[0].size for x in tracks])
    lat, lon, t, inferred = (np.concatenate([x[i] for x in tracks]) for i in range(4))
    with np.errstate(invalid="ignore"):
        filled, filled_sizes = densify_many(lat, lon, t, inferred, sizes)
        want, want_per = track_runs(filled["latitude"], filled["longitude"], filled["t"], filled["inferred"],
                                    filled_sizes)
        got, got_per = densified_runs(lat, lon, t, inferred, sizes)
    assert np.array_equal(got_per, want_per) and len(want["country"]) > 50
    for column, values in want.items():
        mine = got[column]
        if isinstance(values, list):
            assert mine == values, column
        else:
            assert mine.dtype == values.dtype and np.array_equal(mine, values, equal_nan=values.dtype.kind == "f"), column


def test_settled_ids_are_locate_ids_and_stay_within_the_margin():
    """A point settled by its cell gets `locate_ids`'s answer, and so does every point moved by up to
    the margin; points on or near a cell's edge, beyond 80° or without a position are left to
    `locate_ids` (-2)."""
    from tailwatch.geo.countries import SETTLE_MARGIN_DEG, locate_ids, settled_ids

    rng = np.random.default_rng(5)
    lat = np.r_[rng.uniform(-79.0, 79.0, 20000), [45.0, 45.25 + 1e-9, 85.0, np.nan, 10.0]]
    lon = np.r_[rng.uniform(-180.0, 180.0, 20000), [10.1, 10.1, 10.1, 10.1, np.inf]]
    settled = settled_ids(lat, lon)
    assert (settled[-5:] == -2).all()
    known = np.flatnonzero(settled != -2)
    assert known.size > 15000
    for dlat, dlon in ((0.0, 0.0), (SETTLE_MARGIN_DEG * 0.99, 0.0), (0.0, -SETTLE_MARGIN_DEG * 0.99),
                       (-SETTLE_MARGIN_DEG * 0.7, SETTLE_MARGIN_DEG * 0.7)):
        ids, _ = locate_ids(lat[known] + dlat, lon[known] + dlon)
        assert np.array_equal(ids, settled[known])
