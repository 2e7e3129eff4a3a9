"""Router on hand-made polygons against analytic shortest paths on the sphere, and on the
packaged country data for the acceptance routes (UUWW → SVMI, UDYZ → DAAG)."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from tailwatch.airspace.routing import NoRoute, Obstacles, arc_points, legal_route, shortest_path
from tailwatch.geo.geodesy import haversine_km


def _length(lat, lon) -> float:
    return float(np.sum(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])))


def _square(lon0, lon1, lat0, lat1, margin=0.03):
    return Obstacles.from_shapes([box(lon0, lat0, lon1, lat1)],
                                 [box(lon0 - margin, lat0 - margin, lon1 + margin, lat1 + margin)])


def test_square_between_two_points_matches_analytic_path():
    obst = _square(-2, 2, -2, 2)
    path = shortest_path(obst, 0.0, -10.0, 0.0, 10.0)
    # analytic: tangent to the corner (-2, 2), along the top edge to (2, 2), on to the end
    # (or the mirror image below; same length by symmetry)
    analytic = float(haversine_km(0, -10, 2, -2) + haversine_km(2, -2, 2, 2) + haversine_km(2, 2, 0, 10))
    assert path.km == pytest.approx(analytic, rel=0.01)
    assert path.km > float(haversine_km(0, -10, 0, 10))
    assert path.km == pytest.approx(_length(path.lat, path.lon), rel=1e-9)
    # the path bends only at the grown square's corners, and never enters the square
    assert len(path.lat) == 4
    for i in range(len(path.lat) - 1):
        la, lo = arc_points(path.lat[i], path.lon[i], path.lat[i + 1], path.lon[i + 1], step_km=5)
        assert not np.any((np.abs(la) < 2) & (np.abs(lo) < 2))


def test_error_shrinks_with_the_node_margin():
    analytic = float(haversine_km(0, -10, 2, -2) + haversine_km(2, -2, 2, 2) + haversine_km(2, 2, 0, 10))
    coarse = shortest_path(_square(-2, 2, -2, 2, margin=0.03), 0.0, -10.0, 0.0, 10.0).km
    fine = shortest_path(_square(-2, 2, -2, 2, margin=0.0005), 0.0, -10.0, 0.0, 10.0).km
    assert analytic < fine < coarse < analytic * 1.002
    assert fine == pytest.approx(analytic, rel=1e-4)


def test_offset_square_picks_the_short_side():
    obst = _square(-1, 1, -1, 3)  # reaches further north: going south is shorter
    path = shortest_path(obst, 0.0, -8.0, 0.0, 8.0)
    analytic = float(haversine_km(0, -8, -1, -1) + haversine_km(-1, -1, -1, 1) + haversine_km(-1, 1, 0, 8))
    assert path.km == pytest.approx(analytic, rel=0.01)
    assert np.all(path.lat <= 0.0 + 1e-9)


def test_clear_arc_is_the_great_circle():
    obst = _square(-2, 2, 10, 14)
    path = shortest_path(obst, 0.0, -10.0, 0.0, 10.0)
    assert len(path.lat) == 2
    assert path.km == pytest.approx(float(haversine_km(0, -10, 0, 10)), rel=1e-12)


def test_square_across_the_antimeridian():
    # the banned square spans 178°E..178°W, stored as two halves as the country data are
    banned = [box(178, -2, 180, 2), box(-180, -2, -178, 2)]
    grown = [box(177.97, -2.03, 180, 2.03), box(-180, -2.03, -177.97, 2.03)]
    obst = Obstacles.from_shapes(banned, grown)
    path = shortest_path(obst, 0.0, 170.0, 0.0, -170.0)
    analytic = float(haversine_km(0, 170, 2, 178) + haversine_km(2, 178, 2, -178) + haversine_km(2, -178, 0, -170))
    assert path.km == pytest.approx(analytic, rel=0.01)


def test_end_inside_banned_airspace_is_refused():
    obst = _square(-2, 2, -2, 2)
    with pytest.raises(NoRoute):
        shortest_path(obst, 0.0, 0.0, 0.0, 10.0)


def test_uuww_svmi_for_a_russian_operator():
    answer = legal_route("UUWW", "SVMI", operator_country="RU", range_km=None, when="2024-06-01")
    assert answer["direct_km"] == pytest.approx(9920, rel=0.01)
    # the great circle runs over Europe and the Atlantic through airspace closed to Russian operators
    assert {"PL", "DE"} <= set(answer["avoided"]) or {"LV", "SE"} & set(answer["avoided"])
    assert answer["distance_km"] > 9920
    crossed = {c for leg in answer["legs"] for c in leg["countries"]}
    assert not crossed & set(answer["banned"]), crossed & set(answer["banned"])


def test_udyz_daag_avoids_greece_italy_malta():
    answer = legal_route("UDYZ", "DAAG", operator_country="RU", when="2024-06-01")
    assert answer["direct_km"] == pytest.approx(3585, rel=0.01)
    assert answer["distance_km"] > 3585
    crossed = {c for leg in answer["legs"] for c in leg["countries"]}
    assert not crossed & {"GR", "IT", "MT"}
    assert not crossed & set(answer["banned"])
    assert {"GR", "IT"} <= set(answer["avoided"])


def test_arc_test_near_the_pole_and_across_the_antimeridian():
    # a small banned cap around 85°N straddling 180°, stored as two halves
    banned = [box(175, 84, 180, 86), box(-180, 84, -175, 86)]
    grown = [box(173, 83.7, 180, 86.3), box(-180, 83.7, -173, 86.3)]
    obst = Obstacles.from_shapes(banned, grown)
    assert not obst.arc_clear(83.0, 179.0, 87.0, -179.0)  # goes through it, across 180°
    assert not obst.arc_clear(85.0, 160.0, 85.0, -160.0)  # along the parallel, across 180°
    assert obst.arc_clear(80.0, 10.0, 89.5, 0.0)  # far side of the pole
    assert obst.arc_clear(70.0, 170.0, 70.0, -170.0)  # passes south of it
    assert not obst.arc_clear(82.0, 179.5, 88.0, -179.5)
    path = shortest_path(obst, 82.0, 179.5, 88.0, -179.5)
    assert path.km > float(haversine_km(82.0, 179.5, 88.0, -179.5))
    assert len(path.lat) > 2
    for i in range(len(path.lat) - 1):
        la, lo = arc_points(path.lat[i], path.lon[i], path.lat[i + 1], path.lon[i + 1], step_km=2)
        lo = (lo + 180) % 360 - 180
        assert not np.any((la > 84) & (la < 86) & (np.abs(lo) > 175))


def test_fuel_stop_is_chosen_within_range():
    from tailwatch.airspace.routing import plan_route

    obst = _square(-2, 2, -2, 2)
    o = {"icao": "AAAA", "latitude": 0.0, "longitude": -20.0}
    d = {"icao": "DDDD", "latitude": 0.0, "longitude": 20.0}
    stops = [{"icao": "NEAR", "latitude": 6.0, "longitude": 0.0},   # north of the square
             {"icao": "FARS", "latitude": -15.0, "longitude": 0.0},  # long way round
             {"icao": "BANN", "latitude": 0.0, "longitude": 0.0}]    # inside the banned square
    hops = plan_route(obst, o, d, range_km=2600.0, stops=stops)
    assert [h.origin for h in hops] + [hops[-1].destination] == ["AAAA", "NEAR", "DDDD"]
    assert all(h.path.km <= 2600.0 for h in hops)
    expected = float(haversine_km(0, -20, 6, 0) + haversine_km(6, 0, 0, 20))
    assert sum(h.path.km for h in hops) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(NoRoute):
        plan_route(obst, o, d, range_km=1500.0, stops=stops)
    # no range: one hop around the square
    (hop,) = plan_route(obst, o, d, range_km=None, stops=stops)
    assert hop.path.km < expected
