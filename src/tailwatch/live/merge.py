"""Merging several feeds: one copy of each message, one copy of each position.

Two receivers (or a receiver and an aggregator) hear the same transmission and
forward identical bytes a few milliseconds apart. Messages are suppressed by
their content when another feed delivered the same bytes within a short window
(2 s by default: an aircraft never repeats position bytes that fast, since CPR
alternates even/odd and the position moves). Positions from feeds that decode
for themselves (SBS, aircraft.json) carry their own rounding and clock, so they
are merged per address by nearness: within 5 s and 5e-5° (about 5 m) of a
position another feed gave is the same observation (an aircraft that moves is
never 5 m from where it was 5 s before; one that stands still loses nothing). Both are column-wise
(hashed keys in NumPy, shifted comparisons in Polars), not per message.
"""

from __future__ import annotations

from datetime import timedelta

from collections import deque

import numpy as np
import polars as pl

from tailwatch.live.feed import ModeSFrames

_MIX = np.uint64(0x9E3779B97F4A7C15)


def message_keys(msg: np.ndarray, length: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each message's bytes (zero padding included, length mixed in)."""
    padded = np.zeros((msg.shape[0], 16), dtype=np.uint8)
    padded[:, :14] = msg
    padded[:, 15] = length.astype(np.uint8)
    words = padded.view(">u8").reshape(-1, 2).astype(np.uint64)
    with np.errstate(over="ignore"):
        return words[:, 0] * _MIX ^ (words[:, 1] + (words[:, 0] >> np.uint64(29)))


class _Window:
    """Keys seen within the last `seconds`, as a queue of arrays (one per cycle)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._parts: deque[tuple[float, np.ndarray]] = deque()
        self._sorted: np.ndarray | None = None

    def seen(self, keys: np.ndarray) -> np.ndarray:
        if not self._parts or keys.size == 0:
            return np.zeros(keys.shape, dtype=bool)
        if self._sorted is None:
            self._sorted = np.sort(np.concatenate([k for _, k in self._parts]))
        recent = self._sorted
        pos = np.minimum(np.searchsorted(recent, keys), recent.size - 1)
        return recent[pos] == keys

    def add(self, now: float, keys: np.ndarray) -> None:
        if keys.size:
            self._parts.append((now, keys))
            self._sorted = None
        while self._parts and self._parts[0][0] < now - self.seconds:
            self._parts.popleft()
            self._sorted = None


class MessageMerger:
    """Drops Mode S messages that another feed already delivered within the window.

    Only copies from a *different* feed count: one receiver repeating identical
    bytes (a steady velocity, an identification) is the aircraft talking, not an echo.
    """

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._windows: dict[int, _Window] = {}
        self.duplicates = 0
        self.last_dropped: list[int] = []  # per feed, in the last call

    def merge(self, per_feed: list[ModeSFrames], now: float) -> list[ModeSFrames]:
        """The same list with cross-feed duplicates removed (the earlier feed keeps the message)."""
        self.last_dropped = [0] * len(per_feed)
        for i in range(len(per_feed)):
            self._windows.setdefault(i, _Window(self.window_s))
        if len(per_feed) < 2:
            return per_feed
        keys = [message_keys(f.msg, f.length) if len(f) else np.zeros(0, np.uint64) for f in per_feed]
        out: list[ModeSFrames] = []
        for i, f in enumerate(per_feed):
            if not len(f):
                out.append(f)
                continue
            dup = np.zeros(len(f), dtype=bool)
            for j in range(len(per_feed)):
                if j == i:
                    continue
                dup |= self._windows[j].seen(keys[i])
                if j < i and keys[j].size:
                    dup |= np.isin(keys[i], keys[j])
            self.last_dropped[i] = int(dup.sum())
            self.duplicates += self.last_dropped[i]
            keys[i] = keys[i][~dup]
            out.append(f.select(~dup) if dup.any() else f)
        for i, k in enumerate(keys):
            self._windows[i].add(now, k)
        return out


class PositionMerger:
    """Per address, a position another feed reported within `window_s` and `tolerance_deg` is the same.

    Feeds that decode for themselves (SBS, aircraft.json) report the same transmission
    with their own rounding and their own clock, so positions are compared by nearness,
    not equality or row order: feeds can lag each other by many rows (bursts, a loaded
    machine, a slow aggregator). Rows are bucketed on a grid of `tolerance_deg` cells and
    joined with the neighbouring cells, so a copy is found however far apart the feeds
    delivered it; the first delivery of a transmission wins. Rows of the last `window_s`
    are carried to the next call.
    """

    def __init__(self, window_s: float = 5.0, tolerance_deg: float = 5e-5) -> None:
        self.window_s = window_s
        self.tolerance_deg = tolerance_deg
        self.duplicates = 0
        self._last: pl.DataFrame | None = None

    def _copies(self, work: pl.DataFrame) -> pl.Series:
        """Row numbers (`_i`) that repeat an earlier row of another feed."""
        cell = self.tolerance_deg
        keyed = work.select(
            "_i", "icao24", "_feed", "timestamp", "latitude", "longitude",
            (pl.col("latitude") / cell).floor().cast(pl.Int64).alias("_cy"),
            (pl.col("longitude") / cell).floor().cast(pl.Int64).alias("_cx"),
        )
        offsets = pl.DataFrame({"_dy": [-1, -1, -1, 0, 0, 0, 1, 1, 1], "_dx": [-1, 0, 1] * 3})
        earlier = keyed.join(offsets, how="cross").select(
            pl.col("_i").alias("_j"), "icao24", pl.col("_feed").alias("_feed_j"),
            pl.col("timestamp").alias("_t_j"), pl.col("latitude").alias("_lat_j"),
            pl.col("longitude").alias("_lon_j"),
            (pl.col("_cy") + pl.col("_dy")).alias("_cy"), (pl.col("_cx") + pl.col("_dx")).alias("_cx"),
        )
        pairs = keyed.join(earlier, on=["icao24", "_cy", "_cx"]).filter(
            (pl.col("_j") < pl.col("_i"))
            & (pl.col("_feed_j") != pl.col("_feed"))
            & ((pl.col("timestamp") - pl.col("_t_j")).dt.total_microseconds().abs() <= self.window_s * 1e6)
            & ((pl.col("latitude") - pl.col("_lat_j")).abs() <= self.tolerance_deg)
            & ((pl.col("longitude") - pl.col("_lon_j")).abs() <= self.tolerance_deg)
        )
        return pairs["_i"].unique()

    def merge(self, frame: pl.DataFrame, now: float | None = None) -> pl.DataFrame:
        """`frame` must carry a `_feed` column (which feed delivered each row)."""
        if frame.is_empty():
            return frame
        work = frame.with_columns(pl.lit(False).alias("_carried"))
        if self._last is not None:
            work = pl.concat([self._last.select(work.columns), work], how="vertical_relaxed")
        work = work.with_row_index("_i")  # delivery order: carried rows first
        dup = pl.col("_i").is_in(self._copies(work).implode())
        fresh = work.filter(~pl.col("_carried"))
        self.duplicates += int(fresh.select(dup.sum()).item())
        horizon = work["timestamp"].max() - timedelta(seconds=self.window_s)
        self._last = (
            work.filter(~dup & (pl.col("timestamp") >= horizon)).drop("_i").with_columns(pl.lit(True).alias("_carried"))
        )
        return fresh.filter(~dup).drop("_i", "_carried")

    def forget_older_than(self, cutoff) -> None:
        if self._last is not None:
            self._last = self._last.filter(pl.col("timestamp") >= cutoff)
