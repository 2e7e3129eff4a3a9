"""Serve a recording as a live feed on 127.0.0.1: `tailwatch replay FILE --serve beast|sbs|raw`.

Lets a user test a watcher set-up without a radio, and lets our tests and the
live benchmark drive the watcher over a real socket. A recording is a Beast
capture (paced by its 12 MHz clock), a BaseStation (SBS) log (paced by its
generated date/time fields) or a raw AVR log (`@` lines paced by their clock,
`*` lines at `default_rate`). Beast can be served as Beast, raw AVR or — after
decoding — SBS; SBS is served as SBS.

The timeline starts when the first client connects (so a test never misses the
start) and is broadcast to every connected client, like a receiver. `speed`
scales time (0 = as fast as the socket takes it). Sending waits for slow
clients (TCP backpressure), and the server reports how far it fell behind its
schedule: that lag is the benchmark's measure of a watcher keeping up.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.errors import BadInput
from tailwatch.files import read_all

TICK_S = 0.005
MAX_GAP_S = 3600.0


@dataclass
class Recording:
    """Messages as byte ranges of `payload`, each due `due[i]` seconds after the start."""

    payload: bytes
    starts: np.ndarray  # n + 1 offsets
    due: np.ndarray  # n seconds, non-decreasing
    format: str

    def __len__(self) -> int:
        return int(self.due.size)

    @property
    def duration(self) -> float:
        return float(self.due[-1]) if self.due.size else 0.0


def _paced(seconds: np.ndarray) -> np.ndarray:
    """Relative due times from absolute clock readings; clock resets and long gaps count as 0."""
    if seconds.size == 0:
        return seconds.astype(np.float64)
    step = np.diff(seconds.astype(np.float64), prepend=seconds[0])
    step[(step < 0) | (step > MAX_GAP_S) | ~np.isfinite(step)] = 0.0
    return np.cumsum(step)


def sniff(head: bytes) -> str:
    if len(head) >= 2 and head[0] == 0x1A and head[1] in b"1234":
        return "beast"
    text = head.lstrip()
    if text.startswith((b"MSG,", b"SEL,", b"ID,", b"AIR,", b"STA,", b"CLK,")):
        return "sbs"
    if text[:1] in (b"*", b"@"):
        return "raw"
    raise BadInput("not a Beast capture, an SBS log or a raw AVR log")


def _beast(data: bytes, serve: str, path: Path) -> Recording:
    from tailwatch.ingest.beast_framing import KIND_LONG, KIND_SHORT, parse_beast

    batch = parse_beast(data, final=True)
    if len(batch) == 0:
        raise BadInput(f"{path}: no Beast frames")
    due = _paced(batch.ticks.astype(np.float64) / 12e6)
    if serve == "beast":
        starts = np.append(batch.offset.astype(np.int64), len(data))
        return Recording(data, starts, due, "beast")
    modes = (batch.kind == KIND_SHORT) | (batch.kind == KIND_LONG)
    msg, length, due = batch.msg[modes], batch.length[modes].astype(np.int64), due[modes]
    if serve == "raw":
        lines = [b"*" + m[:n].tobytes().hex().upper().encode() + b";\n" for m, n in zip(msg, length)]
        return _from_lines(lines, due, "raw")
    if serve == "sbs":
        from tailwatch.ingest.modes.decoder import ModeSDecoder

        t0 = time.time()
        points = ModeSDecoder().decode(msg, length, t0 + due)
        points = points.sort("timestamp")
        lines = sbs_lines(points)
        return _from_lines(lines, points["timestamp"].dt.epoch("us").to_numpy() / 1e6 - t0, "sbs")
    raise BadInput(f"--serve {serve!r}: expected beast, sbs or raw")


def _from_lines(lines: list[bytes], due: np.ndarray, fmt: str) -> Recording:
    starts = np.concatenate([[0], np.cumsum([len(x) for x in lines], dtype=np.int64)])
    return Recording(b"".join(lines), starts, np.asarray(due, dtype=np.float64), fmt)


def sbs_lines(points: pl.DataFrame) -> list[bytes]:
    """BaseStation MSG,3 lines (airborne position) for canonical points, times in UTC."""
    if points.is_empty():
        return []
    day = points["timestamp"].dt.strftime("%Y/%m/%d")
    clock = points["timestamp"].dt.strftime("%H:%M:%S%.3f")

    def text(name: str, fmt: str = "{}") -> list[str]:
        return ["" if v is None else fmt.format(v) for v in points[name].to_list()]

    alt = text("altitude", "{:.0f}")
    gs = text("groundspeed", "{:.0f}")
    trk = text("track", "{:.1f}")
    vr = text("vertical_rate", "{:.0f}")
    lat = text("latitude", "{:.5f}")
    lon = text("longitude", "{:.5f}")
    sq = text("squawk")
    cs = text("callsign")
    gnd = ["" if v is None else ("-1" if v else "0") for v in points["onground"].to_list()]
    hexes = points["icao24"].str.to_uppercase().to_list()
    out = []
    for i in range(points.height):
        out.append(
            f"MSG,3,1,1,{hexes[i]},1,{day[i]},{clock[i]},{day[i]},{clock[i]},{cs[i]},{alt[i]},{gs[i]},"
            f"{trk[i]},{lat[i]},{lon[i]},{vr[i]},{sq[i]},,,,{gnd[i]}\n".encode()
        )
    return out


def _text(data: bytes, fmt: str, serve: str, path: Path, default_rate: float) -> Recording:
    if serve != fmt:
        raise BadInput(f"{path}: a {fmt} log can only be served as {fmt}, not {serve}")
    lines = [ln + b"\n" for ln in data.replace(b"\r", b"").split(b"\n") if ln.strip()]
    if fmt == "sbs":
        frame = pl.DataFrame({"line": [ln.decode("utf-8", "replace") for ln in lines]})
        parts = frame.select(pl.col("line").str.split(","))
        stamp = parts.select(
            (pl.col("line").list.get(6, null_on_oob=True) + " " + pl.col("line").list.get(7, null_on_oob=True))
            .str.strptime(pl.Datetime("us"), "%Y/%m/%d %H:%M:%S%.f", strict=False)
            .dt.epoch("us")
        ).to_series()
        secs = stamp.fill_null(strategy="forward").fill_null(0).to_numpy().astype(np.float64) / 1e6
        return _from_lines(lines, _paced(secs), "sbs")
    clocks = []
    for ln in lines:
        s = ln.strip()
        clocks.append(int(s[1:13], 16) / 12e6 if s[:1] == b"@" and len(s) > 13 else np.nan)
    clock = np.asarray(clocks, dtype=np.float64)
    if np.isfinite(clock).all():
        due = _paced(clock)
    else:
        due = np.arange(len(lines), dtype=np.float64) / default_rate
    return _from_lines(lines, due, "raw")


def load_recording(path: Path, serve: str | None = None, default_rate: float = 1000.0) -> Recording:
    """Read a recording and prepare it for serving in format `serve` (default: its own)."""
    data = read_all(path)
    if not data:
        raise BadInput(f"{path}: empty recording")
    try:
        fmt = sniff(data[:64])
    except BadInput as exc:
        raise BadInput(f"{path}: {exc}") from None
    serve = serve or fmt
    if fmt == "beast":
        return _beast(data, serve, path)
    return _text(data, fmt, serve, path, default_rate)


@dataclass
class ReplayStats:
    clients: int = 0
    sent_messages: int = 0
    sent_bytes: int = 0
    loops: int = 0
    max_lag_s: float = 0.0
    started: float = 0.0
    finished: float = 0.0
    lag_samples: list[float] = field(default_factory=list)

    def summary(self) -> str:
        took = max(self.finished - self.started, 1e-9)
        return (f"sent {self.sent_messages:,} messages ({self.sent_bytes:,} bytes) in {took:.1f} s "
                f"= {self.sent_messages / took:,.0f} msg/s; max lag behind schedule {self.max_lag_s:.2f} s")


class ReplayServer:
    """Broadcasts a recording to every client of a loopback TCP port."""

    def __init__(self, recording: Recording, port: int = 0, speed: float = 1.0, loop: bool = False,
                 host: str = "127.0.0.1", wait_for_client: bool = True) -> None:
        self.rec = recording
        self.host = host
        self.port = port
        self.speed = speed
        self.loop = loop
        self.wait_for_client = wait_for_client
        self.stats = ReplayStats()
        self._clients: set[asyncio.StreamWriter] = set()
        self._first = asyncio.Event()
        self._stopped = False
        self._server: asyncio.base_events.Server | None = None

    def stop(self) -> None:
        """End playback at the next tick (SIGINT/SIGTERM); the summary is still reported."""
        self._stopped = True
        self._first.set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        self.stats.clients += 1
        self._first.set()
        try:
            while await reader.read(4096):  # clients may send (e.g. Beast settings); ignore it
                pass
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass  # client gone, or the server is shutting down
        finally:
            self._clients.discard(writer)

    async def _send(self, chunk: bytes) -> None:
        dead = []
        for w in list(self._clients):
            if w.is_closing():
                dead.append(w)
                continue
            w.write(chunk)
        for w in dead:
            self._clients.discard(w)
        slow = [w for w in self._clients if w.transport.get_write_buffer_size() > (1 << 20)]
        if slow:
            await asyncio.gather(*(self._drain(w) for w in slow))

    async def _drain(self, w: asyncio.StreamWriter) -> None:
        try:
            await w.drain()
        except (ConnectionError, OSError):
            self._clients.discard(w)

    async def play(self) -> ReplayStats:
        """Play the recording (repeatedly with `loop`), then close the clients."""
        if self.wait_for_client:
            await self._first.wait()
        rec, st = self.rec, self.stats
        st.started = time.monotonic()
        while True:
            t0 = time.monotonic()
            i = 0
            n = len(rec)
            while i < n and not self._stopped:
                if self.speed > 0:
                    elapsed = (time.monotonic() - t0) * self.speed
                    j = int(np.searchsorted(rec.due, elapsed, side="right"))
                    if j == i:
                        await asyncio.sleep(min(TICK_S, (rec.due[i] - elapsed) / self.speed))
                        continue
                    lag = (elapsed - rec.due[i]) / self.speed
                    st.max_lag_s = max(st.max_lag_s, lag)
                    if len(st.lag_samples) < 100_000:
                        st.lag_samples.append(lag)
                else:
                    j = min(i + 2000, n)
                chunk = rec.payload[rec.starts[i]:rec.starts[j]]
                await self._send(chunk)
                st.sent_messages += j - i
                st.sent_bytes += len(chunk)
                i = j
                if self.speed <= 0:
                    await asyncio.sleep(0)
            st.loops += 1
            if not self.loop or self._stopped:
                break
        for w in list(self._clients):
            try:
                await w.drain()
            except (ConnectionError, OSError):
                pass
        st.finished = time.monotonic()
        return st

    async def close(self) -> None:
        for w in list(self._clients):
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def serve(path: Path, serve_as: str | None, port: int, speed: float = 1.0, loop: bool = False,
                announce=None) -> ReplayStats:
    """Load, listen, announce the port, play, close."""
    rec = load_recording(path, serve_as)
    server = ReplayServer(rec, port=port, speed=speed, loop=loop)
    bound = await server.start()
    running = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            running.add_signal_handler(sig, server.stop)
        except (NotImplementedError, RuntimeError):
            pass
    if announce is not None:
        announce(rec, bound)
    try:
        return await server.play()
    finally:
        await server.close()


def run_replay(path: Path, serve_as: str | None, port: int, speed: float = 1.0, loop: bool = False) -> ReplayStats:
    """Blocking entry point for the CLI; prints the port and the final summary on stderr."""
    def announce(rec: Recording, bound: int) -> None:
        print(f"serving {len(rec):,} {rec.format} messages ({rec.duration:.1f} s) on 127.0.0.1:{bound}",
              file=sys.stderr, flush=True)

    stats = asyncio.run(serve(path, serve_as, port, speed, loop, announce))
    print(stats.summary(), file=sys.stderr, flush=True)
    return stats
