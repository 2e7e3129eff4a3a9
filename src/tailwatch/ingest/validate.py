"""Validation of reader output: canonical columns, rows without a usable position or address
dropped and counted by reason with their source lines.

Apart from the pipeline because the Spark ingest and the bench run it on their own batches.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from tailwatch.ingest.base import LINE, MAX_EXAMPLES, Rejects
from tailwatch.schema import EXTENSION_SCHEMA, conform, positions_only


def valid_points(
    frames: Iterator[pl.DataFrame], rejects: Rejects, where: str, icao24: str | None = None
) -> Iterator[pl.DataFrame]:
    """Conform each frame and drop rows without a usable position, counting them.

    `icao24` fills the address of rows that have none (formats such as the FR24
    CSV export do not carry it). Rows keep a reader's extension columns (`schema.EXTENSION_SCHEMA`).
    """
    for frame in frames:
        if icao24 is not None:
            fill = pl.lit(icao24.strip().lower())
            frame = frame.with_columns(
                pl.coalesce(pl.col("icao24").cast(pl.String), fill).alias("icao24") if "icao24" in frame.columns
                else fill.alias("icao24")
            )
        extras = [c for c in EXTENSION_SCHEMA if c in frame.columns]
        canonical, addresses_ok = _conform(frame)
        if extras:
            canonical = canonical.with_columns(frame.select(pl.col(c).cast(EXTENSION_SCHEMA[c]) for c in extras))
        good = _positions_only(canonical, addresses_ok)
        if good.height < canonical.height:
            _report_dropped(frame, canonical, rejects, where)
        yield good


ICAO24_PATTERN = r"^[0-9a-f]{6}$"  # as `schema.positions_only` checks it


def _conform(frame: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """`schema.conform(frame)`, and whether every address is already canonical.

    Most sources write addresses as six lower-case hex digits: one regex pass over the distinct
    addresses proves it (a batch of a million rows holds a few thousand; the regex over every
    row cost a fifth of validation), and then conform's strip/lower-case (which would return
    them unchanged) and the address check of `positions_only` are skipped; the result is the
    same frame.
    """
    icao = frame.get_column("icao24", default=None)
    if icao is None or icao.dtype != pl.String or icao.has_nulls() or not icao.unique().str.contains(ICAO24_PATTERN).all():
        return conform(frame), False
    return conform(frame.drop("icao24")).with_columns(icao), True


def _positions_only(frame: pl.DataFrame, addresses_ok: bool) -> pl.DataFrame:
    """`schema.positions_only`, without the address check when `_conform` found every address valid."""
    if not addresses_ok:
        return positions_only(frame)
    return frame.filter(
        pl.col("latitude").is_between(-90.0, 90.0)
        & pl.col("longitude").is_between(-180.0, 180.0)
        & pl.col("latitude").is_not_nan()
        & pl.col("longitude").is_not_nan()
        & pl.col("timestamp").is_not_null()
    )


def _report_dropped(frame: pl.DataFrame, canonical: pl.DataFrame, rejects: Rejects, where: str) -> None:
    """Count rows without a usable position or address, by reason, with the first source lines."""
    lat, lon = pl.col("latitude"), pl.col("longitude")
    reason = (
        pl.when(pl.col("timestamp").is_null()).then(pl.lit("missing or invalid time"))
        .when(pl.col("icao24").is_null()).then(pl.lit("no aircraft address (give one with --icao24)"))
        .when(~pl.col("icao24").str.contains(r"^[0-9a-f]{6}$")).then(pl.lit("invalid icao24 address"))
        .when(lat.is_null() | lon.is_null()).then(pl.lit("no position"))
        .when(~(lat.is_between(-90.0, 90.0) & lon.is_between(-180.0, 180.0)) | lat.is_nan() | lon.is_nan())
        .then(pl.lit("position out of range"))
        .otherwise(None)
        .alias("_reason")
    )
    tagged = canonical.select(reason)
    if LINE in frame.columns:
        tagged = tagged.with_columns(frame[LINE])
    tagged = tagged.filter(pl.col("_reason").is_not_null())
    counts = tagged.group_by("_reason").len()
    for why, n in counts.iter_rows():
        rejects.counts[why] += n
    for row in tagged.head(MAX_EXAMPLES).iter_rows(named=True):
        if len(rejects.examples) >= MAX_EXAMPLES:
            break
        line = row.get(LINE)
        rejects.examples.append(f"{where}:{line}: {row['_reason']}" if line is not None else f"{where}: {row['_reason']}")
