"""Query engines over the Parquet archive (DuckDB by default, Spark for clusters)."""
