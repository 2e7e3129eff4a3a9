"""The identity-claims table in the archive: `ARCHIVE/seen/date=YYYY-MM-DD/<source digest>.parquet`.

What the recordings themselves say about an aircraft (registration, type, operator, database
flags, the flight's own origin and destination: `tailwatch.seen`), kept beside `points/` and
`heard/` with exactly `schema.SEEN_SCHEMA`. One file per day (the day of a claim's `first` time)
for each source, or for each batch of sources the ingest commits together (thousands of
`aircraft.json` snapshots or trace files: a synced write per file would cost more than reading
them), named by the source's digest or a digest of the batch's, written atomically before the
manifests (a killed writer's dot-temporary is removed by the next write of that day):
re-ingesting writes nothing (the sources are skipped) or the same files. The table is
small, so `read_seen` scans every file and lets Parquet statistics prune by address.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from tailwatch.archive_layout import day_files
from tailwatch.schema import SEEN_SCHEMA
from tailwatch.seen import ORDER, empty_seen

SEEN_DIR = "seen"


def seen_root(archive: Path) -> Path:
    """The folder holding the claims partitions (a sibling of `points/` and `heard/`)."""
    return Path(archive) / SEEN_DIR


def write_seen(archive: Path, claims: pl.DataFrame, digest: str) -> list[Path]:
    """Write a source's claims, one file per day, atomically (same digest → same files)."""
    from tailwatch.archive import _atomic_write
    from tailwatch.archive_lock import sweep_temporaries

    if claims.height == 0:
        return []
    out = []
    frame = _exactly(claims).filter(pl.col("first").is_not_null())  # a claim is dated (its day is its partition)
    days = frame.with_columns(pl.col("first").dt.date().alias("_day"))
    for (day,), part in days.partition_by("_day", as_dict=True).items():
        folder = seen_root(archive) / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        sweep_temporaries(folder)  # a killed writer's leftover goes with the next write of its day
        target = folder / f"{digest}.parquet"
        _atomic_write(part.drop("_day").sort(ORDER, nulls_last=True), target)
        out.append(target)
    return out


def write_seen_many(archive: Path, digests: list[str], claims: list[pl.DataFrame]) -> list[Path]:
    """The claims of several sources committed together, one file per day named by a digest of their
    digests (one source: its own digest, as `write_seen`), so a batch read again writes the same file.
    A batch read again in another grouping (after a crash before its manifests) writes another file
    holding the same rows: `read_seen` reads each distinct row once."""
    if len(digests) == 1:
        return write_seen(archive, claims[0], digests[0])
    import xxhash

    name = xxhash.xxh3_128("\n".join(sorted(digests)).encode()).hexdigest()
    # stacked as they are (frames of one reader agree; others are aligned by name), then made
    # SEEN_SCHEMA exactly once: conforming each of 400 trace files' claims cost more than writing them
    return write_seen(archive, pl.concat(claims, how="diagonal_relaxed"), name)


def _exactly(claims: pl.DataFrame) -> pl.DataFrame:
    return claims.select(pl.col(c).cast(t, strict=False) if c in claims.columns else pl.lit(None, t).alias(c)
                         for c, t in SEEN_SCHEMA.items())


def read_seen(archive: Path | None, icao24s: list[str] | None = None,
              registrations: list[str] | None = None) -> pl.DataFrame:
    """Claims of the archive (none for archives written before the table existed), only those of
    `icao24s` and/or of `registrations` (compared without case, hyphens or blanks) when given;
    a claim matching either is kept."""
    if archive is None:
        return empty_seen()
    root = seen_root(archive)
    files = day_files(root)
    if not files:
        return empty_seen()
    frame = pl.scan_parquet(files, schema=SEEN_SCHEMA, missing_columns="insert", extra_columns="ignore")
    return select_claims(frame, icao24s, registrations).unique().collect().sort(ORDER, nulls_last=True)


def registration_key(expr: pl.Expr) -> pl.Expr:
    """Registration comparison key: upper case, no hyphen, blank, dot or underscore (`HB-JMF` → `HBJMF`)."""
    return expr.str.to_uppercase().str.replace_all(r"[\s\-_.]", "")


def key_of(registration: str) -> str:
    return re.sub(r"[\s\-_.]", "", registration.upper())


def select_claims(frame: pl.LazyFrame | pl.DataFrame, icao24s: list[str] | None = None,
                  registrations: list[str] | None = None):
    """Rows of `frame` (claims) about any of `icao24s` or carrying any of `registrations`."""
    if icao24s is None and registrations is None:
        return frame
    cond = pl.lit(False)
    if icao24s is not None:
        cond = cond | pl.col("icao24").is_in([h.strip().lstrip("~").lower() for h in icao24s])
    if registrations is not None:
        keys = sorted({key_of(r) for r in registrations if r})
        cond = cond | registration_key(pl.col("registration")).is_in(keys)
    return frame.filter(cond)


def claims_about(archive: Path | None, claims: pl.DataFrame | None, icao24s: list[str] | None = None,
                 registrations: list[str] | None = None) -> pl.DataFrame:
    """The recordings' claims about these addresses or registrations: from `claims` when the caller
    gathered them (input files, an engine's one query for many aircraft), else from the archive."""
    if claims is not None:
        return select_claims(claims, icao24s, registrations)
    if archive is None:
        return empty_seen()
    return read_seen(archive, icao24s, registrations)


__all__ = ["claims_about", "write_seen_many", "SEEN_DIR", "read_seen", "key_of", "registration_key", "select_claims", "seen_root", "write_seen"]
