"""An itinerary's legs as JSON: `model.leg_figures` works out every leg's point figures in one pass,
and they must be the very numbers (to the bit) that cutting the points leg by leg gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tailwatch.geo.geodesy import haversine_km
from tailwatch.ingest.pipeline import read_file
from tailwatch.itinerary.core import Surroundings, itineraries_of
from tailwatch.itinerary.model import NO_POINTS, leg_figures, leg_figures_many, position_sources, time_assumed_count


def _itineraries(frame: pl.DataFrame) -> list:
    frame = frame.filter(pl.col("latitude").is_not_null()).sort("icao24", "timestamp")
    return [itin for _, itin in itineraries_of(frame, lambda _: Surroundings())]


@pytest.fixture(scope="module")
def real_itineraries(traffic_samples: Path) -> list:
    """Itineraries of real recordings: the 25 busiest aircraft of the quickstart day (OpenSky),
    a readsb trace (positions by ADS-B and MLAT), rs1090 JSON lines and a dump1090 Beast capture
    (times assumed from the file's)."""
    day, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    busiest = day.group_by("icao24").len().sort("len", "icao24", descending=True)["icao24"].head(25)
    out = _itineraries(day.filter(pl.col("icao24").is_in(busiest.to_list())))
    for path in ("readsb/trace_full_ac671b.json", "rs1090/full_flight_short.jsonl", "dump1090/sample_dump1090.bin"):
        frame, _ = read_file(traffic_samples / path)
        out += _itineraries(frame)
    return out


def _cut_leg_by_leg(pts: pl.DataFrame) -> dict:
    """A leg's figures as a document used to work them out, from its own rows alone."""
    lat, lon = pts["latitude"].to_numpy(), pts["longitude"].to_numpy()
    return {
        "n": pts.height,
        "first": pts["timestamp"].min() if pts.height else None,
        "last": pts["timestamp"].max() if pts.height else None,
        "callsigns": tuple(pts["callsign"].drop_nulls().unique(maintain_order=True).to_list()) if pts.height else (),
        "hops_km": float(np.nansum(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]))) if lat.size > 1 else 0.0,
        "ends": (lat[0], lon[0], lat[-1], lon[-1]) if lat.size else (None,) * 4,
        "assumed": time_assumed_count(pts),
        "sources": tuple(position_sources(pts).items()),
    }


def test_every_legs_figures_are_those_of_its_own_rows(real_itineraries: list) -> None:
    legs = sourced = assumed = 0
    for itin in real_itineraries:
        figures = leg_figures(itin.points)
        for i in range(len(itin.legs)):
            fig = figures.get(i, NO_POINTS)
            want = _cut_leg_by_leg(itin.points.filter(pl.col("leg") == i))
            got = {"n": fig.n, "first": fig.first, "last": fig.last, "callsigns": fig.callsigns,
                   "hops_km": fig.hops_km, "ends": (fig.lat0, fig.lon0, fig.lat1, fig.lon1),
                   "assumed": fig.assumed, "sources": fig.sources}
            assert got == want  # floats compared exactly: the same bits, not approximately
            legs += 1
            sourced += bool(fig.sources)
            assumed += fig.assumed > 0
        # a document's legs are those leg_json gives one leg at a time
        doc = itin.to_json()
        assert doc["legs"] == [itin.leg_json(i) for i in range(len(itin.legs))]
    assert legs >= 30 and sourced >= 2 and assumed >= 1  # the real recordings exercise every figure


def test_several_position_sources_are_counted_per_leg(real_itineraries: list) -> None:
    """The readsb trace's points, every third one said to be MLAT and every seventh to say nothing:
    each leg counts its own sources, most first, nulls left out."""
    itin = next(it for it in real_itineraries if "position_source" in it.points.columns
                and it.points.height > 1000)
    row = pl.int_range(pl.len())
    points = itin.points.with_columns(
        pl.when(row % 7 == 0).then(None).when(row % 3 == 0).then(pl.lit("mlat"))
        .otherwise(pl.col("position_source")).alias("position_source"))
    figures = leg_figures(points)
    mixed = 0
    for i in range(len(itin.legs)):
        own = points.filter(pl.col("leg") == i)
        counts = dict(figures.get(i, NO_POINTS).sources)
        assert counts == position_sources(own)
        assert sum(counts.values()) == own["position_source"].count()
        assert list(counts.values()) == sorted(counts.values(), reverse=True)
        mixed += len(counts) > 1
    assert mixed


def test_points_without_a_leg_or_any_rows_have_no_figures() -> None:
    frame = pl.DataFrame({"leg": [None, None], "latitude": [1.0, 2.0], "longitude": [3.0, 4.0],
                          "timestamp": [0, 1], "callsign": ["A", None]},
                         schema_overrides={"leg": pl.Int64, "timestamp": pl.Datetime("us", "UTC")})
    assert leg_figures(frame) == {} and leg_figures(frame.head(0)) == {} and leg_figures(frame.drop("leg")) == {}
    one = leg_figures(frame.with_columns(pl.lit(4, dtype=pl.Int64).alias("leg")))
    assert list(one) == [4] and one[4].n == 2 and one[4].callsigns == ("A",) and one[4].hops_km > 0
    assert one[4].hops_km == float(haversine_km(np.array([1.0]), np.array([3.0]), np.array([2.0]), np.array([4.0]))[0])


def _joined(cut: pl.DataFrame, table: pl.DataFrame, piece_leg: dict[int, int]) -> pl.DataFrame:
    """The itinerary's points as a join on piece and a replace of piece by trip made them."""
    mapping = pl.DataFrame({"piece": list(piece_leg), "leg": list(piece_leg.values())},
                           schema={"piece": pl.Int64, "leg": pl.Int64})
    frame = cut.join(mapping, on="piece", how="left", maintain_order="left").drop("dt_prev")
    if table.height:
        frame = frame.with_columns(pl.col("piece").replace_strict(table["piece"], table["trip"], default=None,
                                                                  return_dtype=pl.Int64).alias("trip"))
    return frame


def test_points_with_legs_are_the_join_on_pieces(traffic_samples: Path) -> None:
    """`build._with_legs` (a lookup by piece number) gives the frame the join and replace gave, on
    real aircraft: every piece in a leg, some left out (null legs), a piece table with a trip
    missing for a piece the cut has, and no piece table."""
    from tailwatch.itinerary.batch import prepare
    from tailwatch.itinerary.build import _piece_trips, _with_legs

    day, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    busiest = day.group_by("icao24").len().sort("len", "icao24", descending=True)["icao24"].head(8)
    shares = prepare(day.filter(pl.col("icao24").is_in(busiest.to_list()) & pl.col("latitude").is_not_null()))
    assert len(shares) == 8
    for share in shares.values():
        table = _piece_trips(share.table)
        pieces = table["piece"].to_list()
        every = {p: i // 2 for i, p in enumerate(pieces)}
        some = {p: i for p, i in every.items() if p % 3}
        for piece_leg, tab in ((every, table), (some, table), (some, table.head(max(table.height - 1, 0))),
                               (every, table.clear())):
            got = _with_legs(share.cut, tab, piece_leg)
            assert got.equals(_joined(share.cut, tab, piece_leg))
            assert got.columns == _joined(share.cut, tab, piece_leg).columns
        assert _with_legs(share.cut, table, some)["leg"].null_count() > 0


def test_figures_of_legs_out_of_time_order_or_with_a_null_time(real_itineraries: list) -> None:
    """Legs numbered against time (each leg's rows gathered first, time order kept), times in
    milliseconds, and a null time (the group-by) give each leg the figures of its own rows."""
    checked = 0
    for itin in real_itineraries[:12]:
        if len(itin.legs) < 2:
            continue
        top = len(itin.legs) - 1
        flipped = itin.points.with_columns(top - pl.col("leg"))
        nulled = itin.points.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(None)
                                          .otherwise(pl.col("timestamp")).alias("timestamp"))
        coarse = itin.points.with_columns(pl.col("timestamp").dt.cast_time_unit("ms"))
        for points in (flipped, nulled, coarse):
            figures = leg_figures(points)
            for i in range(len(itin.legs)):
                fig = figures.get(i, NO_POINTS)
                got = {"n": fig.n, "first": fig.first, "last": fig.last, "callsigns": fig.callsigns,
                       "hops_km": fig.hops_km, "ends": (fig.lat0, fig.lon0, fig.lat1, fig.lon1),
                       "assumed": fig.assumed, "sources": fig.sources}
                assert got == _cut_leg_by_leg(points.filter(pl.col("leg") == i))
                checked += 1
    assert checked >= 30


def test_simulated_only_when_every_point_says_so() -> None:
    """The simulated banner: every source starting with "simulated", none null, as a prefix test of
    each would say (sources just outside the prefix's range in string order included)."""
    from tailwatch.itinerary.model import Itinerary

    cases = {("simulated",): True, ("simulated", "simulated-bridge"): True, ("simulated", "beast"): False,
             ("simulatee",): False, ("simulate",): False, ("simulated", None): False, ("Simulated",): False,
             ("simulatedé", "simulated\x00"): True, ("simulatec", "simulated"): False}
    for sources, want in cases.items():
        points = pl.DataFrame({"source": list(sources)}, schema={"source": pl.String})
        assert Itinerary({}, [], points, [], {})._simulated() is want, sources
    assert Itinerary({}, [], pl.DataFrame({"source": []}, schema={"source": pl.String}), [], {})._simulated() is False


def test_a_batch_of_itineraries_has_each_ones_own_figures(real_itineraries: list) -> None:
    """`leg_figures_many` over every real itinerary at once (OpenSky, readsb, rs1090 and Beast
    points: columns of several kinds, grouped apart) gives each the figures it has alone, to the
    bit; an itinerary with its legs out of row order, one without a leg column and an empty one
    in the same batch keep theirs."""
    frames = [itin.points for itin in real_itineraries]
    shuffled = frames[0].reverse()  # legs falling: sorted within its own rows only
    frames += [shuffled, frames[1].drop("leg"), frames[2].head(0)]
    together = leg_figures_many(frames)
    assert len(together) == len(frames)
    assert together[:-3] == [leg_figures(points) for points in frames[:-3]]
    assert together[-3] == leg_figures(shuffled) and together[-3] and together[-2] == {} and together[-1] == {}
    assert sum(len(f) for f in together) >= 30
    # a document built from its batch's figures is the document it builds alone
    assert all(itin.to_json(fig) == itin.to_json() for itin, fig in zip(real_itineraries, together))


def test_tied_position_sources_read_in_one_order() -> None:
    """Sources counted the same number of times come by name, every time: the count alone left ties
    in whatever order the group-by's threads finished, so one leg could print two orders."""
    names = ["tisb", "mlat", "adsb", "adsc"]
    frame = pl.DataFrame({"position_source": [names[i % 4] for i in range(400_000)] + [None] * 3})
    for _ in range(20):
        assert list(position_sources(frame).items()) == [("adsb", 100_000), ("adsc", 100_000),
                                                         ("mlat", 100_000), ("tisb", 100_000)]
    more = pl.DataFrame({"position_source": ["mlat", "adsb", "mlat", "tisb", "adsb", "mlat"]})
    assert list(position_sources(more).items()) == [("mlat", 3), ("adsb", 2), ("tisb", 1)]


def test_times_are_written_as_strftime_writes_them(traffic_samples: Path) -> None:
    """A document's times (`model._iso`) are `strftime("%Y-%m-%dT%H:%M:%SZ")` to the character: every
    take-off, landing and point time of the real quickstart, and the edges (a leap day's last
    microsecond, a naive time, another zone's wall time, years before 1000)."""
    from datetime import datetime, timedelta, timezone

    from tailwatch.itinerary.model import _iso

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    times = frame["timestamp"].unique().to_list()
    times += [datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone.utc), datetime(2024, 1, 1),
              datetime(2023, 5, 1, 3, 4, 5, tzinfo=timezone(timedelta(hours=3))), datetime(1000, 1, 1),
              datetime(999, 12, 31, tzinfo=timezone.utc), datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)]
    assert len(times) > 1000
    assert [_iso(t) for t in times] == [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
    assert _iso(None) is None
