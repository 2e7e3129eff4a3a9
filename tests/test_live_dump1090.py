"""End to end with a real receiver program: Debian's dump1090-mutability demodulates I/Q
samples we modulate from known DF17 messages, serves Beast and raw AVR on loopback, and
`tailwatch watch` decodes them, merges the two feeds and raises the watchlist alerts."""

from __future__ import annotations

import json
import os
import re
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

import iq

DUMP1090 = shutil.which("dump1090-mutability") or "/usr/bin/dump1090-mutability"
pytestmark = pytest.mark.skipif(not os.path.exists(DUMP1090), reason="dump1090-mutability not installed")

LISTED, OTHER = "4ca123", "3c6dd4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def lines_of(stream, q: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        q.put(line)
    q.put(None)


def tracks():
    """Two aircraft over the North Sea: positions every 0.1 s (even/odd alternating)."""
    listed = [(i * 0.1, 52.30 + i * 0.0002, 4.10 + i * 0.0003, 31000) for i in range(30)]
    other = [(0.05 + i * 0.1, 53.10 - i * 0.0002, 3.20 + i * 0.0003, 24000) for i in range(30)]
    frames = iq.flight_messages(LISTED, "TWL123", listed) + iq.flight_messages(OTHER, "OTH456", other)
    return listed, other, frames


def test_dump1090_beast_and_raw_feeds_raise_watchlist_alerts(tmp_path: Path):
    listed, other, frames = tracks()
    samples = iq.modulate(frames, noise=1.5)
    beast_port, raw_port, sbs_port = free_port(), free_port(), free_port()
    d1090 = subprocess.Popen(
        [DUMP1090, "--ifile", "-", "--net", "--net-bind-address", "127.0.0.1",
         "--net-bo-port", str(beast_port), "--net-ro-port", str(raw_port), "--net-sbs-port", str(sbs_port),
         "--net-bi-port", "0", "--net-ri-port", "0", "--net-heartbeat", "0", "--quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    watcher = None
    try:
        wait_port(beast_port)
        wait_port(raw_port)
        wait_port(sbs_port)
        (tmp_path / "watchlist.csv").write_text(f"icao24,name\n{LISTED},test aircraft\n")
        (tmp_path / "rules.yaml").write_text(
            "rules:\n"
            "  - {name: listed-seen, when: seen}\n"
            "  - {name: listed-box, when: region, region: {bbox: [4.0, 52.0, 5.0, 53.0]}}\n"
            "  - {name: anyone-box, when: region, aircraft: any, region: {bbox: [3.0, 53.0, 3.5, 53.5]}}\n"
        )
        archive = tmp_path / "archive"
        watcher = subprocess.Popen(
            [sys.executable, "-m", "tailwatch.cli", "watch",
             f"beast://127.0.0.1:{beast_port}", "--feed", f"raw://127.0.0.1:{raw_port},sbs://127.0.0.1:{sbs_port}",
             "--archive", str(archive), "--watchlist", str(tmp_path / "watchlist.csv"),
             "--rules", str(tmp_path / "rules.yaml"), "--duration", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        out_q: queue.Queue = queue.Queue()
        err_q: queue.Queue = queue.Queue()
        threading.Thread(target=lines_of, args=(watcher.stdout, out_q), daemon=True).start()
        threading.Thread(target=lines_of, args=(watcher.stderr, err_q), daemon=True).start()
        connected, err_lines = set(), []
        deadline = time.monotonic() + 30
        while len(connected) < 3 and time.monotonic() < deadline:
            try:
                line = err_q.get(timeout=0.5)
            except queue.Empty:
                continue
            assert line is not None, "watcher exited early:\n" + "".join(err_lines)
            err_lines.append(line)
            if " connected" in line:
                connected.add(line.split()[1])
        assert len(connected) == 3, "".join(err_lines)

        d1090.stdin.write(samples)  # the "radio" starts receiving
        d1090.stdin.flush()

        alerts: list[dict] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and {a["rule"] for a in alerts} < {"listed-seen", "listed-box", "anyone-box"}:
            try:
                line = out_q.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            alerts.append(json.loads(line))
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=30) == 0
        while (line := err_q.get(timeout=5)) is not None:
            err_lines.append(line)
        while (line := out_q.get(timeout=5)) is not None:
            alerts.append(json.loads(line))
    finally:
        if watcher is not None and watcher.poll() is None:
            watcher.kill()
        d1090.stdin.close()
        d1090.terminate()
        d1090.wait(timeout=10)

    by_rule = {}
    for a in alerts:
        by_rule.setdefault(a["rule"], []).append(a)
    # the listed aircraft is seen once and enters its box once; the other only matches the "any" rule
    assert [a["icao24"] for a in by_rule["listed-seen"]] == [LISTED]
    assert [a["icao24"] for a in by_rule["listed-box"]] == [LISTED]
    assert [a["icao24"] for a in by_rule["anyone-box"]] == [OTHER]
    seen = by_rule["listed-seen"][0]
    assert seen["kind"] == "seen" and seen["time"].endswith("Z")
    assert seen["watchlists"] and seen["watchlists"][0]["list"] == "watchlist"
    pt = seen["evidence"]["points"][0]
    assert abs(pt["latitude"] - 52.30) < 0.01 and abs(pt["longitude"] - 4.10) < 0.01
    assert pt["altitude"] == 31000

    # every position reached the archive once, despite arriving on three feeds (two of them
    # raw messages, one positions decoded by dump1090 itself)
    from tailwatch.archive import scan

    stored = scan(archive).collect().sort("icao24", "timestamp")
    for address, track in ((LISTED, listed), (OTHER, other)):
        mine = stored.filter(pl.col("icao24") == address)
        assert mine.height >= len(track) - 2  # the first message of a pair has no position yet
        assert mine.height <= len(track)
        lat = mine["latitude"].to_numpy()
        lo, hi = min(p[1] for p in track), max(p[1] for p in track)
        assert ((lat > lo - 1e-3) & (lat < hi + 1e-3)).all()
        assert (mine["altitude"] == track[0][3]).all()
    status = [ln for ln in err_lines if ln.startswith("status ")][-1]
    assert f"beast://127.0.0.1:{beast_port} " in status and f"raw://127.0.0.1:{raw_port} " in status
    sbs_msgs = int(re.search(rf"sbs://127.0.0.1:{sbs_port} up msgs=(\d+)", status).group(1))
    assert sbs_msgs >= 2 * (len(listed) - 2)  # dump1090's own positions arrived too (and were merged away)
    counts = {k: sum(int(v) for v in re.findall(rf"\b{k}=(\d+)", status)) for k in ("msgs", "duplicates", "positions")}
    # both feeds carried every message; one copy of each was decoded
    assert counts["msgs"] >= 2 * (len(frames) - 4) + sbs_msgs and counts["duplicates"] >= len(frames) - 4
    assert counts["positions"] == stored.height
