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
