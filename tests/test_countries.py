"""Packaged country polygons: jurisdiction codes, controlling states, EU territory, territorial sea, antimeridian."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import shapely

from tailwatch.geo import countries
from tailwatch.geo.geodesy import destination


def test_every_row_has_source_and_as_of():
    table = pl.read_parquet(countries._data_path())
    assert table.height == 3 * table['iso2'].n_unique() and table['iso2'].n_unique() > 190
    assert table["source"].null_count() == 0 and table["as_of"].null_count() == 0
    assert set(table["layer"].unique()) == set(countries.LAYERS)


def test_iso_codes_jurisdictions_and_controlling_states():
    land = countries.country_shapes()
    for code in ("FR", "NO", "RU", "US", "GB", "DK", "CN", "NL", "XK", "CW", "BQ", "GL", "GI", "PR"):
        assert code in land, code
    # outermost regions are drawn inside France; Natural Earth's -99 never leaks
    for code in ("MQ", "GP", "GF", "RE", "YT", "-99"):
        assert code not in land, code
    places = {  # (lat, lon) → (jurisdiction, controlling state)
        (14.64, -61.02): ("FR", "FR"),  # Martinique
        (16.17, -61.68): ("FR", "FR"),  # Basse-Terre, Guadeloupe
        (4.93, -52.33): ("FR", "FR"),   # Cayenne, French Guiana
        (-21.1, 55.5): ("FR", "FR"),    # Réunion
        (78.22, 15.65): ("NO", "NO"),   # Svalbard
        (72.0, -40.0): ("GL", "DK"),    # Greenland ice sheet
        (62.0, -6.8): ("FO", "DK"),     # Faroe Islands
        (36.14, -5.35): ("GI", "GB"),   # Gibraltar
        (22.3, 114.17): ("HK", "CN"),   # Hong Kong
        (18.25, -66.5): ("PR", "US"),   # Puerto Rico
        (12.5, -69.97): ("AW", "NL"),   # Aruba
        (12.17, -68.9): ("CW", "NL"),   # Curaçao
        (12.15, -68.27): ("BQ", "NL"),  # Bonaire
        (52.37, 4.9): ("NL", "NL"),     # Amsterdam
        (35.9, 14.5): ("MT", "MT"),     # Malta
        (35.5, 12.6): ("IT", "IT"),     # Lampedusa
        (55.6, 37.3): ("RU", "RU"),     # Moscow
        (54.7, 20.5): ("RU", "RU"),     # Kaliningrad
    }
    lat = np.array([p[0] for p in places])
    lon = np.array([p[1] for p in places])
    codes = [v[0] for v in places.values()]
    assert list(countries.locate(lat, lon)) == codes
    assert list(countries.locate(lat, lon, layer="land")) == codes
    state = countries.states()
    assert [state[c] for c in codes] == [v[1] for v in places.values()]


def test_eu_territory_flags():
    eu = countries.eu_territories()
    member_states = set("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())
    assert eu == member_states | {"MF", "AX"}
    # Annex II overseas countries and territories, the Faroes and non-members' territories are not
    for code in ("GL", "FO", "AW", "CW", "SX", "BQ", "PF", "NC", "PM", "WF", "BL", "TF", "GI", "PR", "GB", "NO"):
        assert code not in eu, code
    # the Netherlands keeps no Caribbean land
    assert countries.country_shapes()["NL"].bounds[0] > 3.0


def test_antimeridian_and_high_latitudes():
    lat = np.array([66.0, 65.5, 68.0, -16.6, -17.7, 52.9, 80.0, 89.0, -80.0])
    lon = np.array([170.0, -175.0, 179.99, 179.9, 178.0, 173.0, 50.0, 0.0, 0.0])
    got = list(countries.locate(lat, lon))
    assert got == ["RU", "RU", "RU", "FJ", "FJ", "US", "RU", None, "AQ"]
    # longitudes outside [-180, 180) are wrapped
    assert list(countries.locate(np.array([66.0]), np.array([170.0 - 360.0]))) == ["RU"]


def test_territorial_sea_is_12_nm_on_the_sphere():
    """Points 15 km and 30 km off a straight coast: inside, then outside the airspace."""
    # open coasts only: Malta to the south-south-west, Snæfellsnes (Iceland) and Cabo da Roca west
    for lat0, lon0, bearing in ((35.85, 14.45, 200.0), (64.85, -23.7, 270.0), (38.78, -9.45, 270.0)):
        inland = countries.locate(np.array([lat0]), np.array([lon0]), layer="land")[0]
        coast = countries.country_shapes()[inland]
        # walk out from the coast: the first point at sea, then 15 / 30 km beyond it
        d = np.arange(0, 60, 0.5)
        la, lo = destination(np.full(d.size, lat0), np.full(d.size, lon0), np.full(d.size, bearing), d)
        at_sea = d[~shapely.contains_xy(coast, lo, la)][0]
        la2, lo2 = destination(np.full(2, lat0), np.full(2, lon0), np.full(2, bearing), at_sea + np.array([15.0, 30.0]))
        inside = countries.locate(la2, lo2)
        assert inside[0] == inland, (lat0, lon0, inside)
        assert inside[1] is None, (lat0, lon0, inside)


def test_locate_is_vectorised_and_fast():
    import time

    rng = np.random.default_rng(1)
    lat = rng.uniform(-60, 75, 100_000)
    lon = rng.uniform(-180, 180, 100_000)
    countries.locate(lat[:10], lon[:10])  # warm
    t0 = time.perf_counter()
    got = countries.locate(lat, lon)
    elapsed = time.perf_counter() - t0
    assert got.shape == lat.shape
    share_land = np.mean(got != None)  # noqa: E711
    assert 0.2 < share_land < 0.45  # about 30 % of the Earth is land (+ territorial sea)
    assert elapsed < 5.0


@pytest.mark.parametrize("code", ["FR", "RU", "US", "GR"])
def test_airspace_contains_land(code):
    land, air = countries.country_shapes()[code], countries.airspace_shapes()[code]
    assert air.area > land.area
    # land simplified at 0.005° may stick out of airspace simplified at 0.01° by < 1 km only
    assert shapely.difference(land, air.buffer(0.01)).area < 1e-6 * land.area + 1e-9


@pytest.mark.parametrize("layer", ["airspace", "land"])
def test_grid_cells_answer_as_every_point_tested_against_the_polygons(layer, traffic_samples):
    """`locate` lets a grid cell wholly inside one polygon (or outside all) answer for its points;
    that must be exactly what testing each point gives: real tracks over Europe's borders and
    coasts, points scattered over the globe, and points right at the cell edges, a border, the
    poles and the antimeridian, and non-finite ones."""
    from tailwatch.ingest.pipeline import read_file

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null())
    rng = np.random.default_rng(29)
    lat = np.r_[frame["latitude"].to_numpy(), rng.uniform(-90, 90, 60_000),
                np.round(rng.uniform(-60, 70, 20_000) / 0.05) * 0.05,  # on cell corners and edges
                49.0, 90.0, -90.0, 65.5, 65.5, np.nan, 10.0]
    lon = np.r_[frame["longitude"].to_numpy(), rng.uniform(-180, 180, 60_000),
                np.round(rng.uniform(-180, 180, 20_000) / 0.01) * 0.01,
                -100.0, 0.0, 0.0, 180.0, -180.0, 5.0, np.inf]
    index = countries.spatial_index(layer)
    fast = countries.locate(lat, lon, layer=layer)
    with np.errstate(invalid="ignore"):
        exact = countries._exact(lat, (lon + 180.0) % 360.0 - 180.0, index, layer)
    assert (fast == exact).all(), np.flatnonzero(fast != exact)[:10]
    found = {c for c in fast if c is not None}
    assert {"DE", "FR", "CH", "AT", "US", "RU"} <= found
    assert fast.reshape(-1)[:1].shape == (1,) and countries.locate(lat[:6].reshape(2, 3), lon[:6].reshape(2, 3),
                                                                   layer=layer).shape == (2, 3)


def _claimant_by_claimant(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Airspace jurisdiction of each point the long way: every polygon part holding it, and where
    several jurisdictions claim it, each claimant's land measured with `_Coast.distance` (its every
    part tested, its coastline searched), the nearer winning, ties in the polygons' order."""
    index = countries.spatial_index("airspace")
    out = np.full(lat.size, None, dtype=object)
    pi, gi = index.tree.query(shapely.points(lon, lat))
    hold = np.array([shapely.contains_xy(index.parts[g], lon[p], lat[p]) for p, g in zip(pi, gi)], dtype=bool)
    pi, gi = pi[hold], gi[hold]
    order = np.argsort(gi, kind="stable")
    pi, gi = pi[order], gi[order]
    for p in np.unique(pi):
        owners = index.owners[gi[pi == p]]
        dist = []
        for code in owners:
            coast = countries._coast(code)
            dist.append(np.inf if coast is None else float(coast.distance(
                lon[p:p + 1], lat[p:p + 1], np.cos(np.radians(lat[p:p + 1])))[0]))
        out[p] = owners[int(np.argmin(dist))]
    return out


def test_contested_points_go_to_the_nearer_land_as_measured_claimant_by_claimant():
    """Within 12 NM of a land border two airspaces overlap, and in a strait two territorial seas:
    `locate` settles a point on one claimant's land by one query of the land layer (and whole
    grid cells inside one land and its airspace, touching no other land), and measures coastlines
    only for points on no claimant's land. Every answer must be the one measuring each claimant's
    land for each point gives: dense points over land borders (Alps, Benelux, the Balkans, the
    Caucasus) and straits (Øresund, Dover, Gibraltar, Bosporus, Corfu, Bab-el-Mandeb, Hormuz)."""
    rng = np.random.default_rng(7)
    boxes = [(45.5, 48.5, 5.5, 13.5), (49.0, 51.8, 2.5, 7.0), (41.0, 46.0, 13.5, 23.0), (40.0, 43.6, 40.0, 49.0),
             (55.3, 56.3, 12.3, 13.2), (50.7, 51.3, 1.2, 2.2), (35.8, 36.2, -5.8, -5.2), (40.9, 41.3, 28.9, 29.2),
             (39.4, 39.9, 19.8, 20.2), (12.4, 12.8, 43.2, 43.6), (26.2, 26.8, 56.0, 56.6)]
    lat = np.concatenate([rng.uniform(a, b, 1500) for a, b, _, _ in boxes])
    lon = np.concatenate([rng.uniform(c, d, 1500) for _, _, c, d in boxes])
    long_way = _claimant_by_claimant(lat, lon)
    index = countries.spatial_index("airspace")
    assert (countries._exact(lat, lon, index, "airspace") == long_way).all()
    countries._cells.clear()  # cells worked out now, then answered from what was kept
    for _ in range(2):
        fast = countries.locate(lat, lon)
        assert (fast == long_way).all(), np.flatnonzero(fast != long_way)[:10]
    assert {"DE", "CH", "AT", "FR", "IT", "BE", "NL", "LU", "DK", "SE", "GB", "ES", "MA", "GI", "TR", "GR", "AL",
            "YE", "DJ", "ER", "OM", "IR", "GE", "AZ", "AM", "RU"} <= {c for c in fast if c is not None}
    assert {size for _, size in countries._cells} == set(countries.GRID_DEG)


def test_kept_cells_answer_as_fresh_ones():
    """A cell's answer is kept for later calls (a fleet flies over the same cells every day): the
    same points answer the same whether their cells are new, kept, or some of each, and a cache
    that started over answers the same."""
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(35, 60, 30_000), rng.uniform(-10, 40, 30_000)
    countries._cells.clear()
    first = countries.locate(lat[:10_000], lon[:10_000])
    mixed = countries.locate(lat, lon)  # a third of the cells kept, the rest new
    assert (mixed[:10_000] == first).all()
    kept = countries.locate(lat, lon)
    countries._cells.clear()
    assert (kept == mixed).all() and (countries.locate(lat[::-1], lon[::-1])[::-1] == mixed).all()
    ids, codes = countries.locate_ids(lat, lon)
    assert ids.dtype.kind == "i" and (np.where(ids < 0, None, codes[np.maximum(ids, 0)]) == mixed).all()


def test_longitudes_wrapped_as_the_remainder_gives_them(traffic_samples):
    """`locate` wraps longitudes as `(lon + 180) % 360 - 180`, the remainder taken only outside
    [-180, 180): the same floats to the bit, on the real quickstart's longitudes and on the edges
    (±180, ±0, values that round to 180 when shifted, one and two turns away, NaN and infinities)."""
    from tailwatch.geo.countries import _wrapped
    from tailwatch.ingest.pipeline import read_file

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    real = frame["longitude"].drop_nulls().to_numpy()
    edges = np.array([-180.0, 180.0, -0.0, 0.0, 1e-20, -1e-20, 179.99999999999997, -180.00000000000003,
                      540.0, -540.0, 359.9999999999999, 719.5, -725.25, 1e300, -1e300, 5e-324,
                      np.nan, np.inf, -np.inf])
    lon = np.r_[real, real + 360.0, real - 720.0, edges]
    with np.errstate(invalid="ignore"):
        want = (lon + 180.0) % 360.0 - 180.0
        got = _wrapped(lon)
    known = ~np.isnan(want)
    assert np.array_equal(np.isnan(got), ~known)
    assert np.array_equal(got[known].view(np.int64), want[known].view(np.int64))
