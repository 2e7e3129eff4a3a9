"""The heard-minutes table: when each aircraft was *heard*, position or not (docs/schema.md).

The point archive holds positions only (DESIGN.md), so an aircraft that keeps answering
interrogations (DF 4/5/11/20/21) or sends altitude-only messages while withholding its position
leaves no trace there. Decoder-based readers (Beast, AVR, raw JSON lines) therefore also keep one
row per aircraft and UTC minute it was heard: first and last message time, messages, position
messages sent (decoded or not) and positions decoded. A minute is the resolution the analyses need
at a size that stays small.

Why position messages apart from positions: a position message that could not be decoded (no
reference for a surface message, no even/odd partner yet) is still the aircraft *sending* its
position; counted only as "no position", such minutes read as "position withheld", a false
observed finding. Files written before the column existed read it as null: `with_position_messages`
falls back to `positions` there (what those files could tell).

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
    "position_messages": pl.UInt32(),  # position messages (DF17/18 TC 5-18, 20-22), decoded or not; null in old files
}
INTERVAL_SCHEMA: dict[str, pl.DataType] = {
    "icao24": pl.String(), "start": TIMESTAMP, "end": TIMESTAMP,
    "messages": pl.UInt32(), "positions": pl.UInt32(), "position_messages": pl.UInt32(),
}


def empty_heard() -> pl.DataFrame:
    return pl.DataFrame(schema=HEARD_SCHEMA)


def with_position_messages(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with `position_messages` filled: from `positions` where null or absent (rows of files
    written before the column existed, or built without it)."""
    if "position_messages" not in frame.columns:
        return frame.with_columns(pl.col("positions").alias("position_messages"))
    return frame.with_columns(pl.col("position_messages").fill_null(pl.col("positions")))


def merge(frames: pl.DataFrame | list[pl.DataFrame]) -> pl.DataFrame:
    """Rows of the same aircraft, minute and source from several batches folded into one."""
    parts = frames if isinstance(frames, list) else [frames]
    frame = pl.concat([with_position_messages(f) for f in parts], how="diagonal_relaxed") if parts else empty_heard()
    if frame.height == 0:
        return empty_heard()
    return frame.group_by("icao24", "minute", "source").agg(
        pl.col("first").min(), pl.col("last").max(), pl.col("messages").sum(), pl.col("positions").sum(),
        pl.col("position_messages").sum(),
    ).select(list(HEARD_SCHEMA)).sort("icao24", "minute")
