"""The heard-minutes table: when each aircraft was *heard*, position or not (docs/schema.md).

The point archive holds positions only (DESIGN.md), so an aircraft that keeps answering
interrogations (DF 4/5/11/20/21) or sends altitude-only messages while withholding its position
leaves no trace there. Decoder-based readers (Beast, AVR, raw JSON lines) therefore also keep one
row per aircraft and UTC minute it was heard: first and last message time, messages and positions
decoded. A minute is the resolution the analyses need at a size that stays small.

Ground layer: the table's schema and how rows of several batches fold together; readers build it
(`ingest.modes.heard`), the archive stores it (`heard_store`), `hiding` reasons over it.
"""

from __future__ import annotations

import polars as pl

from tailwatch.schema import TIMESTAMP

HEARD_SCHEMA: dict[str, pl.DataType] = {
    "icao24": pl.String(),
    "minute": TIMESTAMP,  # start of the UTC minute
    "first": TIMESTAMP,  # first message of the aircraft in that minute
    "last": TIMESTAMP,  # last message
    "messages": pl.UInt32(),  # accepted messages (any downlink format)
    "positions": pl.UInt32(),  # of which decoded to a position
    "source": pl.String(),
}
INTERVAL_SCHEMA: dict[str, pl.DataType] = {
    "icao24": pl.String(), "start": TIMESTAMP, "end": TIMESTAMP,
    "messages": pl.UInt32(), "positions": pl.UInt32(),
}


def empty_heard() -> pl.DataFrame:
    return pl.DataFrame(schema=HEARD_SCHEMA)


def merge(frames: pl.DataFrame | list[pl.DataFrame]) -> pl.DataFrame:
    """Rows of the same aircraft, minute and source from several batches folded into one."""
    frame = pl.concat(frames) if isinstance(frames, list) else frames
    if frame.height == 0:
        return empty_heard()
    return frame.group_by("icao24", "minute", "source").agg(
        pl.col("first").min(), pl.col("last").max(), pl.col("messages").sum(), pl.col("positions").sum(),
    ).select(list(HEARD_SCHEMA)).sort("icao24", "minute")
