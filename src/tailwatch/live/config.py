"""What `tailwatch watch` is told: feeds, archive, watchlist, rules, timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


@dataclass
class WatchConfig:
    feeds: list[str]
    archive: Path
    watchlist: Path | None = None
    rules: Path | None = None
    notify: list[str] = field(default_factory=list)
    fsync: str = "1"
    flush_seconds: float = 300.0
    flush_rows: int = 2_000_000
    cycle_s: float = 0.25
    reference: tuple[float, float] | None = None
    dedupe_window_s: float = 2.0
    tick_s: float = 5.0
    forget_after_s: float = 6 * 3600.0
    live_display: bool | None = None  # None: Rich live table when stderr is a terminal
    status_every_s: float = 10.0
    max_runtime_s: float | None = None  # for tests and benchmarks
    track_resample_s: float = 5.0  # the tracker keeps one point per aircraft per this many seconds


def load_watchlist_frame(path: Path, archive: Path | None) -> pl.DataFrame:
    """The watchlist as rows with an `icao24` column (the identity module's loader)."""
    from tailwatch.identity.watchlist import load_watchlist

    return load_watchlist(path, archive)
