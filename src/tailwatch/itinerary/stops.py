"""Stops nobody saw: what an inferred or unknown stop says, and the ends of a track mid-air.

Why by hand: no library infers landings from the ends of a broken track; traffic's
`landing_airport` takes the airport nearest the last point whatever its altitude.

The reasoning over a gap is in three steps, one module each: was it flown through
(`gaps.infer_gap`), how many stops it held — the fewest that explain it (`stopcount`) — and
where they were (`locate`: every airport the type can use, scored by its fit to both sides,
size, time and legality, the history prior breaking ties only, `candidates`). A stop is named
only when it clearly beats every other place, with a confidence (its fit, times its margin over
the runner-up), its runners-up and its reasons as sentences; otherwise it is "unknown,
candidates A/B/C": never an invented airport.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tailwatch.geo.geodesy import haversine_km, initial_bearing
from tailwatch.itinerary.candidates import (
    Candidate,
    Context,
    airport_row,
    base_weight,
    candidate_airports,
    city_band,
    far_rival,
    prior_reasons,
    rival,
    runners,
    unclear,
    with_history,
)
from tailwatch.itinerary.sides import Side, side_fit

__all__ = ["Candidate", "Context", "Side", "Stop", "infer_end", "named_or_unknown"]


@dataclass
class Stop:
    """A landing in a gap (or at an open end): the airport or None, with why."""

    airport: dict | None
    evidence: str  # "observed" | "inferred" | "unknown"
    confidence: float
    reasons: list[str] = field(default_factory=list)
    alternatives: list[Candidate] = field(default_factory=list)
    score: float | None = None  # the chosen airport's score (None for observed stops)
    runner_up_score: float | None = None  # the best rival's score: how clearly the choice won


def confidence(best: float, second: float) -> float:
    fit = min(1.0, best / 0.6) ** 0.5
    margin = 1.0 - (second / best if best > 0 else 1.0)
    return round(float(np.clip(fit * (0.4 + 0.6 * margin), 0.0, 0.99)), 2)


def fit_reason(side: Side, outbound: bool, a: dict) -> str:
    if side.airport is not None:
        return f"{'before' if outbound else 'after'} the gap it was at {side.airport['icao']} ({side.evidence})"
    d = float(haversine_km(side.lat, side.lon, a["latitude"], a["longitude"]))
    b = float(initial_bearing(side.lat, side.lon, a["latitude"], a["longitude"]))
    track = f" (track {side.track:03.0f}°)" if side.track is not None else ""
    if outbound:
        return f"{a['icao']} ({a['name']}) lies {d:,.0f} km from the last position, bearing {b:03.0f}°{track}"
    return f"{a['icao']} lies {d:,.0f} km from the first position after the gap, bearing {b:03.0f}°{track}"


def unknown_stop(reasons: list[str], cand: dict, score: np.ndarray, best: float, second: float,
                 why: str) -> Stop:
    alts = runners(cand, score, -1)
    names = "/".join(c.airport["icao"] for c in alts)
    return Stop(None, "unknown", 0.0, reasons + [f"{why}: unknown, candidates {names}"], alts,
                score=round(best, 4), runner_up_score=round(second, 4))


def named_or_unknown(score: np.ndarray, pure: np.ndarray, boosted: np.ndarray, cand: dict, ctx: Context,
                     reasons: list[str], why_here, what: str, best_i: int | None = None) -> Stop:
    """The best candidate of `score` as an inferred stop when it clearly beats every other place
    (`pure`: its geometric fit without history, for the far-rival test), else "unknown".
    `why_here(a)` gives the fit sentences for airport `a`; `boosted`: where the history prior applied;
    `best_i`: the candidate to judge (default: the best of `score`; a chain's pick may not be)."""
    best_i = int(np.argmax(score)) if best_i is None else best_i
    best, second = float(score[best_i]), rival(score, best_i, cand)
    why_not = unclear(best, second, far_rival(pure * (score > 0), best_i, cand))
    if why_not is not None:
        return unknown_stop(reasons, cand, score, best, second, f"{what}: {why_not}")
    a = airport_row(cand, best_i)
    why = why_here(a) + prior_reasons(ctx, a, bool(boosted[best_i]))
    why.append(f"score {best:.2f}, runner-up {second:.2f} ({second / best:.0%} of it)")
    return Stop(a, "inferred", confidence(best, second), reasons + why, runners(cand, score, best_i),
                score=round(best, 4), runner_up_score=round(second, 4))


def infer_end(side: Side, outbound: bool, min_runway_ft: float | None = None, ctx: Context | None = None) -> Stop:
    """Where a track that starts or stops mid-air (no gap partner) most likely came from / went to.

    Only a side in a low phase (approach, departure, or below 15,000 ft) is placed at an airport:
    the nearest *plausible* one for the type (runway), its history (among neighbours only) and
    its operator's bans, and only when it clearly beats the runner-up. A track that stops at
    cruise level gets airport None: "unknown", with where it was last seen.
    """
    ctx = ctx or Context.of(None, min_runway_ft)
    phase = side.phase(outbound)
    reasons = [side.describe(outbound)]
    if phase not in ("approach", "departure", "low"):
        verb = "no descent seen" if outbound else "no climb seen"
        return Stop(None, "unknown", 0.0, reasons + [f"{verb}: the {'landing' if outbound else 'take-off'} "
                                                     "place is not in the data"])
    if phase == "low" and ((outbound and (side.vrate or 0) > 300) or (not outbound and (side.vrate or 0) < -300)):
        return Stop(None, "unknown", 0.0, reasons + ["climbing where a descent was expected (or the reverse)"])
    cand = candidate_airports(ctx.min_runway_ft)
    geometry = side_fit(side, outbound, cand)
    geo = geometry * base_weight(cand, ctx)
    band = city_band(geo, cand)
    fit = with_history(geo, band, cand, ctx)
    return named_or_unknown(fit, geometry, band, cand, ctx, reasons,
                            lambda a: [fit_reason(side, outbound, a)], "the track")
