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
        # a frame is complete once its last byte arrived: time it by the chunk holding its end,
        # spread within the chunk by the receiver's 12 MHz clock where that clock runs forward
        ends_at = batch.offset[keep] + 9 + lengths
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
        t = t + np.where(usable, offset, 0.0)
        return ModeSFrames(batch.msg[keep], lengths, t, is_mlat(raw_ticks))


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
