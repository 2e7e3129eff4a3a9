"""The two web faces as an attacker on loopback meets them, through real HTTP on real servers:
`tailwatch watch --web` under exactly the rules of `tailwatch serve` (loopback Host names, the token off
127.0.0.1, the same cookie exchange, cross-site API requests refused), a token redirect that stays on this
site, itinerary jobs that are a same-origin POST with a bounded table, and a callsign carrying markup from
a live SBS feed that stays text in the map's tooltip (headless Chromium).
"""

from __future__ import annotations

import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from test_web_serve import RA, Served, free_port

EVIL = "<img src=x onerror=document.title='owned'>"


def raw_get(host: str, port: int, target: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """One request with the target exactly as given (an HTTP client would normalise `//evil.example/`)."""
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    got = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        got[k.strip().lower()] = v.strip()
    return int(status_line.split(" ", 2)[1]), got, body


class Watching:
    """`tailwatch watch FEED --web HOST:PORT` in a subprocess; `.base` is the live page."""

    def __init__(self, tmp: Path, feed: str, host: str = "127.0.0.1", token_file: Path | None = None,
                 archive: Path | None = None) -> None:
        self.host, self.port = host, free_port(host)
        cmd = [sys.executable, "-m", "tailwatch.cli", "watch", feed, "--web", f"{host}:{self.port}",
               "--archive", str(archive or tmp / "archive"), "--duration", "120", "--fsync", "always"]
        if token_file is not None:
            cmd += ["--token-file", str(token_file)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.base = f"http://{host}:{self.port}/"
        self.lines: list[str] = []
        q: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [q.put(ln) for ln in iter(self.proc.stderr.readline, "")] + [q.put(None)],
                         daemon=True).start()
        deadline = time.monotonic() + 60
        while not any("web page on" in ln for ln in self.lines):
            try:
                line = q.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise AssertionError("watch --web did not start:\n" + "".join(self.lines)) from None
            assert line is not None, "watch exited:\n" + "".join(self.lines)
            self.lines.append(line)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait(timeout=10)
        return self.proc.returncode


def closed_feed() -> str:
    """A feed nobody serves: the watcher keeps trying, the page keeps answering."""
    return f"beast://127.0.0.1:{free_port()}"


def test_live_page_on_loopback_answers_only_loopback_host_names(tmp_path):
    w = Watching(tmp_path, closed_feed())
    try:
        with httpx.Client(base_url=w.base, timeout=10, trust_env=False) as c:
            for path in ("/", "/api/aircraft", "/api/health", "/api/countries"):
                r = c.get(path, headers={"Host": "evil.example"})  # DNS rebinding: a page of evil.example
                assert r.status_code == 421 and "not this machine" in r.json()["error"], (path, r.status_code)
                r = c.get(path, headers={"Host": f"evil.example:{w.port}"})
                assert r.status_code == 421, path
            assert c.get("/api/health").json()["feeds"] == 1
            assert c.get("/api/aircraft", headers={"Host": f"localhost:{w.port}"}).status_code == 200
            # another site's page may not read the API (a navigation to the page itself is fine)
            r = c.get("/api/aircraft", headers={"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"})
            assert r.status_code == 403 and "cross-site" in r.json()["error"]
            assert c.get("/api/aircraft", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
            assert c.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}).status_code == 200
            assert c.post("/api/aircraft").status_code == 405
    finally:
        assert w.stop() == 0


def test_live_page_off_127_0_0_1_needs_the_token_like_serve(tmp_path):
    host = "127.0.0.2"  # loopback, but not 127.0.0.1: the token rule applies, as for serve
    token_file = tmp_path / "config" / "serve-token"
    try:
        w = Watching(tmp_path, closed_feed(), host=host, token_file=token_file)
    except AssertionError as exc:  # pragma: no cover - a kernel without the 127/8 loopback range
        if "cannot listen" in str(exc):
            pytest.skip(f"cannot bind {host}")
        raise
    try:
        token = token_file.read_text().strip()
        assert len(token) >= 40 and any(token in ln and str(token_file) in ln for ln in w.lines)
        with httpx.Client(base_url=w.base, timeout=10, trust_env=False, follow_redirects=False) as c:
            for path in ("/", "/api/aircraft", "/api/alerts", "/api/feeds", "/api/health", "/api/countries"):
                r = c.get(path)
                assert r.status_code == 401 and token not in r.text, (path, r.status_code)
                assert c.get(path, headers={"Authorization": "Bearer " + "x" * len(token)}).status_code == 401
            assert c.get("/api/aircraft", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            # the browser's exchange: ?token= once → HttpOnly SameSite=Strict cookie, redirect without it
            r = c.get("/", params={"token": token})
            assert r.status_code == 303 and r.headers["location"] == "/"
            assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
            c.cookies.set("tailwatch_token", token)
            assert c.get("/api/aircraft").status_code == 200
            assert c.get("/api/health", headers={"Host": "watcher.lan"}).status_code == 200  # any Host with the token
        # the redirect after the exchange stays on this server
        status, headers, _ = raw_get(host, w.port, f"//evil.example/?token={token}")
        assert status == 303 and headers["location"] == "/evil.example/", headers
    finally:
        assert w.stop() == 0
    # the same token file serves both faces; one readable by others is refused by watch too
    import os

    os.chmod(token_file, 0o644)
    run = subprocess.run([sys.executable, "-m", "tailwatch.cli", "watch", closed_feed(), "--web",
                          f"{host}:{free_port(host)}", "--archive", str(tmp_path / "archive"), "--token-file",
                          str(token_file), "--duration", "5"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "readable by others" in run.stderr


def test_token_redirect_stays_on_this_site(demo_archive, tmp_path):
    host = "127.0.0.2"
    token_file = tmp_path / "serve-token"
    try:
        server = Served(demo_archive, host=host, token_file=token_file)
    except OSError as exc:  # pragma: no cover
        pytest.skip(f"cannot bind {host}: {exc}")
    try:
        token = token_file.read_text().strip()
        for target, where in ((f"//evil.example/?token={token}", "/evil.example/"),
                              (f"//evil.example/x?token={token}&q=1", "/evil.example/x?q=1"),
                              (f"/\\evil.example/?token={token}", "/evil.example/"),
                              (f"///evil.example?token={token}", "/evil.example"),
                              (f"/aircraft/{RA}?token={token}", f"/aircraft/{RA}")):
            status, headers, _ = raw_get(host, server.port, target)
            assert status == 303, (target, status)
            assert headers["location"] == where and not headers["location"].startswith("//"), (target, headers)
            assert token not in headers["location"]
    finally:
        server.stop()


def test_itinerary_jobs_are_a_same_origin_post_and_bounded(demo_archive):
    server = Served(demo_archive)
    try:
        with httpx.Client(base_url=server.base, timeout=60, trust_env=False) as c:
            params = {"aircraft": RA, "start": "2024-03-01", "end": "2024-03-02"}
            # a GET (a link, an <img> on another site) starts nothing
            r = c.get("/api/itinerary", params=params)
            assert r.status_code == 405 and "POST" in r.json()["error"]
            # a cross-site POST (a form on another site) starts nothing
            for headers in ({"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
                            {"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "same-site", "Origin": "null"},
                            {"Sec-Fetch-Site": "cross-site"}):
                r = c.post("/api/itinerary", params=params, headers=headers)
                assert r.status_code == 403 and "cross-site" in r.json()["error"], (headers, r.status_code)
            r = c.get("/api/search", params={"q": "RA-78765"}, headers={"Sec-Fetch-Site": "cross-site"})
            assert r.status_code == 403
            assert c.get("/api/health").json()["jobs"]["kept"] == 0
            # the page's own POST (same origin) starts it
            own = {"Sec-Fetch-Site": "same-origin", "Origin": server.base.rstrip("/")}
            r = c.post("/api/itinerary", params=params, headers=own)
            assert r.status_code in (200, 202) and r.json()["state"] in ("queued", "running", "no-result")
            # a burst of 150 distinct jobs: a bounded queue, a bounded table, 429 beyond
            statuses, kept = [], []
            for i in range(150):
                day = f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}"
                r = c.post("/api/itinerary", params={"aircraft": RA, "start": f"{day}T00:00:00Z",
                                                     "end": f"{day}T06:00:00Z"})
                statuses.append(r.status_code)
                if r.status_code == 429:
                    assert "queued or running" in r.json()["error"] and r.headers["retry-after"]
                if i % 10 == 0:
                    jobs = c.get("/api/health").json()["jobs"]
                    kept.append(jobs["kept"])
                    assert jobs["queued"] + jobs["running"] <= jobs["max_pending"] == 8
            assert set(statuses) <= {200, 202, 429} and statuses.count(429) > 0, statuses
            assert max(kept) <= 32
            # finished jobs make room: once the queue drains, new jobs are taken again, oldest finished forgotten
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                jobs = c.get("/api/health").json()["jobs"]
                if jobs["queued"] + jobs["running"] == 0:
                    break
                time.sleep(0.2)
            accepted = 0
            for i in range(40):
                r = c.post("/api/itinerary", params={"aircraft": RA, "start": f"2023-05-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                                                     "end": f"2023-05-{1 + i % 28:02d}T{i % 24:02d}:30:00Z"})
                accepted += r.status_code in (200, 202)
                if r.status_code == 429:
                    time.sleep(0.5)
            assert accepted >= 8 and c.get("/api/health").json()["jobs"]["kept"] <= 32
    finally:
        assert server.stop() == 0


def sbs_feed_log(path: Path, callsign: str) -> None:
    """A BaseStation log: an identification (MSG,1) with `callsign`, then positions (MSG,3) near Moscow."""
    lines = [f"MSG,1,1,1,ABCDEF,1,2026/01/01,12:00:00.000,2026/01/01,12:00:00.000,{callsign},,,,,,,,,,,\n"]
    for i in range(20):
        t = f"12:00:{1 + i:02d}.000"
        lines.append(f"MSG,3,1,1,ABCDEF,1,2026/01/01,{t},2026/01/01,{t},,31000,,,{55.5 + i * 0.01:.5f},37.30000,,,0,0,0,0\n")
    path.write_text("".join(lines))


def test_callsign_with_markup_stays_text_in_the_map_tooltip(demo_archive, tmp_path: Path):
    """SBS feed → `watch` journal → `serve`'s live page: the tooltip shows the callsign as text, makes no element."""
    from browser import browser_page

    archive = tmp_path / "archive"
    shutil.copytree(demo_archive, archive)
    log = tmp_path / "feed.sbs"
    sbs_feed_log(log, EVIL)
    replay = subprocess.Popen([sys.executable, "-m", "tailwatch.cli", "replay", str(log), "--serve", "sbs",
                               "--speed", "20", "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    banner = replay.stderr.readline()
    assert "serving" in banner, banner
    watch = Watching(tmp_path, f"sbs://127.0.0.1:{int(banner.rsplit(':', 1)[1])}", archive=archive)
    server = None
    errors: list[str] = []
    outside: list[str] = []
    try:
        server = Served(archive)
        with httpx.Client(base_url=server.base, timeout=10, trust_env=False) as c:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                live = c.get("/api/live").json()
                if any(a["icao24"] == "abcdef" for a in live["aircraft"]):
                    break
                time.sleep(0.3)
        (row,) = [a for a in live["aircraft"] if a["icao24"] == "abcdef"]
        assert row["callsign"] == EVIL.upper()  # the data keeps what the feed said; only the page must not obey it
        with browser_page(server.base, tmp_path, errors, outside) as page:
            page.goto(server.base + "live", wait_until="load")
            page.wait_for_function("() => document.querySelectorAll('#livemap path.plane').length >= 1", timeout=30_000)
            for i in range(page.locator("#livemap path.plane").count()):
                page.locator("#livemap path.plane").nth(i).hover(force=True)
                page.wait_for_timeout(150)
                if EVIL.upper() in (page.locator(".leaflet-tooltip").all_inner_texts() or [""])[-1]:
                    break
            tips = page.evaluate("""() => [...document.querySelectorAll('.leaflet-tooltip')].map(t => ({
                text: t.textContent, elements: t.querySelectorAll('img, script, iframe, svg').length}))""")
            title = page.title()
            row_text = page.locator("table.live tbody").inner_text()
    finally:
        if server is not None:
            server.stop()
        watch.stop()
        replay.kill()
        replay.wait(timeout=10)
    assert any(t["text"] == EVIL.upper() for t in tips), tips
    assert all(t["elements"] == 0 for t in tips), tips
    assert title != "owned" and EVIL.upper() in row_text
    assert [e for e in errors if "Content Security Policy" in e or "img-src" in e] == [], errors
    assert outside == []
