"""End to end: `tailwatch replay` → `tailwatch watch --web` (subprocesses) → the live page in headless
Chromium (Debian's, driven by Playwright): aircraft rows, an alert, the map, no console errors, and
no request to anything but the watcher on 127.0.0.1. The screenshot is kept in `test-artifacts/`.
"""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import iq
from browser import browser_page
from test_report_html import ARTIFACTS, CHROMIUM

LISTED, OTHER, THIRD = "4ca123", "3c6dd4", "4b1805"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def capture() -> bytes:
    """Three aircraft over the Low Countries, a position every 0.5 s for 20 s (even/odd alternating)."""
    frames = []
    for icao, callsign, lat0, lon0, dlat, dlon, alt in (
        (LISTED, "TWL123", 52.00, 3.60, 0.004, 0.012, 31000),
        (OTHER, "OTH456", 51.20, 5.60, 0.006, -0.004, 24000),
        (THIRD, "SWR9B", 50.70, 4.20, -0.002, 0.010, 37000),
    ):
        track = [(i * 0.5, lat0 + i * dlat, lon0 + i * dlon, alt) for i in range(40)]
        frames += iq.flight_messages(icao, callsign, track)
    return iq.beast_capture(frames)


def lines_of(stream, q: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        q.put(line)
    q.put(None)


def test_live_page_in_headless_chromium(tmp_path: Path):
    import playwright.sync_api  # noqa: F401 - in the test extra: missing is a failure, not a skip
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/dev.py installs it)")
    cap = tmp_path / "capture.bin"
    cap.write_bytes(capture())
    (tmp_path / "watchlist.csv").write_text(f"icao24,name\n{LISTED},test aircraft\n")
    replay = subprocess.Popen([sys.executable, "-m", "tailwatch.cli", "replay", str(cap), "--serve", "beast",
                               "--speed", "10", "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    banner = replay.stderr.readline()
    assert "serving" in banner, banner
    feed_port, web_port = int(banner.rsplit(":", 1)[1]), free_port()
    watch = subprocess.Popen(
        [sys.executable, "-m", "tailwatch.cli", "watch", f"beast://127.0.0.1:{feed_port}",
         "--web", f"127.0.0.1:{web_port}", "--archive", str(tmp_path / "archive"),
         "--watchlist", str(tmp_path / "watchlist.csv"), "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_q: queue.Queue = queue.Queue()
    err_q: queue.Queue = queue.Queue()
    threading.Thread(target=lines_of, args=(watch.stdout, out_q), daemon=True).start()
    threading.Thread(target=lines_of, args=(watch.stderr, err_q), daemon=True).start()
    base = f"http://127.0.0.1:{web_port}/"
    outside: list[str] = []
    errors: list[str] = []
    err_lines: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while not any("web page on" in ln for ln in err_lines) and time.monotonic() < deadline:
            try:
                line = err_q.get(timeout=0.5)
            except queue.Empty:
                continue
            assert line is not None, "watcher exited early:\n" + "".join(err_lines)
            err_lines.append(line)
        assert any(base in ln for ln in err_lines), "".join(err_lines)
        with browser_page(base, tmp_path, errors, outside) as page:
            page.goto(base, wait_until="load")
            # the replay takes ~2 s at speed 10; the page polls every 2 s
            page.wait_for_function(
                """() => document.querySelectorAll('#aircraft tbody tr').length >= 3
                         && document.querySelector('#alerts li[data-seq]') !== null
                         && document.querySelectorAll('#lands path').length > 100""", timeout=20_000)
            page.wait_for_timeout(300)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web-live.png"), full_page=True)
            box = page.locator("#map").bounding_box()
            before = page.locator("#map").get_attribute("viewBox")
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(100)
            zoomed = page.locator("#map").get_attribute("viewBox")
            polls = int(page.evaluate("document.body.dataset.polls"))
            page.wait_for_function(f"() => Number(document.body.dataset.polls) > {polls}", timeout=10_000)
            zoom = [before, zoomed, page.locator("#map").get_attribute("viewBox")]
            info = page.evaluate("""() => ({
                rows: [...document.querySelectorAll('#aircraft tbody tr')].map(
                    tr => [tr.dataset.icao24, tr.classList.contains('listed'), tr.cells[1].innerText, tr.cells[4].innerText]),
                alerts: [...document.querySelectorAll('#alerts li[data-seq]')].map(li => li.innerText),
                trails: [...document.querySelectorAll('#tracks polyline.trail')].map(t => [t.dataset.icao24, t.points.numberOfItems, t.classList.contains('listed')]),
                planes: [...document.querySelectorAll('#planes g.ac')].map(g => [g.dataset.icao24, g.classList.contains('listed')]),
                planeBoxes: [...document.querySelectorAll("#planes .plane")].map(g => { const b = g.getBoundingClientRect(); return [b.width, b.height, b.x, b.y]; }),
                mapBox: (b => [b.width, b.height, b.x, b.y])(document.querySelector('#map').getBoundingClientRect()),
                feeds: document.querySelector('#feeds').innerText,
                status: document.querySelector('#status').innerText,
            })""")
            info["zoom"] = zoom
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(timeout=30) == 0
    finally:
        for proc in (watch, replay):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert errors == [] and outside == []
    rows = {icao: (listed, callsign, phase) for icao, listed, callsign, phase in info["rows"]}
    assert rows == {LISTED: (True, "TWL123", "airborne"), OTHER: (False, "OTH456", "airborne"),
                    THIRD: (False, "SWR9B", "airborne")}
    assert info["rows"][0][0] == LISTED  # watchlisted first
    # a trail for any aircraft once the tracker kept two points of it (5 s apart: the 2 s replay may give one),
    # the watchlisted one's marked; every aircraft's trail is in /api/aircraft (tests/test_web_api.py)
    assert all(n >= 2 and listed == (icao == LISTED) for icao, n, listed in info["trails"])
    assert {icao for icao, _, _ in info["trails"]} <= {LISTED, OTHER, THIRD}
    assert sorted(info["planes"]) == sorted([[LISTED, True], [OTHER, False], [THIRD, False]])
    # markers are a few pixels, all inside the map
    mw, mh, mx, my = info["mapBox"]
    assert mw > 600 and len(info["planeBoxes"]) == 3
    assert all(3 < w < 40 and 3 < h < 40 and mx < x < mx + mw and my < y < my + mh
               for w, h, x, y in info["planeBoxes"]), (info["planeBoxes"], info["mapBox"])
    assert info["zoom"][0] != info["zoom"][1] == info["zoom"][2], "wheel zoom works and polling keeps the user's view"
    assert any(a.upper().startswith("SEEN") and LISTED in a and "watchlist-seen" in a for a in info["alerts"])
    assert f"beast://127.0.0.1:{feed_port}" in info["feeds"] and "aircraft" in info["status"]
    # the alerts on stdout are the ones the page showed; the server went away with the watcher
    stdout = []
    while (line := out_q.get(timeout=5)) is not None:
        stdout.append(json.loads(line))
    assert [a["icao24"] for a in stdout if a["kind"] == "seen"] == [LISTED]
    assert len(info["alerts"]) == len(stdout)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", web_port), timeout=1).close()
    assert (ARTIFACTS / "web-live.png").stat().st_size > 20_000
