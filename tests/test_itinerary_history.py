"""The aircraft's own history as the prior for unseen stops: it confirms the track, never overturns it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from tailwatch.geo.airports import airport
from tailwatch.geo.geodesy import destination, initial_bearing
from tailwatch.itinerary.history import airports_used
from tailwatch.engines.duckdb_itinerary import history_from_archive
from tailwatch.itinerary.stops import Context, Side, infer_end

T = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)


def descending_towards(code: str, bearing_from: float, km: float = 30.0) -> Side:
    a = airport(code)
    lat, lon = destination(a["latitude"], a["longitude"], bearing_from, km)
    track = float(initial_bearing(lat, lon, a["latitude"], a["longitude"]))
    return Side(T, float(lat), float(lon), alt=6_000.0, track=track, gs=250.0, vrate=-1_200.0)


@pytest.mark.parametrize("bearing", [270.0, 300.0])
def test_history_resolves_a_city_of_airports_only_where_the_track_agrees(bearing):
    side = descending_towards("UUDD", bearing)  # last heard 30 km west of Domodedovo, descending towards it
    il76 = dict(cruise_kt=424.0, min_runway_ft=5_577.0)
    alone = infer_end(side, True, ctx=Context.of(**il76))
    # Moscow's airports all fit a descent from 6,000 ft: without history, "unknown, candidates"
    assert alone.airport is None and alone.evidence == "unknown"
    assert [c.airport["icao"] for c in alone.alternatives][0] == "UUDD"
    assert alone.score > alone.runner_up_score > 0.75 * alone.score
    # seen at Domodedovo on earlier days: the prior confirms what the track leans to
    known = infer_end(side, True, ctx=Context.of(**il76, used={"UUDD": 3}))
    assert known.airport["icao"] == "UUDD" and known.evidence == "inferred"
    assert known.runner_up_score < 0.75 * known.score
    assert any("history prior" in r for r in known.reasons)
    # a history at airports the track fits worse never makes them the answer
    for other in ("UUWW", "UUEE"):
        stop = infer_end(side, True, ctx=Context.of(**il76, used={other: 3}))
        assert stop.airport is None and stop.evidence == "unknown", other


def test_barred_jurisdictions_are_never_a_stop():
    side = descending_towards("EPWA", 90.0, 25.0)  # Warsaw, in the EU
    free = infer_end(side, True, ctx=Context.of(424.0, 5_577.0))
    assert free.airport is not None and free.airport["country"] == "PL"
    barred = infer_end(side, True, ctx=Context.of(424.0, 5_577.0, banned=["PL"]))
    assert barred.airport is None or barred.airport["country"] != "PL"
    assert all(c.airport["country"] != "PL" for c in barred.alternatives)


@pytest.fixture(scope="module")
def demo_trip():
    from tailwatch.sim.scenario import demo_scenario

    return demo_scenario(other_flights=5)


def test_airports_used_counts_only_observed_presence(demo_trip):
    used = airports_used(demo_trip.trip_points())
    # seen on the ground or low at these (simulated receivers), never at the Sahara/Sahel stops
    assert {"UUWW", "UDYZ", "DAAG", "SVMI", "MUHA", "MNMG", "URSS"} <= set(used)
    assert not {"GQNO", "GMME"} & set(used)
    assert used["SVMI"] >= 2  # Caracas on two days
    assert list(used.values()) == sorted(used.values(), reverse=True)


def test_history_from_archive_matches_the_points(demo_trip, tmp_path: Path):
    from tailwatch.archive import write_frames

    pts = demo_trip.points
    write_frames(tmp_path / "arc", [pts], digest="demo")
    got = history_from_archive(tmp_path / "arc", [demo_trip.icao24])
    assert got == airports_used(demo_trip.trip_points())
    before = history_from_archive(tmp_path / "arc", [demo_trip.icao24], end=datetime(2025, 10, 6, tzinfo=timezone.utc))
    assert set(before) < set(got) and "MNMG" not in before  # Managua came later
    assert history_from_archive(tmp_path / "arc", ["000001"]) == {}
    assert airports_used(pl.DataFrame()) == {}


def test_a_batch_history_reads_only_what_presence_needs(traffic_samples, tmp_path: Path):
    """`aircraft_histories` gathers eight columns of the low points, unsorted, and picks their
    airports as arrays: the presence rows and priors are those of the full rows (real traffic)."""
    from tailwatch.archive import ArchiveWriter
    from tailwatch.engines.duckdb import low_points_for
    from tailwatch.engines.duckdb_itinerary import aircraft_histories
    from tailwatch.ingest.pipeline import read_file
    from tailwatch.itinerary.history import HISTORY_MAX_ALT_FT, PRESENCE_COLUMNS, presence, priors
    from tailwatch.itinerary.landings import airport_codes_at, airports_at

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    writer = ArchiveWriter(tmp_path / "arc", "quickstart")
    writer.write(frame.filter(pl.col("latitude").is_not_null()))
    writer.flush()
    writer.commit({"source": "quickstart"})
    hexes = sorted(frame["icao24"].unique().to_list())
    full = low_points_for(tmp_path / "arc", hexes, HISTORY_MAX_ALT_FT)
    few = low_points_for(tmp_path / "arc", hexes, HISTORY_MAX_ALT_FT, columns=PRESENCE_COLUMNS)
    assert few.columns == PRESENCE_COLUMNS and few.height == full.height > 10_000
    seen = presence(full)
    assert seen.height > 50
    assert seen.sort(seen.columns).equals(presence(few).sort(seen.columns))
    fleet = {h: [] for h in hexes}
    assert aircraft_histories(tmp_path / "arc", [{"icao24": h} for h in hexes]) == priors(seen, fleet)
    lat, lon = full["latitude"].to_numpy()[:5_000], full["longitude"].to_numpy()[:5_000]
    codes, km, elevation = airport_codes_at(lat, lon, 10.0)
    framed = airports_at(lat, lon, 10.0)
    assert list(codes) == framed["icao"].to_list()
    assert (pl.Series(km).fill_nan(None) == framed["distance_km"]).fill_null(True).all()
    assert pl.Series(km).is_nan().sum() == framed["distance_km"].null_count() > 0
    assert (pl.Series(elevation).fill_nan(None) == framed["elevation_ft"].cast(pl.Float64)).fill_null(True).all()


def test_presence_asks_each_position_once_and_answers_as_every_point(traffic_samples):
    """Presence asks the airport index once per distinct position, and its rows are those of the
    query made for every point (real traffic, replayed a day later so that every position comes
    back, as a fleet's stands and approaches do; a point at -0.0 and one with no position too)."""
    import numpy as np

    from tailwatch.ingest.pipeline import read_file
    from tailwatch.itinerary import history
    from tailwatch.itinerary.flights import ground_expr
    from tailwatch.itinerary.history import HISTORY_MAX_ALT_FT, PRESENCE_COLUMNS, presence
    from tailwatch.itinerary.landings import GROUND_AIRPORT_KM, LOW_AGL_FT, LOW_KM, airport_codes_at

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    day = frame.filter(pl.col("latitude").is_not_null()).select(PRESENCE_COLUMNS)
    points = pl.concat([day, day.with_columns(pl.col("timestamp") + pl.duration(days=1)), day.head(3).with_columns(
        pl.Series("latitude", [-0.0, 0.0, None], pl.Float64), pl.Series("longitude", [-0.0, 0.0, 1.0], pl.Float64))])
    asked: list[int] = []

    def counting(lat, lon, max_km):
        asked.append(len(lat))
        return airport_codes_at(lat, lon, max_km)

    history.airport_codes_at, real = counting, history.airport_codes_at
    try:
        seen = presence(points)
    finally:
        history.airport_codes_at = real
    # the query for every point, as presence made it before
    alt = pl.coalesce("altitude", "geoaltitude").cast(pl.Float64)
    low = points.filter(ground_expr() | (alt < HISTORY_MAX_ALT_FT)).with_columns(
        ground_expr().alias("ground"), alt.alias("alt"))
    icao, km, elev = airport_codes_at(low["latitude"].to_numpy(), low["longitude"].to_numpy(),
                                      max(GROUND_AIRPORT_KM, LOW_KM))
    agl = low["alt"].fill_null(0.0).to_numpy() - np.nan_to_num(elev, nan=0.0)
    ok = (icao != None) & np.where(low["ground"].to_numpy(), km <= GROUND_AIRPORT_KM,  # noqa: E711
                                   (km <= LOW_KM) & (agl <= LOW_AGL_FT))
    every = pl.DataFrame({"icao24": low["icao24"].to_numpy()[ok], "icao": icao[ok].astype(str),
                          "day": low["timestamp"].dt.date().to_numpy()[ok]}).unique().cast(seen.schema)
    assert seen.height > 50 and seen["day"].n_unique() == 2
    assert seen.sort(seen.columns).equals(every.sort(seen.columns))
    assert asked == [low.select("latitude", "longitude").n_unique()] and asked[0] < low.height / 2


def test_priors_counted_in_one_pass_as_each_aircraft_alone(traffic_samples):
    """Each address's days are counted for all addresses at once, and a fleet's half days added
    per aircraft: the priors are those of counting each aircraft's own rows (real traffic)."""
    from tailwatch.ingest.pipeline import read_file
    from tailwatch.itinerary.history import FLEET_WEIGHT, _days, presence, priors

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    day = frame.filter(pl.col("latitude").is_not_null())
    seen = presence(pl.concat([day, day.with_columns(pl.col("timestamp") + pl.duration(days=3))]))
    addresses = sorted(seen["icao24"].unique().to_list())
    assert len(addresses) > 20
    fleet = {a: [] for a in addresses}
    fleet[addresses[0]] = addresses[1:4]  # an operator's others: half their days each
    fleet["000001"] = [addresses[5]]  # never seen itself
    got = priors(seen, fleet)
    for icao24, others in fleet.items():
        alone = _days(seen.filter(pl.col("icao24") == icao24))
        mates = seen.filter(pl.col("icao24").is_in(others))
        if mates.height:
            for code, days in _days(mates).items():
                alone[code] = alone.get(code, 0) + max(1, int(round(days * FLEET_WEIGHT)))
            alone = dict(sorted(alone.items(), key=lambda kv: (-kv[1], kv[0])))
        assert list(got[icao24].items()) == list(alone.items()), icao24
    assert got["000001"] and max(got[addresses[1]].values()) == 2


def test_priors_from_a_chunks_points_are_those_read_from_the_archive(traffic_samples, tmp_path: Path, monkeypatch):
    """A batch with no start reads every point of its aircraft anyway: the priors of those whose
    prior is their own days alone come from those points (`priors_from_points`), and equal what
    the history query gives them (real traffic: the quickstart day, and the recordings of other
    days with an aircraft on the ground in them). Aircraft with a fleet, and the fleet's members,
    are still read by the query, whether the batch holds them or not."""
    from tailwatch.engines.duckdb import low_points_for, low_rows, points_for
    from tailwatch.engines.duckdb_itinerary import aircraft_histories, priors_from_points
    from tailwatch.identity import fleets as fleet_module
    from tailwatch.ingest.pipeline import ingest_files
    from tailwatch.itinerary.history import HISTORY_MAX_ALT_FT

    arc = tmp_path / "arc"
    files = [traffic_samples / "collections" / "quickstart.json.gz", traffic_samples / "readsb" / "trace_full_ac671b.json"]
    assert all(s.error is None for s in ingest_files(files, arc))
    points = points_for(arc)
    hexes = sorted(points["icao24"].unique().to_list())
    # the rows the query picks, picked from the points
    few = low_points_for(arc, hexes, HISTORY_MAX_ALT_FT)
    assert low_rows(points, HISTORY_MAX_ALT_FT).equals(few) and few.height > 10_000
    aircraft = [{"icao24": h} for h in hexes]
    read = aircraft_histories(arc, aircraft)
    assert sum(1 for prior in read.values() if prior) > 20
    left = aircraft_histories(arc, aircraft, held=set(hexes))
    assert left == {}  # no fleets: every prior from the points
    assert priors_from_points(points, hexes) == read
    assert all(list(priors_from_points(points, [h])[h].items()) == list(read[h].items()) for h in hexes[:40])
    # one operator's three aircraft: theirs still read, the others' from the points
    fleet = {h: [] for h in hexes} | {hexes[0]: [hexes[1], hexes[2]], hexes[1]: [hexes[0], hexes[2]],
                                       hexes[2]: [hexes[0], hexes[1]]}
    monkeypatch.setattr(fleet_module, "fleets", lambda archive, aircraft: {a["icao24"]: fleet[a["icao24"]] for a in aircraft})
    full = aircraft_histories(arc, aircraft)
    part = aircraft_histories(arc, aircraft, held=set(hexes))
    assert set(part) == set(hexes[:3]) and all(part[h] == full[h] for h in part)
    assert part | priors_from_points(points, hexes[3:]) == full
