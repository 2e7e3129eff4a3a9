"""Score a rebuilt itinerary against the truth of a simulated or sampled trip.

Each itinerary stop names an airport (observed or inferred) or says "unknown"; each has a time
window (seen there, or the gap it fell in). A named stop is right when the truth has a visit to
that airport whose time overlaps its window; precision = right named stops / named stops; recall
= truth visits named right / truth visits. A truth visit covered only by an "unknown" stop counts
as *unknown*, the honest answer, apart from *wrong*. The stop count compares, per gap, the stops
given with the visits made in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

import numpy as np

from tailwatch.sim.sparse import audible


@dataclass
class Visit:
    """A truth visit: the aircraft was at `icao` from `arrive` to `depart` (None: open end)."""

    icao: str
    arrive: datetime | None
    depart: datetime | None


def visits_of_legs(legs: list[dict]) -> list[Visit]:
    """Truth visits from legs (origin, destination, takeoff, landing) in time order."""
    if not legs:
        return []
    out = [Visit(legs[0]["origin"], None, legs[0]["takeoff"])]
    for i, leg in enumerate(legs):
        nxt = legs[i + 1]["takeoff"] if i + 1 < len(legs) else None
        out.append(Visit(leg["destination"], leg["landing"], nxt))
    return out


@dataclass
class Score:
    named: int = 0
    right: int = 0
    wrong: int = 0
    unknown: int = 0  # truth visits left "unknown" (not named wrong)
    visits: int = 0
    found: int = 0  # truth visits named right
    wrong_names: list[str] = field(default_factory=list)
    visits_covered: int = 0  # truth visits at airports inside coverage (not in a mask, not far out to sea)
    found_covered: int = 0
    gaps: int = 0  # gaps where the itinerary gave, or the truth had, at least one unseen stop
    gaps_exact: int = 0  # of those, gaps given exactly as many stops as the aircraft made in them
    gaps_over: int = 0  # given more stops than it made (a reader would believe in a landing that was not)

    def add(self, other: "Score") -> "Score":
        return Score(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def count_exact(self) -> float:
        """Share of gaps with stops (given or true) whose number of stops is right."""
        return self.gaps_exact / self.gaps if self.gaps else 1.0

    @property
    def gaps_under(self) -> int:
        return self.gaps - self.gaps_exact - self.gaps_over

    @property
    def recall_covered(self) -> float:
        """Recall over visits at airports a receiver could hear (the rest no track can show)."""
        return self.found_covered / self.visits_covered if self.visits_covered else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.named if self.named else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.visits if self.visits else 1.0

    @property
    def unknown_share(self) -> float:
        """Of the stops not named right, the share said "unknown" rather than named wrong."""
        bad = self.unknown + self.wrong
        return self.unknown / bad if bad else 1.0


TOLERANCE = timedelta(minutes=30)


def evaluate(itin: dict, truth: list[Visit]) -> Score:
    """Match the itinerary's stops (JSON `stops`, each with `window_start`/`window_end`) to truth."""
    from tailwatch.times import parse_time as _t

    score = Score(visits=len(truth))
    used: set[int] = set()
    seen: set[int] = set()  # truth visits matched by an observed stop
    unknown_windows = []
    for stop in itin.get("stops", []):
        s, e = _t(stop.get("window_start")), _t(stop.get("window_end"))
        code = (stop.get("airport") or {}).get("icao")
        if code is None:
            unknown_windows.append((s, e))
            continue
        score.named += 1
        match = next((i for i, v in enumerate(truth) if i not in used and v.icao == code and _overlap(s, e, v)), None)
        if match is None:
            score.wrong += 1
            score.wrong_names.append(f"{code}@{stop.get('window_start')}")
        else:
            used.add(match)
            score.right += 1
            if stop.get("evidence") == "observed":
                seen.add(match)
    score.found = len(used)
    inside = _covered(truth)
    score.visits_covered = int(inside.sum())
    score.found_covered = sum(1 for i in used if inside[i])
    for i, v in enumerate(truth):
        if i not in used and any(_overlap(s, e, v) for s, e in unknown_windows):
            score.unknown += 1
    _count_stops(itin, [v for i, v in enumerate(truth) if i not in seen], score)
    return score


def _count_stops(itin: dict, truth: list[Visit], score: Score) -> None:
    """Per gap of the itinerary (flown through or not): stops given in it against the truth's
    visits that began and ended inside it (`truth`: the visits no observed stop showed); gaps
    where both are zero are not counted."""
    from tailwatch.times import parse_time as _t

    given: dict[tuple[str, str], int] = {}
    for leg in itin.get("legs", []):
        for g in leg.get("gaps", []):
            given.setdefault((g["start"], g["end"]), 0)
    for stop in itin.get("stops", []):
        key = (stop.get("window_start"), stop.get("window_end"))
        if stop.get("evidence") in ("inferred", "unknown") and key in given:
            given[key] += 1
    slack = timedelta(minutes=1)
    for (start, end), n in given.items():
        s, e = _t(start), _t(end)
        true = sum(1 for v in truth if v.arrive is not None and v.depart is not None
                   and v.arrive >= s - slack and v.depart <= e + slack)
        if n == 0 and true == 0:
            continue
        score.gaps += 1
        score.gaps_exact += int(n == true)
        score.gaps_over += int(n > true)


def _covered(truth: list[Visit]) -> np.ndarray:
    """Whether each visit's airport lies inside coverage as `audible` models it."""
    from tailwatch.geo.airports import airport

    pos = [airport(v.icao) or {} for v in truth]
    lat = np.array([p.get("latitude", np.nan) for p in pos], dtype=float)
    lon = np.array([p.get("longitude", np.nan) for p in pos], dtype=float)
    ok = np.isfinite(lat)
    out = np.zeros(len(truth), dtype=bool)
    if ok.any():
        out[ok] = audible(lat[ok], lon[ok])
    return out


def _overlap(start: datetime | None, end: datetime | None, v: Visit) -> bool:
    """Whether a stop's window [start, end] meets the visit's [arrive, depart] (open ends unbounded)."""
    if end is not None and v.arrive is not None and end + TOLERANCE < v.arrive:
        return False
    if start is not None and v.depart is not None and start - TOLERANCE > v.depart:
        return False
    return True
