"""JSON lines of raw Mode S frames with absolute times (jet1090/rs1090 output) into canonical points.

Each line is an object with ``timestamp`` (unix seconds, or an ISO 8601
string) and ``frame`` (hex); other keys (decoded fields) are ignored: the
frames are decoded again by `modes.decoder`, so positions come from our own
CPR state. Short frames padded with zeros to 28 hex digits (as jet1090
writes them) are cut to their real length given by the downlink format.
Times are taken as given; malformed lines are counted and reported as
``file:line``. A receiver position for surface messages can be given as
``reference`` or with ``TAILWATCH_RECEIVER="lat,lon"``; without one they are
placed as `modes.surface` says.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.ingest.avr import hex_frames, line_batches, split_lines
from tailwatch.ingest.base import DEFAULT_BATCH_ROWS, Rejects

CHUNK_BYTES = 8 << 20


def parse_lines(lines: pl.Series) -> pl.DataFrame:
    """timestamp (float unix seconds or null) and frame (hex or null) of each JSON line."""
    ts = lines.str.json_path_match("$.timestamp")
    numeric = ts.cast(pl.Float64, strict=False)
    iso = (
        ts.str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
        .dt.epoch("us")
        .cast(pl.Float64)
        / 1e6
    )
    return pl.DataFrame(
        {
            "t": numeric.fill_null(iso),
            "frame": lines.str.json_path_match("$.frame").str.strip_chars(),
        }
    )


class RawJsonlReader:
    name = "raw-jsonl"

    def __init__(self, reference: tuple[float, float] | None = None, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.reference = reference
        self.chunk_bytes = chunk_bytes

    def sniff(self, head: bytes) -> bool:
        if not head.lstrip().startswith(b"{"):
            return False
        cut = head.rfind(b"\n")
        lines = split_lines(head[: cut + 1] if cut > 0 else head).head(20)
        lines = lines.filter(lines.str.len_bytes().fill_null(0) > 0)
        if lines.len() == 0:
            return False
        parsed = parse_lines(lines)
        return bool((parsed["t"].is_not_null() & parsed["frame"].is_not_null()).mean() >= 0.8)

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        from tailwatch.ingest.capture import receiver_from_env, report_rejects
        from tailwatch.ingest.modes.decoder import ModeSDecoder

        decoder = ModeSDecoder(reference=self.reference or receiver_from_env(), source=self.name, record_heard=True)
        for lines, first in line_batches(path, self.chunk_bytes):
            blank = lines.str.strip_chars().str.len_bytes().fill_null(1).to_numpy() == 0
            parsed = parse_lines(lines)
            hexes = parsed["frame"]
            # the downlink format (first hex digits) fixes the real length: cut zero padding of short frames
            head = hexes.str.slice(0, 2).str.to_integer(base=16, strict=False).fill_null(0).to_numpy()
            nchar = hexes.str.len_bytes().fill_null(0).to_numpy()
            short = (head >> 3) < 16
            hexes = pl.Series(np.where(short & (nchar == 28), hexes.str.slice(0, 14).fill_null("").to_numpy(), hexes.fill_null("").to_numpy()))
            msg, length, ok = hex_frames(hexes)
            t = parsed["t"].to_numpy()
            has_t = np.isfinite(t) if t.dtype.kind == "f" else np.zeros(t.size, bool)
            good = ok & has_t & ~blank
            rejects.records += int((~blank).sum())
            idx = np.flatnonzero(~good & ~blank)
            if idx.size:
                rejects.add("not a JSON line with timestamp and hex frame", f"{path}:{first + int(idx[0])}", int(idx.size))
            sel = np.flatnonzero(good)
            lineno = first + sel
            for start in range(0, sel.size, batch_rows):
                part = sel[start : start + batch_rows]
                points = decoder.decode(msg[part], length[part], t[part].astype(np.float64))
                report_rejects(decoder, rejects, lambda i, ln=lineno[start : start + batch_rows]: f"{path}:{int(ln[i])}")
                if points.height:
                    yield points.with_columns(pl.lit(False, pl.Boolean).alias("time_assumed"))  # times are in the data
        rejects.heard = decoder.take_heard()


READER = RawJsonlReader()
