"""A gap scored over the candidates its sides may fit gives the answer scoring every airport gives.

`locate` scores first the airports a gap's airborne side(s) may fit at least each of
`LEFT_OUT_FITS` (`sides.fit_bound`), checks every maximum and ranking the airports left out could change, and
scores all of them where that is not proven. These tests hold the narrowed answer to the full
one, stop for stop and sentence for sentence: on the real-format sparse fixtures (simulated
trips of an operator barred from airspace, with a history prior; thinned FR24 flights and a
readsb trace) and on gaps drawn at random over the world.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import tailwatch.itinerary.gaps as gaps_mod
from tailwatch.geo.airports import airport
from tailwatch.geo.geodesy import destination
from tailwatch.itinerary import locate as loc
from tailwatch.itinerary.build import build_itinerary
from tailwatch.itinerary.candidates import Context, Inexact, airport_row, candidate_airports, runners, subset, top
from tailwatch.itinerary.sides import LOCALISED, Side, fit_bound, side_fit, within_fit
from tailwatch.itinerary.timing import DEFAULT_CRUISE_KT, Gap

FIXTURES = Path(__file__).parent / "data" / "sparse"
T0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def _both_ways(gap: Gap, reasons: list[str]) -> tuple[list, list, list, list]:
    """(stops, reasons) of `locate` and of scoring every candidate."""
    told = list(reasons)
    stops = loc.locate(gap, told)
    full_told = list(reasons)
    full = loc._located(gap, candidate_airports(gap.ctx.min_runway_ft), full_told)
    return stops, told, full, full_told


def _narrowed(gap: Gap, left_out: float) -> dict | None:
    cand = candidate_airports(gap.ctx.min_runway_ft)
    t = loc._fit_bounds(gap, cand)
    return None if t is None else subset(cand, np.flatnonzero(t <= within_fit(left_out)), left_out)


def _narrowed_proves(gap: Gap) -> bool:
    for left_out in loc.LEFT_OUT_FITS:
        narrow = _narrowed(gap, left_out)
        if narrow is None:
            return False
        try:
            loc._located(gap, narrow, [])
        except Inexact:
            continue
        return True
    return False


def _random_side(rng: np.random.Generator, outbound: bool) -> Side:
    lat, lon = float(rng.uniform(-60, 70)), float(rng.uniform(-180, 180))
    kind = rng.choice(["cruise", "cruise", "descent", "climb", "low", "no-alt"])
    track = float(rng.uniform(0, 360))
    if kind == "cruise":
        return Side(T0, lat, lon, alt=float(rng.uniform(20_000, 41_000)), track=track, gs=450.0, vrate=0.0)
    if kind == "descent":
        return Side(T0, lat, lon, alt=float(rng.uniform(2_000, 14_000)), track=track, gs=250.0, vrate=-1500.0)
    if kind == "climb":
        return Side(T0, lat, lon, alt=float(rng.uniform(2_000, 14_000)), track=track, gs=250.0, vrate=1500.0)
    if kind == "low":
        return Side(T0, lat, lon, alt=float(rng.uniform(3_000, 14_000)), track=track, gs=220.0, vrate=0.0)
    return Side(T0, lat, lon, track=track)


def test_fit_bound_keeps_every_airport_the_side_fits_above_the_bound():
    rng = np.random.default_rng(29)
    shares = []
    for min_runway in (None, 6000.0):
        cand = candidate_airports(min_runway)
        for _ in range(60):
            outbound = bool(rng.integers(2))
            side = _random_side(rng, outbound)
            t = fit_bound(side, outbound, cand)
            assert t is not None
            fit = side_fit(side, outbound, cand)
            assert np.all(fit <= np.exp(-0.5 * t**2) * (1 + 1e-9) + 1e-300), side
            keep = t <= within_fit(1e-6)
            missed = np.flatnonzero((fit >= 1e-6) & ~keep)
            assert missed.size == 0, (side, fit[missed].max())
            shares.append(keep.mean())
            if side.phase(outbound) in LOCALISED:
                assert keep.mean() < 0.05  # a descent or climb pins a neighbourhood
    assert np.median(shares) < 0.3  # the bound narrows: a cruise side keeps a wedge ahead of it


def test_fit_bound_with_a_limit_keeps_the_same_candidates_under_it():
    # a limit skips whole grid cells whose bound exceeds it: the candidates kept at each bound
    # `locate` asks for are those of the bound over every airport, and their t barely moves
    # (a matrix product over fewer columns may round its last bit otherwise)
    rng = np.random.default_rng(5)
    worked = []
    for min_runway in (None, 6000.0):
        cand = candidate_airports(min_runway)
        for _ in range(80):
            outbound = bool(rng.integers(2))
            side = _random_side(rng, outbound)
            full = fit_bound(side, outbound, cand)
            for left_out in loc.LEFT_OUT_FITS:
                limit = within_fit(left_out)
                t = fit_bound(side, outbound, cand, limit)
                kept = np.flatnonzero(full <= limit)
                assert np.array_equal(np.flatnonzero(t <= limit), kept), side
                assert np.allclose(t[kept], full[kept], rtol=1e-9, atol=1e-9)
                assert np.all(t[np.isfinite(t)] == t[np.isfinite(t)])  # no NaN
                worked.append(np.isfinite(t).mean())
    assert np.median(worked) < 0.3  # most of the world is left unworked, a cell at a time


def test_fit_bound_does_not_narrow_an_airport_side_or_a_cruise_side_without_track():
    cand = candidate_airports(None)
    at = airport("EGLL")
    assert fit_bound(Side(T0, at["latitude"], at["longitude"], airport=at), True, cand) is None
    assert fit_bound(Side(T0, 50.0, 0.0, alt=35_000.0), True, cand) is None


def _random_gap(rng: np.random.Generator, with_airport: bool) -> Gap:
    def pick(options):
        return options[int(rng.integers(len(options)))]

    used = {pick(["EGLL", "LFPG", "EDDF", "OMDB", "HECA", "GOOY", "GQNO", "SBGR", "KJFK"]): int(rng.integers(1, 5))
            for _ in range(3)}
    ctx = Context.of(pick([240.0, 450.0, 480.0]), pick([None, 6000.0]), used=used,
                     banned=pick([(), ("GB", "FR"), ("US",)]), max_leg_km=pick([None, 6000.0]))
    dt = float(rng.choice([3.0, 8.0, 23.5])) * 3600.0
    left, right = _random_side(rng, True), _random_side(rng, False)
    left = Side(T0, left.lat, left.lon, left.alt, left.track, left.gs, left.vrate)
    if not with_airport and rng.integers(2) and left.track is not None:
        # the track after the gap further along the line of the one before (a stop on the way fits both)
        lat, lon = destination(left.lat, left.lon, left.track, float(rng.uniform(300, 3000)))
        right = Side(T0, float(lat), float(lon), right.alt, (left.track + float(rng.normal(0, 20))) % 360.0,
                     right.gs, right.vrate)
    right = Side(T0 + timedelta(seconds=dt), right.lat, right.lon, right.alt, right.track, right.gs, right.vrate)
    if with_airport:
        code = str(rng.choice(["EGLL", "LFPG", "EDDF", "OMDB", "HECA", "GOOY", "GQNO", "SBGR", "KJFK", "FAOR"]))
        a = airport(code)
        seen = Side(left.time if rng.integers(2) else right.time, a["latitude"], a["longitude"], airport=a,
                    evidence="ground")
        if seen.time == left.time:
            left = seen
        else:
            right = seen
    return Gap(left, right, dt, ctx.cruise_kt, ctx)


@pytest.mark.parametrize("with_airport", [True, False])
def test_narrowed_scoring_gives_the_full_answer_on_random_gaps(with_airport):
    rng = np.random.default_rng(7 + with_airport)
    proven = 0
    for _ in range(50):
        gap = _random_gap(rng, with_airport)
        stops, told, full, full_told = _both_ways(gap, ["gap reasons"])
        assert stops == full and told == full_told
        proven += _narrowed_proves(gap)
    # the narrowed path answers a share of them itself (two random tracks seldom meet at one
    # airport: most of those are scored in full; the fixtures below hold real ones)
    assert proven >= (10 if with_airport else 3)


def test_a_gap_one_stop_cannot_explain_is_scored_in_full():
    # two cruise tracks pointing away from each other over Europe: no single airport fits both,
    # so the chain of two (each side's best over all airports) decides: not provable on a subset
    left = Side(T0, 48.0, 2.0, alt=35_000.0, track=270.0, gs=450.0, vrate=0.0)
    right = Side(T0 + timedelta(hours=9), 50.0, 14.0, alt=35_000.0, track=270.0, gs=450.0, vrate=0.0)
    gap = Gap(left, right, 9 * 3600.0, 450.0, Context.of(450.0, 6000.0))
    for left_out in loc.LEFT_OUT_FITS:
        narrow = _narrowed(gap, left_out)
        assert narrow is not None and narrow["lat"].size < candidate_airports(6000.0)["lat"].size
        with pytest.raises(Inexact):
            loc._located(gap, narrow, [])
    stops, told, full, full_told = _both_ways(gap, [])
    assert stops == full and told == full_told and len(stops) == 2


def test_narrowed_scoring_gives_the_full_answer_on_the_sparse_fixtures(monkeypatch):
    seen = {"gaps": 0, "proven": 0}

    def checked(gap, reasons):
        stops, told, full, full_told = _both_ways(gap, reasons)
        assert stops == full and told == full_told
        seen["gaps"] += 1
        seen["proven"] += _narrowed_proves(gap)
        reasons[:] = told
        return stops

    monkeypatch.setattr(gaps_mod, "locate", checked)
    for path in sorted(FIXTURES.glob("*.sparse+outages.parquet")):
        truth = json.loads((FIXTURES / (path.name.removesuffix(".parquet") + ".json")).read_text())
        ac = truth["aircraft"]
        build_itinerary(pl.read_parquet(path), dict(ac), ac.get("typecode"), used_airports=truth["used_airports"])
    assert seen["gaps"] >= 20 and seen["proven"] >= seen["gaps"] // 3


def test_top_over_a_subset_is_the_ranking_over_all_airports_or_raises():
    cand = candidate_airports(None)
    rng = np.random.default_rng(3)
    n = cand["lat"].size
    score = np.where(rng.random(n) < 0.1, rng.random(n), 1e-9 * rng.random(n))
    keep = np.flatnonzero(score > 1e-6)
    sub = subset(cand, keep, 1e-6)
    full_top = np.argsort(-score)[:40]
    assert np.array_equal(keep[top(score[keep], 40, sub)], full_top)
    assert [c.airport["icao"] for c in runners(sub, score[keep], -1)] == \
        [c.airport["icao"] for c in runners(cand, score, -1)]
    # too few kept above the bound: the 40 best may include airports left out
    with pytest.raises(Inexact):
        top(score[keep[:30]], 40, subset(cand, keep[:30], 1e-6))
    # a tie among the best: the order all airports would give is not known from the subset
    tied = score.copy()
    tied[full_top[3]] = tied[full_top[2]]
    with pytest.raises(Inexact):
        top(tied[keep], 40, sub)
    # the positions of a subset of a subset are the full table's
    inner = subset(sub, np.array([0, 5, 7]), None)
    assert np.array_equal(inner["at"], keep[[0, 5, 7]])
    code = cand["rows"]["icao"][int(keep[5])]
    assert inner["index"].get(code) == 1 and code in inner["index"] and inner["index"].get("ZZZZ") is None
    assert airport_row(inner, 1)["icao"] == code


def test_the_best_of_all_airports_are_the_full_sorts() -> None:
    """`candidates._top_of_all` (a partition, then the few best sorted) gives `np.argsort(-score)[:k]`
    on every airport's scores: distances and weights of the real table (ties among equal weights
    and zeros take the full sort), random scores with ties, zeros and a NaN, and every k."""
    from tailwatch.itinerary.candidates import _top_of_all, candidate_airports, to_candidates

    cand = candidate_airports(None)
    km, _ = to_candidates(48.35, 11.78, cand)
    scores = [np.exp(-km / 300.0), cand["weight"], cand["weight"] * (km < 400), np.exp(-km / 300.0) * cand["weight"]]
    rng = np.random.default_rng(5)
    for trial in range(4000):
        n = int(rng.integers(1, 40))
        sc = [rng.random(n), rng.integers(0, 4, n).astype(float), np.where(rng.random(n) < 0.7, 0.0, rng.random(n)),
              rng.random(n)][trial % 4]
        if trial % 4 == 3:
            sc[rng.integers(0, n)] = np.nan
        scores.append(sc)
    for sc in scores:
        for k in (0, 1, 2, 4, 5, 40):
            assert np.array_equal(_top_of_all(sc, k), np.argsort(-sc)[:k])


def test_an_airport_read_again_is_the_same_airport_and_its_own_copy():
    """`airport_row` keeps each row's dict per table (shared with subsets): the same fields as the
    Polars row, in a full table and a subset alike, and a caller changing one cannot change the next."""
    from tailwatch.itinerary.candidates import airport_obj

    cand = candidate_airports(None)
    i = cand["index"]["FMMI"]
    sub = subset(cand, np.array([i - 1, i, i + 1]), None)
    first = airport_row(cand, i)
    assert first == airport_obj(cand["rows"].row(i, named=True)) and first["icao"] == "FMMI"
    first["icao"] = "XXXX"
    again, via_sub = airport_row(cand, i), airport_row(sub, 1)
    assert again["icao"] == "FMMI" and via_sub == again and via_sub is not again


def test_distances_from_a_best_candidate_are_exact_wherever_they_are_read():
    # `near_best` works out only the latitude band a city's reach can touch; every distance
    # `city_band`, `rival` and `far_rival` compare with SAME_PLACE_KM and CITY_KM is the full
    # table's, bit for bit, and every one left out (inf) is beyond CITY_KM
    from tailwatch.itinerary.candidates import CITY_KM, near_best, to_candidates

    rng = np.random.default_rng(17)
    table = candidate_airports(None)
    tables = [table, candidate_airports(6000.0)] + [
        subset(table, np.sort(rng.choice(table["lat"].size, n, replace=False)), None) for n in (977, 3_700)]
    for cand in tables:
        picks = list(rng.integers(0, cand["lat"].size, 25))
        picks += [int(np.argmax(cand["lat"])), int(np.argmin(cand["lat"]))]  # near the poles
        for best in picks:
            near = near_best(cand, best)
            full = to_candidates(cand["lat"][best], cand["lon"][best], cand)[0]
            worked = np.isfinite(near)
            assert near[worked].tobytes() == full[worked].tobytes()
            assert np.all(full[~worked] > CITY_KM)
            assert np.array_equal(near <= CITY_KM, full <= CITY_KM)
            assert worked.mean() < 0.5 or cand["lat"].size < 1000


def _plain_side_fit(side: Side, outbound: bool, cand: dict) -> np.ndarray:
    """`side_fit` of a cruise side as plain NumPy expressions, a new array per step."""
    from tailwatch.itinerary.candidates import to_candidates
    from tailwatch.itinerary.sides import BEHIND_KM, CRUISE_CROSS_KM, CRUISE_CROSS_PER_KM, STEEP_KM_PER_FT

    d, bearing = to_candidates(side.lat, side.lon, cand, bearing=True)
    direction = side.track if outbound else (side.track + 180.0) % 360.0
    rad = np.radians(np.abs((bearing - direction + 180.0) % 360.0 - 180.0))
    along, cross = d * np.cos(rad), d * np.abs(np.sin(rad))
    fit = np.exp(-0.5 * (cross / (CRUISE_CROSS_KM + CRUISE_CROSS_PER_KM * np.maximum(along, 0.0))) ** 2)
    reach = np.maximum(side.alt - cand["elev"], 0.0) * STEEP_KM_PER_FT
    near = np.exp(-0.5 * (np.maximum(reach - d, 0.0) / (0.1 * reach + 5.0)) ** 2)
    return fit * np.exp(-0.5 * (np.minimum(along, 0.0) / BEHIND_KM) ** 2) * near


def test_cruise_side_fit_gives_the_plain_expressions_bits():
    # `side_fit` works in place (a full scoring asks it over 26,858 airports): on the real table
    # and a subset, from cruise sides at random, the plain expressions' bits
    rng = np.random.default_rng(23)
    table = candidate_airports(None)
    tables = [table, subset(table, np.sort(rng.choice(table["lat"].size, 1_200, replace=False)), None)]
    for cand in tables:
        for _ in range(30):
            outbound = bool(rng.integers(2))
            side = Side(T0, float(rng.uniform(-60, 70)), float(rng.uniform(-180, 180)),
                        alt=float(rng.uniform(20_000, 41_000)), track=float(rng.uniform(0, 360)), gs=450.0, vrate=0.0)
            assert side.phase(outbound) == "cruise"
            assert side_fit(side, outbound, cand).tobytes() == _plain_side_fit(side, outbound, cand).tobytes()


def test_far_rival_left_out_of_a_subset_gives_the_full_verdict_or_raises():
    # the best airport's far rivals all fit below the subset's bound: left out, they cannot reach
    # AMBIGUOUS of the best, so the verdict (`unclear`) is the one scoring every airport gives
    from tailwatch.itinerary.candidates import AMBIGUOUS, far_rival, near_best, unclear

    cand = candidate_airports(None)
    rng = np.random.default_rng(11)
    n = cand["lat"].size
    best = cand["index"]["LFPG"]
    near = np.flatnonzero(near_best(cand, best) <= 150.0)
    pure = 1e-7 * rng.random(n)  # every far airport below the bound
    pure[near] = rng.uniform(0.1, 0.5, near.size)
    pure[best] = 0.9
    keep = np.flatnonzero(pure > 1e-6)
    assert keep.size == near.size  # only the neighbours kept: every far rival is left out
    sub = subset(cand, keep, 1e-6)
    full_far = far_rival(pure, best, cand)
    sub_far = far_rival(pure[keep], int(np.searchsorted(keep, best)), sub)
    assert full_far <= sub_far <= AMBIGUOUS
    assert unclear(0.9, 0.5, full_far) == unclear(0.9, 0.5, sub_far)
    # a far rival kept in the subset: the same share, bit for bit
    far_one = int(np.flatnonzero(near_best(cand, best) > 150.0)[0])
    pure2 = pure.copy()
    pure2[far_one] = 0.8
    keep2 = np.flatnonzero(pure2 > 1e-6)
    assert far_rival(pure2[keep2], int(np.searchsorted(keep2, best)), subset(cand, keep2, 1e-6)) == \
        far_rival(pure2, best, cand)
    # a best too weak for the bound to prove the far share below AMBIGUOUS: not proven on the subset
    weak = pure.copy()
    weak[near] = 1.1e-6
    weak[best] = 1.2e-6
    keep3 = np.flatnonzero(weak > 1e-6)
    with pytest.raises(Inexact):
        far_rival(weak[keep3], int(np.searchsorted(keep3, best)), subset(cand, keep3, 1e-6))


def test_a_chain_from_a_cruise_side_to_a_climb_is_proven_on_either_sides_airports():
    # a track south of Paris at FL165 and, a day later, a climb out of Paris-CDG: no single airport
    # fits both (the track points away from CDG), so a chain of two. The climb pins every single
    # stop's fit, and the chain's two sides are each bounded on the airports either side may fit
    # (`_fit_bounds` with `either`): answered there, the same stops and sentences as all airports
    # (a gap of the real quickstart day's traffic replayed, type unknown: the default cruise)
    ctx = Context.of()
    left = Side(T0, 47.9870708918, 2.1776874249, alt=16_525.0, track=181.90914916992188, gs=360.0, vrate=357.9)
    right = Side(T0 + timedelta(hours=23.8), 48.9543798414, 2.3886590255, alt=2_050.0, track=248.0615234375,
                 gs=155.0, vrate=2_384.3)
    gap = Gap(left, right, 23.8 * 3600.0, DEFAULT_CRUISE_KT, ctx)
    for left_out in loc.LEFT_OUT_FITS:  # the subsets bounded by the climb alone cannot rank the cruise side
        with pytest.raises(Inexact):
            loc._located(gap, _narrowed(gap, left_out), [])
    cand = candidate_airports(None)
    limit = within_fit(loc.EITHER_LEFT_OUT)
    keep = np.flatnonzero(loc._fit_bounds(gap, cand, limit, either=True) <= limit)
    either = subset(cand, keep, loc.EITHER_LEFT_OUT)
    either["either"] = True
    assert loc._no_proven(gap, either) and keep.size < cand["lat"].size // 4
    told = []
    stops = loc._located(gap, either, told)
    _, _, full, full_told = _both_ways(gap, [])
    assert stops == full and told == full_told and len(stops) == 2
    assert stops[1].airport is not None and stops[1].airport["icao"] == "LFPG"
    # without a pinned side a no is not proven there (a cruise side's turn fit is not its side fit)
    cruising = Gap(left, Side(right.time, right.lat, right.lon, alt=35_000.0, track=248.1, gs=450.0, vrate=0.0),
                   gap.dt_s, DEFAULT_CRUISE_KT, ctx)
    assert not loc._no_proven(cruising, either)


def test_two_cruise_sides_one_stop_explains_on_either_sides_airports():
    # climbing east of Paris (FL221, track 107°) and, a day later, at FL129 west of it heading
    # north-east, out of Paris-CDG with a history at CDG and Le Bourget: the stop that explains both
    # tracks (a turn on the way) fits neither side well enough for the tighter subsets, whose no
    # is not proven; on the airports either side may fit, its yes is (a real bench gap)
    ctx = Context.of(used={"LFPB": 4, "LFPG": 8})
    left = Side(T0, 48.7498758607, 4.0072631836, alt=22_100.0, track=106.86251831054688, gs=403.0, vrate=1637.4)
    right = Side(T0 + timedelta(hours=22.3), 48.4527740479, 1.2998375526, alt=12_900.0, track=16.81685447692871,
                 gs=280.0, vrate=-827.1)
    assert not left.localised(True) and not right.localised(False)
    gap = Gap(left, right, 22.3 * 3600.0, DEFAULT_CRUISE_KT, ctx, airport("LFPG"))
    for left_out in loc.LEFT_OUT_FITS:
        with pytest.raises(Inexact):
            loc._located(gap, _narrowed(gap, left_out), [])
    cand = candidate_airports(None)
    limit = within_fit(loc.EITHER_LEFT_OUT)
    either = subset(cand, np.flatnonzero(loc._fit_bounds(gap, cand, limit, either=True) <= limit),
                    loc.EITHER_LEFT_OUT)
    either["either"] = True
    assert not loc._no_proven(gap, either)
    told = ["gap reasons"]
    stops = loc._located(gap, either, told)
    _, _, full, full_told = _both_ways(gap, ["gap reasons"])
    assert stops == full and told == full_told and len(stops) == 1
