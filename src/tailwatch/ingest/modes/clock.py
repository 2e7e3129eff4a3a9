"""Receiver timestamps (48-bit, 12 MHz, no date) turned into elapsed seconds, then unix time.

Beast and AVR captures stamp each frame with a free-running 12 MHz counter
(dump1090, readsb) or, on GPS-equipped receivers (Radarcape, readsb
`--gps-timestamps`), with seconds since midnight UTC in the upper 18 bits
and nanoseconds in the lower 30. Neither carries a date, so a capture needs an
anchor: the unix time of one frame (see `capture.py` for how readers choose it).

The mode is given (``mode="counter"`` or ``"gps"``) or decided on the first
batch: GPS style when it holds at least `GPS_EVIDENCE` frames, every stamp
has nanoseconds < 1e9 and seconds < 86400, and the seconds field takes at
least two values (a free-running counter crossing such a boundary spends
6 s with its low 30 bits >= 1e9, where some frame would land). Anything less
is read as a plain counter. Then, frame to frame:
- a GPS stamp that goes back by more than 12 h crossed midnight (+86400 s);
- a counter that goes back by more than 2^47 ticks wrapped (+2^48 ticks);
- any other backward step larger than `RESET_S` is a receiver restart: the
  time that passed across it is unknown and counted as zero, and the number
  of resets is reported (`resets`);
- smaller backward steps (frames merged slightly out of order) are kept;
- a zero stamp means "not timed" (dump1090 sends frames it got from the
  network that way): the frame takes the previous frame's time;
- a *magic* stamp is not a time either: readsb and mlat-client mark the
  synthetic frames of multilateration results with 0xFF004D4C4154 ("\\xff\\0MLAT";
  readsb.h `MAGIC_MLAT_TIMESTAMP`, and its `net_io.c` keeps up to +10 above it),
  UAT frames converted to ES with 0xFF004D4C4155, frames not to forward with
  0xFF004D4C4160, and its `dump_reduce` option writes 0xFFFFFFFFFFFF (`MAGIC_ANY_TIMESTAMP`).
  Read as a counter, one such stamp would push every later frame ~271 days
  ahead; these frames take the previous frame's time too (`synthetic` counts
  them) and `is_mlat` tells the reader which are MLAT results.
"""

from __future__ import annotations

import numpy as np

TICK_HZ = 12_000_000.0
WRAP = 1 << 48
RESET_S = 5.0
DAY = 86400.0
GPS_EVIDENCE = 1000
MAGIC_MLAT = 0xFF004D4C4154
MAGIC_UAT = 0xFF004D4C4155
MAGIC_NOFORWARD = 0xFF004D4C4160
MAGIC_ANY = 0xFFFFFFFFFFFF


def is_mlat(ticks: np.ndarray) -> np.ndarray:
    """Frames stamped as multilateration results (MAGIC_MLAT up to +10, as readsb reads them)."""
    ticks = np.asarray(ticks, dtype=np.uint64)
    return (ticks >= np.uint64(MAGIC_MLAT)) & (ticks <= np.uint64(MAGIC_MLAT + 10))


def is_synthetic(ticks: np.ndarray) -> np.ndarray:
    """Stamps that are markers, not receiver times (module docstring)."""
    ticks = np.asarray(ticks, dtype=np.uint64)
    return is_mlat(ticks) | np.isin(ticks, np.array([MAGIC_UAT, MAGIC_NOFORWARD, MAGIC_ANY], np.uint64))


class TickClock:
    """Streaming conversion of 48-bit stamps to seconds elapsed since the first frame."""

    def __init__(self, mode: str = "auto") -> None:
        if mode not in ("auto", "counter", "gps"):
            raise ValueError("mode must be 'auto', 'counter' or 'gps'")
        self.gps: bool | None = None if mode == "auto" else mode == "gps"
        self.first_second_of_day: float | None = None  # GPS mode: time of day of the first frame
        self._last_raw: float | None = None  # last stamp in seconds (counter/12e6 or seconds of day)
        self._last_elapsed = 0.0
        self.resets = 0
        self.untimed = 0
        self.synthetic = 0  # frames with a magic stamp (MLAT results and the like): timed as untimed ones

    def _seconds(self, ticks: np.ndarray) -> np.ndarray:
        if self.gps:
            return (ticks >> np.uint64(30)).astype(np.float64) + (ticks & np.uint64((1 << 30) - 1)).astype(np.float64) * 1e-9
        return ticks.astype(np.float64) / TICK_HZ

    def elapsed(self, ticks: np.ndarray) -> np.ndarray:
        """Seconds since the first frame ever given, for each stamp of this batch (in stream order).

        A zero stamp means "no time" (dump1090 forwards network-received
        frames that way): such a frame gets the time of the frame before it
        and does not move the clock; `untimed` counts them. Magic stamps
        (`is_synthetic`) are treated the same and counted in `synthetic`.
        """
        ticks = np.asarray(ticks, dtype=np.uint64)
        if ticks.size == 0:
            return np.zeros(0)
        magic = is_synthetic(ticks)
        zero = (ticks == 0) | magic
        if zero.any():
            self.synthetic += int(magic.sum())
            self.untimed += int((ticks == 0).sum())
            timed = np.flatnonzero(~zero)
            out = np.full(ticks.size, self._last_elapsed)
            if timed.size:
                out[timed] = self._elapsed(ticks[timed])
                # zero-stamped frames take the time of the last timed frame before them
                last = np.maximum.accumulate(np.where(~zero, np.arange(ticks.size), -1))
                out = np.where(last >= 0, out[np.maximum(last, 0)], out)
            return out
        return self._elapsed(ticks)

    def _elapsed(self, ticks: np.ndarray) -> np.ndarray:
        if self._last_raw is None:
            if self.gps is None:
                ns = ticks & np.uint64((1 << 30) - 1)
                sec = ticks >> np.uint64(30)
                self.gps = bool(
                    ticks.size >= GPS_EVIDENCE
                    and np.all(ns < 1_000_000_000)
                    and np.all(sec < DAY)
                    and sec.min() != sec.max()
                )
            first = self._seconds(ticks[:1])[0]
            self._last_raw = first
            if self.gps:
                self.first_second_of_day = first
        raw = self._seconds(ticks)
        step = np.diff(np.concatenate(([self._last_raw], raw)))
        span = DAY if self.gps else WRAP / TICK_HZ
        step = np.where(step < -span / 2, step + span, step)  # midnight or counter wrap
        reset = step < -RESET_S
        self.resets += int(reset.sum())
        step = np.where(reset, 0.0, step)
        out = self._last_elapsed + np.cumsum(step)
        self._last_raw = float(raw[-1])
        self._last_elapsed = float(out[-1])
        return out

    @property
    def last_elapsed(self) -> float:
        return self._last_elapsed


def absolute(elapsed: np.ndarray, anchor: float, anchor_elapsed: float, gps_first_sod: float | None) -> np.ndarray:
    """Unix seconds: the frame at `anchor_elapsed` is placed at `anchor`.

    With GPS stamps the time of day is known, so the anchor only picks the
    date: the day is chosen that puts that frame nearest to the anchor.
    """
    if gps_first_sod is None:
        return anchor + (elapsed - anchor_elapsed)
    tod = gps_first_sod + anchor_elapsed  # time of day (may exceed a day) of the anchored frame
    midnight = np.round((anchor - tod) / DAY) * DAY
    return midnight + gps_first_sod + elapsed
