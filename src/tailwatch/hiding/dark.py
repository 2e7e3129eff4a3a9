"""Went dark and position withheld: silences of one aircraft, told apart from holes in the coverage.

Two kinds of interval, each with its evidence:
- `position_withheld` (*observed*): the aircraft was heard (the archive's heard minutes: replies to
  interrogations DF 4/5/11/20/21, altitude-only or other messages) but sent no position for at least
  `min_gap_s`. Bounds are the first and last message of the silent stretch.
- `dark_in_coverage` (*inferred*): between two positions at least `min_gap_s` apart (or after the
  last position, the aircraft still airborne) nothing at all was heard from it, while receivers were
  hearing other aircraft along the path it must have flown. Coverage is judged from the other
  aircraft only: the path between the gap's ends (straight, at constant speed; after the last
  position, extrapolated along its track and speed for `lookahead_s`) is sampled every `sample_s`;
  a sample is covered when another aircraft's position lies within `radius_km` and `window_s` of it.
  The gap is called dark when at least `min_covered` of the samples are covered, by at least
  `min_others` different aircraft. A gap over an area where nothing else is heard either (ocean,
  desert, beyond the receivers) is a coverage hole and is *not* called dark.

Gaps with both ends on the ground (or below `ground_ft`) are stops, the itinerary's business, and are
left out; so is a gap the aircraft had time to spend anywhere but on the straight line between its
ends (slower than `min_straight_speed` of its own speed: it may have landed, or left the area and come
back), since where it was is then unknown, and with it the coverage that would make it "dark". This also
bounds the samples of a gap by the aircraft's endurance, never by the gap's length. Everything is vectorised per gap (a few gaps per aircraft; samples × nearby points).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from tailwatch.geo.geodesy import haversine_km

KM_PER_DEG = 111.195
KT_KM_PER_S = 1.852 / 3600.0


@dataclass(frozen=True)
class DarkRules:
    min_gap_s: float = 300.0
    # a gap is judged along its straight path only when the aircraft had no time to be anywhere
    # else: the straight line needs at least this share of its own ground speed at the ends (the
    # itinerary's flown-through test). Slower, it may have landed or gone out of the area and
    # back, and coverage along a line it did not fly says nothing.
    min_straight_speed: float = 0.72
    sample_s: float = 60.0
    radius_km: float = 100.0
    window_s: float = 600.0
    min_covered: float = 0.75
    min_others: int = 2
    lookahead_s: float = 900.0
    ground_ft: float = 1500.0


def _path_samples(lat0, lon0, lat1, lon1, t0: float, t1: float, step: float) -> tuple[np.ndarray, ...]:
    """Straight-line (in lat/lon, fine for gaps of a few hundred km) samples between two fixes."""
    n = max(int((t1 - t0) // step), 1)
    f = (np.arange(n) + 0.5) / n
    dlon = (lon1 - lon0 + 540.0) % 360.0 - 180.0
    return lat0 + f * (lat1 - lat0), (lon0 + f * dlon + 540.0) % 360.0 - 180.0, t0 + f * (t1 - t0)


def _extrapolate(lat, lon, track_deg, speed_kt, t0: float, seconds: float, step: float) -> tuple[np.ndarray, ...]:
    n = max(int(seconds // step), 1)
    dt = (np.arange(n) + 1.0) * step
    km = speed_kt * KT_KM_PER_S * dt
    b = np.radians(track_deg)
    la = lat + km * np.cos(b) / KM_PER_DEG
    lo = lon + km * np.sin(b) / (KM_PER_DEG * max(np.cos(np.radians(lat)), 0.1))
    return la, (lo + 540.0) % 360.0 - 180.0, t0 + dt


def coverage(samples: tuple[np.ndarray, np.ndarray, np.ndarray], others: pl.DataFrame, rules: DarkRules
             ) -> tuple[float, int]:
    """(share of samples covered by other aircraft, how many other aircraft covered them)."""
    lat, lon, t = samples
    if others.height == 0 or lat.size == 0:
        return 0.0, 0
    pad = rules.radius_km / KM_PER_DEG
    t_lo, t_hi = t.min() - rules.window_s, t.max() + rules.window_s
    ot = others["timestamp"].dt.epoch("us").to_numpy() / 1e6
    olat, olon = others["latitude"].to_numpy(), others["longitude"].to_numpy()
    near = ((ot >= t_lo) & (ot <= t_hi) & (olat >= lat.min() - pad) & (olat <= lat.max() + pad))
    lon_pad = pad / max(np.cos(np.radians(np.abs(lat).max())), 0.1)
    near &= ((olon - lon.min() + 540.0) % 360.0 - 180.0 >= -lon_pad) & ((olon - lon.max() + 540.0) % 360.0 - 180.0 <= lon_pad)
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return 0.0, 0
    codes = others["icao24"].to_numpy()[idx]
    covered = np.zeros(lat.size, bool)
    who: set = set()
    olat, olon, ot = olat[idx], olon[idx], ot[idx]
    for lo in range(0, idx.size, 20_000):  # samples × nearby points, in chunks
        sl = slice(lo, lo + 20_000)
        # the time test first (a subtraction), the great circle only for the pairs it leaves
        ii, jj = np.nonzero(np.abs(t[:, None] - ot[sl][None, :]) <= rules.window_s)
        if ii.size == 0:
            continue
        close = np.asarray(haversine_km(lat[ii], lon[ii], olat[sl][jj], olon[sl][jj])) <= rules.radius_km
        covered[ii[close]] = True
        who.update(codes[sl][np.unique(jj[close])].tolist())
    return float(covered.mean()), len(who)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(float(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _place(lat: float, lon: float) -> dict:
    return {"latitude": round(float(lat), 4), "longitude": round(float(lon), 4)}


def withheld(track: pl.DataFrame, heard: pl.DataFrame | None, rules: DarkRules = DarkRules()) -> list[dict]:
    """Stretches of at least `min_gap_s` where the aircraft was heard without a position (observed)."""
    from tailwatch.hiding.heard import intervals

    if heard is None or heard.height == 0:
        return []
    silent = intervals(heard, max_gap_s=90.0, positions=False)
    out = []
    pos_t = track["timestamp"].dt.epoch("us").to_numpy() / 1e6 if track.height else np.zeros(0)
    for row in silent.iter_rows(named=True):
        a, b = row["start"].timestamp(), row["end"].timestamp()
        # the minutes are whole minutes: clip to the positions either side
        before = pos_t[pos_t <= a]
        after = pos_t[pos_t >= b]
        if b - a < rules.min_gap_s:
            continue
        out.append({
            "kind": "position_withheld", "evidence": "observed",
            "start": _iso(a), "end": _iso(b), "duration_s": round(float(b - a), 1),
            "messages": int(row["messages"]),
            "last_position_before": _iso(before.max()) if before.size else None,
            "first_position_after": _iso(after.min()) if after.size else None,
            "reasons": [f"{row['messages']} messages heard from the aircraft in {round((b - a) / 60)} min, none with a position message"],
        })
    return out


def _around(samples: tuple[np.ndarray, np.ndarray, np.ndarray], rules: DarkRules
            ) -> tuple[datetime, datetime, tuple[float, float, float, float]]:
    """Time window and (south, west, north, east) box where other aircraft can cover the samples."""
    lat, lon, t = samples
    pad = rules.radius_km / KM_PER_DEG
    lon_pad = pad / max(np.cos(np.radians(min(np.abs(lat).max() + pad, 89.0))), 0.1)
    west, east = (float(lon.min() - lon_pad) + 540.0) % 360.0 - 180.0, (float(lon.max() + lon_pad) + 540.0) % 360.0 - 180.0
    return (datetime.fromtimestamp(float(t.min()) - rules.window_s, timezone.utc),
            datetime.fromtimestamp(float(t.max()) + rules.window_s, timezone.utc),
            (max(float(lat.min()) - pad, -90.0), west, min(float(lat.max()) + pad, 90.0), east))


Silence = tuple[int, float, float | None, tuple[np.ndarray, np.ndarray, np.ndarray]]


def _silences(track: pl.DataFrame, heard: pl.DataFrame | None, rules: DarkRules,
              window_end: datetime | None) -> list[Silence]:
    """(index of the last position before, start, end or None when trailing, path samples) of each
    silence of the aircraft that other aircraft could show to be dark: airborne, nothing heard."""
    if track.height < 1:
        return []
    t = track["timestamp"].dt.epoch("us").to_numpy() / 1e6
    lat, lon = track["latitude"].to_numpy(), track["longitude"].to_numpy()
    alt = track["altitude"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    ground = track["onground"].fill_null(False).to_numpy() | (alt < rules.ground_ft)
    heard_t = None
    if heard is not None and heard.height:
        heard_t = np.sort(np.r_[heard["first"].dt.epoch("us").to_numpy(), heard["last"].dt.epoch("us").to_numpy()] / 1e6)
    out: list[Silence] = []
    gaps = np.flatnonzero(np.diff(t) >= rules.min_gap_s)
    spans = [(int(i), t[i], t[i + 1]) for i in gaps if not (ground[i] and ground[i + 1])]
    gs_all = track["groundspeed"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    if spans:
        i_s = np.array([i for i, _, _ in spans])
        straight = np.asarray(haversine_km(lat[i_s], lon[i_s], lat[i_s + 1], lon[i_s + 1])) / np.maximum(t[i_s + 1] - t[i_s], 1.0)
        with np.errstate(invalid="ignore"):
            own = np.nanmean(np.c_[gs_all[i_s], gs_all[i_s + 1]], axis=1) * KT_KM_PER_S
        on_line = np.nan_to_num(straight >= rules.min_straight_speed * own, nan=False) & (own > 0)
        spans = [span for span, keep in zip(spans, on_line) if keep]
    end_t = window_end.timestamp() if window_end is not None else None
    last = t.size - 1
    trailing = not ground[last] and (end_t is None or end_t - t[last] >= rules.lookahead_s)
    for i, a, b in spans + ([(last, t[last], None)] if trailing else []):
        if heard_t is not None:  # heard during the gap: not silent (position withheld is reported apart)
            inside = heard_t[(heard_t > a + 1.0) & (heard_t < (b if b is not None else a + rules.lookahead_s) - 1.0)]
            if inside.size:
                continue
        if b is not None:
            samples = _path_samples(lat[i], lon[i], lat[i + 1], lon[i + 1], a, b, rules.sample_s)
        else:
            gs = gs_all[i]
            trk = track["track"].cast(pl.Float64).fill_null(np.nan).to_numpy()[i]
            if np.isnan(gs) or np.isnan(trk):
                continue
            samples = _extrapolate(lat[i], lon[i], trk, gs, a, rules.lookahead_s, rules.sample_s)
        out.append((i, a, b, samples))
    return out


Box = tuple[datetime, datetime, tuple[float, float, float, float]]


def silence_boxes(track: pl.DataFrame, heard: pl.DataFrame | None = None, rules: DarkRules = DarkRules(),
                  window_end: datetime | None = None) -> list[Box]:
    """(start, end, (south, west, north, east)) where other aircraft must be looked up to judge
    each silence of `track`: what an engine gathers (one pruned query) before `dark_gaps` runs."""
    return [_around(samples, rules) for *_, samples in _silences(track, heard, rules, window_end)]


def dark_gaps(track: pl.DataFrame, others: pl.DataFrame, heard: pl.DataFrame | None = None,
              rules: DarkRules = DarkRules(), window_end: datetime | None = None) -> list[dict]:
    """Intervals the aircraft (`track`: its positions, sorted) went silent inside coverage (inferred).

    `others`: the other aircraft's positions (icao24, timestamp, latitude, longitude), at least
    those inside the `silence_boxes` of `track` (more do no harm: coverage looks only near the path).
    """
    out = []
    if track.height < 1:
        return out
    lat, lon = track["latitude"].to_numpy(), track["longitude"].to_numpy()
    for i, a, b, samples in _silences(track, heard, rules, window_end):
        share, n_others = coverage(samples, others, rules)
        if share < rules.min_covered or n_others < rules.min_others:
            continue
        reasons = [f"nothing heard from the aircraft for {round(((b or a + rules.lookahead_s) - a) / 60)} min"
                   + ("" if b is not None else " after its last position, airborne"),
                   f"{share:.0%} of its {'path' if b is not None else 'expected path'} covered: "
                   f"{n_others} other aircraft heard within {rules.radius_km:.0f} km and "
                   f"{rules.window_s / 60:.0f} min"]
        out.append({
            "kind": "dark_in_coverage", "evidence": "inferred",
            "start": _iso(a), "end": _iso(b) if b is not None else None,
            "duration_s": round(float(b - a), 1) if b is not None else None,
            "from": _place(lat[i], lon[i]), "to": _place(lat[i + 1], lon[i + 1]) if b is not None else None,
            "coverage": {"share": round(share, 3), "other_aircraft": n_others},
            "reasons": reasons,
        })
    return out


def hiding_evidence(track: pl.DataFrame, others: pl.DataFrame, heard: pl.DataFrame | None = None,
                    rules: DarkRules = DarkRules(), window_end: datetime | None = None) -> list[dict]:
    """Both kinds for one aircraft, in time order, each with the leg it falls in when `track` has `leg`."""
    found = withheld(track, heard, rules) + dark_gaps(track, others, heard, rules, window_end)
    if "leg" in track.columns and track.height:
        t = track["timestamp"].dt.epoch("us").to_numpy() / 1e6
        legs = track["leg"].to_numpy()
        for item in found:
            start = datetime.fromisoformat(item["start"].replace("Z", "+00:00")).timestamp()
            k = int(np.searchsorted(t, start, side="right")) - 1
            leg = legs[max(k, 0)] if legs.size else None
            item["leg"] = None if leg is None or (isinstance(leg, float) and np.isnan(leg)) else int(leg)
    return sorted(found, key=lambda d: d["start"])


def window_pad(seconds: float = DarkRules().window_s + DarkRules().lookahead_s) -> timedelta:
    """How far beyond an aircraft's time range the other aircraft are needed."""
    return timedelta(seconds=seconds)
