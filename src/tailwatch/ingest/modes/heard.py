"""Heard minutes from decoded messages: one row per aircraft and UTC minute (tailwatch.heard)."""

from __future__ import annotations

import numpy as np
import polars as pl

from tailwatch.heard import empty_heard, merge
from tailwatch.schema import TIMESTAMP


def heard_minutes(icao24: pl.Series | np.ndarray, t_seconds: np.ndarray, has_position: np.ndarray,
                  source: str, position_message: np.ndarray | None = None) -> pl.DataFrame:
    """One row per (aircraft, minute) from per-message columns (address as hex strings or 24-bit
    integers, Unix seconds, position decoded, and position message sent whether decoded or not:
    the decoded ones when not given)."""
    t_seconds = np.asarray(t_seconds, np.float64)
    has_position = np.asarray(has_position, bool)
    sent = has_position if position_message is None else np.asarray(position_message, bool) | has_position
    sane = np.isfinite(t_seconds) & (t_seconds > 0.0) & (t_seconds < 4.1e9)  # 1970 to 2099, as the readers' times
    if not sane.all():
        icao24 = icao24.filter(pl.Series(sane)) if isinstance(icao24, pl.Series) else np.asarray(icao24)[sane]
        t_seconds, has_position, sent = t_seconds[sane], has_position[sane], sent[sane]
    if len(icao24) == 0:
        return empty_heard()
    micros = np.round(t_seconds * 1e6).astype(np.int64)
    frame = pl.DataFrame({"icao24": icao24, "t": micros, "p": has_position, "s": sent})
    grouped = frame.group_by("icao24", (pl.col("t") // 60_000_000).alias("m")).agg(
        pl.col("t").min().alias("first"), pl.col("t").max().alias("last"),
        pl.len().cast(pl.UInt32).alias("messages"), pl.col("p").sum().cast(pl.UInt32).alias("positions"),
        pl.col("s").sum().cast(pl.UInt32).alias("position_messages"),
    )
    if grouped.schema["icao24"] != pl.String:  # integers: hex only the grouped rows
        from tailwatch.ingest.modes.bits import hex_addresses, to_polars

        grouped = grouped.with_columns(to_polars("icao24", hex_addresses(grouped["icao24"].to_numpy())))
    return merge(grouped.select(
        "icao24",
        (pl.col("m") * 60_000_000).cast(TIMESTAMP).alias("minute"),
        pl.col("first").cast(TIMESTAMP), pl.col("last").cast(TIMESTAMP),
        "messages", "positions", pl.lit(source).alias("source"), "position_messages",
    ))
