"""Heard intervals: the heard minutes of an aircraft (tailwatch.heard) joined into stretches.

Pure over frames: the minutes come from the archive's heard table (read by an engine) or from
the Mode S input files (their readers), never read here.
"""

from __future__ import annotations

import polars as pl

from tailwatch.heard import INTERVAL_SCHEMA, with_position_messages


def intervals(minutes: pl.DataFrame, max_gap_s: float = 90.0, positions: bool | None = None) -> pl.DataFrame:
    """Heard intervals per aircraft: minutes joined while the silence between them is at most `max_gap_s`.

    `positions=False` keeps only the minutes in which the aircraft sent no position message at all
    (heard, position withheld): a minute whose position messages could not be decoded is not one;
    True only the minutes with a position message; None all. Minutes of files written before the
    heard table counted position messages fall back to the decoded positions.
    """
    if minutes.height == 0:
        return pl.DataFrame(schema=INTERVAL_SCHEMA)
    m = with_position_messages(minutes).group_by("icao24", "minute").agg(
        pl.col("first").min(), pl.col("last").max(), pl.col("messages").sum(), pl.col("positions").sum(),
        pl.col("position_messages").sum())
    if positions is not None:
        sent = pl.col("position_messages") > 0
        m = m.filter(sent if positions else ~sent)
    m = m.sort("icao24", "first")
    gap = (pl.col("first") - pl.col("last").shift(1).over("icao24")).dt.total_microseconds() / 1e6
    new = (gap.is_null() | (gap > max_gap_s)).cast(pl.UInt32).cum_sum().alias("_run")
    return m.with_columns(new).group_by("icao24", "_run", maintain_order=True).agg(
        pl.col("first").min().alias("start"), pl.col("last").max().alias("end"),
        pl.col("messages").sum(), pl.col("positions").sum(), pl.col("position_messages").sum(),
    ).select(list(INTERVAL_SCHEMA))
