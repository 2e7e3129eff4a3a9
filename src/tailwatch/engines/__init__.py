"""Query engines over the Parquet archive (DuckDB by default, Spark for clusters).

Both engines answer the same questions with the same results, so the CLI picks one
by name (`--engine duckdb|spark`) and never branches on which it got:
- `points_for(archive, icao24s, start, end)`: canonical points, sorted;
- `summary_by_aircraft(archive, icao24s, start, end)`: one row per aircraft seen (`scan`);
- `itineraries(archive, aircraft, watchlist, start, end, every_aircraft, with_points, on_stage, on_aircraft)`:
  itinerary JSON per aircraft (and their points with `leg` when a report needs them), built by
  the pure `itinerary.core.itinerary_of` from the frames the engine gathered; `on_aircraft(done,
  total, points)` hears the progress of a batch (aircraft done of total, their points so far);
  with `on_doc(doc, points)` each document (and its points, or None) is handed over as it is
  made and not kept: the returned list is empty, so a big batch's results need no memory;
- `ingest(paths, archive, icao24, on_file)`: files into the archive (same layout either way).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable, Protocol

import polars as pl

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    name: str

    def points_for(self, archive: Path, icao24s: list[str] | None = None, start: datetime | None = None,
                   end: datetime | None = None) -> pl.DataFrame: ...

    def summary_by_aircraft(self, archive: Path, icao24s: list[str] | None = None,
                            start: datetime | None = None, end: datetime | None = None) -> pl.DataFrame: ...

    def itineraries(self, archive: Path, aircraft: list[str] | None = None, watchlist: Path | None = None,
                    start: datetime | None = None, end: datetime | None = None, every_aircraft: bool = False,
                    with_points: bool = True, on_stage: Callable[[str], None] | None = None,
                    on_aircraft: Callable[[int, int, int], None] | None = None,
                    on_doc: Callable[[dict, pl.DataFrame | None], None] | None = None,
                    ) -> tuple[list[dict], dict[str, pl.DataFrame]]: ...

    def ingest(self, paths: list[Path], archive: Path, icao24: str | None = None,
               on_file: Callable | None = None) -> list: ...


def get_engine(name: str = "duckdb", spark_master: str | None = None) -> Engine:
    """The engine called `name`; `spark_master` is the Spark master URL (default local[*])."""
    from tailwatch.errors import BadInput

    key = (name or "duckdb").strip().lower()
    if key == "duckdb":
        from tailwatch.engines.local import DuckDBEngine

        return DuckDBEngine()
    if key == "spark":
        from tailwatch.engines.spark import SparkEngine

        return SparkEngine(spark_master)
    raise BadInput(f"--engine must be one of {', '.join(ENGINES)}, got {name!r}")


__all__ = ["ENGINES", "Engine", "get_engine"]
