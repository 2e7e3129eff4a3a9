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

import httpx
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


async def run_clients(clients: int, total: int, one) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        for i in counter:
            t = time.perf_counter()
            await one(client, i)
            latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=BASE, timeout=300, trust_env=False,
                                 limits=httpx.Limits(max_connections=clients)) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return latencies, time.perf_counter() - started


async def search(client: httpx.AsyncClient, i: int) -> None:
    r = await client.get("/api/search", params={"q": QUERIES[i % len(QUERIES)]})
    r.raise_for_status()


async def itinerary_page(client: httpx.AsyncClient, start: str, end: str) -> None:
    (await client.get(f"/aircraft/{RA}")).raise_for_status()
    (await client.get(f"/api/aircraft/{RA}")).raise_for_status()
    job = (await client.get("/api/itinerary", params={"aircraft": RA, "start": start, "end": end})).raise_for_status().json()
    while job["state"] in ("queued", "running"):
        await asyncio.sleep(0.3)  # the page's polling interval
        job = (await client.get(f"/api/jobs/{job['job']}")).raise_for_status().json()
    (await client.get(f"/api/jobs/{job['job']}/result")).raise_for_status()


async def main_async(args) -> None:
    lat, wall = await run_clients(args.clients, args.clients, search)  # warm-up: every query once
    lat, wall = await run_clients(args.clients, args.requests, search)
    report("search", lat, wall)
    await itinerary_page(httpx.AsyncClient(base_url=BASE, timeout=300, trust_env=False),
                         "2025-10-03T00:00:00Z", "2025-10-14T00:00:00Z")
    lat, wall = await run_clients(args.clients, args.requests // 4, lambda c, i: itinerary_page(
        c, "2025-10-03T00:00:00Z", "2025-10-14T00:00:00Z"))
    report("itinerary page (warm)", lat, wall)
    lat, wall = await run_clients(args.clients, args.clients, lambda c, i: itinerary_page(
        c, f"2025-10-02T{i // 60:02d}:{i % 60:02d}:00Z", "2025-10-14T00:00:00Z"))
    report("itinerary page (cold, new job)", lat, wall)


BASE = ""


def main() -> int:
    global BASE
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
        port = free_port()
        BASE = f"http://127.0.0.1:{port}"
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
