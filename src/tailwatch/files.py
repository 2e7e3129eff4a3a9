"""Opening input files: decompression by content (gzip; names cannot be trusted), whole reads, JSON.

Ground layer: readers, identity list readers and the faces all open user files through here,
so a damaged archive is reported the same way (file and byte offset) wherever it is read.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tailwatch.errors import BadInput

GZIP_MAGIC = b"\x1f\x8b"
try:  # ISA-L (the `isal` package): the same gzip format, inflated about twice as fast as zlib
    from isal.igzip import decompress as _gunzip
    from isal.igzip_lib import IsalError

    _GZIP_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, IsalError)
except ImportError:  # pragma: no cover - declared dependency; plain zlib still reads everything
    _gunzip = gzip.decompress
    _GZIP_ERRORS = (OSError, EOFError, zlib.error)
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"


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
    """Up to `size` bytes of the decompressed content, for sniffing.

    A truncated or damaged gzip yields what decompresses before the damage, so the format
    is still recognised and the reader reports the fault where it is; b'' if nothing does.
    """
    with open(path, "rb") as f:
        if f.read(2) != GZIP_MAGIC:
            f.seek(0)
            return f.read(size)
        f.seek(0)
        inflate = zlib.decompressobj(wbits=31)
        out = bytearray()
        while len(out) < size and (chunk := f.read(1 << 16)):
            try:
                out += inflate.decompress(chunk, size - len(out))
            except zlib.error:
                break
            if inflate.eof:
                break
        return bytes(out)


def gzip_fault(data: bytes) -> tuple[int, str]:
    """Byte offset and reason where a gzip stream (all members) stops decompressing."""
    pos, step = 0, 1 << 16
    inflate = zlib.decompressobj(wbits=31)
    while pos < len(data):
        chunk = data[pos:pos + step]
        try:
            inflate.decompress(chunk)
        except zlib.error as exc:
            return pos, f"corrupt gzip data in the 64 KiB from here ({exc})"
        if inflate.eof:
            rest = inflate.unused_data
            pos += len(chunk) - len(rest)
            if not rest.strip(b"\0"):
                return pos, "gzip stream decompresses cleanly"
            inflate = zlib.decompressobj(wbits=31)
            continue
        pos += len(chunk)
    return len(data), "gzip stream ends early (file truncated?)"


def read_all(path: Path) -> bytes:
    """All decompressed bytes; raises BadInput naming the file on a corrupt archive.

    Whole-buffer decompression (all members, zero padding skipped, as `GzipFile`) with
    ISA-L's inflate costs a fifth of reading through a `GzipFile`: it counts over
    thousands of small traces.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
        return _gunzip(data) if data[:2] == GZIP_MAGIC else data
    except _GZIP_ERRORS as exc:
        offset, reason = gzip_fault(data)
        raise BadInput(f"{path}@{offset}: cannot decompress: {reason}") from exc


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) pairs, decoding UTF-8 with replacement."""
    with open_bytes(path) as raw:
        reader = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        for lineno, line in enumerate(reader, start=1):
            yield lineno, line.rstrip("\r\n")


def load_json(path: Path) -> object:
    """Parse a whole JSON document (gzip by content); BadInput names the file and byte offset."""
    import json

    data = read_all(path)
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}@{exc.start}: not UTF-8 JSON") from exc
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}, byte {exc.pos})") from exc
    except RecursionError as exc:
        raise BadInput(f"{path}: JSON nested too deeply") from exc
