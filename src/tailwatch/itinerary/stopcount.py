"""How many stops a gap held: the fewest that explain it.

A published "two unknown stops" tells a reader the aircraft landed twice, so a gap gets k stops
only when k − 1 cannot explain it (docs/itinerary.md, "How many stops"). One stop explains a
gap between two airborne sides unless
- **time or range**: no airport the type can use, legal for the operator, is reachable with one
  turnaround in the gap (flight at cruise + 15 % wind, approach and departure overhead, a
  minimum turnaround) with both legs within the type's range with a light payload
  (`Context.max_leg_km`: the leg from the airport just left through the last position, and
  the leg from the stop to the first position after the gap, each at least its great circle); or
- **positions**: no single airport fits both sides even at ONE_STOP_MIN_FIT (the product of its
  fits to the track before and after), while two places do, each fitting its own side well
  (their product at least CHAIN_MIN_FIT): a descent towards one field and a climb out of
  another, or a track heading south into the gap and one coming out of it from the east.
  A single stop that fits the tracks only poorly is still one stop (a turn on the way is
  likelier than a landing nobody saw); the factor of five between the two thresholds keeps
  a second landing for geometry that one cannot explain at all.
Where one side is an airport the aircraft was seen at, the question is whether any unseen stop
is needed beyond it, by the same two tests.
Time alone never adds a stop: an aircraft may wait on the ground as long as it likes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailwatch.itinerary.sides import Side

ONE_STOP_MIN_FIT = 0.02  # no single airport fitting both sides this well: one stop cannot explain them
CHAIN_MIN_FIT = 0.1  # ... and two places that fit their own sides this well do (e.g. 0.3 × 0.3)


@dataclass
class StopCount:
    """How many unseen stops a gap needs (beyond airports seen at its ends), and why."""

    stops: int
    reasons: list[str]


def stops_needed(left: Side, right: Side, turn_l: np.ndarray, turn_r: np.ndarray, usable: np.ndarray,
                 one_fits: np.ndarray, chain_fit: float | None, max_leg_km: float | None) -> StopCount:
    """The fewest unseen stops that explain a gap the aircraft must have landed in.

    `usable`: candidates legal and not excluded; `one_fits`: those one stop could be at by time
    and range (for a gap with an airport side: the direct flight, 0 stops, fits by range);
    `chain_fit`: the geometric fit of the best pair of airports that fits two turnarounds and the
    range (None: no pair does).
    """
    two_fit = chain_fit is not None
    pinned = left.airport is not None or right.airport is not None
    fewer = 0 if pinned else 1
    if not np.any(one_fits & usable):
        if not two_fit:
            return StopCount(fewer, ["neither one stop nor two fit the time and range: "
                                     + ("taken as flown direct" if pinned else "one stop, not located")])
        what = ("a direct flight" if pinned else "one stop")
        rng = f" and legs within {max_leg_km:,.0f} km (the type's range with a light payload)" if max_leg_km else ""
        return StopCount(fewer + 1, [f"{what} cannot explain the gap: no usable airport fits the time{rng}"])
    both = float(np.max(turn_l * turn_r * usable * one_fits))
    if two_fit and both < ONE_STOP_MIN_FIT and chain_fit >= CHAIN_MIN_FIT:
        pinned_l = left.airport is not None or left.localised(True)
        pinned_r = right.airport is not None or right.localised(False)
        lw = (f"at {left.airport['icao']}" if left.airport else
              "descending towards one airport" if pinned_l else "heading towards one place")
        rw = (f"at {right.airport['icao']}" if right.airport else
              "climbing out of another" if pinned_r else "coming from another")
        what = "no direct flight fits" if pinned else "no single airport fits both sides"
        return StopCount(fewer + 1, [f"before the gap it was {lw}, after it {rw}: {what} "
                                     f"(best fit {both:.3f} < {ONE_STOP_MIN_FIT}; two places fit at {chain_fit:.2f})"])
    return StopCount(fewer, [])
