"""What every reader shares: the reader contract, reject accounting, and file opening.

A reader turns one file into canonical point frames (see `tailwatch.schema`) in
batches, so a file larger than memory still ingests. Bad records are counted in a
`Rejects` and skipped; only a file that is not the reader's format at all raises.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from tailwatch.errors import BadInput
from tailwatch.files import (  # noqa: F401 - re-exported: readers import file opening from here
    GZIP_MAGIC,
    PARQUET_MAGIC,
    ZSTD_MAGIC,
    check_inflated,
    compression,
    gzip_fault,
    is_gzip,
    load_json,
    open_bytes,
    read_all,
    read_head,
    text_lines,
)

DEFAULT_BATCH_ROWS = 1_000_000
MAX_EXAMPLES = 5


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
    heard: object = None  # Mode S readers: the file's heard minutes (hiding.heard), written beside the points
    seen: object = None  # readers whose source names the aircraft: identity claims (schema.SEEN_SCHEMA), written to `seen/`
    time_assumed: str | None = None  # set when times were not in the data: how they were assumed (ingest line, manifest)

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
    """One input format. `sniff` sees the first bytes (decompressed) of the content.

    A reader of many small files (readsb traces) may also offer
    `read_many(paths, rejects_list) -> list[DataFrame | BadInput]`, which the
    pipeline uses to parse a chunk of files in one columnar pass.
    """

    name: str

    def sniff(self, head: bytes) -> bool: ...

    def read(
        self, path: Path, rejects: Rejects, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pl.DataFrame]: ...


# --- shared helpers for readers: text tables, strict number parsing, normalisation ---------

LINE = "_line"  # 1-based source line of a row, carried through readers for reject messages
# What the Polars engine raises on input it cannot read (a panic is a BaseException).
ENGINE_ERRORS: tuple[type[BaseException], ...] = (
    pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, ValueError
)


def first_line(head: bytes) -> str:
    """The first non-empty line of `head`, decoded leniently (BOM stripped)."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def header_fields(head: bytes, sep: str = ",") -> list[str]:
    """Lower-cased, unquoted column names of a delimited text header."""
    return [f.strip().strip('"').strip().lower() for f in first_line(head).split(sep)]


def csv_columns(path: Path, lazy: pl.LazyFrame) -> list[str]:
    """The header's column names (without the line-number column); BadInput if it cannot be read."""
    try:
        return [c for c in lazy.collect_schema().names() if c != LINE]
    except ENGINE_ERRORS as exc:
        raise BadInput(f"{path}: unreadable CSV header: {str(exc).splitlines()[0][:200]}") from exc


def lazy_text_table(path: Path, has_header: bool = True, new_columns: list[str] | None = None,
                    separator: str = ",", types: dict[str, pl.DataType] | None = None) -> pl.LazyFrame:
    """A delimited text file (plain, gzip or zstd: detected by content) as a lazy frame.

    Why these options: quoting is off (the machine-written formats read here never
    quote, and one stray quote would otherwise swallow the rest of the file), ragged
    lines are padded or cut instead of aborting the stream, and invalid UTF-8 is
    replaced. A `_line` column carries the source line number for reject messages.
    Columns are strings, except those given in `types`, parsed while scanning (fast,
    but one bad value aborts the scan: see `typed_then_lenient`).
    """
    check_inflated(path)  # Polars inflates gzip/zstd itself, with no ceiling
    schema = None
    if new_columns and not has_header:  # fixed layout: the first line must not decide the width
        schema = {n: (types or {}).get(n, pl.String()) for n in new_columns}
    elif types:
        # A complete schema, not `schema_overrides`: with overrides, Polars ignores them for
        # columns a projection leaves out of the scan and then fails casting the strings it read.
        names = lazy_text_table(path, has_header, new_columns, separator).collect_schema().names()
        schema = {n: types.get(n, pl.String()) for n in names if n != LINE}
    return pl.scan_csv(
        path,
        has_header=has_header,
        schema=schema,
        new_columns=None if schema else new_columns,
        separator=separator,
        infer_schema=False,
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
        quote_char=None,
        row_index_name=LINE,
        row_index_offset=2 if has_header else 1,
        raise_if_empty=False,
        **({"missing_columns": "insert", "extra_columns": "ignore"} if schema else {}),
    )


def stream_batches(path: Path, lazy: pl.LazyFrame, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """Run a lazy reading pipeline in streaming batches; engine errors become BadInput naming the file."""
    try:
        yield from lazy.collect_batches(chunk_size=batch_rows)
    except ENGINE_ERRORS as exc:
        raise BadInput(f"{path}: not readable as {_what(exc)}") from exc


def _what(exc: Exception) -> str:
    return f"a delimited text table: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"


REASON = "_reason"


def typed_then_lenient(
    path: Path,
    fast: Callable[[], pl.LazyFrame],
    lenient: Callable[[], pl.LazyFrame],
    batch_rows: int = DEFAULT_BATCH_ROWS,
    first_data_line: int = 2,
) -> Iterator[pl.DataFrame]:
    """Stream `fast` (types parsed by the CSV scanner); at the first value it cannot parse,
    continue with `lenient` (strings cast row by row, bad rows tagged `_reason`) from the
    first line not yet delivered. Clean files, the common case, never pay for the checks.
    """
    delivered = 0
    try:
        for batch in fast().collect_batches(chunk_size=batch_rows):
            delivered += batch.height
            yield batch
        return
    except ENGINE_ERRORS:
        pass
    rest = lenient()
    if delivered:
        rest = rest.filter(pl.col(LINE) >= first_data_line + delivered)
    yield from stream_batches(path, rest, batch_rows)


def _bool_expr(col: pl.Expr) -> pl.Expr:
    low = col.str.strip_chars().str.to_lowercase()
    return (
        pl.when(low.is_in(["true", "t", "1", "-1", "yes"])).then(True)  # SBS-1 writes -1 for true
        .when(low.is_in(["false", "f", "0", "no"])).then(False)
        .otherwise(None)
    )


def parse_exprs(types: dict[str, pl.DataType], present: list[str] | set[str]) -> tuple[list[pl.Expr], pl.Expr]:
    """Casts of string columns to `types`, and a `_reason` expression naming the first unparsable one.

    Empty strings are nulls (not errors): many sources leave unknown fields blank.
    Rows whose `_reason` is not null are to be counted and dropped (`split_rejects`).
    """
    casts: list[pl.Expr] = []
    reason: pl.Expr | None = None
    for name, dtype in types.items():
        if name not in present:
            continue
        raw = pl.col(name)
        typed = _bool_expr(raw) if dtype == pl.Boolean() else raw.cast(dtype, strict=False)
        casts.append(typed.alias(name))
        bad = typed.is_null() & raw.is_not_null() & (raw.str.len_bytes() > 0)
        then = pl.lit(f"unparsable {name}")
        reason = pl.when(bad).then(then) if reason is None else reason.when(bad).then(then)
    reason_expr = (reason.otherwise(None) if reason is not None else pl.lit(None, pl.String)).cast(pl.String)
    return casts, reason_expr.alias(REASON)


def split_rejects(frame: pl.DataFrame, path: Path, rejects: Rejects) -> pl.DataFrame:
    """Count rows carrying a `_reason` (with their `_line`) and return the others without the column."""
    if REASON not in frame.columns:
        return frame
    bad = frame.filter(pl.col(REASON).is_not_null())
    if bad.height:
        for why, n in bad.group_by(REASON).len().iter_rows():
            rejects.counts[why] += n
        lines = bad[LINE].to_list() if LINE in bad.columns else [None] * bad.height
        for line, why in zip(lines[:MAX_EXAMPLES], bad[REASON].head(MAX_EXAMPLES).to_list()):
            if len(rejects.examples) >= MAX_EXAMPLES:
                break
            rejects.examples.append(f"{path}:{line}: {why}" if line is not None else f"{path}: {why}")
        frame = frame.filter(pl.col(REASON).is_null())
    return frame.drop(REASON)


def clean_squawk(col: pl.Expr, numeric: bool = False) -> pl.Expr:
    """Four octal digits or null; `numeric` sources (integers, '1200.0') are padded to four digits."""
    text = col.cast(pl.String)
    if numeric:
        text = text.str.strip_chars().str.replace(r"\.0+$", "").str.zfill(4)
    return pl.when(text.str.contains(r"^[0-7]{4}$")).then(text).otherwise(None)


def epoch_seconds(col: pl.Expr) -> pl.Expr:
    """Float or integer Unix seconds → canonical UTC microsecond timestamp."""
    return (col.cast(pl.Float64) * 1_000_000).round(0).cast(pl.Int64, strict=False).cast(
        pl.Datetime("us", "UTC"), strict=False
    )


def sane_time(col: pl.Expr) -> pl.Expr:
    """Null timestamps outside 1990–2100: a mangled epoch is an error, not a flight in 1970."""
    lo = pl.datetime(1990, 1, 1, time_zone="UTC")
    hi = pl.datetime(2100, 1, 1, time_zone="UTC")
    return pl.when(col.is_between(lo, hi)).then(col).otherwise(None)
