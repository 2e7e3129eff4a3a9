"""Live feed clients: Beast, SBS (BaseStation), raw AVR and polled aircraft.json.

    beast://host:30005   sbs://host:30003   raw://host:30002   http(s)://host/…/aircraft.json

Each client runs as an asyncio task that only moves bytes: it connects,
reads, stamps each chunk with the wall-clock time it arrived, and reconnects
after a failure with exponential backoff and random jitter (so a restarted
receiver is not hit by every client at once). Turning the bytes into frames
happens later, in the watcher's worker thread, through `take()` + `frames()`
or `points()`, so reading never waits for decoding. The read side stops while
a feed's unprocessed bytes exceed `max_backlog`: TCP flow control then slows
the sender instead of memory growing without bound.

Message times are receive times (UTC): a receiver's own Beast clock is a free
running 12 MHz counter with no epoch, and BaseStation lines carry local time.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
import polars as pl

from tailwatch.errors import BadInput
from tailwatch.schema import conform, positions_only

SCHEMES = ("beast", "sbs", "raw", "http", "https")


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

    @classmethod
    def empty(cls) -> ModeSFrames:
        return cls(np.zeros((0, 14), np.uint8), np.zeros(0, np.int64), np.zeros(0, np.float64))

    def __len__(self) -> int:
        return int(self.length.shape[0])

    def select(self, keep: np.ndarray) -> ModeSFrames:
        return ModeSFrames(self.msg[keep], self.length[keep], self.t[keep])


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


class BeastFeed(Feed):
    """Beast binary (port 30005): resynchronises on half frames and garbage bytes."""

    kind = "beast"

    def frames(self, chunks: list[tuple[float, bytes]]) -> ModeSFrames:
        from tailwatch.ingest.beast import KIND_LONG, KIND_SHORT, parse_beast

        if not chunks and not self._pending:
            return ModeSFrames.empty()
        buf, ends, times = self._joined(chunks)
        batch = parse_beast(buf)
        self.stats.errors += len(batch.error_offsets)
        rest = buf[batch.consumed:]
        self._pending = rest
        self._pending_t = float(times[-1]) if rest else 0.0
        keep = (batch.kind == KIND_SHORT) | (batch.kind == KIND_LONG)
        self.stats.messages += int(keep.sum())
        if not keep.any():
            return ModeSFrames.empty()
        lengths = batch.length[keep].astype(np.int64)
        # a frame is complete once its last byte arrived: time it by the chunk holding its end,
        # spread within the chunk by the receiver's 12 MHz clock where that clock runs forward
        ends_at = batch.offset[keep] + 9 + lengths
        t = self._times_at(ends_at, ends, times)
        ticks = batch.ticks[keep].astype(np.float64)
        chunk = np.searchsorted(ends, ends_at, side="right")
        first = np.ones(chunk.size, dtype=bool)
        first[1:] = chunk[1:] != chunk[:-1]
        last_of_group = np.append(np.flatnonzero(first)[1:] - 1, chunk.size - 1)
        ref = ticks[last_of_group[np.cumsum(first) - 1]]
        offset = (ticks - ref) / 12e6
        usable = (offset <= 0.0) & (offset >= -1.0) & (ticks > 0)
        t = t + np.where(usable, offset, 0.0)
        return ModeSFrames(batch.msg[keep], lengths, t)


def _hex_lines(buf: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines of a text stream and the unterminated rest."""
    cut = buf.rfind(b"\n")
    if cut < 0:
        return [], buf
    return buf[:cut].split(b"\n"), buf[cut + 1:]


class RawFeed(Feed):
    """Raw AVR hex (port 30002): `*8D4CA123…;`, `@<12 hex clock><hex>;` or `<…;` per line.

    Lines are cut and parsed column-wise by the AVR file reader's functions.
    """

    kind = "raw"

    def frames(self, chunks: list[tuple[float, bytes]]) -> ModeSFrames:
        from tailwatch.ingest.avr import hex_frames, parse_avr, split_lines

        if not chunks and not self._pending:
            return ModeSFrames.empty()
        buf, ends, times = self._joined(chunks)
        cut = buf.rfind(b"\n")
        if cut < 0:
            self._pending = buf[-4096:]
            self._pending_t = float(times[-1])
            return ModeSFrames.empty()
        body, rest = buf[: cut + 1], buf[cut + 1:]
        self._pending = rest[-4096:]
        self._pending_t = float(times[-1]) if rest else 0.0
        lines = split_lines(body)
        starts = np.concatenate(([0], np.flatnonzero(np.frombuffer(body, np.uint8) == 0x0A)[:-1] + 1))
        parsed = parse_avr(lines)
        blank = (lines.str.strip_chars().str.len_bytes() == 0).to_numpy()
        is_avr = parsed["kind"].is_not_null().to_numpy()
        self.stats.messages += int((~blank).sum())
        self.stats.errors += int((~blank & ~is_avr).sum())
        hexes = parsed["hex"].filter(pl.Series(is_avr))
        if hexes.len() == 0:
            return ModeSFrames.empty()
        msg, length, ok = hex_frames(hexes)
        modeac = (hexes.str.len_bytes() == 4).to_numpy()
        self.stats.errors += int((~ok & ~modeac).sum())
        t = self._times_at(starts[is_avr][ok], ends, times)
        return ModeSFrames(msg[ok], length[ok].astype(np.int64), t)


SBS_FIELDS = ["msg", "tx", "session", "aircraft", "hex", "flight_id", "date_gen", "time_gen", "date_log",
              "time_log", "callsign", "altitude", "groundspeed", "track", "latitude", "longitude",
              "vertical_rate", "squawk", "alert", "emergency", "spi", "onground"]


def sbs_frame(lines: list[str], t: np.ndarray, source: str = "sbs") -> pl.DataFrame:
    """BaseStation MSG lines into canonical rows (all rows, positions or not), timed by `t`."""
    if not lines:
        return conform(pl.DataFrame(), source=source)
    raw = pl.DataFrame({"line": lines, "_t": t})
    split = pl.col("line").str.split(",")
    parts = raw.select(
        [split.list.get(i, null_on_oob=True).alias(name) for i, name in enumerate(SBS_FIELDS)] + [pl.col("_t")]
    )
    parts = parts.filter(pl.col("msg") == "MSG")

    def num(name: str) -> pl.Expr:
        return pl.col(name).str.strip_chars().cast(pl.Float64, strict=False)

    def flag(name: str) -> pl.Expr:
        v = pl.col(name).str.strip_chars()
        return pl.when(v.is_in(["-1", "1"])).then(True).when(v == "0").then(False).otherwise(None)

    frame = parts.select(
        pl.from_epoch((pl.col("_t") * 1e6).cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC").alias("timestamp"),
        pl.col("hex").str.strip_chars().str.to_lowercase().alias("icao24"),
        pl.col("callsign").str.strip_chars().replace("", None).alias("callsign"),
        num("latitude").alias("latitude"),
        num("longitude").alias("longitude"),
        num("altitude").alias("altitude"),
        num("groundspeed").alias("groundspeed"),
        num("track").alias("track"),
        num("vertical_rate").alias("vertical_rate"),
        flag("onground").alias("onground"),
        pl.col("squawk").str.strip_chars().replace("", None).alias("squawk"),
    )
    return conform(frame, source=source)


class SbsFeed(Feed):
    """BaseStation text (port 30003): `MSG,3,…` lines, already decoded by the receiver."""

    kind = "sbs"

    def points(self, chunks: list[tuple[float, bytes]]) -> pl.DataFrame | None:
        if not chunks and not self._pending:
            return None
        buf, ends, times = self._joined(chunks)
        lines, rest = _hex_lines(buf)
        self._pending = rest[-4096:]
        self._pending_t = float(times[-1]) if rest else 0.0
        if not lines:
            return None
        starts = np.concatenate([[0], np.cumsum([len(x) + 1 for x in lines[:-1]], dtype=np.int64)])
        text = [ln.decode("utf-8", "replace").strip() for ln in lines]
        keep = [i for i, ln in enumerate(text) if ln]
        self.stats.messages += len(keep)
        good = [i for i in keep if text[i].startswith(("MSG,", "SEL,", "ID,", "AIR,", "STA,", "CLK,"))]
        self.stats.errors += len(keep) - len(good)
        msgs = [i for i in good if text[i].startswith("MSG,")]
        self.stats.decoded += len(msgs)
        t = self._times_at(starts[msgs], ends, times) if msgs else np.zeros(0)
        return sbs_frame([text[i] for i in msgs], t)


def aircraft_json_frame(doc: dict, received: float, source: str = "aircraft.json") -> pl.DataFrame:
    """One readsb/dump1090 `aircraft.json` snapshot into canonical rows (one per aircraft with a position)."""
    now = float(doc.get("now") or received)
    # '~' marks a non-ICAO address (TIS-B, anonymous): not an aircraft's 24-bit address, left out
    rows = [a for a in doc.get("aircraft", [])
            if isinstance(a, dict) and "lat" in a and "lon" in a and not str(a.get("hex", "~")).startswith("~")]
    if not rows:
        return conform(pl.DataFrame(), source=source)

    def col(*names):
        out = []
        for a in rows:
            v = next((a[n] for n in names if n in a), None)
            out.append(v)
        return out

    alt = [None if v == "ground" else v for v in col("alt_baro", "altitude")]
    ground = [True if a.get("alt_baro") == "ground" else None for a in rows]
    seen = [float(v) if isinstance(v, (int, float)) else 0.0 for v in col("seen_pos", "seen")]
    frame = pl.DataFrame(
        {
            "timestamp": [now - s for s in seen],
            "icao24": [str(h) for h in col("hex")],
            "callsign": col("flight"),
            "latitude": col("lat"),
            "longitude": col("lon"),
            "altitude": alt,
            "geoaltitude": col("alt_geom"),
            "groundspeed": col("gs", "speed"),
            "track": col("track"),
            "vertical_rate": col("baro_rate", "vert_rate", "geom_rate"),
            "onground": ground,
            "squawk": col("squawk"),
        },
        strict=False,
    )
    frame = frame.with_columns(
        pl.from_epoch((pl.col("timestamp") * 1e6).cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC"))
    return conform(frame, source=source)


class HttpJsonFeed(Feed):
    """A readsb/dump1090/tar1090 `aircraft.json` URL, polled every `interval` seconds."""

    kind = "json"

    def __init__(self, url: str, interval: float = 1.0, **kw) -> None:
        super().__init__(url, **kw)
        self.interval = interval
        self._last: dict[str, float] = {}

    async def _session(self) -> int:
        import httpx

        got = 0
        async with httpx.AsyncClient(timeout=10.0) as client:
            while not self._stop:
                r = await client.get(self.url)
                r.raise_for_status()
                self.stats.connected = True
                if got == 0:
                    self.stats.connects += 1
                got += len(r.content)
                self._push(r.content)
                await asyncio.sleep(self.interval)
        return got

    def points(self, chunks: list[tuple[float, bytes]]) -> pl.DataFrame | None:
        frames = []
        for t, body in chunks:
            try:
                doc = json.loads(body)
            except ValueError:
                self.stats.errors += 1
                continue
            if not isinstance(doc, dict):
                self.stats.errors += 1
                continue
            self.stats.messages += len(doc.get("aircraft", []))
            frame = positions_only(aircraft_json_frame(doc, t))
            # a snapshot repeats a position until a newer one arrives: keep each position once
            last = self._last
            fresh = [
                (ts.timestamp() > last.get(icao, 0.0))
                for icao, ts in frame.select("icao24", "timestamp").iter_rows()
            ]
            frame = frame.filter(pl.Series(fresh, dtype=pl.Boolean))
            for icao, ts in frame.select("icao24", "timestamp").iter_rows():
                last[icao] = ts.timestamp()
            if len(last) > 50_000:  # forget aircraft not updated for an hour
                self._last = last = {k: v for k, v in last.items() if v > t - 3600}
            self.stats.decoded += frame.height
            frames.append(frame)
        return pl.concat(frames) if frames else None


def make_feed(url: str, **kw) -> Feed:
    """A feed client for `url` (see the module docstring for the schemes)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return HttpJsonFeed(url, **kw)
    if scheme not in SCHEMES:
        raise BadInput(f"--feed {url!r}: unknown scheme (use beast://, sbs://, raw://, http(s)://…/aircraft.json)")
    try:
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"--feed {url!r}: bad port") from exc
    if not parts.hostname:
        raise BadInput(f"--feed {url!r}: missing host")
    default = {"beast": 30005, "sbs": 30003, "raw": 30002}[scheme]
    if port is None:
        url = f"{scheme}://{parts.hostname}:{default}"
    cls = {"beast": BeastFeed, "sbs": SbsFeed, "raw": RawFeed}[scheme]
    return cls(url, **kw)
