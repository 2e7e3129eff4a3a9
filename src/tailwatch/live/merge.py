"""Merging several feeds: one copy of each message, one copy of each position.

Two receivers (or a receiver and an aggregator) hear the same transmission and
forward identical bytes a few milliseconds apart. Messages are suppressed by
their content within a short window (2 s by default: an aircraft never sends
the same position bytes twice that fast, since CPR alternates even/odd and the
position moves). Positions coming from already-decoded feeds (SBS,
aircraft.json) are merged per address: the same address at the same rounded
position within the window is one observation. Both are done with hashed
keys in NumPy, not per message in Python.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import polars as pl

from tailwatch.live.feeds import ModeSFrames

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

    def seen(self, keys: np.ndarray) -> np.ndarray:
        if not self._parts or keys.size == 0:
            return np.zeros(keys.shape, dtype=bool)
        recent = np.concatenate([k for _, k in self._parts])
        return np.isin(keys, recent)

    def add(self, now: float, keys: np.ndarray) -> None:
        if keys.size:
            self._parts.append((now, keys))
        while self._parts and self._parts[0][0] < now - self.seconds:
            self._parts.popleft()


def first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Mask keeping the first of equal keys (in array order)."""
    keep = np.zeros(keys.shape, dtype=bool)
    if keys.size:
        _, first = np.unique(keys, return_index=True)
        keep[first] = True
    return keep


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
    """One copy per (address, rounded position) within the window, across all feeds."""

    def __init__(self, window_s: float = 10.0, decimals: int = 5) -> None:
        self._window = _Window(window_s)
        self.decimals = decimals
        self.duplicates = 0

    def keys(self, frame: pl.DataFrame) -> np.ndarray:
        scale = 10.0**self.decimals
        return (
            frame.select(
                pl.struct(
                    pl.col("icao24"),
                    (pl.col("latitude") * scale).round().cast(pl.Int64),
                    (pl.col("longitude") * scale).round().cast(pl.Int64),
                ).hash(seed=7)
            )
            .to_series()
            .to_numpy()
            .astype(np.uint64)
        )

    def merge(self, frame: pl.DataFrame, now: float) -> pl.DataFrame:
        if frame.is_empty():
            self._window.add(now, np.zeros(0, np.uint64))
            return frame
        frame = frame.sort("timestamp")
        keys = self.keys(frame)
        keep = first_occurrences(keys) & ~self._window.seen(keys)
        self.duplicates += int(keys.size - keep.sum())
        self._window.add(now, keys[keep])
        return frame.filter(pl.Series(keep))
