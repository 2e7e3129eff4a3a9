"""Where were the watchlisted aircraft seen? One row per resolved address.

The archive query is the engine's `summary_by_aircraft` (DuckDB's by default), which opens only
the date partitions of the window and reads only the row groups whose icao24
statistics can hold a watched address (archive files are sorted by icao24) — never
a full scan of the archive.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from tailwatch.identity.watchlist import archive_watchlist


def watched_aircraft(watch: pl.DataFrame) -> pl.DataFrame:
    """Resolved entries grouped by address: registrations, lists, entry ids, best confidence."""
    resolved = watch.filter(pl.col("icao24").is_not_null())
    return resolved.group_by("icao24", maintain_order=True).agg(
        pl.col("registrations").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True).alias("registrations"),
        pl.col("list").unique(maintain_order=True).alias("lists"),
        pl.col("entry_id").unique(maintain_order=True).alias("entry_ids"),
        pl.col("reason").unique(maintain_order=True).alias("reasons"),
        pl.col("confidence").max().alias("confidence"),
        pl.col("country").first().alias("country"),
    )


def scan_watchlist(archive: Path, start: datetime | None = None, end: datetime | None = None,
                   include_seed: bool = True, engine=None) -> pl.DataFrame:
    """First/last seen, points, days and bounding box of every resolved watchlisted aircraft.

    Aircraft with no point in the window are kept with `points` 0, so the answer also
    says who was *not* seen. `engine` (a `tailwatch.engines.Engine`, DuckDB by default) runs
    the archive query.
    """
    if engine is None:
        from tailwatch.engines.local import DuckDBEngine

        engine = DuckDBEngine()
    watched = watched_aircraft(archive_watchlist(archive, include_seed=include_seed))
    addresses = watched["icao24"].to_list()
    seen = engine.summary_by_aircraft(archive, addresses, start, end)
    out = watched.join(seen, on="icao24", how="left")
    return out.with_columns(pl.col("points").fill_null(0), pl.col("days").fill_null(0)).sort(
        ["points", "icao24"], descending=[True, False])


__all__ = ["scan_watchlist", "watched_aircraft"]
