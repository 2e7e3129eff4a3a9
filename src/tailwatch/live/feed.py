"""What every live feed client shares: reconnecting with back-off, counters, and the batches it hands
the watcher (Mode S frames or decoded points)."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
import polars as pl


@dataclass
class FeedStats:
    """Per-feed counters shown live and in the final summary."""

    messages: int = 0  # frames or lines received
    decoded: int = 0  # Mode S messages the decoder accepted (after duplicate suppression), or SBS/JSON records parsed
    positions: int = 0  # positions this feed contributed
    errors: int = 0  # framing errors, bad lines, failed connections
    duplicates: int = 0  # messages already delivered by another feed
    bytes: int = 0
    connects: int = 0
    connected: bool = False
    last_error: str = ""


@dataclass
class ModeSFrames:
    """Mode S messages of one feed for one processing cycle."""

    msg: np.ndarray  # (n, 14) uint8
    length: np.ndarray  # (n,) 7 or 14
    t: np.ndarray  # (n,) float64 unix seconds (receive time)
    mlat: np.ndarray | None = None  # (n,) bool: frame stamped as an MLAT result (modes.clock.is_mlat); None: none are

    @classmethod
    def empty(cls) -> ModeSFrames:
        return cls(np.zeros((0, 14), np.uint8), np.zeros(0, np.int64), np.zeros(0, np.float64))

    def __len__(self) -> int:
        return int(self.length.shape[0])

    def select(self, keep: np.ndarray) -> ModeSFrames:
        return ModeSFrames(self.msg[keep], self.length[keep], self.t[keep],
                           None if self.mlat is None else self.mlat[keep])


class Feed:
    """A feed client: an asyncio reader plus a buffer of timestamped chunks."""

    kind = "base"

    def __init__(self, url: str, max_backlog: int = 32 << 20, backoff: tuple[float, float] = (0.5, 30.0),
                 idle_timeout: float = 120.0) -> None:
        self.url = url
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port
        self.stats = FeedStats()
        self.max_backlog = max_backlog
        self.backoff = backoff
        self.idle_timeout = idle_timeout
        self._chunks: list[tuple[float, bytes]] = []
        self._pending_bytes = 0
        self._room = asyncio.Event()
        self._room.set()
        self._stop = False
        self._pending = b""  # unparsed tail carried between cycles (worker side only)
        self._pending_t = 0.0
        self._last_arrival = 0.0  # receive time of the last chunk framed (worker side; see BeastFeed)

    # -- event-loop side -----------------------------------------------------------------------
    def _push(self, data: bytes) -> None:
        self._chunks.append((time.time(), data))
        self._pending_bytes += len(data)
        self.stats.bytes += len(data)
        if self._pending_bytes > self.max_backlog:
            self._room.clear()

    def take(self) -> tuple[list[tuple[float, bytes]], int]:
        """Hand the chunks read since the last call to the worker (event-loop thread)."""
        chunks, self._chunks = self._chunks, []
        n, self._pending_bytes = self._pending_bytes, 0
        self._room.set()
        return chunks, n

    @property
    def backlog(self) -> int:
        return self._pending_bytes

    def stop(self) -> None:
        self._stop = True
        self._room.set()

    async def run(self) -> None:
        """Connect, read until failure, back off with jitter, repeat until stopped."""
        delay = self.backoff[0]
        while not self._stop:
            started = time.monotonic()
            got = 0
            try:
                got = await self._session()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                self.stats.errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:200]
            except Exception as exc:  # noqa: BLE001 - httpx errors and the like: reconnect
                self.stats.errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:200]
            self.stats.connected = False
            if self._stop:
                break
            if got and time.monotonic() - started > 5.0:
                delay = self.backoff[0]  # a working session resets the backoff
            await asyncio.sleep(delay * random.uniform(0.75, 1.25))
            delay = min(delay * 2.0, self.backoff[1])

    async def _session(self) -> int:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout=10.0)
        self.stats.connected = True
        self.stats.connects += 1
        got = 0
        try:
            while not self._stop:
                await self._room.wait()
                data = await asyncio.wait_for(reader.read(1 << 16), timeout=self.idle_timeout)
                if not data:
                    raise ConnectionResetError("connection closed by the receiver")
                got += len(data)
                self._push(data)
        finally:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)
            except Exception:  # noqa: BLE001
                pass
        return got

    # -- worker side ----------------------------------------------------------------------------
    def _joined(self, chunks: list[tuple[float, bytes]]) -> tuple[bytes, np.ndarray, np.ndarray]:
        """The pending tail plus new chunks, with each chunk's end offset and receive time."""
        parts = [self._pending] + [c for _, c in chunks]
        ends = np.cumsum([len(p) for p in parts], dtype=np.int64)
        times = np.array([self._pending_t or (chunks[0][0] if chunks else time.time())] + [t for t, _ in chunks])
        return b"".join(parts), ends, times

    @staticmethod
    def _times_at(offsets: np.ndarray, ends: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Receive time of the chunk that holds each byte offset."""
        idx = np.searchsorted(ends, offsets, side="right")
        return times[np.minimum(idx, times.size - 1)]

    def frames(self, chunks: list[tuple[float, bytes]]) -> ModeSFrames:
        return ModeSFrames.empty()

    def points(self, chunks: list[tuple[float, bytes]]) -> pl.DataFrame | None:
        return None


def complete_lines(buf: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines of a text stream and the unterminated rest."""
    cut = buf.rfind(b"\n")
    if cut < 0:
        return [], buf
    return buf[:cut].split(b"\n"), buf[cut + 1:]
