"""Feed clients over real loopback sockets: Beast resync, reconnect with backoff, SBS, raw,
aircraft.json, and several feeds merged by one watcher."""

from __future__ import annotations

import asyncio
import io
import json
import random
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import threading

import numpy as np
import polars as pl

import iq
from tailwatch.archive import scan
from tailwatch.ingest.beast import KIND_LONG, KIND_SHORT, parse_beast
from tailwatch.live.feeds import BeastFeed, HttpJsonFeed, RawFeed, SbsFeed, make_feed
from tailwatch.live.replay import ReplayServer, load_recording, sbs_lines
from tailwatch.live.config import WatchConfig
from tailwatch.live.pipeline import SbsCarry
from tailwatch.live.watch import Watcher
from tailwatch.schema import conform


def chunks_of(data: bytes, rng: random.Random, lo: int = 1, hi: int = 60) -> list[tuple[float, bytes]]:
    out, i = [], 0
    while i < len(data):
        n = rng.randint(lo, hi)
        out.append((time.time(), data[i:i + n]))
        i += n
    return out


def test_beast_feed_resyncs_on_garbage_and_half_frames(traffic_samples: Path):
    data = (traffic_samples / "dump1090" / "sample_dump1090.bin").read_bytes()
    clean = parse_beast(data, final=True)
    keep = (clean.kind == KIND_SHORT) | (clean.kind == KIND_LONG)
    expected = [m[:n].tobytes() for m, n in zip(clean.msg[keep], clean.length[keep])]
    # garbage (no 0x1a) between every 7th frame, and the stream cut into 1..60-byte reads
    offsets = list(clean.offset) + [len(data)]
    dirty = bytearray()
    for i in range(len(clean)):
        if i % 7 == 3:
            dirty += b"\x00\x55junk\xff"
        dirty += data[offsets[i]:offsets[i + 1]]
    rng = random.Random(5)
    feed = BeastFeed("beast://127.0.0.1:1")
    chunks = chunks_of(bytes(dirty), rng)
    got = []
    for k in range(0, len(chunks), 9):  # a processing cycle takes a few reads at a time
        f = feed.frames(chunks[k:k + 9])
        got += [m[:n].tobytes() for m, n in zip(f.msg, f.length)]
    assert got == expected
    assert feed.stats.messages == len(expected)
    runs = len(range(3, len(clean), 7))
    assert runs <= feed.stats.errors <= 2 * runs  # a resync per garbage run (twice if a read splits it)


def test_reconnects_with_backoff_and_jitter():
    frame = iq.beast_frame(iq.identification("4ca123", "TWL123"), 12_000_000)

    async def scenario():
        accepted: list[float] = []

        async def flaky(reader, writer):  # sends one frame and hangs up
            accepted.append(time.monotonic())
            writer.write(frame)
            await writer.drain()
            writer.close()

        # nothing listens yet: the client keeps retrying
        probe = await asyncio.start_server(flaky, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
        feed = BeastFeed(f"beast://127.0.0.1:{port}", backoff=(0.05, 0.4))
        task = asyncio.create_task(feed.run())
        await asyncio.sleep(0.3)
        refused = feed.stats.errors
        server = await asyncio.start_server(flaky, "127.0.0.1", port)
        await asyncio.sleep(2.0)
        server.close()  # no new connections; let the client finish reading the last one
        await server.wait_closed()
        await asyncio.sleep(0.8)
        feed.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return feed, accepted, refused

    feed, accepted, refused = asyncio.run(scenario())
    assert refused >= 2  # connection refused, retried
    assert feed.stats.connects == len(accepted) >= 3
    gaps = np.diff(accepted)
    assert gaps.max() <= 0.4 * 1.25 + 0.3  # capped backoff (with jitter and scheduling slack)
    assert gaps[-1] > 0.2  # the delay grew towards the cap
    chunks, n = feed.take()
    assert n == len(frame) * len(accepted)
    f = feed.frames(chunks)
    assert len(f) == len(accepted) and f.msg[0][:14].tobytes() == iq.identification("4ca123", "TWL123")


def sbs_text() -> bytes:
    return (
        "MSG,1,1,1,4CA123,1,2026/11/25,08:00:00.000,2026/11/25,08:00:00.000,TWL123,,,,,,,,,,,\n"
        "MSG,6,1,1,4CA123,1,2026/11/25,08:00:00.500,2026/11/25,08:00:00.500,,,,,,,,7700,0,1,0,0\n"
        "MSG,3,1,1,4CA123,1,2026/11/25,08:00:01.000,2026/11/25,08:00:01.000,,31000,,,52.30000,4.10000,,,0,0,0,0\n"
        "MSG,4,1,1,4CA123,1,2026/11/25,08:00:01.200,2026/11/25,08:00:01.200,,,420,85.0,,,-64,,,,,0\n"
        "MSG,3,1,1,4CA123,1,2026/11/25,08:00:02.000,2026/11/25,08:00:02.000,,31025,,,52.30100,4.10300,,,0,0,0,0\n"
        "garbage line\n"
        "MSG,3,1,1,4CA1"  # half a line: completed by the next read
    ).encode()


def test_sbs_feed_parses_lines_and_carries_identity():
    feed = SbsFeed("sbs://127.0.0.1:30003")
    carry = SbsCarry()
    first = feed.points([(time.time(), sbs_text())])
    rest = b"23,1,2026/11/25,08:00:03.000,2026/11/25,08:00:03.000,,31050,,,52.30200,4.10600,,,0,0,0,0\n"
    second = feed.points([(time.time(), rest)])
    rows = carry.apply(pl.concat([first, second]))
    pos = rows.filter(pl.col("latitude").is_not_null())
    assert pos.height == 3
    assert pos["callsign"].to_list() == ["TWL123"] * 3
    assert pos["squawk"].to_list() == ["7700"] * 3
    assert pos["altitude"].to_list() == [31000, 31025, 31050]
    assert pos["groundspeed"].to_list()[1:] == [420, 420]  # velocity from MSG,4 carried forward
    assert feed.stats.messages == 7 and feed.stats.errors == 1


class JsonServer:
    """Serves a sequence of aircraft.json snapshots, one per request (the last one repeats)."""

    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs
        self.hits = 0
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                doc = srv.docs[min(srv.hits, len(srv.docs) - 1)]
                srv.hits += 1
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/data/aircraft.json"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_docs(now: float) -> list[dict]:
    docs = []
    for i in range(4):
        docs.append({"now": now + i, "messages": 100 + i, "aircraft": [
            {"hex": "3c6dd4", "flight": "DLH4AB  ", "lat": 50.0 + 0.01 * (i // 2), "lon": 8.0,
             "alt_baro": 12000, "gs": 300.5, "track": 10.0, "baro_rate": 1024, "squawk": "1000",
             "seen_pos": 0.4 + i % 2, "seen": 0.1},  # a snapshot without a new position: seen_pos grows
            {"hex": "2a0001", "lat": 49.0, "lon": 7.0, "alt_baro": "ground", "seen_pos": 1.0 + i},
            {"hex": "~1a2b3c", "lat": 49.5, "lon": 7.5, "alt_baro": 2000, "seen_pos": 0.5},  # TIS-B: not ICAO
            {"hex": "abcdef", "alt_baro": 3000, "seen": 0.1},  # no position
        ]})
    return docs


def test_several_feeds_merged_by_one_watcher(tmp_path: Path):
    """Beast and raw carrying the same messages, plus SBS and aircraft.json: one copy of each position."""
    t = [(i * 0.1, 52.30 + i * 2e-4, 4.10 + i * 3e-4, 31000) for i in range(20)]
    frames = iq.flight_messages("4ca123", "TWL123", t)
    capture = tmp_path / "capture.bin"
    capture.write_bytes(iq.beast_capture(frames))
    t0 = time.time()
    sbs_points = conform(pl.DataFrame({
        "timestamp": [t0 + i for i in range(5)], "icao24": ["484506"] * 5,
        "latitude": [51.0 + i * 1e-3 for i in range(5)], "longitude": [5.0] * 5, "altitude": [9000.0] * 5,
    }).with_columns(pl.from_epoch((pl.col("timestamp") * 1e6).cast(pl.Int64), time_unit="us")
                    .dt.replace_time_zone("UTC")))
    sbs_log = tmp_path / "log.sbs"
    sbs_log.write_bytes(b"".join(sbs_lines(sbs_points)))
    web = JsonServer(json_docs(t0))
    out, err = io.StringIO(), io.StringIO()

    async def scenario():
        servers = [ReplayServer(load_recording(capture, "beast")), ReplayServer(load_recording(capture, "raw")),
                   ReplayServer(load_recording(sbs_log, "sbs"), speed=5)]
        ports = [await s.start() for s in servers]
        players = [asyncio.create_task(s.play()) for s in servers]
        cfg = WatchConfig(
            feeds=[f"beast://127.0.0.1:{ports[0]}", f"raw://127.0.0.1:{ports[1]}", f"sbs://127.0.0.1:{ports[2]}",
                   web.url],
            archive=tmp_path / "archive", cycle_s=0.1, max_runtime_s=60, live_display=False,
        )
        cfg.rules = tmp_path / "rules.yaml"
        cfg.rules.write_text("rules:\n  - {name: all-seen, when: seen, aircraft: any}\n")
        w = Watcher(cfg, out=out, err=err)
        for f in w.feeds:
            if isinstance(f, HttpJsonFeed):
                f.interval = 0.2
        running = asyncio.create_task(w.run())
        await asyncio.wait_for(asyncio.gather(*players), timeout=30)  # every recording was sent
        while w.feeds[3].stats.connects == 0 or web.hits < 5:  # and the JSON server polled through
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        w.stop()
        code = await running
        for s in servers:
            await s.close()
        return w, code

    try:
        watcher, code = asyncio.run(scenario())
    finally:
        web.close()
    assert code == 0
    beast, raw, sbs, js = watcher.feeds
    assert beast.stats.messages == raw.stats.messages == len(frames)
    assert beast.stats.duplicates + raw.stats.duplicates == len(frames)  # each message twice, kept once
    stored = scan(tmp_path / "archive").collect()
    per = dict(stored.group_by("icao24").len().iter_rows())
    assert per["4ca123"] in (19, 20)  # every position but the first of the CPR pair
    assert per["484506"] == 5
    assert per["3c6dd4"] == 2 and per["2a0001"] == 1  # repeated snapshots: one row per new position
    assert "abcdef" not in per and "1a2b3c" not in per
    assert stored.height == stored.unique(["icao24", "timestamp", "latitude", "longitude"]).height
    alerts = [json.loads(x) for x in out.getvalue().splitlines()]
    assert sorted(a["icao24"] for a in alerts) == ["2a0001", "3c6dd4", "484506", "4ca123"]
    assert all(a["kind"] == "seen" for a in alerts)
    dlh = stored.filter(pl.col("icao24") == "3c6dd4").row(0, named=True)
    assert dlh["callsign"] == "DLH4AB" and dlh["groundspeed"] == 300.5 and dlh["squawk"] == "1000"
    sources = dict(stored.group_by("icao24").agg(pl.col("source").unique().sort()).iter_rows())
    assert sources["3c6dd4"] == ["live-json"] and sources["484506"] == ["live-sbs"]
    assert set(sources["4ca123"]) <= {"live-beast", "live-raw"}  # whichever feed delivered first
    assert "journal replayed" in err.getvalue()


def test_feed_urls():
    assert isinstance(make_feed("beast://10.0.0.2"), BeastFeed)
    assert make_feed("beast://10.0.0.2").port == 30005
    assert isinstance(make_feed("raw://host:31002"), RawFeed)
    assert isinstance(make_feed("https://x/data/aircraft.json"), HttpJsonFeed)
    import pytest

    from tailwatch.ingest.base import BadInput

    with pytest.raises(BadInput, match="unknown scheme"):
        make_feed("ftp://host")
