"""Opening input files: gzip and zstd recognised by content (names cannot be trusted) and
inflated with a ceiling, whole reads, text lines, JSON.

Ground layer: readers, identity list readers and the faces all open user files through here,
so a damaged or oversized input is reported the same way (file and byte offset) wherever it is
read. Why a ceiling: a few kilobytes of gzip or zstd can inflate to gigabytes (a "decompression
bomb"), which would fill memory or disk before any reader saw a bad line. Every inflating path
here stops at `inflate_limit(path)` bytes with one `BadInput` line naming the file. The default
is generous for real ADS-B data (text compresses 5-20×): `MAX_RATIO` times the compressed size,
at least `FLOOR_BYTES`; `TAILWATCH_MAX_INFLATED_BYTES` sets it outright.
"""

from __future__ import annotations

import functools
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tailwatch.errors import BadInput

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
MAX_RATIO = 200
FLOOR_BYTES = 64 << 20
LIMIT_ENV = "TAILWATCH_MAX_INFLATED_BYTES"
STEP = 1 << 20  # compressed bytes read per step when streaming
ZSTD_PIECE = 2048  # compressed bytes per zstd call: at most ~50 MB inflate from one (RLE blocks)

try:  # ISA-L (the `isal` package): the same gzip format, inflated about twice as fast as zlib
    from isal.isal_zlib import decompressobj as _gzip_inflater
    from isal.isal_zlib import error as _IsalError

    _GZIP_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, _IsalError)
except ImportError:  # pragma: no cover - declared dependency; zlib reads the same streams
    _gzip_inflater = zlib.decompressobj
    _GZIP_ERRORS = (OSError, EOFError, zlib.error)


def _bad(message: str) -> Exception:
    return BadInput(message)


def compression(head: bytes) -> str | None:
    """'gzip', 'zstd' or None (not compressed), from the first bytes."""
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head[:4] == ZSTD_MAGIC:
        return "zstd"
    return None


def inflate_limit(path: Path) -> int:
    """Most bytes `path` may inflate to (see the module docstring)."""
    fixed = os.environ.get(LIMIT_ENV)
    if fixed:
        return int(fixed)
    return max(FLOOR_BYTES, MAX_RATIO * Path(path).stat().st_size)


def _too_big(path: Path, limit: int) -> Exception:
    return _bad(f"{path}@0: inflates to more than {limit:,} bytes (a decompression bomb?); "
                f"set {LIMIT_ENV} to allow more")


class _Inflating(io.RawIOBase):
    """A decompressing, size-capped reader over a compressed file (gzip members or zstd frames)."""

    def __init__(self, path: Path, kind: str, limit: int) -> None:
        self.path, self.kind, self.limit = path, kind, limit
        self.raw = open(path, "rb")
        self.inflated = 0
        self.consumed = 0  # compressed bytes read so far, for fault offsets
        self.pending = b""
        self.done = False
        self.engine = self._new_engine()

    def _new_engine(self):
        if self.kind == "gzip":
            return _gzip_inflater(wbits=31)
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj()

    def readable(self) -> bool:
        return True

    def _feed(self) -> bytes:
        # zstd's API has no output cap: small inputs bound what one call can inflate
        block = self.raw.read(STEP if self.kind == "gzip" else ZSTD_PIECE)
        self.consumed += len(block)
        return block

    def _more(self, want: int) -> bytes:
        """Some inflated bytes, at most about `want` (b'' at the end of the stream)."""
        import zstandard

        while not self.done:
            if not self.pending:
                self.pending = self._feed()
                if not self.pending:
                    raise _bad(f"{self.path}@{self.consumed}: {self.kind} stream ends early (file truncated?)")
            try:
                if self.kind == "gzip":
                    out = self.engine.decompress(self.pending, want)
                    self.pending = self.engine.unconsumed_tail
                else:
                    out = self.engine.decompress(self.pending)
                    self.pending = b""
                if self.engine.eof:
                    self.pending = self.engine.unused_data + self.pending
                    self._next_member()
            except (*_GZIP_ERRORS, zstandard.ZstdError) as exc:
                raise _bad(f"{self.path}@{self.consumed}: cannot decompress {self.kind}: "
                           f"{str(exc)[:120] or type(exc).__name__}") from exc
            if out:
                self.inflated += len(out)
                if self.inflated > self.limit:
                    raise _too_big(self.path, self.limit)
                return out
        return b""

    def _next_member(self) -> None:
        """After one gzip member / zstd frame another may follow; zero padding ends the file."""
        while not self.pending.strip(b"\0"):
            self.pending = self._feed()
            if not self.pending:
                self.done = True
                return
        self.engine = self._new_engine()

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= len(self._buf):
            self._buf, self._pos = self._more(max(len(view), 1 << 16)), 0
        n = min(len(view), len(self._buf) - self._pos)
        view[:n] = self._buf[self._pos:self._pos + n]
        self._pos += n
        return n

    _buf, _pos = b"", 0

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_bytes(path: Path) -> IO[bytes]:
    """Open a file for binary reading, inflating gzip or zstd by content, not by name.

    readsb writes gzip-compressed traces named `.json`; the name cannot be trusted.
    """
    path = Path(path)
    with open(path, "rb") as f:
        kind = compression(f.read(4))
    if kind is None:
        return open(path, "rb")
    return io.BufferedReader(_Inflating(path, kind, inflate_limit(path)), buffer_size=1 << 20)


def read_all(path: Path) -> bytes:
    """All inflated bytes of a file; BadInput naming the file (and offset) if it cannot be.

    Whole-buffer inflation (gzip with ISA-L) costs a fifth of reading through a stream:
    it counts over thousands of small traces.
    """
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    kind = compression(data[:4])
    if kind is None:
        return data
    limit = inflate_limit(path)
    if kind == "gzip":
        return _gunzip(data, limit, path)
    with open_bytes(path) as stream:
        return stream.read()


def _gunzip(data: bytes, limit: int, path: Path) -> bytes:
    """All gzip members of `data` (zero padding after the last skipped, as `GzipFile` does), capped."""
    parts: list[bytes] = []
    total, rest = 0, data
    try:
        while True:
            engine = _gzip_inflater(wbits=31)
            part = engine.decompress(rest, limit + 1 - total)
            total += len(part)
            parts.append(part)
            if total > limit:
                raise _too_big(path, limit)
            if not engine.eof:
                if engine.unconsumed_tail:  # cannot happen below the cap; kept for clarity
                    raise _too_big(path, limit)
                raise EOFError("ends early")
            rest = engine.unused_data
            if not rest.strip(b"\0"):
                return b"".join(parts) if len(parts) > 1 else parts[0]
    except _GZIP_ERRORS as exc:
        offset, reason = gzip_fault(data)
        raise _bad(f"{path}@{offset}: cannot decompress: {reason}") from exc


def read_head(path: Path, size: int = 65536) -> bytes:
    """Up to `size` inflated bytes from the start, for sniffing.

    A truncated or damaged stream yields what inflates before the damage, so the format
    is still recognised and the reader reports the fault where it is; b'' if nothing does.
    """
    with open(path, "rb") as f:
        kind = compression(f.read(4))
        f.seek(0)
        if kind is None:
            return f.read(size)
    out = bytearray()
    stream = _Inflating(Path(path), kind, inflate_limit(path))  # unbuffered: keep what came before a fault
    try:
        while len(out) < size and (chunk := stream.read(size - len(out))):
            out += chunk
    except (ValueError, OSError, EOFError):  # BadInput is a ValueError: damage after the head
        pass
    finally:
        stream.close()
    return bytes(out)


def check_inflated(path: Path) -> None:
    """Inflate a compressed file once without keeping it: BadInput if it is damaged or too large.

    For inputs another engine inflates itself (Polars reads gzip and zstd CSV with no
    ceiling): a few hundred MB/s of discarded output, paid only by compressed files.
    """
    path = Path(path)
    stat = path.stat()
    _checked(str(path), stat.st_size, stat.st_mtime_ns, inflate_limit(path))


@functools.lru_cache(maxsize=256)
def _checked(path: str, size: int, mtime_ns: int, limit: int) -> None:
    with open(path, "rb") as f:
        kind = compression(f.read(4))
    if kind is None:
        return
    stream = _Inflating(Path(path), kind, limit)
    try:
        while stream._more(1 << 22):
            pass
    finally:
        stream.close()


def is_gzip(path: Path) -> bool:
    """Compressed by content (gzip or zstd): the name says nothing."""
    with open(path, "rb") as f:
        return compression(f.read(4)) is not None


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
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise BadInput(f"{path}: unreadable JSON value ({str(exc)[:80]})") from exc
