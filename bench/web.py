#!/usr/bin/env python3
"""Latency of `tailwatch serve` under 50 concurrent clients on loopback (not a test).

    .venv/bin/python bench/web.py [--archive DIR] [--clients 50] [--requests 1000]

Starts `tailwatch serve` (a real uvicorn subprocess on 127.0.0.1) over the demo archive
(built into a temporary folder when --archive is not given) and measures, with N clients
at once and a bounded number of requests:
- search: `/api/search?q=` over a mix of registrations, addresses, callsigns, list words;
- itinerary page, warm: the aircraft page, its itinerary job (already computed) and the
  result, as the browser loads them for RA-78765 — what every investigator after the first sees;
- itinerary page, cold: the same with a different window per client, so each one is a
  new job through the 2-worker pool (bounded to one round of N clients).
Prints p50 / p95 / max latency and requests per second for each.

Measured 2026-12-03 on the 2-core machine shared with other builds (load average ~10),
demo archive, 50 clients: search p50 41 ms / p95 189 ms (808 req/s, 1,000 requests);
itinerary page warm p50 146 ms / p95 846 ms (1,000 pages; p95 192 ms in a quieter run);
cold (50 new jobs at once through 2 workers, ~1 s of CPU each) p50 13.8 s / p95 22.7 s.

The clients are a few lines of asyncio HTTP/1.1 with keep-alive, not httpx: on 2 cores
httpx's connection pool spends more CPU per request at 50 concurrent connections than the
server does (measured here: ~100 req/s through httpx against ~2,500 req/s served), so it
would measure the client.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gzip
import json
from urllib.parse import urlencode

import numpy as np

RA = "1533ad"
QUERIES = ["RA-78765", "1533ad", "RA78765", "aviacon", "SIM0001", "SIM00", "seed", "ra-78765", "SIM0042", "ZZZ"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report(name: str, latencies: list[float], wall: float) -> None:
    a = np.array(latencies) * 1000
    print(f"{name:<28} n={a.size:>5}  p50 {np.percentile(a, 50):7.1f} ms  p95 {np.percentile(a, 95):7.1f} ms  "
          f"max {a.max():7.1f} ms  {a.size / wall:7.1f} req/s", flush=True)


class Connection:
    """One keep-alive HTTP/1.1 connection to the server (Content-Length bodies, which is all the app sends)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", PORT))

    async def get(self, path: str, params: dict | None = None, method: str = "GET"):
        if params:
            path += "?" + urlencode(params)
        body = "Content-Length: 0\r\n" if method == "POST" else ""  # starting a job is a POST (the page's own)
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nAccept-Encoding: gzip\r\n{body}\r\n"
                          .encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
        headers = {k.lower(): v for k, v in headers.items()}
        body = await self.reader.readexactly(int(headers.get(b"content-length", b"0")))
        if status == 429:
            return None  # the server's job table is full: the caller waits and asks again
        if status >= 400:
            raise RuntimeError(f"{method} {path}: {status} {body[:200]!r}")
        if headers.get(b"content-encoding") == b"gzip":
            body = gzip.decompress(body)
        return body

    async def json(self, path: str, params: dict | None = None, method: str = "GET"):
        while (body := await self.get(path, params, method)) is None:
            await asyncio.sleep(1.0)  # 429: as the page does, wait for a free slot
        return json.loads(body)

    def close(self) -> None:
        self.writer.close()


async def run_clients(clients: int, total: int, one) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        conn = await Connection.open()
        try:
            for i in counter:
                t = time.perf_counter()
                await one(conn, i)
                latencies.append(time.perf_counter() - t)
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, time.perf_counter() - started


async def search(conn: Connection, i: int) -> None:
    await conn.get("/api/search", {"q": QUERIES[i % len(QUERIES)]})


async def itinerary_page(conn: Connection, start: str, end: str) -> None:
    """What the browser fetches for an aircraft page (the shell, its scripts are cached, the data, the job)."""
    await conn.get(f"/aircraft/{RA}")
    await conn.get(f"/api/aircraft/{RA}")
    job = await conn.json("/api/itinerary", {"aircraft": RA, "start": start, "end": end}, method="POST")
    while job["state"] in ("queued", "running"):
        await asyncio.sleep(0.3)  # the page's polling interval
        job = await conn.json(f"/api/jobs/{job['job']}")
    await conn.get(f"/api/jobs/{job['job']}/result")


async def main_async(args) -> None:
    await run_clients(args.clients, args.clients, search)  # warm-up: every query once
    lat, wall = await run_clients(args.clients, args.requests, search)
    report("search", lat, wall)
    await run_clients(1, 1, lambda c, i: itinerary_page(c, "2025-10-03T00:00:00Z", "2025-10-14T00:00:00Z"))
    lat, wall = await run_clients(args.clients, args.requests, lambda c, i: itinerary_page(
        c, "2025-10-03T00:00:00Z", "2025-10-14T00:00:00Z"))
    report("itinerary page (warm)", lat, wall)
    lat, wall = await run_clients(args.clients, args.clients, lambda c, i: itinerary_page(
        c, f"2025-10-02T{i // 60:02d}:{i % 60:02d}:00Z", "2025-10-14T00:00:00Z"))
    report("itinerary page (cold, new job)", lat, wall)


PORT = 0


def main() -> int:
    global PORT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = args.archive
        if archive is None:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tailwatch.cli", "demo", "--out", f"{tmp}/demo"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            archive = Path(tmp) / "demo" / "work" / "archive"
            print(f"demo archive built in {time.perf_counter() - t:.1f} s", flush=True)
        PORT = port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "tailwatch.cli", "serve", "--archive", str(archive),
                                   "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            line = server.stderr.readline()
            if "serving" not in line:
                print(line + server.stderr.read(), file=sys.stderr)
                return 1
            print(f"{args.clients} concurrent clients, loopback, {archive}", flush=True)
            asyncio.run(main_async(args))
        finally:
            server.terminate()
            server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
