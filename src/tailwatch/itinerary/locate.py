"""Where a gap's stops were: one airport, or a chain of two, each named only when it is clear.

`stopcount.stops_needed` decides how many; this module scores the candidates for them. Single
stops: fit to both sides × size and service × legality × time and range, the history prior
inside the tie band only (`candidates.tie_band`), leading candidates whose legal detour around
barred airspace does not fit the gap dropped. Chains: the best candidates of each side paired,
the time budget checked for both turnarounds and the range for all three legs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailwatch.geo.geodesy import haversine_km
from tailwatch.itinerary.candidates import (
    ACCEPT_SCORE,
    Context,
    Inexact,
    airport_row,
    check_max,
    base_weight,
    candidate_airports,
    city_band,
    subset,
    tie_band,
    to_candidates,
    top,
    with_history,
)
from tailwatch.itinerary.sides import Side, at_airport, duration_text, fit_bound, side_fit, turn_fit, within_fit
from tailwatch.itinerary.stopcount import ONE_STOP_MIN_FIT, StopCount, stops_needed
from tailwatch.itinerary.stops import Stop, confidence, fit_reason, named_or_unknown
from tailwatch.itinerary.timing import (
    KT_KMH,
    MIN_TURNAROUND_S,
    PHASE_OVERHEAD_S,
    Gap,
    time_ok,
)

TOP_PER_SIDE = 40  # two-stop chains pair this many best candidates of each side
CHAIN_MIN_KM = 50.0  # the two stops of a chain are two places
LEGAL_CHECKED = 5  # leading candidates whose legal detour is computed
# candidates fitting a gap's side(s) below this are left out of its scoring, where that provably
# changes nothing (`_fit_bounds`, `candidates.subset`): first the tighter (on the 4× bench, 603
# of 660 located gaps are proven from ~1,200 airports), then the looser (~1,000 to ~3,700), then all
LEFT_OUT_FITS = (0.2, 1e-6)
# a gap between two airborne sides that the tighter subsets do not answer is scored on the airports
# either side may fit this well (`_fit_bounds` with `either`) before all of them: each side's best
# (a chain's) is provable there, a single stop's yes too, and its no where one side is a low
# descent or climb (that side's turn fit is its side fit, `_no_proven`)
EITHER_LEFT_OUT = 1e-9


@dataclass
class _Sides:
    """Per-candidate arrays of one gap: side fits, distances, range and weights."""

    fit_l: np.ndarray
    fit_r: np.ndarray
    d_l: np.ndarray
    d_r: np.ndarray
    ok_l: np.ndarray  # the leg into a stop here (from the airport just left) is within range
    ok_r: np.ndarray  # the leg out of a stop here (to the first position after) is within range
    base: np.ndarray  # size and service × legality, the airport just left excluded


@dataclass
class _Chain:
    x: int
    y: int
    score: float
    runner_up: float
    wl: np.ndarray
    wr: np.ndarray
    band_l: np.ndarray
    band_r: np.ndarray


def _within(km: np.ndarray, ctx: Context) -> np.ndarray:
    return np.ones(np.shape(km), dtype=bool) if ctx.max_leg_km is None else np.asarray(km) <= ctx.max_leg_km


def _excluded(gap: Gap, reasons: list[str]) -> str | None:
    """The airport just left, unless the last track turns back to it (then it is a candidate)."""
    came = gap.came_from
    if came is None or gap.left.airport is not None:
        return None
    if gap.right.airport is not None and gap.right.airport["icao"] == came["icao"]:
        return came["icao"]  # seen back there after the gap: a return, observed, not an unseen stop
    if gap.left.heads_back_to(came):
        reasons.append(f"the track before the gap turns back towards {came['icao']}, the airport just left: "
                       "a return there is a candidate")
        return None
    reasons.append(f"{came['icao']}, the airport just left, is not a candidate: the track before the gap "
                   "does not turn back towards it")
    return came["icao"]


def _distances(side: Side, cand: dict) -> np.ndarray:
    """km from a side to every candidate; from an airport side only to its airport (inf
    elsewhere): that side fits no other, so no other distance from it is read."""
    if side.airport is None:
        return to_candidates(side.lat, side.lon, cand)[0]
    d = np.full(cand["lat"].size, np.inf)
    i = cand["index"].get(side.airport["icao"])
    if i is not None:
        # four plain numbers: `haversine_km`'s scalar path, the array path's bits
        d[i] = haversine_km(side.lat, side.lon, float(cand["lat"][i]), float(cand["lon"][i]))
    return d


def _sides(gap: Gap, cand: dict, reasons: list[str]) -> _Sides:
    left, right, ctx = gap.left, gap.right, gap.ctx
    d_l, d_r = _distances(left, cand), _distances(right, cand)
    lead = 0.0
    if gap.came_from is not None and left.airport is None:  # the leg began there: at least this far already
        lead = float(haversine_km(gap.came_from["latitude"], gap.came_from["longitude"], left.lat, left.lon))
    return _Sides(side_fit(left, True, cand), side_fit(right, False, cand), d_l, d_r,
                  _within(lead + d_l, ctx), _within(d_r, ctx), base_weight(cand, ctx, _excluded(gap, reasons)))


def locate(gap: Gap, reasons: list[str]) -> list[Stop]:
    """The stops in a gap the aircraft landed in (for a gap with an airport side: the unseen
    stops beyond it, possibly none).

    The answer is decided by the candidates that fit the gap's sides best: they are scored
    first (`_fit_bounds`), and every maximum or ranking that the ones left out could change is
    checked against what those can score at most; where that is not proven, all candidates are
    scored. Both give the same answer, bit for bit."""
    cand = candidate_airports(gap.ctx.min_runway_ft)
    if cand["rows"].height == 0:
        return [Stop(None, "unknown", 0.0, reasons + ["no airport usable by the type"])]
    steps = [(left_out, False) for left_out in LEFT_OUT_FITS]
    if gap.left.airport is None and gap.right.airport is None:
        steps.append((EITHER_LEFT_OUT, True))
    for left_out, either in steps:
        limit = within_fit(left_out)
        t = _fit_bounds(gap, cand, limit, either)  # per bound: the looser is seldom needed, and costs more
        if t is None:
            if either:
                break
            return _located(gap, cand, reasons)  # the sides do not narrow: no looser bound will
        narrow = subset(cand, np.flatnonzero(t <= limit), left_out)
        narrow["either"] = either
        told = list(reasons)
        try:
            stops = _located(gap, narrow, told)
        except Inexact:
            continue
        reasons[:] = told
        return stops
    return _located(gap, cand, reasons)


def _fit_bounds(gap: Gap, cand: dict, limit: float | None = None, either: bool = False) -> np.ndarray | None:
    """Per candidate, a t such that its score in the gap is at most exp(-t²/2) of its best
    possible (`sides.fit_bound`; None: the sides do not narrow the candidates). `limit`: only
    the t ≤ `limit` are asked for (the others may be inf).

    A gap with an airport side: the airborne side's fit decides every score (the airport side
    fits its own airport alone), so that side's bound, and that airport kept; most located
    gaps are of this kind (a track lost at cruise, the aircraft next seen on the ground). Two
    airborne sides: a single stop's score is the product of the fits that place it
    (`_placing_fits`), so the tighter of their bounds; a gap one stop does not explain (its
    chain needs each side's best over all airports) is scored in full (`_one_explains`).
    `either` (two airborne sides): the looser of the two sides' bounds, so that a candidate left
    out fits each side below the bound (each side's best for a chain is then provable), and
    None unless both sides narrow."""
    anchor = gap.left.airport or gap.right.airport
    if anchor is not None:
        air, outbound = (gap.right, False) if gap.left.airport is not None else (gap.left, True)
        t = fit_bound(air, outbound, cand, limit)
        if t is None:
            return None
        kept = [anchor["icao"]]
    elif either:
        bounds = [fit_bound(gap.left, True, cand, limit), fit_bound(gap.right, False, cand, limit)]
        if bounds[0] is None or bounds[1] is None:
            return None
        return _kept(gap, cand, np.minimum(bounds[0], bounds[1]), [])
    else:
        pin_l, pin_r = gap.left.localised(True), gap.right.localised(False)
        bounds = [fit_bound(gap.left, True, cand, limit) if not (pin_r and not pin_l) else None,
                  fit_bound(gap.right, False, cand, limit) if not (pin_l and not pin_r) else None]
        bounds = [b for b in bounds if b is not None]
        if not bounds:
            return None
        t = bounds[0] if len(bounds) == 1 else np.maximum(bounds[0], bounds[1])
        kept = []
    return _kept(gap, cand, t, kept)


def _kept(gap: Gap, cand: dict, t: np.ndarray, kept: list[str]) -> np.ndarray:
    # the airports of the history prior are kept, so no score left out is multiplied by it
    for code in kept + [code for code, _ in gap.ctx.used]:
        i = cand["index"].get(code)
        if i is not None:
            t[i] = 0.0
    return t


def _one_explains(turn: tuple[np.ndarray, np.ndarray], fits: np.ndarray, narrowed: bool) -> bool:
    """Whether one stop (a direct flight, with an airport side) explains the gap whatever the
    best chain of two: then `stopcount` does not read the chain, and it is not looked for.
    `fits`: whether each candidate (of those a stop fits by time and range) is usable.
    `narrowed`: scoring a subset of the candidates of a gap between two airborne sides, where
    only a yes is proven (a no may be an airport left out)."""
    if fits.any() and float(np.max(turn[0] * turn[1] * fits)) >= ONE_STOP_MIN_FIT:
        return True
    if narrowed:
        raise Inexact("one stop may explain the gap at an airport left out")
    return False


def _no_proven(gap: Gap, cand: dict) -> bool:
    """Whether a subset of a gap between two airborne sides proves a no of `_one_explains`: it
    is built with `either` (every candidate left out fits each side below the bound) and one
    side is a low descent or climb, whose turn fit is its side fit (`turn_fit`): a candidate
    left out has a product of turn fits below the bound, and the bound is below ONE_STOP_MIN_FIT."""
    return (bool(cand.get("either")) and cand["bound"] < ONE_STOP_MIN_FIT
            and (gap.left.localised(True) or gap.right.localised(False)))


def _located(gap: Gap, cand: dict, reasons: list[str]) -> list[Stop]:
    s = _sides(gap, cand, reasons)
    anchor = gap.left.airport or gap.right.airport
    if anchor is not None:  # one side seen at an airport: is a direct flight from/to it enough?
        at = at_airport(anchor, cand) > 0
        usable = at
        one_fits = at & time_ok(s.d_l + s.d_r, gap.dt_s, 0, gap.cruise) & s.ok_l & s.ok_r
    else:
        usable = s.base > 0
        one_fits = time_ok(s.d_l + s.d_r, gap.dt_s, 1, gap.cruise) & s.ok_l & s.ok_r
    # the stop count reads the turn fits only where one stop fits by time and range (a max over
    # fits ≥ 0, 0 elsewhere): they are worked out there only
    fit_at = np.flatnonzero(one_fits)
    turn = (turn_fit(gap.left, True, cand, fit_at, s.fit_l), turn_fit(gap.right, False, cand, fit_at, s.fit_r))
    narrowed = cand["bound"] is not None and anchor is None
    one = _one_explains(turn, usable[fit_at], narrowed and not _no_proven(gap, cand))
    if not one and narrowed and not (one_fits & usable).any():
        raise Inexact("whether any airport fits one stop's time and range may lie outside the subset")
    chain = None if one else _best_chain(gap, cand, s)
    count = stops_needed(gap.left, gap.right, *turn, usable[fit_at], one_fits[fit_at],
                         None if chain is None else float(s.fit_l[chain.x] * s.fit_r[chain.y]), gap.ctx.max_leg_km)
    extra = count.stops - (0 if anchor is not None else 1)
    if extra >= 1 and chain is not None:
        return _chain_stops(gap, cand, s, chain, count, reasons)
    if anchor is not None:
        fit = float(np.max(s.fit_l * s.fit_r * one_fits)) if one_fits.any() else 0.0
        if fit < ACCEPT_SCORE:
            reasons.append(f"the track {'after' if gap.left.airport else 'before'} the gap does not fit "
                           f"{anchor['icao']} well (fit {fit:.2f}): an unseen stop in between cannot be excluded")
        else:
            reasons.append(f"consistent with a direct flight {'from' if gap.left.airport else 'to'} {anchor['icao']}")
        return []
    return [_single(gap, cand, s, one_fits, count, reasons)]


def _placing_fits(gap: Gap, s: _Sides, cand: dict) -> tuple[np.ndarray, np.ndarray]:
    """The side fits that place one stop. Two cruise tracks place it where their lines meet (the
    strict `side_fit` of both); where one side pins an airport (a low descent or climb), that side
    places it and the cruise side only has to be consistent, turns on the way allowed
    (`turn_fit`, the test `stopcount` counts stops with): a descent into Rabat followed a day
    later by a track over the Caribbean is a stop at Rabat, not at an airport on the line."""
    pin_l, pin_r = gap.left.localised(True), gap.right.localised(False)
    fit_l = turn_fit(gap.left, True, cand, fit=s.fit_l) if (pin_r and not pin_l) else s.fit_l
    fit_r = turn_fit(gap.right, False, cand, fit=s.fit_r) if (pin_l and not pin_r) else s.fit_r
    return fit_l, fit_r


def _single(gap: Gap, cand: dict, s: _Sides, one_fits: np.ndarray, count: StopCount, reasons: list[str]) -> Stop:
    left, right, ctx = gap.left, gap.right, gap.ctx
    fit_l, fit_r = _placing_fits(gap, s, cand)
    geo = _legal_filter(fit_l * fit_r * s.base * one_fits, gap, cand, reasons, {})
    band = tie_band(s.d_l + s.d_r, geo, cand)
    score = with_history(geo, band, cand, ctx)
    if ctx.used:
        score = _legal_filter(score, gap, cand, reasons, {})
    why_count = count.reasons or ["one stop is the fewest that explains the gap (time, range and positions): "
                                  "a second is not assumed"]

    def why_here(a: dict) -> list[str]:
        out = [fit_reason(left, True, a), fit_reason(right, False, a)]
        i = cand["index"][a["icao"]]
        spare = gap.dt_s - (float(s.d_l[i] + s.d_r[i]) / (gap.cruise * KT_KMH) * 3600.0 + MIN_TURNAROUND_S
                            + PHASE_OVERHEAD_S)
        if spare > 2 * (MIN_TURNAROUND_S + PHASE_OVERHEAD_S) + 6 * 3600:
            out.append(f"after flying via {a['icao']} at cruise, {duration_text(spare)} remain unaccounted for: "
                       "further unseen stops are possible")
        return out

    return named_or_unknown(score, fit_l * fit_r, band, cand, ctx, reasons + why_count, why_here,
                            "the track before and after the gap")


def _side_scores(side: Side, fit: np.ndarray, ok: np.ndarray, s: _Sides, cand: dict,
                 ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """(score, history band) of one side's candidates for a chain; an airport side pins itself."""
    if side.airport is not None:
        return fit, np.zeros(fit.size, dtype=bool)
    geo = fit * s.base * ok
    band = city_band(geo, cand)
    return with_history(geo, band, cand, ctx), band


def _best_of_side(side: Side, score: np.ndarray, cand: dict) -> np.ndarray:
    """The TOP_PER_SIDE best positive scores of one side of a chain, best first; an airport side
    scores its own airport alone (`at_airport`), so that one, without a ranking."""
    if side.airport is not None:
        return np.flatnonzero(score > 0)
    best = top(score, TOP_PER_SIDE, cand)
    return best[score[best] > 0]


def _best_chain(gap: Gap, cand: dict, s: _Sides) -> _Chain | None:
    """The best two-place chain (the airport side, if any, as one of them) that fits the time
    (both turnarounds) and the range (all three legs), or None."""
    left, right, ctx = gap.left, gap.right, gap.ctx
    n_stops = 2 - int(left.airport is not None) - int(right.airport is not None)
    if gap.dt_s < max(n_stops, 1) * (MIN_TURNAROUND_S + PHASE_OVERHEAD_S):
        return None
    wl, band_l = _side_scores(left, s.fit_l, s.ok_l, s, cand, ctx)
    wr, band_r = _side_scores(right, s.fit_r, s.ok_r, s, cand, ctx)
    xs, ys = _best_of_side(left, wl, cand), _best_of_side(right, wr, cand)
    if not (xs.size and ys.size):
        return None
    # every pair (x, y) as a column of xs against a row of ys: broadcasting, not a meshgrid's copies
    # (the same element-wise sums and products, so the same bits; pair i is xs[i // ny], ys[i % ny])
    xx, yy = xs[:, None], ys[None, :]
    d_xy = haversine_km(cand["lat"][xx], cand["lon"][xx], cand["lat"][yy], cand["lon"][yy])
    ok = (time_ok(s.d_l[xx] + d_xy + s.d_r[yy], gap.dt_s, max(n_stops, 1), gap.cruise)
          & (d_xy > CHAIN_MIN_KM) & _within(d_xy, ctx))
    pair = (wl[xx] * wr[yy] * ok).ravel()
    order = np.argsort(-pair)
    if not pair.size or pair[order[0]] <= 0:
        return None
    i = int(order[0])
    return _Chain(int(xs[i // ys.size]), int(ys[i % ys.size]), float(pair[i]),
                  float(pair[order[1]]) if order.size > 1 else 0.0, wl, wr, band_l, band_r)


def _chain_stops(gap: Gap, cand: dict, s: _Sides, chain: _Chain, count: StopCount, reasons: list[str]) -> list[Stop]:
    ax = airport_row(cand, chain.x)
    ay = airport_row(cand, chain.y)
    apart = float(haversine_km(ax["latitude"], ax["longitude"], ay["latitude"], ay["longitude"]))
    chain_reason = (f"two stops: the track before the gap points to {ax['icao']}, the track after it comes "
                    f"from {ay['icao']} ({apart:,.0f} km apart); both turnarounds fit in the gap")
    chain_conf = confidence(chain.score, chain.runner_up)
    out = []
    for idx, side, outbound, score, fit, band in ((chain.x, gap.left, True, chain.wl, s.fit_l, chain.band_l),
                                                  (chain.y, gap.right, False, chain.wr, s.fit_r, chain.band_r)):
        if side.airport is not None:
            continue  # the airport it was seen at is not a new stop
        where = "before" if outbound else "after"
        stop = named_or_unknown(score, fit, band, cand, gap.ctx, reasons + count.reasons + [chain_reason],
                                lambda a, side=side, outbound=outbound: [fit_reason(side, outbound, a)],
                                f"the landing {where} the gap", best_i=idx)
        stop.confidence = min(stop.confidence, chain_conf)
        out.append(stop)
    return out


def legal_km(lat1: float, lon1: float, lat2: float, lon2: float, ctx: Context, memo: dict) -> float:
    """Shortest distance the operator may legally fly between two points (great circle when nothing is barred)."""
    key = (round(lat1, 4), round(lon1, 4), round(lat2, 4), round(lon2, 4))
    if key in memo:
        return memo[key]
    direct = float(haversine_km(lat1, lon1, lat2, lon2))
    km = direct
    if ctx.banned:
        from tailwatch.airspace.routing import NoRoute, obstacles_for, shortest_path

        try:
            km = shortest_path(obstacles_for(tuple(sorted(ctx.banned))), lat1, lon1, lat2, lon2).km
        except NoRoute:
            km = direct  # an end inside barred airspace: the points say it was there; do not penalise
    memo[key] = km
    return km


def _legal_filter(score: np.ndarray, gap: Gap, cand: dict, reasons: list[str], memo: dict) -> np.ndarray:
    """Drop leading candidates whose legal detour (around airspace barred to the operator) does
    not fit the time in the gap: the detour's shape, not the great circle, is what was flown."""
    ctx, left, right = gap.ctx, gap.left, gap.right
    if not ctx.banned:
        return score
    score = score.copy()
    dropped = []
    for _ in range(LEGAL_CHECKED):
        i = int(np.argmax(score))
        check_max(float(score[i]), cand)
        if score[i] <= 0:
            break
        km = legal_km(left.lat, left.lon, cand["lat"][i], cand["lon"][i], ctx, memo) + legal_km(
            cand["lat"][i], cand["lon"][i], right.lat, right.lon, ctx, memo)
        if time_ok(np.array([km]), gap.dt_s, 1, gap.cruise)[0]:
            break
        dropped.append(f"{airport_row(cand, i)['icao']} ({km:,.0f} km on legal routes)")
        score[i] = 0.0
    if dropped:
        reasons.append("too far once barred airspace is flown around: " + ", ".join(dropped))
    return score
