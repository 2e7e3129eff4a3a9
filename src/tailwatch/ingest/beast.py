"""Beast binary captures (dump1090/readsb port 30005 dumps): the file reader.

Framing is `beast_framing` (the names stay importable from here); the time anchoring and
receiver position shared with the other capture readers are `capture` (see its docstring
for the precedence of anchors).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.ingest.base import DEFAULT_BATCH_ROWS, BadInput, Rejects, open_bytes
from tailwatch.ingest.beast_framing import (  # noqa: F401 - framing names are imported from here too
    ERR_GARBAGE,
    ERROR_REASONS,
    HEADER,
    KIND_LONG,
    KIND_MODEAC,
    KIND_SHORT,
    KIND_STATUS,
    BeastBatch,
    parse_beast,
)
from tailwatch.ingest.capture import (  # noqa: F401 - capture settings are imported from here too
    ANCHOR_ENV,
    CHUNK_BYTES,
    RECEIVER_ENV,
    CaptureReader,
    parse_time,
    receiver_from_env,
    report_rejects,
    resolve_anchor,
)


def _chunks(path: Path, size: int = CHUNK_BYTES) -> Iterator[tuple[BeastBatch, int]]:
    """Frame a whole Beast file chunk by chunk, carrying half frames over (yields batch, chunk start offset)."""
    carry = b""
    offset = 0
    with open_bytes(path) as f:
        while True:
            try:
                chunk = f.read(size)
            except (OSError, EOFError) as exc:
                raise BadInput(f"{path}@{offset + len(carry)}: cannot read: {exc}") from exc
            final = not chunk
            buf = carry + chunk
            if not buf:
                return
            batch = parse_beast(buf, offset0=offset, final=final)
            yield batch, offset
            carry = buf[batch.consumed:]
            offset += batch.consumed
            if final:
                return


def frames_cover(head: bytes) -> float:
    """Share of `head` made of well-formed Beast frames (for sniffing)."""
    if not head:
        return 0.0
    batch = parse_beast(head, final=False)
    if len(batch) == 0:
        return 0.0
    wire = (HEADER + batch.length.astype(np.int64)).sum()
    return float(wire) / max(batch.consumed, 1)


class BeastReader(CaptureReader):
    """Reader for Beast binary files; see the module docstring for time anchoring."""

    name = "beast"

    def sniff(self, head: bytes) -> bool:
        return len(head) >= HEADER + 2 and frames_cover(head) >= 0.5

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        from tailwatch.ingest.modes.clock import TickClock, absolute, is_mlat

        anchor, at = resolve_anchor(path, self.anchor, self.anchor_at)
        anchor_elapsed = 0.0
        if at == "last":
            pre = TickClock(self.clock_mode)
            for batch, _ in _chunks(path, self.chunk_bytes):
                modes = batch.modes()
                if len(modes):
                    pre.elapsed(modes.ticks)
            anchor_elapsed = pre.last_elapsed
        clock = TickClock(self.clock_mode)
        decoder = self.decoder()
        assumed = pl.lit(self.dated_by_file(), pl.Boolean).alias("time_assumed")
        produced = False
        for batch, _ in _chunks(path, self.chunk_bytes):
            if batch.error_codes.size:  # one entry per reason, located at its first offset
                codes, first, counts = np.unique(batch.error_codes, return_index=True, return_counts=True)
                for code, i, count in zip(codes, first, counts):
                    rejects.add(ERROR_REASONS[int(code)], f"{path}@{int(batch.error_offsets[i])}", int(count))
                rejects.records += int(batch.error_offsets.size)
            modes = batch.modes()
            if len(modes) == 0:
                continue
            rejects.records += len(modes)
            t = absolute(clock.elapsed(modes.ticks), anchor, anchor_elapsed, clock.first_second_of_day)
            for start in range(0, len(modes), batch_rows):
                sl = slice(start, start + batch_rows)
                points = decoder.decode(modes.msg[sl], modes.length[sl], t[sl], mlat=is_mlat(modes.ticks[sl]))
                report_rejects(decoder, rejects, lambda i, o=modes.offset[sl]: f"{path}@{int(o[i])}")
                if points.height:
                    produced = True
                    yield points.with_columns(assumed)
        rejects.heard = decoder.take_heard()
        self.note_clock(clock, rejects, path)
        if self.dated_by_file() and produced:
            rejects.time_assumed = self.assumed_text(anchor, bool(clock.gps))


READER = BeastReader()
