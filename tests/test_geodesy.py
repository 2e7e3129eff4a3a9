"""Spherical geodesy against known distances and the exact ellipsoidal solution."""

import numpy as np
import pytest

from tailwatch.geo import geodesy


def test_haversine_known_pairs():
    # Vnukovo (UUWW) to Simón Bolívar (SVMI): the great circle quoted in reporting is ~9,920 km.
    d = geodesy.haversine_km(55.5915, 37.2615, 10.6031, -66.9906)
    assert 9880 < float(d) < 9960
    assert float(geodesy.haversine_km(0, 0, 0, 0)) == 0.0
    # antimeridian: one degree of longitude at the equator either side
    assert float(geodesy.haversine_km(0, 179.5, 0, -179.5)) == pytest.approx(111.19, rel=1e-3)


def test_haversine_is_close_to_wgs84():
    rng = np.random.default_rng(1)
    lat1, lat2 = rng.uniform(-80, 80, 50), rng.uniform(-80, 80, 50)
    lon1, lon2 = rng.uniform(-180, 180, 50), rng.uniform(-180, 180, 50)
    sphere = geodesy.haversine_km(lat1, lon1, lat2, lon2)
    exact = np.array([geodesy.geodesic_km(*a) for a in zip(lat1, lon1, lat2, lon2)])
    assert np.all(np.abs(sphere - exact) / exact < 0.006)


def test_destination_inverts_bearing_and_distance():
    lat, lon = geodesy.destination(48.0, 2.0, 135.0, 500.0)
    assert float(geodesy.haversine_km(48.0, 2.0, lat, lon)) == pytest.approx(500.0, rel=1e-9)
    assert float(geodesy.initial_bearing(48.0, 2.0, lat, lon)) == pytest.approx(135.0, abs=1e-6)


def test_great_circle_points_lie_on_the_path():
    lat, lon = geodesy.great_circle_points(55.6, 37.3, 10.6, -67.0, 101)
    assert (lat[0], lon[0]) == pytest.approx((55.6, 37.3))
    assert (lat[-1], lon[-1]) == pytest.approx((10.6, -67.0))
    total = geodesy.path_length_km(lat, lon)
    assert total == pytest.approx(float(geodesy.haversine_km(55.6, 37.3, 10.6, -67.0)), rel=1e-6)


def _array_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """The array path of `haversine_km` on one pair (one-element arrays never take the scalar path)."""
    return geodesy.haversine_km(*(np.array([v], dtype=float) for v in (lat1, lon1, lat2, lon2)))


def test_scalar_haversine_gives_the_array_paths_bits_on_real_calls(traffic_samples, monkeypatch):
    """Every scalar distance an itinerary asks for (gaps, sides, stops, leg figures) on the real
    FR24 flights, whole and with their ends and a middle slice cut away, has the bits the array path
    gives the same pair: the documents cannot move by the fast path."""
    from test_itinerary_fr24 import FLIGHTS, _read, degrade
    from tailwatch.itinerary.build import build_itinerary

    calls: list[tuple] = []
    scalar = geodesy._haversine_scalar

    def recorded(*args):
        out = scalar(*args)
        calls.append((args, out))
        return out

    monkeypatch.setattr(geodesy, "_haversine_scalar", recorded)
    for name in FLIGHTS:
        points = _read(traffic_samples / "fr24" / f"{name}.json")
        for pts in (points, degrade(points)):
            build_itinerary(pts).to_json()
    assert len(calls) > 50
    for args, out in calls:
        assert type(out) is np.float64
        assert out.tobytes() == _array_km(*args)[0].tobytes(), args


def test_scalar_haversine_gives_the_array_paths_bits_between_airports():
    """Airport to airport (the routes and chains a gap is scored over) and a position to an airport
    a few metres away, on the real airport table; also NaN and integer degrees as the array path."""
    from tailwatch.geo.airports import airports

    table = airports()
    lat, lon = table["latitude"].to_numpy(), table["longitude"].to_numpy()
    rng = np.random.default_rng(7)
    i, j = rng.integers(0, len(lat), 20_000), rng.integers(0, len(lat), 20_000)
    near_lat = lat[i] + rng.normal(0, 1e-4, i.size)
    array_far = geodesy.haversine_km(lat[i], lon[i], lat[j], lon[j])
    array_near = geodesy.haversine_km(lat[i], lon[i], near_lat, lon[i])
    for k in range(i.size):
        assert geodesy.haversine_km(lat[i[k]], lon[i[k]], lat[j[k]], lon[j[k]]) == array_far[k]
        assert geodesy.haversine_km(float(lat[i[k]]), float(lon[i[k]]), float(near_lat[k]),
                                    float(lon[i[k]])) == array_near[k]
    assert np.isnan(geodesy.haversine_km(float("nan"), 0.0, 1.0, 1.0))
    assert geodesy.haversine_km(10, 20, 11, 21) == _array_km(10, 20, 11, 21)[0]


def test_distances_and_bearings_from_a_table_give_the_plain_calls_bits():
    """`km_from` / `bearing_from` (the candidates' latitudes' trigonometry worked out once per table)
    against `haversine_km` / `initial_bearing` on the real airport table, whole and in subsets, from
    random positions, from airports of the table itself, and from the poles and the antimeridian."""
    from tailwatch.itinerary.candidates import candidate_airports, subset, to_candidates

    table = candidate_airports(None)
    rng = np.random.default_rng(11)
    tables = [table] + [subset(table, np.sort(rng.choice(table["lat"].size, n, replace=False)), None)
                        for n in (1, 977, 3_700)]
    points = [(float(rng.uniform(-89, 89)), float(rng.uniform(-180, 180))) for _ in range(40)]
    points += [(90.0, 0.0), (-90.0, 45.0), (0.0, 180.0), (12.5, -180.0)]
    for cand in tables:
        lat, lon = cand["lat"], cand["lon"]
        own = rng.integers(0, lat.size, 10)
        for p_lat, p_lon in points + [(lat[k], lon[k]) for k in own]:
            km, dlon = geodesy.km_from(p_lat, p_lon, lon, cand["trig"])
            assert km.tobytes() == geodesy.haversine_km(p_lat, p_lon, lat, lon).tobytes()
            bearing = geodesy.bearing_from(p_lat, dlon, cand["trig"])
            assert bearing.tobytes() == geodesy.initial_bearing(p_lat, p_lon, lat, lon).tobytes()
            cached_km, cached_bearing = to_candidates(p_lat, p_lon, cand, bearing=True)
            assert cached_km.tobytes() == km.tobytes() and cached_bearing.tobytes() == bearing.tobytes()


def _plain_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """`haversine_km`'s formula as plain NumPy expressions, a new array per step."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * geodesy.EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def test_in_place_haversine_gives_the_plain_expressions_bits():
    """The array path works in place (a chunk's half-million points would otherwise allocate a
    fresh array per step): on the real airport table, consecutive rows and rows shifted by one to
    three (unaligned slices, as a track's `lat[:-1]`, `lat[1:]`), one point against the table, a
    40 × 40 broadcast, and short arrays (the SIMD loops' tails), it has the plain expressions' bits."""
    from tailwatch.geo.airports import airports

    frame = airports()
    lat, lon = frame["latitude"].to_numpy(), frame["longitude"].to_numpy()
    cases = [(lat[:-1], lon[:-1], lat[1:], lon[1:]), (50.1, 8.6, lat, lon),
             (lat[:40, None], lon[:40, None], lat[None, 100:140], lon[None, 100:140])]
    for shift in (1, 2, 3):
        for n in (1, 3, 7, 17, 1001, lat.size - 3):
            cases.append((lat[:n], lon[:n], lat[shift:shift + n], lon[shift:shift + n]))
    for args in cases:
        got, want = geodesy.haversine_km(*args), _plain_km(*args)
        assert got.shape == want.shape and got.tobytes() == want.tobytes()
    with np.errstate(invalid="ignore"):
        odd = (np.array([1.0, np.nan, 3.0]), np.array([2.0, 3.0, np.inf]), 3.0, np.array([4.0, 5.0, 6.0]))
        assert geodesy.haversine_km(*odd).tobytes() == _plain_km(*odd).tobytes()


def test_unit_vectors_are_the_stacked_components_bit_for_bit():
    """`to_unit_vectors` writes its components into one array: on the real airport table, a slice,
    one point and a 2-D block, the values of the three components stacked."""
    from tailwatch.geo.airports import airports

    frame = airports()
    lat, lon = frame["latitude"].to_numpy(), frame["longitude"].to_numpy()
    for a, b in ((lat, lon), (lat[1:1001], lon[2:1002]), (lat[5], lon[5]), (lat[:40].reshape(4, 10), lon[:40].reshape(4, 10))):
        p, q = np.radians(a), np.radians(b)
        want = np.stack([np.cos(p) * np.cos(q), np.cos(p) * np.sin(q), np.sin(p)], axis=-1)
        got = geodesy.to_unit_vectors(a, b)
        assert got.shape == want.shape and got.tobytes() == want.tobytes()


def test_polars_series_take_the_plain_path() -> None:
    """Columns handed over as Polars Series (tests and callers do): the in-place array path cannot
    write through a Series' ufunc hook, so these go the plain way, with the same values."""
    import polars as pl

    from tailwatch.geo.geodesy import haversine_km, to_unit_vectors

    lat = pl.Series([43.6, 48.7, -33.9, 0.0])
    lon = pl.Series([1.4, 2.4, 151.2, 179.9])
    want = haversine_km(lat.to_numpy()[:-1], lon.to_numpy()[:-1], lat.to_numpy()[1:], lon.to_numpy()[1:])
    got = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    assert np.asarray(got).tolist() == want.tolist()
    assert to_unit_vectors(lat, lon).tolist() == to_unit_vectors(lat.to_numpy(), lon.to_numpy()).tolist()
