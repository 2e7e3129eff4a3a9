"""Feeds of raw Mode S: Beast binary (`beast://`) and AVR hex lines (`raw://`), framed as they arrive."""

from __future__ import annotations

import numpy as np
import polars as pl

from tailwatch.live.feed import Feed, ModeSFrames


class BeastFeed(Feed):
    """Beast binary (port 30005): resynchronises on half frames and garbage bytes."""

    kind = "beast"

    def frames(self, chunks: list[tuple[float, bytes]]) -> ModeSFrames:
        from tailwatch.ingest.beast_framing import KIND_LONG, KIND_SHORT, parse_beast

        if not chunks and not self._pending:
            return ModeSFrames.empty()
        buf, ends, times = self._joined(chunks)
        batch = parse_beast(buf)
        self.stats.errors += len(batch.error_offsets)
        rest = buf[batch.consumed:]
        self._pending = rest
        self._pending_t = float(times[-1]) if rest else 0.0
        keep = (batch.kind == KIND_SHORT) | (batch.kind == KIND_LONG)
        self.stats.messages += int(keep.sum())
        if not keep.any():
            return ModeSFrames.empty()
        lengths = batch.length[keep].astype(np.int64)
        # a frame is complete once its last byte arrived: time it by the chunk holding that byte
        # (escaped bytes counted; a frame ending a read belongs to that read, not the next one),
        # spread within the chunk by the receiver's 12 MHz clock where that clock runs forward
        ends_at = batch.last[keep]
        t = self._times_at(ends_at, ends, times)
        from tailwatch.ingest.modes.clock import is_mlat, is_synthetic

        raw_ticks = batch.ticks[keep]
        ticks = raw_ticks.astype(np.float64)
        chunk = np.searchsorted(ends, ends_at, side="right")
        first = np.ones(chunk.size, dtype=bool)
        first[1:] = chunk[1:] != chunk[:-1]
        last_of_group = np.append(np.flatnonzero(first)[1:] - 1, chunk.size - 1)
        ref = ticks[last_of_group[np.cumsum(first) - 1]]
        offset = (ticks - ref) / 12e6
        usable = (offset <= 0.0) & (offset >= -1.0) & (ticks > 0) & ~is_synthetic(raw_ticks)
        t = self._in_stream_order(t + np.where(usable, offset, 0.0), chunk, times)
        return ModeSFrames(batch.msg[keep], lengths, t, is_mlat(raw_ticks))

    def _in_stream_order(self, t: np.ndarray, chunk: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Frame times that never run backwards in stream order: a receiver sends frames in the
        order it heard them. Spreading by the 12 MHz clock can invert two frames otherwise: one
        whose stamp is unusable (over 1 s back, reset, synthetic) sits at its chunk's receive time
        after a later frame spread back, and a chunk's first frames spread back before the last
        chunk's. Frames read faster than real time (a replay, a backlog) showed it: the
        identification carrying the callsign got a later time than the next position, which then
        lost its callsign. Within a chunk times take the running maximum (never past the chunk's
        receive time); a chunk starts no earlier than the one before it arrived (unless the wall
        clock stepped back, when its own receive time bounds it)."""
        if not t.size:
            return t
        arrival = times[np.minimum(chunk, times.size - 1)]
        before = np.concatenate(([self._last_arrival or times[0]], times[:-1]))
        floor = np.minimum(before[np.minimum(chunk, times.size - 1)], arrival)
        offset = np.maximum(t, floor) - arrival  # in [-1, 0]: at most 1 s before its chunk arrived
        group = np.cumsum(np.concatenate(([True], chunk[1:] != chunk[:-1])))
        ordered = np.maximum.accumulate(offset + 4.0 * group) - 4.0 * group  # running maximum per chunk
        self._last_arrival = float(times[-1])
        return arrival + np.minimum(ordered, 0.0)  # the shift by 4 s per chunk can leave a rounding bit


class RawFeed(Feed):
    """Raw AVR hex (port 30002): `*8D4CA123…;`, `@<12 hex clock><hex>;` or `<…;` per line.

    Lines are cut and parsed column-wise by the AVR file reader's functions.
    """

    kind = "raw"

    def frames(self, chunks: list[tuple[float, bytes]]) -> ModeSFrames:
        from tailwatch.ingest.avr import hex_frames, parse_avr, split_lines

        if not chunks and not self._pending:
            return ModeSFrames.empty()
        buf, ends, times = self._joined(chunks)
        cut = buf.rfind(b"\n")
        if cut < 0:
            self._pending = buf[-4096:]
            self._pending_t = float(times[-1])
            return ModeSFrames.empty()
        body, rest = buf[: cut + 1], buf[cut + 1:]
        self._pending = rest[-4096:]
        self._pending_t = float(times[-1]) if rest else 0.0
        lines = split_lines(body)
        starts = np.concatenate(([0], np.flatnonzero(np.frombuffer(body, np.uint8) == 0x0A)[:-1] + 1))
        parsed = parse_avr(lines)
        blank = (lines.str.strip_chars().str.len_bytes() == 0).to_numpy()
        is_avr = parsed["kind"].is_not_null().to_numpy()
        self.stats.messages += int((~blank).sum())
        self.stats.errors += int((~blank & ~is_avr).sum())
        hexes = parsed["hex"].filter(pl.Series(is_avr))
        if hexes.len() == 0:
            return ModeSFrames.empty()
        msg, length, ok = hex_frames(hexes)
        modeac = (hexes.str.len_bytes() == 4).to_numpy()
        self.stats.errors += int((~ok & ~modeac).sum())
        from tailwatch.ingest.avr import hex_ticks
        from tailwatch.ingest.modes.clock import is_mlat

        t = self._times_at(starts[is_avr][ok], ends, times)
        stamps = parsed["ticks"].filter(pl.Series(is_avr)).filter(pl.Series(ok))
        timed = (stamps.str.len_bytes().fill_null(0) == 12).to_numpy()
        mlat = np.zeros(timed.size, bool)
        if timed.any():
            mlat[timed] = is_mlat(hex_ticks(stamps.filter(pl.Series(timed))))
        return ModeSFrames(msg[ok], length[ok].astype(np.int64), t, mlat)
