"""Beast binary captures (dump1090/readsb port 30005 dumps): framing.

Framing. A Beast frame is ``0x1a``, a type byte, a 48-bit big-endian
timestamp, one signal byte and the message; every ``0x1a`` byte inside
timestamp, signal or message is doubled. Types: ``'1'`` Mode A/C (2 bytes),
``'2'`` Mode S short (7), ``'3'`` Mode S long (14); ``'4'`` (receiver status,
14 bytes) is skipped silently, any other type counts as an error.

Why by hand and why this way: no maintained library frames Beast into arrays,
and a byte-by-byte Python loop tops out far below the rate we need. In a
well-formed stream every run of ``0x1a`` bytes is a number of escape pairs,
plus one frame marker when the run is odd; so run parity finds the markers and
the escapes without walking the stream. A candidate frame is kept only if the
next marker starts at or after its end (a marker inside a payload means the
frame was cut, exactly what a sequential parser would discard). Limitation: a
stray single ``0x1a`` of garbage right before a marker makes an even run and
hides that one frame (a sequential parser would recover it); the stream
resynchronises at the next marker.

The file reader (`beast`) and what capture readers share (`capture`) are apart from the
framing, which the live feeds and the replay server use alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ESC = 0x1A
KIND_MODEAC, KIND_SHORT, KIND_LONG, KIND_STATUS = (ord(c) for c in "1234")
PAYLOAD = {KIND_MODEAC: 2, KIND_SHORT: 7, KIND_LONG: 14, KIND_STATUS: 14}
HEADER = 2 + 6 + 1  # marker, type, timestamp, signal
MAX_TAIL = 2 * (HEADER + 14) + 2  # longest possible escaped half frame

# error codes of BeastBatch.error_codes
ERR_GARBAGE, ERR_CUT, ERR_TYPE, ERR_TRUNC = 0, 1, 2, 3
ERROR_REASONS = (
    "garbage bytes between frames",
    "frame cut by a new frame marker",
    "unknown Beast frame type",
    "truncated frame at end of stream",
)

_PAYLOAD_BY_TYPE = np.zeros(256, dtype=np.int64)
for _k, _n in PAYLOAD.items():
    _PAYLOAD_BY_TYPE[_k] = _n


@dataclass
class BeastBatch:
    """Complete frames of one buffer, as columns (row i = frame i, in stream order).

    `kind` is the ASCII code of the type byte (ord('1'), ord('2'), ord('3'));
    `msg` is (n, 14) uint8, zero-padded; `length` is 2 (Mode A/C), 7 or 14;
    `offset` is the byte offset of the frame marker (plus `offset0`), `last` that of its last
    byte (escapes counted: the frame is complete once that byte arrived);
    `consumed` counts the bytes of the buffer that the caller may drop: the
    rest (a half frame) must be prepended to the next chunk.
    """

    kind: np.ndarray
    ticks: np.ndarray
    signal: np.ndarray
    msg: np.ndarray
    length: np.ndarray
    offset: np.ndarray
    consumed: int
    error_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    error_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    last: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @property
    def errors(self) -> list[tuple[int, str]]:
        """(byte offset, reason) of every resync or broken frame."""
        return [(int(o), ERROR_REASONS[int(c)]) for o, c in zip(self.error_offsets, self.error_codes)]

    def modes(self) -> BeastBatch:
        """Only the Mode S frames (types '2' and '3'), for the decoder."""
        keep = (self.kind == KIND_SHORT) | (self.kind == KIND_LONG)
        if keep.all():
            return self
        return BeastBatch(
            self.kind[keep], self.ticks[keep], self.signal[keep], self.msg[keep],
            self.length[keep], self.offset[keep], self.consumed, self.error_offsets, self.error_codes,
            self.last[keep],
        )


def _empty(consumed: int, err_off: np.ndarray, err_code: np.ndarray) -> BeastBatch:
    return BeastBatch(
        np.zeros(0, np.uint8), np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros((0, 14), np.uint8),
        np.zeros(0, np.uint8), np.zeros(0, np.int64), consumed, err_off, err_code,
    )


def parse_beast(buf: bytes | bytearray | memoryview, offset0: int = 0, final: bool = False) -> BeastBatch:
    """Frame a Beast byte buffer (a file chunk or socket read) into columns.

    Half a frame at the end is not consumed unless `final` (end of stream),
    where it counts as a cut frame. Bytes before the first marker and between
    frames count as garbage; their offsets are reported.
    """
    batch = _parse(buf, offset0, final)
    if not final and len(buf) - batch.consumed > MAX_TAIL:
        # no real half frame is this long: a run of junk, not worth waiting for
        batch = _parse(buf, offset0, True)
    return batch


def _parse(buf: bytes | bytearray | memoryview, offset0: int, final: bool) -> BeastBatch:
    raw = np.frombuffer(buf, dtype=np.uint8)
    n = raw.shape[0]
    if n == 0:
        return _empty(0, np.zeros(0, np.int64), np.zeros(0, np.uint8))
    ones = np.flatnonzero(raw == ESC)
    # runs of consecutive 0x1a: start/end index into `ones`
    if ones.size:
        brk = np.flatnonzero(np.diff(ones) != 1)
        run_first = np.concatenate(([0], brk + 1))
        run_last = np.concatenate((brk, [ones.size - 1]))
        run_len = run_last - run_first + 1
        run_of = np.repeat(np.arange(run_first.size), run_len)
        pos_in_run = np.arange(ones.size) - run_first[run_of]
        # a run touching the end of the buffer may continue in the next chunk
        open_run = (not final) and ones[-1] == n - 1
        is_marker = (pos_in_run == run_len[run_of] - 1) & (run_len[run_of] % 2 == 1)
        drop = (pos_in_run % 2 == 1)  # second byte of each escape pair
        if open_run:
            tail_run = run_of == run_of[-1]
            is_marker &= ~tail_run
            drop &= ~tail_run
        limit = int(ones[run_first[-1]]) if open_run else n  # raw bytes we can interpret
    else:
        is_marker = np.zeros(0, bool)
        drop = np.zeros(0, bool)
        limit = n
    markers_raw = ones[is_marker]
    dropped_raw = ones[drop]
    # unescaped stream U: raw without the dropped bytes. A kept raw byte r sits at
    # u = r - (dropped before r); back from U: r = u + #(dropped_raw[i] - i <= u)
    if dropped_raw.size:
        unesc = np.delete(raw, dropped_raw)
        shift = dropped_raw - np.arange(dropped_raw.size)
        u_limit = int(limit - np.searchsorted(dropped_raw, limit))
        mark_u = markers_raw - np.searchsorted(dropped_raw, markers_raw)
    else:
        shift = None
        unesc = raw
        u_limit = limit
        mark_u = markers_raw
    mark_u = mark_u.astype(np.int64)
    # the type byte must be interpretable (inside the limit)
    has_type = mark_u + 1 < u_limit
    mark_u, markers_raw = mark_u[has_type], markers_raw[has_type]
    pad = np.concatenate((unesc[:u_limit], np.zeros(HEADER + 14, np.uint8)))
    ftype = pad[mark_u + 1]
    payload = _PAYLOAD_BY_TYPE[ftype]
    known = payload > 0
    end_u = mark_u + HEADER + payload
    next_u = np.concatenate((mark_u[1:], [np.iinfo(np.int64).max]))
    complete = end_u <= u_limit
    not_cut = end_u <= next_u
    ok = known & complete & not_cut
    # the first incomplete frame (and everything after it) stays for the next call
    incomplete = known & ~complete & not_cut
    pending_from = int(np.argmax(incomplete)) if (incomplete.any() and not final) else None
    if pending_from is not None:
        consumed = int(markers_raw[pending_from])
        sel = np.arange(mark_u.size) < pending_from
        ok &= sel
        stop_u = int(mark_u[pending_from])
    else:
        sel = np.ones(mark_u.size, bool)
        consumed = limit
        stop_u = u_limit
    codes = np.full(mark_u.size, 255, np.uint8)
    codes[known & ~not_cut] = ERR_CUT
    codes[incomplete] = ERR_TRUNC
    codes[~known] = ERR_TYPE
    broken = sel & ~ok
    err_off = [markers_raw[broken].astype(np.int64)]
    err_code = [codes[broken]]
    # garbage: bytes before the first marker, and between a good frame's end and the next marker
    # (bytes after a broken marker belong to that error)
    idx = np.flatnonzero(sel)
    if idx.size == 0:
        g_start = np.array([0], np.int64) if stop_u > 0 else np.zeros(0, np.int64)
    else:
        first = np.array([0], np.int64) if mark_u[idx[0]] > 0 else np.zeros(0, np.int64)
        nxt = np.concatenate((mark_u[idx[1:]], [stop_u]))
        gap = ok[idx] & (nxt > end_u[idx])
        g_start = np.concatenate((first, end_u[idx][gap]))
    if g_start.size:
        g_raw = g_start + np.searchsorted(shift, g_start, side="right") if shift is not None else g_start
        err_off.append(g_raw.astype(np.int64))
        err_code.append(np.full(g_raw.size, ERR_GARBAGE, np.uint8))
    e_off = np.concatenate(err_off) + offset0
    e_code = np.concatenate(err_code)
    order = np.argsort(e_off, kind="stable")
    e_off, e_code = e_off[order], e_code[order]
    ok &= ftype != KIND_STATUS
    starts = mark_u[ok]
    if starts.size == 0:
        return _empty(consumed, e_off, e_code)
    kinds = ftype[ok]
    lengths = payload[ok]
    last_u = starts + HEADER + lengths.astype(np.int64) - 1
    last_raw = last_u + np.searchsorted(shift, last_u, side="right") if shift is not None else last_u
    last_raw = last_raw + (raw[last_raw] == ESC)  # an escaped 0x1a ends with its doubled byte
    stamp = np.zeros((starts.size, 8), np.uint8)
    stamp[:, 2:] = pad[starts[:, None] + np.arange(2, 8)]
    ticks = stamp.view(">u8").ravel().astype(np.uint64)
    signal = pad[starts + 8]
    msg = pad[starts[:, None] + np.arange(HEADER, HEADER + 14)]
    short = np.flatnonzero(lengths < 14)
    if short.size:  # zero the bytes beyond each short frame's own length
        msg[short] *= (np.arange(14)[None, :] < lengths[short, None]).astype(np.uint8)
    return BeastBatch(
        kind=kinds.astype(np.uint8),
        ticks=ticks,
        signal=signal.astype(np.uint8),
        msg=msg,
        length=lengths.astype(np.uint8),
        offset=markers_raw[ok].astype(np.int64) + offset0,
        consumed=consumed,
        error_offsets=e_off,
        error_codes=e_code,
        last=last_raw.astype(np.int64) + offset0,
    )
