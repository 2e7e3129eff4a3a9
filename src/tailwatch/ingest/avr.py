"""AVR text captures (dump1090 port 30002 and its timestamped variants) into canonical points.

Line forms read (one message per line, hex upper or lower case):
- ``*8D4840D6202CC371C32CE0576098;``  raw, no time;
- ``@0000000929E28E3FF6E6990C4684000011548194;``  12 hex digits of 12 MHz
  receiver time, then the message ("avrmlat");
- ``<0000000929E2A58E3FF6E6990C4684000011548194;``  12 hex digits of time, 2 of
  signal level, then the message.
Anything after the closing ``;`` is ignored (so Airspy's ``*msg;ts;prec;rssi;``
reads as untimed). Mode A/C lines (4 hex digits) are skipped; other malformed
lines are counted and the first few reported as ``file:line``.

Time: timestamped lines use the Beast rules (`capture.py`: explicit anchor,
``TAILWATCH_CAPTURE_START``, else file modification time for the last frame;
wraps and resets per `modes.clock`). Untimed ``*`` lines carry no time at all:
every message gets the anchor time (the file's modification time unless an
anchor is given) and the row order of the file is kept, so CPR pairs still
form. Their timestamps are therefore not observed times: their points carry
``time_assumed = true`` (with a mix of timed and untimed lines, every point of
a batch holding an untimed one does) and `Rejects.time_assumed` says how many
lines were placed at which time; prefer a timed capture for anything that
depends on time. A frame stamped with the MLAT magic value gives
``position_source = "mlat"`` (`modes.clock.is_mlat`).

Lines are cut from the byte chunk with NumPy and matched with Polars
expressions, never one line at a time in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from tailwatch.ingest.base import DEFAULT_BATCH_ROWS, BadInput, Rejects, open_bytes
from tailwatch.ingest.capture import CHUNK_BYTES, CaptureReader

AVR_LINE = r"^\s*([*@<])([0-9A-Fa-f]+);"
_HEXVAL = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEXVAL[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEXVAL[_c] = 10 + _i


def line_batches(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[pl.Series, int]]:
    """(lines as a String series — null where not UTF-8 —, number of the first line) per chunk of the file."""
    carry = b""
    first_line = 1
    with open_bytes(path) as f:
        while True:
            try:
                chunk = f.read(chunk_bytes)
            except (OSError, EOFError) as exc:
                raise BadInput(f"{path}:{first_line}: cannot read: {exc}") from exc
            buf = carry + chunk
            if not buf:
                return
            if chunk:
                cut = buf.rfind(b"\n") + 1
                if cut == 0 and len(buf) < 4 * chunk_bytes:
                    carry = buf
                    continue
                if cut == 0:
                    cut = len(buf)
            else:
                cut = len(buf)
            body, carry = buf[:cut], buf[cut:]
            lines = split_lines(body)
            yield lines, first_line
            first_line += lines.len()
            if not chunk:
                return


def split_lines(body: bytes) -> pl.Series:
    """Lines of a byte block (without line ends) as a Polars String series.

    Bytes that are not UTF-8 become U+FFFD, so such a line simply fails to match later.
    """
    try:
        body.decode("ascii")
    except UnicodeDecodeError:
        body = body.decode("utf-8", errors="replace").encode("utf-8")
    data = np.frombuffer(body, np.uint8)
    ends = np.flatnonzero(data == 0x0A)
    if data.size and (ends.size == 0 or ends[-1] != data.size - 1):
        ends = np.append(ends, data.size)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    stops = ends.astype(np.int64)
    offsets = np.empty(starts.size + 1, np.int64)
    offsets[:-1] = starts
    offsets[-1] = stops[-1] if stops.size else 0
    # lines share the buffer; the '\n' of each line is cut off below as trailing whitespace
    arr = pa.Array.from_buffers(pa.large_binary(), starts.size, [None, pa.py_buffer(offsets), pa.py_buffer(body)])
    series = pl.Series("line", pl.from_arrow(arr)).cast(pl.String)
    return series.str.strip_chars_end("\r\n")


def hex_frames(hexes: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(msg (n, 14) uint8, length in bytes, ok) from hex strings of 14 or 28 digits; ok False elsewhere."""
    n = hexes.len()
    nchar = hexes.str.len_bytes().fill_null(0).to_numpy()
    ok = (nchar == 14) | (nchar == 28)
    padded = hexes.fill_null("").str.pad_end(28, "0").str.slice(0, 28)
    padded = pl.Series(np.where(ok, padded.to_numpy(), "0" * 28)) if not ok.all() else padded
    arr = padded.cast(pl.Binary).to_arrow()
    arr = pa.concat_arrays(arr.chunks) if isinstance(arr, pa.ChunkedArray) else arr
    buffers = arr.buffers()
    off_dtype = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
    offsets = np.frombuffer(buffers[1], off_dtype)[arr.offset : arr.offset + n + 1]
    chars = np.frombuffer(buffers[2], np.uint8)[offsets[0] : offsets[-1]].reshape(n, 28)
    vals = _HEXVAL[chars]
    ok &= (vals != 255).all(axis=1)
    vals = np.where(vals == 255, 0, vals)
    msg = ((vals[:, 0::2] << 4) | vals[:, 1::2]).astype(np.uint8)
    length = (nchar // 2).astype(np.uint8)
    return msg, length, ok


def hex_ticks(hexes: pl.Series) -> np.ndarray:
    """48-bit values from 12-digit hex strings (uint64)."""
    msg, _, _ = hex_frames(hexes.str.pad_end(28, "0"))  # 12 digits -> first 6 bytes
    ticks = np.zeros(msg.shape[0], np.uint64)
    for i in range(6):
        ticks = (ticks << np.uint64(8)) | msg[:, i].astype(np.uint64)
    return ticks


def parse_avr(lines: pl.Series) -> pl.DataFrame:
    """Columns kind ('*', '@', '<' or null when the line is not AVR), ticks hex, message hex, per line."""
    parts = lines.str.extract_groups(AVR_LINE)
    kind = parts.struct.field("1")
    body = parts.struct.field("2")
    frame = pl.DataFrame({"kind": kind, "body": body})
    return frame.with_columns(
        pl.when(pl.col("kind") == "*").then(None).otherwise(pl.col("body").str.slice(0, 12)).alias("ticks"),
        pl.when(pl.col("kind") == "*")
        .then(pl.col("body"))
        .when(pl.col("kind") == "@")
        .then(pl.col("body").str.slice(12))
        .otherwise(pl.col("body").str.slice(14))
        .alias("hex"),
    )


def looks_like_avr(head: bytes) -> bool:
    lines = split_lines(head[: head.rfind(b"\n") + 1] or head)
    lines = lines.filter(lines.str.strip_chars().str.len_bytes().fill_null(1) > 0)
    if lines.len() == 0:
        return False
    parsed = parse_avr(lines.head(200))
    return parsed["kind"].is_not_null().mean() >= 0.8


class AvrReader(CaptureReader):
    """Reader for AVR text files; see the module docstring for timing rules."""

    name = "avr"

    def sniff(self, head: bytes) -> bool:
        return bool(head) and head.lstrip()[:1] in (b"*", b"@", b"<") and looks_like_avr(head)

    def _batches(self, path: Path, rejects: Rejects | None) -> Iterator[tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]]:
        """Per chunk: parsed lines plus (msg, length) of the good Mode S lines and their line numbers."""
        for lines, first in line_batches(path, self.chunk_bytes):
            parsed = parse_avr(lines).with_row_index("i")
            blank = lines.str.strip_chars().str.len_bytes().fill_null(1).to_numpy() == 0
            msg, length, ok = hex_frames(parsed["hex"])
            modeac = parsed["hex"].str.len_bytes().fill_null(0).to_numpy() == 4
            is_avr = parsed["kind"].is_not_null().to_numpy()
            ts_ok = (parsed["kind"] == "*").fill_null(False).to_numpy() | (
                parsed["ticks"].str.len_bytes().fill_null(0).to_numpy() == 12
            )
            good = is_avr & ok & ts_ok
            if rejects is not None:
                rejects.records += int((~blank & ~modeac).sum())
                for reason, mask in (
                    ("not an AVR line", ~is_avr & ~blank),
                    ("bad AVR message (length or hex)", is_avr & ~good & ~modeac),
                ):
                    idx = np.flatnonzero(mask)
                    if idx.size:
                        rejects.add(reason, f"{path}:{first + int(idx[0])}", int(idx.size))
            sel = np.flatnonzero(good)
            yield parsed[sel], msg[sel], length[sel], first + sel

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        from tailwatch.ingest.capture import _iso, report_rejects, resolve_anchor
        from tailwatch.ingest.modes.clock import TickClock, absolute, is_mlat

        anchor, at = resolve_anchor(path, self.anchor, self.anchor_at)
        anchor_elapsed = 0.0
        if at == "last":
            pre = TickClock(self.clock_mode)
            for parsed, *_ in self._batches(path, None):
                timed = parsed.filter(pl.col("kind") != "*")
                if timed.height:
                    pre.elapsed(hex_ticks(timed["ticks"]))
            anchor_elapsed = pre.last_elapsed
        clock = TickClock(self.clock_mode)
        decoder = self.decoder()
        by_file = self.dated_by_file()
        untimed_lines = 0
        produced = False
        for parsed, msg, length, lineno in self._batches(path, rejects):
            if parsed.height == 0:
                continue
            timed = (parsed["kind"] != "*").to_numpy()
            untimed_lines += int((~timed).sum())
            t = np.full(parsed.height, float(anchor))
            mlat = np.zeros(parsed.height, bool)
            if timed.any():
                ticks = hex_ticks(parsed.filter(pl.col("kind") != "*")["ticks"])
                mlat[timed] = is_mlat(ticks)
                el = clock.elapsed(ticks)
                t[timed] = absolute(el, anchor, anchor_elapsed, clock.first_second_of_day)
            for start in range(0, parsed.height, batch_rows):
                sl = slice(start, start + batch_rows)
                points = decoder.decode(msg[sl], length[sl], t[sl], mlat=mlat[sl])
                report_rejects(decoder, rejects, lambda i, ln=lineno[sl]: f"{path}:{int(ln[i])}")
                if points.height:
                    # untimed lines have no time of their own at all: a batch holding any is marked
                    assumed = by_file or not timed[sl].all()
                    produced = True
                    yield points.with_columns(pl.lit(assumed, pl.Boolean).alias("time_assumed"))
        rejects.heard = decoder.take_heard()
        self.note_clock(clock, rejects, path)
        notes = []
        if by_file and produced:
            notes.append(self.assumed_text(anchor, bool(clock.gps)))
        if untimed_lines and produced:
            notes.append(f"{untimed_lines:,} lines without a receiver time all placed at {_iso(anchor)}")
        rejects.time_assumed = "; ".join(notes) or None


READER = AvrReader()
