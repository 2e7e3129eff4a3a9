"""The default engine: DuckDB queries and the pure itinerary step, on this machine."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from tailwatch.engines.duckdb import points_for, summary_by_aircraft


class DuckDBEngine:
    """The default engine: DuckDB queries on this machine, the itinerary path of the CLI."""

    name = "duckdb"

    def points_for(self, archive: Path, icao24s: list[str] | None = None, start: datetime | None = None,
                   end: datetime | None = None) -> pl.DataFrame:
        return points_for(archive, icao24s, start, end)

    def summary_by_aircraft(self, archive: Path, icao24s: list[str] | None = None,
                            start: datetime | None = None, end: datetime | None = None) -> pl.DataFrame:
        return summary_by_aircraft(archive, icao24s, start, end)

    def itineraries(self, archive: Path, aircraft: list[str] | None = None, watchlist: Path | None = None,
                    start: datetime | None = None, end: datetime | None = None, every_aircraft: bool = False,
                    with_points: bool = True, on_stage=None, on_aircraft=None,
                    on_doc=None) -> tuple[list[dict], dict[str, pl.DataFrame]]:
        """Itinerary JSON per aircraft (`engines.duckdb_itinerary`); `every_aircraft` takes each
        aircraft with points in [start, end] (found by one summary query); without `with_points`
        the points with `leg` are not kept (a JSON batch needs only the documents); with `on_doc`
        each document goes there as it is made, none is kept."""
        from tailwatch.engines.duckdb_itinerary import itineraries

        return itineraries(Path(archive), aircraft, watchlist, start, end, every_aircraft, on_stage, on_aircraft,
                           with_points, on_doc=on_doc)

    def ingest(self, paths: list[Path], archive: Path, icao24: str | None = None, on_file=None) -> list:
        from tailwatch.ingest.pipeline import ingest_files

        return ingest_files(paths, archive, icao24=icao24, on_file=on_file)


__all__ = ["DuckDBEngine"]
