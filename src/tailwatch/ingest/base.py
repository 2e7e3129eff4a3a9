"""What every reader shares: the reader contract, reject accounting, and file opening.

A reader turns one file into canonical point frames (see `tailwatch.schema`) in
batches, so a file larger than memory still ingests. Bad records are counted in a
`Rejects` and skipped; only a file that is not the reader's format at all raises.
"""

from __future__ import annotations

import csv
import functools
import io
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
REASON = "_reason"  # why a row is rejected (null: kept)
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
    """Lower-cased column names of a delimited text header, read as RFC 4180 (quotes removed,
    a quoted separator kept in its name)."""
    line = first_line(head)
    try:
        fields = next(csv.reader([line], delimiter=sep))
    except (csv.Error, StopIteration):
        fields = line.split(sep)
    return [f.strip().strip('"').strip().lower() for f in fields]


def line_end(path: Path) -> str:
    """The line end to split records at: CR for a file whose lines end in CR alone (old Mac
    exports), else LF (a CR before it is dropped by the CSV reader)."""
    head = read_head(path, 1 << 16)
    lone_cr = b"\r" in head and b"\r\n" not in head and head.count(b"\r") >= head.count(b"\n")
    return "\r" if lone_cr else "\n"  # an LF among CR line ends is inside a quoted field


MAX_JOINED_LINES = 20  # a quoted field may span this many lines before its quote counts as stray


def csv_records(path: Path, delimiter: str = ",") -> Iterator[tuple[int, list[str] | None]]:
    """(line the record starts on, fields) of an RFC 4180 file: quotes removed, quoted separators
    and line breaks kept in their field, CR / CRLF / LF line ends, a UTF-8 BOM dropped.

    A quote that does not close within `MAX_JOINED_LINES` lines is stray: its line alone is a
    broken record (fields None) and reading goes on at the next line, so one stray quote never
    swallows the rest of the file.
    """
    from collections import deque

    with open_bytes(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        pending: deque[tuple[int, str]] = deque()
        numbered = enumerate(text, start=1)

        def next_line() -> tuple[int, str] | None:
            return pending.popleft() if pending else next(numbered, None)

        while (item := next_line()) is not None:
            lineno, buffer = item
            taken: list[tuple[int, str]] = []
            while True:
                try:
                    rows = list(csv.reader(io.StringIO(buffer), delimiter=delimiter, strict=True))
                    yield lineno, (rows[0] if rows else [])
                    break
                except csv.Error:
                    more = next_line() if len(taken) < MAX_JOINED_LINES else None
                    if more is None:  # never closes: this line alone is broken; the lines taken are read again
                        pending.extendleft(reversed(taken))
                        yield lineno, None
                        break
                    taken.append(more)
                    buffer += more[1]


def csv_columns(path: Path, lazy: pl.LazyFrame) -> list[str]:
    """The header's column names (without the line-number and reason columns); BadInput if it cannot be read."""
    try:
        return [c for c in lazy.collect_schema().names() if c not in (LINE, REASON)]
    except ENGINE_ERRORS as exc:
        raise BadInput(f"{path}: unreadable CSV header: {str(exc).splitlines()[0][:200]}") from exc


EXTRA = "_extra"  # a field beyond the header's: the row is ragged


def lazy_text_table(path: Path, has_header: bool = True, new_columns: list[str] | None = None,
                    separator: str = ",", types: dict[str, pl.DataType] | None = None) -> pl.LazyFrame:
    """A delimited text file (plain, gzip or zstd: detected by content) as a lazy frame.

    Why these options: a file with a header is read as RFC 4180 (quotes removed, quoted
    separators and line breaks kept in their field), with CR, CRLF or LF line ends and a
    UTF-8 BOM; a headerless fixed layout (SBS-1) is machine-written and never quoted, so
    quoting stays off there (one stray quote would otherwise swallow the rest of the file).
    A row with more fields than the header is tagged `_reason` (ragged); a shorter one reads
    its missing fields as empty. Invalid UTF-8 is replaced. A `_line` column numbers the
    records (the header is 1): the line a record starts on, unless a quoted field before it
    spans lines (`split_rejects(..., records=True)` then finds the line).
    Columns are strings, except those given in `types`, parsed while scanning (fast,
    but one bad value aborts the scan: see `typed_then_lenient`).
    """
    check_inflated(path)  # Polars inflates gzip/zstd itself, with no ceiling
    options = dict(
        separator=separator, infer_schema=False, truncate_ragged_lines=True, encoding="utf8-lossy",
        quote_char='"' if has_header else None, eol_char=line_end(path), raise_if_empty=False,
    )
    if new_columns and not has_header:  # fixed layout: the first line must not decide the width
        schema = {n: (types or {}).get(n, pl.String()) for n in new_columns}
        return pl.scan_csv(path, has_header=False, schema=schema, row_index_name=LINE, row_index_offset=1,
                           missing_columns="insert", extra_columns="ignore", **options)
    names = pl.scan_csv(path, has_header=has_header, new_columns=new_columns, **options).collect_schema().names()
    # A complete schema, not `schema_overrides`: with overrides, Polars ignores them for
    # columns a projection leaves out of the scan and then fails casting the strings it read.
    schema = {n: (types or {}).get(n, pl.String()) for n in names}
    scan = pl.scan_csv(path, has_header=has_header, schema={**schema, EXTRA: pl.String()}, row_index_name=LINE,
                       row_index_offset=2 if has_header else 1, missing_columns="insert", extra_columns="ignore",
                       **options)
    ragged = pl.when(pl.col(EXTRA).is_not_null()).then(pl.lit(f"more fields than the header's {len(names)}"))
    return scan.with_columns(ragged.otherwise(None).cast(pl.String).alias(REASON)).drop(EXTRA)


def with_reason(lazy: pl.LazyFrame, reason: pl.Expr) -> pl.LazyFrame:
    """`reason` as the `_reason` column, after any reason the frame already carries (a ragged row)."""
    if REASON in lazy.collect_schema().names():
        return lazy.with_columns(pl.coalesce(pl.col(REASON), reason).alias(REASON))
    return lazy.with_columns(reason.alias(REASON))


def stream_batches(path: Path, lazy: pl.LazyFrame, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """Run a lazy reading pipeline in streaming batches; engine errors become BadInput naming the file."""
    try:
        yield from lazy.collect_batches(chunk_size=batch_rows)
    except ENGINE_ERRORS as exc:
        raise BadInput(f"{path}: not readable as {_what(exc)}") from exc


def _what(exc: Exception) -> str:
    return f"a delimited text table: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"


def typed_then_lenient(
    path: Path,
    fast: Callable[[], pl.LazyFrame] | None,
    lenient: Callable[[pl.LazyFrame], pl.LazyFrame],
    batch_rows: int = DEFAULT_BATCH_ROWS,
    first_data_line: int = 2,
) -> Iterator[pl.DataFrame]:
    """Stream `fast` (types parsed by the CSV scanner); at the first value it cannot parse,
    continue with `lenient` (a pipeline over `lazy_text_table`'s string columns: casts row by
    row, bad rows tagged `_reason`) from the first record not yet delivered. Clean files, the
    common case, never pay for the checks. Should the CSV scanner refuse the text itself (a
    quote that never closes), the rest is read by `rescued_records` through the same pipeline.
    """
    delivered = 0
    if fast is not None:
        try:
            for batch in fast().collect_batches(chunk_size=batch_rows):
                delivered += batch.height
                yield batch
            return
        except ENGINE_ERRORS:
            pass
    try:
        rest = lenient(lazy_text_table(path))
        if delivered:
            rest = rest.filter(pl.col(LINE) >= first_data_line + delivered)
        for batch in rest.collect_batches(chunk_size=batch_rows):
            delivered += batch.height
            yield batch
        return
    except ENGINE_ERRORS:
        pass
    for table in rescued_records(path, skip=delivered, batch_rows=batch_rows):
        try:
            yield lenient(table.lazy()).collect()
        except ENGINE_ERRORS as exc:
            raise BadInput(f"{path}: not readable as {_what(exc)}") from exc


def rescued_records(path: Path, skip: int = 0, batch_rows: int = DEFAULT_BATCH_ROWS,
                    delimiter: str = ",") -> Iterator[pl.DataFrame]:
    """A CSV file the columnar scanner refused, read record by record (`csv_records`): string
    columns named by the header, `_line` minus the line each record starts on, `_reason` set on
    rows that are not whole (a stray quote's line; a row of another width than the header).
    The first `skip` records after the header are left out (already delivered)."""
    stream = csv_records(path, delimiter)
    header = next(stream, None)
    if header is None or header[1] is None:
        return
    names = pl.scan_csv(path, infer_schema=False, quote_char='"', eol_char=line_end(path),
                        encoding="utf8-lossy").collect_schema().names()
    width = len(names)
    columns: dict[str, list] = {n: [] for n in names}
    lines: list[int] = []
    reasons: list[str | None] = []
    seen = 0
    for lineno, fields in stream:
        if fields is not None and (not fields or fields == [""]):
            continue  # a blank line
        seen += 1
        if seen <= skip:
            continue
        if fields is None:
            reason: str | None = BROKEN_ROW
            fields = []
        elif len(fields) != width:
            reason = f"expected {width} fields, found {len(fields)}"
        else:
            reason = None
        for i, name in enumerate(names):
            columns[name].append(fields[i] if i < len(fields) and reason is None else None)
        lines.append(lineno)
        reasons.append(reason)
        if len(lines) >= batch_rows:
            yield _rescued_frame(columns, lines, reasons)
            columns, lines, reasons = {n: [] for n in names}, [], []
    if lines:
        yield _rescued_frame(columns, lines, reasons)


BROKEN_ROW = "broken row (a quote that does not close)"


def _rescued_frame(columns: dict[str, list], lines: list[int], reasons: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {LINE: pl.Series(lines, dtype=pl.Int64),
         **{n: pl.Series(v, dtype=pl.String) for n, v in columns.items()},
         REASON: pl.Series(reasons, dtype=pl.String)}
    ).with_columns(-pl.col(LINE))  # negative: a line, not a record number (`split_rejects`)


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


def split_rejects(frame: pl.DataFrame, path: Path, rejects: Rejects, records: bool = False) -> pl.DataFrame:
    """Count rows carrying a `_reason` (with their `_line`) and return the others without the column.

    `records`: `_line` numbers CSV records (`lazy_text_table`); the examples get the line each
    record starts on, which differs once a quoted field has spanned lines.
    """
    if REASON not in frame.columns:
        return frame
    bad = frame.filter(pl.col(REASON).is_not_null())
    if bad.height:
        for why, n in bad.group_by(REASON).len().iter_rows():
            rejects.counts[why] += n
        room = max(MAX_EXAMPLES - len(rejects.examples), 0)
        lines = bad[LINE].head(room).to_list() if LINE in bad.columns else [None] * min(room, bad.height)
        if records and lines:  # record numbers; a negative number is already minus a line (`rescued_records`)
            starts = record_lines(path, [n for n in lines if n is not None and n > 0])
            lines = [None if n is None else -n if n < 0 else starts.get(n, n) for n in lines]
        for line, why in zip(lines, bad[REASON].head(room).to_list()):
            rejects.examples.append(f"{path}:{line}: {why}" if line is not None else f"{path}: {why}")
        frame = frame.filter(pl.col(REASON).is_null())
    return frame.drop(REASON)


def record_lines(path: Path, records: list[int]) -> dict[int, int]:
    """CSV record numbers (the header is 1) → the line each starts on. The same numbers when no
    quote is in the file (no field can span lines); else counted by an RFC 4180 reader, up to
    the last record asked for."""
    if not records or not _has_quote(str(path), *_stamp(path)):
        return {n: n for n in records}
    wanted, last, out = set(records), max(records), {}
    for number, (line, _) in enumerate(csv_records(path), start=1):
        if number in wanted:
            out[number] = line
        if number >= last:
            break
    return out


def _stamp(path: Path) -> tuple[int, int]:
    stat = Path(path).stat()
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _has_quote(path: str, size: int, mtime_ns: int) -> bool:
    with open_bytes(Path(path)) as raw:
        while block := raw.read(1 << 22):
            if b'"' in block:
                return True
    return False


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
