"""`tailwatch serve` as a real uvicorn subprocess on loopback, over the demo archive: search, aircraft,
itinerary jobs with progress, downloads of every report format, watchlist, live view from a
watcher's journal, and the security rules (token off 127.0.0.1, Host check, limits, no traversal,
read-only over the archive).
"""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import socket
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import httpx
import polars as pl
import pytest

RA = "1533ad"  # RA-78765 in the demo (numbered block RA- rule)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def archive_state(archive: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(archive)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(archive.rglob("*"))}


class Served:
    """`tailwatch serve` in a subprocess; `.base` is its URL, `.lines` what it printed on stderr."""

    def __init__(self, archive: Path, host: str = "127.0.0.1", token_file: Path | None = None) -> None:
        self.host, self.port = host, free_port(host)
        cmd = [sys.executable, "-m", "tailwatch.cli", "serve", "--archive", str(archive), "--host", host,
               "--port", str(self.port)]
        if token_file is not None:
            cmd += ["--token-file", str(token_file)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.base = f"http://{host}:{self.port}/"
        self.lines: list[str] = []
        q: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [q.put(ln) for ln in iter(self.proc.stderr.readline, "")] + [q.put(None)],
                         daemon=True).start()
        deadline = time.monotonic() + 60
        while not any("serving" in ln for ln in self.lines):
            try:
                line = q.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise AssertionError("serve did not start:\n" + "".join(self.lines)) from None
            assert line is not None, "serve exited:\n" + "".join(self.lines)
            self.lines.append(line)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait(timeout=10)
        return self.proc.returncode


def wait_itinerary(client: httpx.Client, icao24: str, **window) -> tuple[dict, list[dict]]:
    """Start (or join) the itinerary job and poll it to the end; returns the result and every progress seen."""
    seen = [client.post("/api/itinerary", params={"aircraft": icao24, **window}).raise_for_status().json()]
    deadline = time.monotonic() + 120
    while seen[-1]["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        seen.append(client.get(f"/api/jobs/{seen[-1]['job']}").raise_for_status().json())
    assert seen[-1]["state"] == "done", seen[-1]
    return client.get(f"/api/jobs/{seen[-1]['job']}/result").raise_for_status().json(), seen


@pytest.fixture(scope="module")
def served(demo_archive):
    before = archive_state(demo_archive)
    server = Served(demo_archive)
    try:
        yield server
    finally:
        assert server.stop() == 0
    assert archive_state(demo_archive) == before, "serve must not write into the archive"


def test_search_aircraft_itinerary_and_every_download(served, demo_archive):
    with httpx.Client(base_url=served.base, timeout=60, trust_env=False) as c:
        hits = c.get("/api/search", params={"q": "RA-78765"}).json()["aircraft"]
        assert hits[0]["icao24"] == RA and hits[0]["registration"] == "RA-78765" and hits[0]["points"] > 10_000
        assert any(m.startswith("list entry seed") for m in hits[0]["matched"])
        for q, how in ((RA, "address"), ("RA78765", "callsign"), ("aviacon", "list entry"), ("seed-ra", "list entry")):
            found = {h["icao24"]: h for h in c.get("/api/search", params={"q": q}).json()["aircraft"]}
            assert RA in found and any(m.startswith(how) for m in found[RA]["matched"]), (q, found)
        assert c.get("/api/search", params={"q": "ZZZ-NOTHING"}).json()["aircraft"] == []
        sim = c.get("/api/search", params={"q": "SIM00"}).json()["aircraft"]
        assert len(sim) > 5 and all(any(m.startswith("callsign SIM00") for m in h["matched"]) for h in sim)

        page = c.get(f"/aircraft/{RA}")
        assert page.status_code == 200 and "/static/investigate.js" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        ac = c.get(f"/api/aircraft/{RA}").json()
        assert ac["identity"]["registration"] == "RA-78765" and ac["identity"]["watchlists"][0]["list"] == "seed"
        days = ac["timeline"]
        assert len(days) >= 10 and sum(d["points"] for d in days) == ac["seen"]["points"]
        assert all(d["callsigns"] == ["RA78765"] for d in days)

        result, progress = wait_itinerary(c, RA)
        itin = result["itinerary"]
        assert itin["schema"] == "tailwatch.itinerary/1" and len(itin["legs"]) == 13
        legs_on_map = {f["properties"]["leg"] for f in result["map"]["features"] if f["properties"]["kind"] == "leg_segment"}
        assert legs_on_map == set(range(13))
        assert {"observed", "inferred"} <= {s["evidence"] for s in itin["stops"]}
        assert progress[-1]["fraction"] == 1.0 and progress[-1]["stage"] == "done"
        # the same itinerary as `tailwatch itinerary --format json` on the same archive
        cli = subprocess.run([sys.executable, "-m", "tailwatch.cli", "itinerary", "--archive", str(demo_archive),
                              "--aircraft", "RA-78765", "--format", "json"], capture_output=True, text=True, timeout=300)
        assert json.loads(cli.stdout)["legs"] == itin["legs"]

        job = progress[-1]["job"]
        got = {}
        for fmt in ("json", "md", "html", "geojson", "kml", "csv"):
            r = c.get(f"/api/jobs/{job}/download/{fmt}")
            assert r.status_code == 200, (fmt, r.text[:200])
            assert "attachment" in r.headers["content-disposition"] and "RA-78765" in r.headers["content-disposition"]
            got[fmt] = r.content
        assert len(json.loads(got["json"])["legs"]) == 13
        assert got["md"].decode().startswith("# Itinerary") and "| 13 | 1 | URSS | UUWW |" in got["md"].decode()  # leg, trip, from, to
        assert got["html"].startswith(b"<!doctype html") or got["html"].lower().startswith(b"<!doctype html")
        assert json.loads(got["geojson"])["type"] == "FeatureCollection"
        assert b"<kml" in got["kml"][:400]
        with zipfile.ZipFile(io.BytesIO(got["csv"])) as zf:
            names = sorted(zf.namelist())
            assert names == ["itinerary.legs.csv", "itinerary.points.csv"]
            legs = list(csv.DictReader(io.StringIO(zf.read("itinerary.legs.csv").decode())))
            assert len(legs) == 13

        wl = c.get("/api/watchlist").json()
        entry = next(e for e in wl["entries"] if e["id"] == "seed-ra-78765")
        assert entry["resolved"] and entry["icao24"] == RA and entry["last_seen"].startswith("2025-10-13")


def test_itinerary_jobs_show_progress_and_do_not_block(served):
    with httpx.Client(base_url=served.base, timeout=60, trust_env=False) as c:
        first = c.post("/api/itinerary", params={"aircraft": RA, "start": "2025-10-02T12:00:00Z",
                                                "end": "2025-10-16T00:00:00Z"}).json()
        assert first["state"] in ("queued", "running") and 0 <= first["fraction"] < 1
        # while it runs, other requests are answered at once
        slowest = 0.0
        states = [first["state"]]
        while states[-1] in ("queued", "running"):
            t = time.perf_counter()
            assert c.get("/api/health").json()["status"] == "ok"
            assert c.get("/api/search", params={"q": "RA-78765"}).status_code == 200
            slowest = max(slowest, time.perf_counter() - t)
            states.append(c.get(f"/api/jobs/{first['job']}").json()["state"])
        assert states[-1] == "done" and slowest < 1.0, (states, slowest)
        # the same request again joins the finished job
        again = c.post("/api/itinerary", params={"aircraft": RA, "start": "2025-10-02T12:00:00Z",
                                                "end": "2025-10-16T00:00:00Z"}).json()
        assert again["job"] == first["job"] and again["state"] == "done"
        # a window with no positions is a clear 404 on the result
        empty, _ = c.post("/api/itinerary", params={"aircraft": RA, "start": "2024-01-01", "end": "2024-01-02"}).json(), None
        while c.get(f"/api/jobs/{empty['job']}").json()["state"] in ("queued", "running"):
            time.sleep(0.05)
        r = c.get(f"/api/jobs/{empty['job']}/result")
        assert r.status_code == 404 and "no points" in r.json()["error"]


def test_bad_requests_are_clear_4xx(served):
    with httpx.Client(base_url=served.base, timeout=30, trust_env=False) as c:
        cases = [
            ("/api/search?q=" + "A" * 65, 400, "at most 64"),
            ("/api/search?q=", 400, "q"),
            ("/api/search?q=%3Cscript%3E", 400, "only letters"),
            ("/api/aircraft/RA-78765", 400, "icao24"),
            ("/api/aircraft/zzzzzz", 400, "icao24"),
            ("/aircraft/..%2F..%2Fetc%2Fpasswd", 404, ""),
            (f"/api/itinerary?aircraft={RA}&start=yesterday", 400, "not an ISO 8601 time"),
            (f"/api/itinerary?aircraft={RA}&start=2025-10-05&end=2025-10-01", 400, "not after start"),
            (f"/api/itinerary?aircraft={RA}&start=2020-01-01&end=2025-01-01", 400, "longer than the limit"),
            ("/api/jobs/0123456789abcdef0123", 404, "no itinerary job"),
            ("/api/jobs/../../etc/passwd", 404, ""),
            ("/api/jobs/0123456789abcdef0123/download/exe", 400, "fmt"),
            ("/api/search?q=" + "A" * 3000, 414, "URL longer"),
            ("/nothing-here", 404, "no such page"),
        ]
        for path, status, words in cases:
            r = c.post(path) if path.startswith("/api/itinerary") else c.get(path)
            assert r.status_code == status, (path, r.status_code, r.text[:200])
            assert words in r.json()["error"], (path, r.json())
        assert c.post("/api/search?q=x").status_code == 405
        assert c.head("/api/health").status_code == 405
        assert c.request("DELETE", f"/api/aircraft/{RA}").status_code == 405
        r = c.get("/api/health", headers={"Host": "attacker.example:80"})
        assert r.status_code == 421 and "not this machine" in r.json()["error"]
        assert c.get("/api/health", headers={"Host": f"localhost:{served.port}"}).status_code == 200
        assert c.get("/api/health", headers={"X-Big": "x" * 20_000}).status_code in (400, 431)


def test_static_files_come_from_a_fixed_table(served):
    with httpx.Client(base_url=served.base, timeout=30, trust_env=False) as c:
        js = c.get("/static/vendor/leaflet/leaflet.js")
        assert js.status_code == 200 and "Leaflet" in js.text[:400] and js.headers["content-type"].startswith("text/javascript")
        assert c.get("/static/investigate.css").status_code == 200
        for path in ("/static/../app.py", "/static/..%2Fapp.py", "/static/%2e%2e/%2e%2e/pyproject.toml",
                     "/static/vendor/leaflet/../../investigate.html", "/static//etc/passwd", "/static/app.js",
                     "/static/vendor/leaflet/SOURCE.md"):
            # raw paths, not normalised by the client
            with socket.create_connection((served.host, served.port), timeout=10) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nConnection: close\r\n\r\n".encode())
                reply = b""
                while chunk := s.recv(65536):
                    reply += chunk
            status = int(reply.split(b" ", 2)[1])
            assert status == 404, (path, reply[:300])
            assert b"import" not in reply and b"root:" not in reply and b"[project]" not in reply


def test_live_view_reads_the_journal_a_watcher_writes(demo_archive, tmp_path):
    import shutil

    from tailwatch.live.journal import Journal
    from tailwatch.schema import conform

    archive = tmp_path / "archive"
    shutil.copytree(demo_archive, archive)
    server = Served(archive)
    try:
        with httpx.Client(base_url=server.base, timeout=30, trust_env=False) as c:
            assert c.get("/api/live").json() == {"watcher": False, "aircraft": [], "segments": 0, "alerts": []}
            journal = Journal(archive, fsync="always")  # what `tailwatch watch --archive` writes
            try:
                now = pl.datetime_range(pl.datetime(2026, 1, 1, 12), pl.datetime(2026, 1, 1, 12, 0, 9), "1s",
                                        time_zone="UTC", eager=True)
                frame = conform(pl.DataFrame({
                    "timestamp": list(now) * 2, "icao24": [RA] * 10 + ["abcdef"] * 10,
                    "callsign": ["RA78765"] * 10 + ["TEST1"] * 10, "latitude": [55.0 + i * 0.01 for i in range(20)],
                    "longitude": [37.0] * 20, "altitude": [10_000.0] * 20, "source": "beast"}))
                journal.append(frame)
                journal.sync()
                live = c.get("/api/live").json()
            finally:
                journal.close()
    finally:
        server.stop()
    assert live["watcher"] and live["segments"] >= 1
    rows = {r["icao24"]: r for r in live["aircraft"]}
    assert set(rows) == {RA, "abcdef"}
    assert live["aircraft"][0]["icao24"] == RA and rows[RA]["lists"] == ["seed seed-ra-78765"]  # watchlisted first
    assert rows[RA]["timestamp"] == "2026-01-01T12:00:09Z" and abs(rows[RA]["latitude"] - 55.09) < 1e-9
    assert len(rows[RA]["trail"]) == 10 and rows[RA]["trail"][-1] == [55.09, 37.0]  # its track, oldest first


def test_token_required_off_127_0_0_1(demo_archive, tmp_path):
    token_file = tmp_path / "config" / "serve-token"
    host = "127.0.0.2"  # still loopback (nothing leaves the machine) but not 127.0.0.1: the token rule applies
    try:
        server = Served(demo_archive, host=host, token_file=token_file)
    except OSError as exc:  # pragma: no cover - a kernel without the 127/8 loopback range
        pytest.skip(f"cannot bind {host}: {exc}")
    try:
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 40 and any(token in ln and str(token_file) in ln for ln in server.lines)
        with httpx.Client(base_url=server.base, timeout=60, trust_env=False, follow_redirects=False) as c:
            for path in ("/", f"/aircraft/{RA}", "/api/health", "/api/search?q=RA-78765", "/static/investigate.js",
                         "/api/countries", "/nothing"):
                r = c.get(path)
                assert r.status_code == 401, (path, r.status_code)
                assert "token" in r.json()["error"] and token not in r.text
                assert c.get(path, headers={"Authorization": "Bearer " + "x" * len(token)}).status_code == 401
            ok = c.get("/api/search", params={"q": "RA-78765"}, headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200 and ok.json()["aircraft"][0]["icao24"] == RA
            # a browser: ?token= once → cookie + redirect without the token in the URL → pages and API by cookie
            r = c.get(f"/aircraft/{RA}", params={"token": token, "start": "2025-10-03T00:00:00Z"})
            assert r.status_code == 303 and token not in r.headers["location"]
            assert r.headers["location"] == f"/aircraft/{RA}?start=2025-10-03T00%3A00%3A00Z"
            assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
            c.cookies.set("tailwatch_token", token)
            assert c.get(r.headers["location"]).status_code == 200
            assert c.get("/api/health").json()["token_required"] is True
            # the Host check is for token-less loopback only; with the token any Host name is fine
            assert c.get("/api/health", headers={"Host": "investigator.lan"}).status_code == 200
    finally:
        assert server.stop() == 0
    # a second start reuses the token and does not print it
    again = Served(demo_archive, host=host, token_file=token_file)
    try:
        assert token_file.read_text().strip() == token and not any(token in ln for ln in again.lines)
    finally:
        again.stop()
    # a token file others can read is refused, with one line and exit 2
    os.chmod(token_file, 0o644)
    run = subprocess.run([sys.executable, "-m", "tailwatch.cli", "serve", "--archive", str(demo_archive), "--host", host,
                          "--port", str(free_port(host)), "--token-file", str(token_file)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "readable by others" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    run = subprocess.run([sys.executable, "-m", "tailwatch.cli", "serve", "--archive", str(demo_archive), "--host", host,
                          "--token-file", str(demo_archive / "token")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "inside the archive" in run.stderr and not (demo_archive / "token").exists()


def test_serve_start_up_errors_are_one_line(demo_archive, tmp_path):
    def serve(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tailwatch.cli", "serve", *args], capture_output=True, text=True,
                              timeout=60)

    run = serve("--archive", str(tmp_path / "missing"))
    assert run.returncode == 2 and "no such archive folder" in run.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        run = serve("--archive", str(demo_archive), "--port", str(busy.getsockname()[1]))
    assert run.returncode == 2 and "cannot listen on 127.0.0.1" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_live_trails_are_thinned_and_alerts_read_from_the_log_tail(tmp_path):
    import polars as pl

    from tailwatch.live.journal import Journal
    from tailwatch.live.watch import AlertLog
    from tailwatch.schema import conform
    from tailwatch.web.archive_view import LIVE_ALERTS, LIVE_TRAIL_POINTS, ArchiveView

    archive = tmp_path / "archive"
    journal = Journal(archive, fsync="always")
    try:
        times = pl.datetime_range(pl.datetime(2026, 1, 1, 12), pl.datetime(2026, 1, 1, 12, 9, 59), "1s",
                                  time_zone="UTC", eager=True)  # 600 positions in ten minutes
        journal.append(conform(pl.DataFrame({"timestamp": times, "icao24": "abcdef", "callsign": "TEST1",
                                             "latitude": [50.0 + i * 1e-3 for i in range(600)], "longitude": 8.0,
                                             "altitude": 30_000.0, "source": "beast"})))
        journal.sync()
        log = AlertLog(archive)
        for i in range(LIVE_ALERTS + 20):
            log.add({"kind": "seen", "rule": "r", "icao24": "abcdef", "time": f"2026-01-01T12:00:{i % 60:02d}Z", "n": i})
        with open(log.path, "a") as f:
            f.write('{"kind": "seen", "rule": "r", "tor')  # a line being written: left out
        live = ArchiveView(archive).live()
    finally:
        journal.close()
    (row,) = live["aircraft"]
    trail = row["trail"]
    assert LIVE_TRAIL_POINTS - 2 <= len(trail) <= LIVE_TRAIL_POINTS
    assert trail[-1] == [50.599, 8.0] and trail[0][0] < 50.01  # from the start of the window to the newest position
    assert all(a[0] < b[0] for a, b in zip(trail, trail[1:]))  # in time order
    assert len(live["alerts"]) == LIVE_ALERTS and live["alerts"][0]["n"] == LIVE_ALERTS + 19  # newest first
    assert live["alerts"][0]["seq"] == LIVE_ALERTS and live["alerts"][-1]["seq"] == 1
