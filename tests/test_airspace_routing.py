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
                                 [box(lon0 - margin, lat0 - margin, lon1 + margin, lat1 + margin)],
                                 raster_deg=0.005)


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
    obst = Obstacles.from_shapes(banned, grown, raster_deg=0.005)
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
