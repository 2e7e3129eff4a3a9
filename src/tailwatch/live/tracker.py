"""Live per-aircraft state: last position, flight phase and current leg.

The tracker keeps a short, thinned window of each aircraft's recent positions
(one point per `resample_s`, at most `window_s` back) in one Polars frame, and
runs the itinerary module's take-off/landing detector
(`tailwatch.itinerary.landings.phase_events`, the one implementation) over the
window of the aircraft that moved since the last pass. Events it has already
reported are not reported again. Phase follows the last event (take-off →
airborne, landing → ground) and, before any event, the last point's on-ground
flag and altitude.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from tailwatch.schema import COLUMNS, POINT_SCHEMA, TIMESTAMP

AIRBORNE_FT = 1500.0
LOW_FT = 20_000.0  # above the detector's highest take-off/landing candidate (2,000 ft AGL + 15,000 ft)

EVENT_SCHEMA = {
    "icao24": pl.String(), "timestamp": TIMESTAMP, "kind": pl.String(), "airport": pl.String(),
    "distance_km": pl.Float64(), "altitude": pl.Float64(), "evidence": pl.String(), "piece": pl.Int64(),
}
STATE_SCHEMA = {
    **POINT_SCHEMA, "phase": pl.String(), "leg_start": TIMESTAMP, "origin": pl.String(),
    "last_event": pl.String(), "last_event_time": TIMESTAMP, "destination": pl.String(),
}


def _default_detector() -> Callable[[pl.DataFrame], pl.DataFrame]:
    from tailwatch.itinerary.landings import phase_events

    return phase_events


class Tracker:
    """Per-aircraft live state fed batch by batch."""

    def __init__(self, window_s: float = 1800.0, resample_s: float = 5.0, detect_every_s: float = 2.0,
                 detector: Callable[[pl.DataFrame], pl.DataFrame] | None = None, hold_s: float | None = None) -> None:
        if hold_s is None:
            from tailwatch.itinerary.flights import GAP_S

            hold_s = GAP_S
        self.hold_s = hold_s
        self.window_s = window_s
        self.resample_s = resample_s
        self.detect_every_s = detect_every_s
        self._detector = detector
        self.recent = pl.DataFrame(schema=POINT_SCHEMA)
        self.last = pl.DataFrame(schema=POINT_SCHEMA)
        self._bucket: dict[str, int] = {}
        self._touched: set[str] = set()
        self._reported: dict[str, datetime] = {}
        self._events: dict[str, dict] = {}
        self._last_detect = 0.0
        self._recheck: dict[str, datetime] = {}
        self._first_seen: dict[str, datetime] = {}
        self.detector_error: str | None = None

    @property
    def detector(self) -> Callable[[pl.DataFrame], pl.DataFrame] | None:
        if self._detector is None:
            try:
                self._detector = _default_detector()
            except ImportError as exc:
                self.detector_error = f"take-off/landing detector unavailable: {exc}"
                return None
        return self._detector

    # -- positions -------------------------------------------------------------------------------
    def update(self, batch: pl.DataFrame) -> None:
        """Add canonical positions: refresh last positions, thin into the recent window."""
        if batch.is_empty():
            return
        batch = batch.select(COLUMNS).sort("icao24", "timestamp")
        latest = batch.group_by("icao24").agg(pl.all().sort_by("timestamp").last())
        # carry callsign/squawk from earlier points when the newest one lacks them
        merged = pl.concat([self.last, latest.select(COLUMNS)], how="vertical_relaxed").sort("timestamp")
        self.last = merged.group_by("icao24", maintain_order=True).agg(
            [pl.col(c).drop_nulls().last() if c in ("callsign", "squawk") else pl.col(c).last()
             for c in COLUMNS if c != "icao24"]
        ).select(COLUMNS)
        step = int(self.resample_s * 1e6)
        thinned = batch.with_columns((pl.col("timestamp").dt.epoch("us") // step).alias("_b"))
        prev = pl.DataFrame({"icao24": list(self._bucket), "_p": list(self._bucket.values())},
                            schema={"icao24": pl.String(), "_p": pl.Int64()})
        thinned = (
            thinned.join(prev, on="icao24", how="left")
            .filter(pl.col("_p").is_null() | (pl.col("_b") > pl.col("_p")))
            .unique(subset=["icao24", "_b"], keep="first", maintain_order=True)
        )
        for icao, b in thinned.group_by("icao24").agg(pl.col("_b").max()).iter_rows():
            self._bucket[icao] = b
        self._touched.update(batch["icao24"].unique().to_list())
        firsts = batch.group_by("icao24").agg(pl.col("timestamp").min())
        for icao, t in firsts.iter_rows():
            self._first_seen.setdefault(icao, t)
        newest = batch["timestamp"].max()
        self.recent = pl.concat([self.recent, thinned.select(COLUMNS)], how="vertical_relaxed").filter(
            pl.col("timestamp") >= newest - timedelta(seconds=self.window_s)
        )

    def points_of(self, icao24: str) -> pl.DataFrame:
        return self.recent.filter(pl.col("icao24") == icao24).sort("timestamp")

    # -- take-off / landing --------------------------------------------------------------------
    def detect(self, now: datetime, force: bool = False) -> pl.DataFrame:
        """New take-off/landing events of the aircraft that moved since the last pass.

        A landing inferred from a descent into silence (`low-descent`) is held back
        until the silence is long enough to end a flight piece (the itinerary's gap):
        at the live edge of the window every track "ends", so acting earlier would call
        every approach a landing.
        """
        empty = pl.DataFrame(schema=EVENT_SCHEMA)
        mono = time.monotonic()
        if not force and mono - self._last_detect < self.detect_every_s:
            return empty
        self._last_detect = mono
        due = {i for i, t in self._recheck.items() if now >= t}
        for i in due:
            self._recheck.pop(i, None)
        touched, self._touched = self._touched | due, set()
        if not touched:
            return empty
        detector = self.detector
        if detector is None:
            return empty
        window = self.recent.filter(pl.col("icao24").is_in(list(touched)))
        # an aircraft that stayed high in the whole window can neither have taken off nor landed
        alt = pl.col("altitude").fill_null(pl.col("geoaltitude"))
        low = window.group_by("icao24").agg(
            ((alt.min() < LOW_FT) | alt.is_null().all() | pl.col("onground").fill_null(False).any()).alias("low"))
        window = window.join(low.filter("low").select("icao24"), on="icao24").sort("icao24", "timestamp")
        if window.is_empty():
            return empty
        events = detector(window)
        if events.is_empty():
            return empty
        events = events.sort("icao24", "timestamp")
        hold = timedelta(seconds=self.hold_s)
        starts = dict(window.group_by("icao24").agg(pl.col("timestamp").min()).iter_rows())
        fresh = []
        for icao, t, evidence in events.select("icao24", "timestamp", "evidence").iter_rows():
            new = self._reported.get(icao) is None or t > self._reported[icao]
            if new and evidence == "low-climb" and t == starts.get(icao) and t > self._first_seen.get(icao, t):
                new = False  # the window was trimmed here: its first point is no "first heard climbing"
            if new and evidence == "low-descent" and now - t < hold:
                self._recheck[icao] = t + hold
                new = False
            fresh.append(new)
        events = events.filter(pl.Series(fresh, dtype=pl.Boolean))
        for row in events.iter_rows(named=True):
            self._reported[row["icao24"]] = row["timestamp"]
            self._on_event(row)
        return events

    def _on_event(self, row: dict) -> None:
        state = self._events.setdefault(row["icao24"], {})
        state["last_event"] = row["kind"]
        state["last_event_time"] = row["timestamp"]
        if row["kind"] == "takeoff":
            state["leg_start"] = row["timestamp"]
            state["origin"] = row.get("airport")
            state["destination"] = None
        elif row["kind"] == "landing":
            state["destination"] = row.get("airport")

    # -- state ----------------------------------------------------------------------------------
    def state(self) -> pl.DataFrame:
        """One row per aircraft: last point, phase, current leg (origin, take-off time)."""
        if self.last.is_empty():
            return pl.DataFrame(schema=STATE_SCHEMA)
        ev = pl.DataFrame(
            [{"icao24": k, **{f: v.get(f) for f in ("last_event", "last_event_time", "leg_start", "origin",
                                                       "destination")}}
             for k, v in self._events.items()],
            schema={"icao24": pl.String(), "last_event": pl.String(), "last_event_time": TIMESTAMP,
                    "leg_start": TIMESTAMP, "origin": pl.String(), "destination": pl.String()},
        )
        alt = pl.col("altitude").fill_null(pl.col("geoaltitude"))
        phase = (
            pl.when(pl.col("last_event") == "takeoff").then(pl.lit("airborne"))
            .when(pl.col("last_event") == "landing").then(pl.lit("ground"))
            .when(pl.col("onground").fill_null(False)).then(pl.lit("ground"))
            .when(pl.col("onground").is_not_null() | (alt >= AIRBORNE_FT)).then(pl.lit("airborne"))
            .otherwise(pl.lit("unknown"))
        )
        # a point after the last event that contradicts it wins (an event may be missed)
        phase = (
            pl.when(pl.col("onground").fill_null(False) & (pl.col("timestamp") > pl.col("last_event_time")))
            .then(pl.lit("ground"))
            .when((pl.col("onground").is_not_null() | (alt >= AIRBORNE_FT))
                  & (pl.col("timestamp") > pl.col("last_event_time")) & (pl.col("last_event") == "landing"))
            .then(pl.lit("airborne"))
            .otherwise(phase)
        )
        return self.last.join(ev, on="icao24", how="left").with_columns(phase.alias("phase")).select(
            list(STATE_SCHEMA))

    def forget_older_than(self, cutoff: datetime) -> None:
        """Drop aircraft silent since before `cutoff` (keeps memory bounded on a long watch)."""
        gone = self.last.filter(pl.col("timestamp") < cutoff)["icao24"].to_list()
        if not gone:
            return
        self.last = self.last.filter(pl.col("timestamp") >= cutoff)
        for icao in gone:
            self._bucket.pop(icao, None)
            self._events.pop(icao, None)
            self._reported.pop(icao, None)
            self._recheck.pop(icao, None)
            self._first_seen.pop(icao, None)


def near_airport(lat: np.ndarray, lon: np.ndarray, km: float) -> np.ndarray:
    """Which positions lie within `km` of a usable airport (shared airport index)."""
    from tailwatch.geo.airports import nearest

    if lat.size == 0:
        return np.zeros(0, dtype=bool)
    found = nearest(lat, lon, max_km=km)
    return found["distance_km"].is_not_null().to_numpy()
