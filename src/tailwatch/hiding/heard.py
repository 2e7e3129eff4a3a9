"""When each aircraft was *heard*, position or not: the archive's heard-minutes table.

The point archive holds positions only (DESIGN.md), so an aircraft that keeps answering
interrogations (DF 4/5/11/20/21) or sends altitude-only messages while withholding its position
leaves no trace there. Decoder-based readers (Beast, AVR, raw JSON lines) therefore also write one
row per aircraft and UTC minute it was heard: first and last message time, messages and positions
decoded (docs/schema.md, "Heard minutes"). A minute is the resolution the analyses need (intervals
to within a minute) at a size that stays small: one row per aircraft-minute instead of one per message.

Files live beside the point partitions, `ARCHIVE/heard/date=YYYY-MM-DD/<source digest>.parquet`:
one per ingested source and day, written atomically and keyed by the source's digest, so
re-ingesting a file rewrites the same files and adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.schema import TIMESTAMP

HEARD_DIR = "heard"
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


def heard_minutes(icao24: pl.Series | np.ndarray, t_seconds: np.ndarray, has_position: np.ndarray,
                  source: str) -> pl.DataFrame:
    """One row per (aircraft, minute) from per-message columns (address as hex strings or 24-bit
    integers, Unix seconds, position decoded)."""
    t_seconds = np.asarray(t_seconds, np.float64)
    sane = np.isfinite(t_seconds) & (t_seconds > 0.0) & (t_seconds < 4.1e9)  # 1970 to 2099, as the readers' times
    if not sane.all():
        icao24 = icao24.filter(pl.Series(sane)) if isinstance(icao24, pl.Series) else np.asarray(icao24)[sane]
        t_seconds, has_position = t_seconds[sane], np.asarray(has_position)[sane]
    if len(icao24) == 0:
        return empty_heard()
    micros = np.round(t_seconds * 1e6).astype(np.int64)
    frame = pl.DataFrame({"icao24": icao24, "t": micros, "p": np.asarray(has_position, bool)})
    grouped = frame.group_by("icao24", (pl.col("t") // 60_000_000).alias("m")).agg(
        pl.col("t").min().alias("first"), pl.col("t").max().alias("last"),
        pl.len().cast(pl.UInt32).alias("messages"), pl.col("p").sum().cast(pl.UInt32).alias("positions"),
    )
    if grouped.schema["icao24"] != pl.String:  # integers: hex only the grouped rows
        from tailwatch.ingest.modes.bits import hex_addresses, to_polars

        grouped = grouped.with_columns(to_polars("icao24", hex_addresses(grouped["icao24"].to_numpy())))
    return merge(grouped.select(
        "icao24",
        (pl.col("m") * 60_000_000).cast(TIMESTAMP).alias("minute"),
        pl.col("first").cast(TIMESTAMP), pl.col("last").cast(TIMESTAMP),
        "messages", "positions", pl.lit(source).alias("source"),
    ))


def merge(frames: pl.DataFrame | list[pl.DataFrame]) -> pl.DataFrame:
    """Rows of the same aircraft, minute and source from several batches folded into one."""
    frame = pl.concat(frames) if isinstance(frames, list) else frames
    if frame.height == 0:
        return empty_heard()
    return frame.group_by("icao24", "minute", "source").agg(
        pl.col("first").min(), pl.col("last").max(), pl.col("messages").sum(), pl.col("positions").sum(),
    ).select(list(HEARD_SCHEMA)).sort("icao24", "minute")


def intervals(minutes: pl.DataFrame, max_gap_s: float = 90.0, positions: bool | None = None) -> pl.DataFrame:
    """Heard intervals per aircraft: minutes joined while the silence between them is at most `max_gap_s`.

    `positions=False` keeps only the minutes without any position (heard, position withheld);
    True only those with; None all.
    """
    if minutes.height == 0:
        return pl.DataFrame(schema=INTERVAL_SCHEMA)
    m = minutes.group_by("icao24", "minute").agg(pl.col("first").min(), pl.col("last").max(),
                                                 pl.col("messages").sum(), pl.col("positions").sum())
    if positions is not None:
        m = m.filter((pl.col("positions") > 0) if positions else (pl.col("positions") == 0))
    m = m.sort("icao24", "first")
    gap = (pl.col("first") - pl.col("last").shift(1).over("icao24")).dt.total_microseconds() / 1e6
    new = (gap.is_null() | (gap > max_gap_s)).cast(pl.UInt32).cum_sum().alias("_run")
    return m.with_columns(new).group_by("icao24", "_run", maintain_order=True).agg(
        pl.col("first").min().alias("start"), pl.col("last").max().alias("end"),
        pl.col("messages").sum(), pl.col("positions").sum(),
    ).select(list(INTERVAL_SCHEMA))


def write_heard(archive: Path, minutes: pl.DataFrame, digest: str) -> list[Path]:
    """Write a source's heard minutes, one file per day, atomically (same digest → same files)."""
    from tailwatch.archive import _atomic_write

    if minutes.height == 0:
        return []
    out = []
    days = minutes.with_columns(pl.col("minute").dt.date().alias("_day"))
    for (day,), part in days.partition_by("_day", as_dict=True).items():
        folder = Path(archive) / HEARD_DIR / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{digest}.parquet"
        _atomic_write(part.drop("_day").sort("icao24", "minute"), target)
        out.append(target)
    return out


def read_heard(archive: Path, icao24: list[str] | None = None, start: datetime | None = None,
               end: datetime | None = None) -> pl.DataFrame:
    """Heard minutes of the archive (none for archives written before the table existed)."""
    files = []
    for folder in sorted((Path(archive) / HEARD_DIR).glob("date=*")):
        try:
            day = date.fromisoformat(folder.name.removeprefix("date="))
        except ValueError:
            continue
        if (start is not None and day < start.date()) or (end is not None and day > end.date()):
            continue
        files.extend(p for p in sorted(folder.glob("*.parquet")) if not p.name.startswith("."))
    if not files:
        return empty_heard()
    frame = pl.scan_parquet(files, schema=HEARD_SCHEMA, missing_columns="insert", extra_columns="ignore")
    if icao24 is not None:
        frame = frame.filter(pl.col("icao24").is_in(icao24))
    if start is not None:
        frame = frame.filter(pl.col("last") >= start)
    if end is not None:
        frame = frame.filter(pl.col("first") <= end)
    return merge(frame.collect())
