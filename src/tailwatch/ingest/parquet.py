"""Parquet files: OpenSky state vectors (`state_vectors_data4` columns) or frames in
traffic's column names (including tailwatch's own archive files).

Read row group by row group (`iter_batches`), so a file larger than memory still
ingests. Which of the two layouts is decided from the schema, not the name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from tailwatch.ingest.base import DEFAULT_BATCH_ROWS, ENGINE_ERRORS, PARQUET_MAGIC, BadInput, Rejects
from tailwatch.ingest.opensky import from_state_vectors, is_state_vector_columns
from tailwatch.ingest.traffic_json import from_traffic_columns, has_traffic_columns


class ParquetReader:
    name = "parquet"

    def sniff(self, head: bytes) -> bool:
        return head[:4] == PARQUET_MAGIC

    def read(self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
        try:
            parquet = pq.ParquetFile(path)
            names = parquet.schema_arrow.names
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise BadInput(f"{path}: unreadable Parquet: {exc}") from exc
        if is_state_vector_columns(names):
            convert, wanted = from_state_vectors, None
        elif has_traffic_columns(names):
            convert, wanted = from_traffic_columns, None
        else:
            raise BadInput(f"{path}: Parquet columns are neither OpenSky state vectors nor traffic's ({names[:8]}...)")
        try:
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=wanted):
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                frame = frame.rename({c: c.lower() for c in frame.columns if c != c.lower()})
                rejects.records += frame.height
                yield convert(frame)
        except (pa.ArrowException, *ENGINE_ERRORS) as exc:
            raise BadInput(f"{path}: Parquet read failed: {str(exc).splitlines()[0][:200]}") from exc


READER = ParquetReader()
