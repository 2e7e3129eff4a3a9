"""Where identity data lives inside an archive folder, and atomic writes to it.

`DIR/_identity/watchlist.parquet` holds imported list entries,
`DIR/_identity/registry/<kind>-<digest>.parquet` one file per imported registry
snapshot (the digest of its bytes, so importing the same file twice adds nothing).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

IDENTITY_DIR = "_identity"


def identity_dir(archive: Path) -> Path:
    return Path(archive) / IDENTITY_DIR


def registry_dir(archive: Path) -> Path:
    return identity_dir(archive) / "registry"


def watchlist_path(archive: Path) -> Path:
    return identity_dir(archive) / "watchlist.parquet"


def write_parquet_atomic(frame: pl.DataFrame, target: Path) -> None:
    """Write to a dot-temporary file and rename: readers see the old file or the new, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
