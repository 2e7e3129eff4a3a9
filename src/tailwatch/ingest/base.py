"""What every reader shares: the reader contract, reject accounting, and file opening.

A reader turns one file into canonical point frames (see `tailwatch.schema`) in
batches, so a file larger than memory still ingests. Bad records are counted in a
`Rejects` and skipped; only a file that is not the reader's format at all raises.
"""

from __future__ import annotations

import gzip
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import polars as pl

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
DEFAULT_BATCH_ROWS = 1_000_000
MAX_EXAMPLES = 5


class BadInput(ValueError):
    """Input that cannot be read; the message names the file and where."""


class UnknownFormat(BadInput):
    """No reader recognised the content."""


@dataclass
class Rejects:
    """Counts of skipped records by reason, with the first few locations.

    `where` is `file:line` for text formats and `file@offset` for binary ones.
    """

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    records: int = 0  # records the reader looked at (lines, frames, points), kept or not

    def add(self, reason: str, where: str, n: int = 1) -> None:
        self.counts[reason] += n
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {reason}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: Rejects) -> None:
        self.records += other.records
        self.counts.update(other.counts)
        room = MAX_EXAMPLES - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])


class Reader(Protocol):
    """One input format. `sniff` sees the first bytes (decompressed) of the content."""

    name: str

    def sniff(self, head: bytes) -> bool: ...

    def read(
        self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pl.DataFrame]: ...


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def open_bytes(path: Path) -> IO[bytes]:
    """Open a file for binary reading, decompressing gzip by content, not by name.

    readsb writes gzip-compressed traces named `.json`; the name cannot be trusted.
    """
    raw = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def read_head(path: Path, size: int = 65536) -> bytes:
    """The first `size` bytes of the decompressed content ('' for a broken gzip)."""
    try:
        with open_bytes(path) as f:
            return f.read(size)
    except (OSError, EOFError):
        with open(path, "rb") as f:
            return f.read(size)


def read_all(path: Path) -> bytes:
    """All decompressed bytes; raises BadInput naming the file on a corrupt archive."""
    try:
        with open_bytes(path) as f:
            return f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BadInput(f"{path}: cannot decompress: {exc}") from exc


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) pairs, decoding UTF-8 with replacement."""
    with open_bytes(path) as raw:
        reader = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        for lineno, line in enumerate(reader, start=1):
            yield lineno, line.rstrip("\r\n")
