"""GeoJSON (RFC 7946), KML (OGC 2.2 schema) and CSV writers on a hand-made three-leg itinerary.

The itinerary follows the `tailwatch.itinerary/1` contract with its extras: an
observed leg, a leg with a gap and `banned_countries`, and a leg whose destination
is inferred (the points stop over the desert). Its points frame is made along
great circles with a climb/cruise/descent profile and a `leg` column.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from tailwatch.geo.geodesy import great_circle_points, haversine_km
from tailwatch.report.tracks import country_layer
from tailwatch.schema import conform

AIRPORTS = {
    "UUWW": ("Vnukovo International Airport", "RU", 55.5915, 37.2615),
    "UDYZ": ("Zvartnots International Airport", "AM", 40.1473, 44.3959),
    "DAAG": ("Houari Boumediene Airport", "DZ", 36.6910, 3.2154),
    "GOBD": ("Blaise Diagne International Airport", "SN", 14.6700, -17.0733),
}
ICAO24 = "15a2c3"


def _ref(code: str) -> dict:
    name, country, lat, lon = AIRPORTS[code]
    return {"icao": code, "name": name, "country": country, "latitude": lat, "longitude": lon}


def _z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _leg_points(leg: int, a: str, b: str, t0: datetime, hours: float, keep: tuple[float, float] | None = None,
                hole: tuple[float, float] | None = None) -> pl.DataFrame:
    """Points every 60 s along the great circle a→b; `keep` trims the fractions kept, `hole` cuts a gap."""
    la1, lo1 = AIRPORTS[a][2:]
    la2, lo2 = AIRPORTS[b][2:]
    n = int(hours * 60) + 1
    lat, lon = great_circle_points(la1, lo1, la2, lo2, n)
    frac = np.linspace(0, 1, n)
    minutes = frac * hours * 60
    climb = np.clip(minutes / 20, 0, 1)
    descent = np.clip((hours * 60 - minutes) / 25, 0, 1)
    alt = 33000 * np.minimum(climb, descent)
    mask = np.ones(n, bool)
    if keep:
        mask &= (frac >= keep[0]) & (frac <= keep[1])
    if hole:
        mask &= ~((frac > hole[0]) & (frac < hole[1]))
    times = [t0 + timedelta(minutes=float(m)) for m in minutes]
    frame = pl.DataFrame({
        "timestamp": times, "icao24": ICAO24, "callsign": "RFF7065",
        "latitude": lat, "longitude": lon, "altitude": alt, "groundspeed": 430.0, "source": "test",
        "onground": alt < 50,
    }).filter(pl.Series(mask))
    return conform(frame.with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))).with_columns(pl.lit(leg).alias("leg"))


def sample() -> tuple[dict, pl.DataFrame]:
    """The hand-made itinerary JSON and its points frame."""
    t0 = datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)
    t1 = datetime(2025, 10, 3, 8, 0, tzinfo=timezone.utc)
    t2 = datetime(2025, 10, 5, 10, 0, tzinfo=timezone.utc)
    p0 = _leg_points(0, "UUWW", "UDYZ", t0, 3.0)
    p1 = _leg_points(1, "UDYZ", "DAAG", t1, 5.0, hole=(0.35, 0.7))
    p2 = _leg_points(2, "DAAG", "GOBD", t2, 5.5, keep=(0.0, 0.3))
    points = pl.concat([p0, p1, p2])

    def span(p):
        return _z(p["timestamp"].min()), _z(p["timestamp"].max())

    def gc(a, b):
        return float(haversine_km(*AIRPORTS[a][2:], *AIRPORTS[b][2:]))

    def flown(p):
        lat, lon = p["latitude"].to_numpy(), p["longitude"].to_numpy()
        return float(np.sum(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])))

    # the gap of leg 1: last point before the hole, first after
    before = p1.filter(pl.col("timestamp") < t1 + timedelta(hours=2.5)).tail(1).row(0, named=True)
    after = p1.filter(pl.col("timestamp") > t1 + timedelta(hours=2.5)).head(1).row(0, named=True)
    gap = {"start": _z(before["timestamp"]), "end": _z(after["timestamp"]), "lat1": before["latitude"],
           "lon1": before["longitude"], "lat2": after["latitude"], "lon2": after["longitude"],
           "km": float(haversine_km(before["latitude"], before["longitude"], after["latitude"], after["longitude"]))}
    legs = [
        {"origin": _ref("UUWW"), "destination": _ref("UDYZ"), "takeoff": _z(t0), "landing": _z(t0 + timedelta(hours=3)),
         "origin_evidence": "observed", "destination_evidence": "observed", "confidence": 0.97,
         "great_circle_km": gc("UUWW", "UDYZ"), "flown_km": flown(p0), "countries": ["RU", "GE", "AM"],
         "banned_countries": [], "max_payload_t": 47.0, "payload_band_t": [42.0, 50.0],
         "first_point": span(p0)[0], "last_point": span(p0)[1], "n_points": p0.height,
         "reasons": ["take-off and landing observed at the airports"], "alternatives": [], "gaps": []},
        {"origin": _ref("UDYZ"), "destination": _ref("DAAG"), "takeoff": _z(t1), "landing": _z(t1 + timedelta(hours=5)),
         "origin_evidence": "observed", "destination_evidence": "observed", "confidence": 0.9,
         "great_circle_km": gc("UDYZ", "DAAG"), "flown_km": flown(p1) + gap["km"], "countries": ["AM", "GE", "TR", "GR", "IT", "TN", "DZ"],
         "banned_countries": ["GR", "IT"], "max_payload_t": 38.5, "payload_band_t": [33.0, 42.0],
         "first_point": span(p1)[0], "last_point": span(p1)[1], "n_points": p1.height,
         "reasons": ["take-off and landing observed", f"gap of {gap['km']:.0f} km over the sea bridged by a great circle"],
         "alternatives": [], "gaps": [gap]},
        {"origin": _ref("DAAG"), "destination": _ref("GOBD"), "takeoff": _z(t2), "landing": _z(t2 + timedelta(hours=5, minutes=30)),
         "origin_evidence": "observed", "destination_evidence": "inferred", "confidence": 0.55,
         "great_circle_km": gc("DAAG", "GOBD"), "flown_km": flown(p2), "countries": ["DZ", "ML", "MR", "SN"],
         "banned_countries": [], "max_payload_t": None,
         "first_point": span(p2)[0], "last_point": span(p2)[1], "n_points": p2.height,
         "reasons": ["points end in cruise with no coverage", "next take-off seen at GOBD; only long runway on the track"],
         "alternatives": [{"icao": "GQNO", "score": 0.2}], "gaps": []},
    ]
    itin = {
        "schema": "tailwatch.itinerary/1",
        "aircraft": {"icao24": ICAO24, "registration": "RA-78765", "typecode": "IL76", "country": "RU",
                     "operator": "test operator", "watchlists": [{"list": "test-list", "id": "T-1", "source": "hand-made fixture"}]},
        "legs": legs,
        "route": {"airports": ["UUWW", "UDYZ", "DAAG", "GOBD"], "direct_km": gc("UUWW", "GOBD"),
                  "flown_km": sum(l["flown_km"] for l in legs), "legal_shortest_km": 7423.3,
                  # the router's answer as the airspace step passes it on: waypoints are [lat, lon]
                  "legal_route": {"airports": ["UUWW", "LTBS", "GOBD"], "legs": [
                      {"origin": "UUWW", "destination": "LTBS", "waypoints": [[55.5915, 37.2615], [36.7131, 28.7925]]},
                      {"origin": "LTBS", "destination": "GOBD", "waypoints": [[36.7131, 28.7925], [14.67, -17.0733]]}]}},
    }
    return itin, points


# ---------------------------------------------------------------- RFC 7946 checks

def _ring_area(ring: list) -> float:
    xy = np.asarray(ring)
    return 0.5 * float(np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]))


def _check_position(p) -> None:
    assert isinstance(p, list) and 2 <= len(p) <= 3, p
    lon, lat = p[0], p[1]
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in p), p
    assert -180 <= lon <= 180 and -90 <= lat <= 90, p


def _check_line(coords: list) -> None:
    assert len(coords) >= 2
    for p in coords:
        _check_position(p)
    lons = np.asarray(coords)[:, 0]
    assert np.all(np.abs(np.diff(lons)) <= 180), "a line crosses the antimeridian without being split"


def _check_polygon(rings: list) -> None:
    for i, ring in enumerate(rings):
        assert len(ring) >= 4 and ring[0] == ring[-1], "linear rings are closed with >= 4 positions"
        for p in ring:
            _check_position(p)
        area = _ring_area(ring)
        assert (area > 0) if i == 0 else (area < 0), "exterior ring counter-clockwise, holes clockwise"


def validate_rfc7946(doc: dict) -> None:
    """The RFC 7946 rules a consumer relies on (structure, order, rings, no crs)."""
    assert doc["type"] == "FeatureCollection" and isinstance(doc["features"], list)
    assert "crs" not in doc
    checks = {
        "Point": lambda c: _check_position(c),
        "MultiPoint": lambda c: [_check_position(p) for p in c],
        "LineString": _check_line,
        "MultiLineString": lambda c: [_check_line(l) for l in c],
        "Polygon": _check_polygon,
        "MultiPolygon": lambda c: [_check_polygon(p) for p in c],
    }
    for f in doc["features"]:
        assert f["type"] == "Feature" and "crs" not in f
        assert isinstance(f["properties"], dict)
        g = f["geometry"]
        if g is None:  # RFC 7946 §3.2: an unlocated feature (an unknown stop) has null geometry
            assert "geometry" in f
            continue
        assert g["type"] in checks, g["type"]
        checks[g["type"]](g["coordinates"])


# ---------------------------------------------------------------- tests

@pytest.fixture(scope="module")
def itinerary():
    return sample()


def test_geojson_is_rfc7946_with_points_legs_stops(itinerary, tmp_path):
    from tailwatch.report.geojson import write_geojson

    itin, points = itinerary
    (path,) = write_geojson([itin], {ICAO24: points}, tmp_path / "it.geojson")
    doc = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    validate_rfc7946(doc)
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    # point features: the first of each minute of a leg, plus its last when that is not the first of its
    # minute (counted here without the writer's code); the sample's points are a minute or more apart
    minutes = points.with_columns(minute=pl.col("timestamp").dt.truncate("1m"))
    per_minute = minutes.select("leg", "minute").unique().height
    last_shares = minutes.group_by("leg").agg(
        (pl.col("minute") == pl.col("minute").sort_by("timestamp").last()).sum() > 1)["minute"].sum()
    assert kinds.count("point") == per_minute + last_shares == points.height
    assert "points.csv" in doc["points"]
    stops = [f for f in doc["features"] if f["properties"]["kind"] == "stop"]
    assert [s["properties"]["icao"] for s in stops] == ["UUWW", "UDYZ", "DAAG", "GOBD"]
    # lon, lat order: Vnukovo is at 37.26 E, 55.59 N
    assert stops[0]["geometry"]["coordinates"] == pytest.approx([37.2615, 55.5915])
    assert stops[-1]["properties"]["evidence"] == "inferred"
    legs = [f["properties"] for f in doc["features"] if f["properties"]["kind"] == "leg"]
    assert [(l["origin"], l["destination"], l["evidence"]) for l in legs] == [
        ("UUWW", "UDYZ", "observed"), ("UDYZ", "DAAG", "mixed"), ("DAAG", "GOBD", "mixed")]
    assert [l["n_points"] for l in legs] == [l["n_points"] for l in itin["legs"]]
    segs = [f["properties"] for f in doc["features"] if f["properties"]["kind"] == "leg_segment"]
    # leg 0 one observed run; leg 1 observed / inferred gap / observed; leg 2 observed then an inferred stub to GOBD
    assert [(s["leg"], s["evidence"]) for s in segs] == [
        (0, "observed"), (1, "observed"), (1, "inferred"), (1, "observed"), (2, "observed"), (2, "inferred")]
    gap = itin["legs"][1]["gaps"][0]
    assert segs[2]["start"] == gap["start"] and segs[2]["end"] == gap["end"]
    assert segs[1]["banned_countries"] == ["GR", "IT"]
    assert segs[5]["why"] == "points end away from the destination airport"
    legal = [f for f in doc["features"] if f["properties"]["kind"] == "legal_route"]
    assert len(legal) == 2 and legal[0]["geometry"]["coordinates"][0] == pytest.approx([37.2615, 55.5915])
    if country_layer() is not None:
        banned = [f for f in doc["features"] if f["properties"]["kind"] == "banned_airspace"]
        assert [f["properties"]["country"] for f in banned] == ["GR", "IT"]
        assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in banned)


def test_geojson_is_sized_for_a_map_every_position_stays_in_csv(tmp_path):
    """A point a second: point features one a minute (plus the last), lines within ~550 m of the points."""
    from tailwatch.report.csv import write_csv
    from tailwatch.report.geojson import TRACK_TOLERANCE_DEG, render_geojson

    n = 3 * 3600 + 17
    lat, lon = great_circle_points(55.59, 37.26, 40.15, 44.40, n)  # Vnukovo → Yerevan, a position each second
    lat = lat + 0.01 * np.sin(np.arange(n) / 300.0)  # a weave the simplification must follow to within tolerance
    t = [datetime(2025, 10, 1, 6, 0, 0, 500000, tzinfo=timezone.utc) + timedelta(seconds=i) for i in range(n)]
    pts = conform(pl.DataFrame({"timestamp": t, "icao24": "abc123", "latitude": lat, "longitude": lon,
                                "source": "test"})).with_columns(pl.lit(0).alias("leg"))
    itin = {"aircraft": {"icao24": "abc123"}, "legs": [{
        "origin": {"icao": "UUWW", "latitude": 55.59, "longitude": 37.26},
        "destination": {"icao": "UDYZ", "latitude": 40.15, "longitude": 44.40},
        "takeoff": _z(t[0]), "landing": _z(t[-1]), "gaps": []}]}
    doc = render_geojson([itin], {"abc123": pts})
    validate_rfc7946(doc)
    points = [f for f in doc["features"] if f["properties"]["kind"] == "point"]
    assert len(points) == 3 * 60 + 1 + 1  # 181 minutes begun, and the last position
    assert points[0]["properties"]["timestamp"] == _z(t[0])[:19] + "Z" and points[-1]["properties"]["timestamp"] == _z(t[-1])[:19] + "Z"
    (seg,) = [f for f in doc["features"] if f["properties"]["kind"] == "leg_segment"]
    line = np.asarray(seg["geometry"]["coordinates"])
    assert 10 < len(line) < n / 20  # far fewer vertices than points, still the weave
    assert line[0] == pytest.approx([lon[0], lat[0]], abs=1e-5) and line[-1] == pytest.approx([lon[-1], lat[-1]], abs=1e-5)
    import shapely

    drawn = shapely.linestrings(line)
    off = shapely.distance(shapely.points(np.column_stack([lon, lat])), drawn)
    assert off.max() <= TRACK_TOLERANCE_DEG + 1e-5
    assert "points.csv" in doc["points"]
    # the CSV keeps every position
    paths = write_csv([itin], {"abc123": pts}, tmp_path / "it.csv")
    rows = pl.read_csv([p for p in paths if p.name.endswith("points.csv")][0])
    assert rows.height == n


def test_geojson_splits_lines_at_the_antimeridian():
    from tailwatch.report.geojson import render_geojson

    # Anchorage → Petropavlovsk-Kamchatsky: crosses 180°
    lat, lon = great_circle_points(61.17, -149.99, 53.17, 158.45, 40)
    t = [datetime(2025, 10, 1, tzinfo=timezone.utc) + timedelta(minutes=5 * i) for i in range(40)]
    pts = conform(pl.DataFrame({"timestamp": t, "icao24": "abc123", "latitude": lat, "longitude": lon,
                                "source": "test"})).with_columns(pl.lit(0).alias("leg"))
    itin = {"aircraft": {"icao24": "abc123"}, "legs": [{
        "origin": {"icao": "PANC", "latitude": 61.17, "longitude": -149.99},
        "destination": {"icao": "UHPP", "latitude": 53.17, "longitude": 158.45},
        "takeoff": "2025-10-01T00:00:00Z", "landing": "2025-10-01T03:15:00Z", "gaps": []}]}
    doc = render_geojson([itin], {"abc123": pts})
    validate_rfc7946(doc)
    (seg,) = [f for f in doc["features"] if f["properties"]["kind"] == "leg_segment"]
    assert seg["geometry"]["type"] == "MultiLineString"
    a, b = seg["geometry"]["coordinates"]
    assert abs(a[-1][0]) == 180 and a[-1][0] == -b[0][0] and a[-1][1] == pytest.approx(b[0][1])


def test_kml_validates_against_ogc_schema_and_parses(itinerary, tmp_path):
    from fastkml import KML
    from fastkml.validator import validate
    from lxml import etree

    from tailwatch.report.kml import write_kml

    itin, points = itinerary
    (path,) = write_kml([itin], {ICAO24: points}, tmp_path / "it.kml", notice="SIMULATED test")
    assert validate(file_to_validate=path)  # ogckml22.xsd + kml22gx.xsd shipped with fastkml
    ns = {"k": "http://www.opengis.net/kml/2.2", "gx": "http://www.google.com/kml/ext/2.2"}
    tree = etree.parse(str(path))
    leg_folders = tree.xpath("/k:kml/k:Document/k:Folder/k:Folder[starts-with(k:name, 'Leg ')]", namespaces=ns)
    assert [f.findtext("k:name", namespaces=ns) for f in leg_folders] == [
        "Leg 1: UUWW → UDYZ", "Leg 2: UDYZ → DAAG", "Leg 3: DAAG → GOBD"]
    tracks = tree.xpath("//gx:Track", namespaces=ns)
    assert len(tracks) == 4  # observed runs: 1 + 2 + 1
    whens = sum(len(t.findall("k:when", ns)) for t in tracks)
    coords = sum(len(t.findall("gx:coord", ns)) for t in tracks)
    assert whens == coords == points.height
    assert len(tree.xpath("//k:Placemark[k:styleUrl='#legal']/k:LineString", namespaces=ns)) == 2
    inferred = tree.xpath("//k:Placemark[k:styleUrl='#inferred']", namespaces=ns)
    assert len(inferred) == 2 and all(p.find("k:LineString", ns) is not None for p in inferred)
    assert tree.xpath("//k:Style[@id='inferred']", namespaces=ns)
    assert "SIMULATED" in tree.findtext("k:Document/k:name", namespaces=ns)
    doc = KML.parse(path)
    folders = [f.name for f in doc.features[0].features]
    assert folders[0] == "RA-78765 (15a2c3)"
    if country_layer() is not None:  # banned airspace shaded from the packaged shapes
        assert folders[1] == "Banned airspace (for the operator)"
        names = tree.xpath("//k:Folder[k:name='Banned airspace (for the operator)']/k:Placemark/k:name/text()", namespaces=ns)
        assert names == ["GR", "IT"]
        assert tree.xpath("//k:Placemark[k:styleUrl='#banned']//k:Polygon", namespaces=ns)


def test_csv_writes_legs_and_points(itinerary, tmp_path):
    from tailwatch.report.csv import write_csv

    itin, points = itinerary
    legs_path, points_path = write_csv([itin], {ICAO24: points}, tmp_path / "it.csv")
    assert (legs_path.name, points_path.name) == ("it.legs.csv", "it.points.csv")
    legs = pl.read_csv(legs_path)
    assert legs["origin"].to_list() == ["UUWW", "UDYZ", "DAAG"]
    assert legs["destination_evidence"].to_list() == ["observed", "observed", "inferred"]
    assert legs["banned_countries"].to_list()[1] == "GR;IT"
    assert legs["gaps"].to_list() == [0, 1, 0]
    pts = pl.read_csv(points_path)
    assert pts.height == points.height
    assert pts.group_by("leg").len().sort("leg")["len"].to_list() == legs["n_points"].to_list()
    folder = write_csv([itin], {ICAO24: points}, tmp_path / "csvdir")
    assert [p.name for p in folder] == ["legs.csv", "points.csv"]


@pytest.mark.parametrize("fmt", ["html", "geojson", "kml", "csv"])
def test_format_dispatch_to_file_and_text(itinerary, tmp_path, fmt):
    from tailwatch.report.formats import FORMATS, render_report, write_report

    itin, points = itinerary
    paths = write_report(fmt, [itin], {ICAO24: points}, tmp_path / f"it{FORMATS[fmt][3]}", notice="SIMULATED x")
    assert paths and all(p.stat().st_size > 200 for p in paths)
    text = render_report(fmt, [itin], {ICAO24: points}, notice="SIMULATED x")
    assert "SIMULATED x" in text and "UDYZ" in text


def test_simulated_points_label_every_output(itinerary):
    """Points from the simulator carry `source = simulated`: every writer says so without being told."""
    from tailwatch.report.formats import render_report

    itin, points = itinerary
    sim = {ICAO24: points.with_columns(pl.lit("simulated").alias("source"))}
    for fmt in ("html", "geojson", "kml", "csv"):
        assert "SIMULATED" in render_report(fmt, [itin], sim), fmt
        assert "SIMULATED" not in render_report(fmt, [itin], {ICAO24: points}), fmt


def test_writers_accept_an_aircraft_with_no_legs(tmp_path):
    """Seen only on the ground (or not at all) in the window: every writer still produces a valid file."""
    from fastkml.validator import validate

    from tailwatch.report.formats import write_report
    from tailwatch.schema import empty_points

    itin = {"schema": "tailwatch.itinerary/1", "aircraft": {"icao24": "abcdef", "watchlists": []}, "legs": [],
            "route": {"airports": [], "direct_km": 0.0, "flown_km": 0.0, "legal_shortest_km": None}}
    points = {"abcdef": empty_points()}
    (gj,) = write_report("geojson", [itin], points, tmp_path / "a.geojson")
    validate_rfc7946(json.loads(gj.read_text()))
    (kml,) = write_report("kml", [itin], points, tmp_path / "a.kml")
    assert validate(file_to_validate=kml)
    (page,) = write_report("html", [itin], points, tmp_path / "a.html")
    assert '<svg class="map"' in page.read_text()
    legs, pts = write_report("csv", [itin], points, tmp_path / "a.csv")
    assert pl.read_csv(legs).height == 0 and pts.exists()
