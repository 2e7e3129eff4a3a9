"""The live page's API over a real Watcher fed by `tailwatch replay` of traffic's Beast capture.

The watcher runs in-process (its own thread and asyncio loop), the web app on a
real uvicorn server on 127.0.0.1; the replay server is the CLI in a subprocess.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tailwatch.ingest.base import BadInput
from tailwatch.live.watch import WatchConfig, Watcher
from tailwatch.web.app import OTHER_TRAIL_POINTS
from tailwatch.web.server import WebServer, parse_bind

SAMPLE_ICAO24 = "48520a"  # the one aircraft with positions in sample_dump1090.bin (TRA89M near Toulouse)


def start_replay(path: Path, *args: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "tailwatch.cli", "replay", str(path), *args, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    banner = proc.stderr.readline().decode()
    assert "serving" in banner, banner + proc.stderr.read().decode()
    return proc, int(banner.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def live(traffic_samples: Path, tmp_path_factory):
    """A watcher that has received the whole capture, with its web server; stopped at the end."""
    tmp = tmp_path_factory.mktemp("web-api")
    (tmp / "watchlist.csv").write_text(f"icao24,name\n{SAMPLE_ICAO24},sample aircraft\n")
    replay, port = start_replay(traffic_samples / "dump1090" / "sample_dump1090.bin", "--serve", "beast",
                                "--speed", "20")
    cfg = WatchConfig(feeds=[f"beast://127.0.0.1:{port}"], archive=tmp / "archive", watchlist=tmp / "watchlist.csv",
                      cycle_s=0.1, max_runtime_s=60, live_display=False, fsync="never")
    import io

    watcher = Watcher(cfg, out=io.StringIO(), err=io.StringIO())
    server = WebServer(watcher, "127.0.0.1", 0).start()
    result: dict = {}
    runner = threading.Thread(target=lambda: result.setdefault("code", asyncio.run(watcher.run())), daemon=True)
    runner.start()
    polled: list[int] = []
    done = threading.Event()

    def poll():  # a page polling hard while the watcher decodes: the tracker is read under its lock
        with httpx.Client(timeout=10) as client:
            while not done.is_set():
                polled.append(client.get(server.url + "api/aircraft").status_code)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        assert replay.wait(timeout=20) == 0  # the capture went out (~1.2 s at speed 20)
        deadline = time.monotonic() + 30  # bounded; a loaded machine (two xdist workers and more) needs seconds
        while time.monotonic() < deadline and not watcher.recent_alerts.seq:
            time.sleep(0.1)
        # wait until every byte was read and handed over, and the decoded and positions counts
        # have settled: under CPU load the last position, and the identification carrying TRA89M
        # (a message with no position), can trail the first alert
        settled, last = 0, None
        while time.monotonic() < deadline and settled < 5:
            drained = all(not f.stats.connected and f.backlog == 0 for f in watcher.feeds)
            now = tuple((f.stats.decoded, f.stats.positions) for f in watcher.feeds)
            settled = settled + 1 if drained and now == last else 0
            last = now
            time.sleep(0.1)
        done.set()
        poller.join(timeout=10)
        watcher.polled = polled
        yield watcher, server
    finally:
        done.set()
        watcher._stop.set()  # what SIGTERM does (the handler is only installed in the main thread)
        runner.join(timeout=30)
        server.stop()
        replay.kill()
    assert result.get("code") == 0


def get(server: WebServer, path: str, **kw) -> httpx.Response:
    return httpx.get(server.url + path.lstrip("/"), timeout=10, **kw)


def test_aircraft_state_from_the_real_capture(live):
    watcher, server = live
    doc = get(server, "/api/aircraft").json()
    assert doc["count"] == len(doc["aircraft"]) >= 1
    (ac,) = [a for a in doc["aircraft"] if a["icao24"] == SAMPLE_ICAO24]
    assert ac["callsign"] == "TRA89M" and ac["listed"] is True
    assert ac["watchlists"] and ac["watchlists"][0].get("name") == "sample aircraft"
    assert 43.0 < ac["latitude"] < 44.5 and 0.5 < ac["longitude"] < 2.0  # near Toulouse, as the capture says
    assert ac["altitude"] == 38000 and ac["phase"] == "airborne"
    assert ac["last_seen"].endswith("Z") and 0 <= ac["seconds_since"] < 60
    assert ac["source"] == "live-beast" and ac["origin"] is None  # no take-off was observed
    assert ac["trail"] and all(43.0 < lat < 44.5 for _, lat in ac["trail"])  # watchlisted: its recent track
    # every aircraft's trail, a shorter one for those on no list
    assert all(len(a["trail"]) <= OTHER_TRAIL_POINTS for a in doc["aircraft"] if not a["listed"])
    others = [a for a in doc["aircraft"] if not a["listed"] and a["latitude"] is not None]
    assert not others or any(a["trail"] for a in others), "aircraft on no list have their trail too"
    assert len(watcher.polled) > 5 and set(watcher.polled) == {200}  # polled while the feed was decoded
    # the same state the watcher's own tracker holds
    assert watcher.pipeline.snapshot()["icao24"].to_list() == [a["icao24"] for a in doc["aircraft"]]


def test_alerts_feed_and_since_filter(live):
    watcher, server = live
    doc = get(server, "/api/alerts").json()
    seen = [a for a in doc["alerts"] if a["kind"] == "seen" and a["icao24"] == SAMPLE_ICAO24]
    assert len(seen) == 1 and seen[0]["seq"] >= 1 and seen[0]["rule"] == "watchlist-seen"
    assert seen[0]["watchlists"][0].get("name") == "sample aircraft" and seen[0]["time"].endswith("Z")
    assert doc["last_seq"] == watcher.recent_alerts.seq == len(doc["alerts"])
    raised = datetime.fromisoformat(seen[0]["raised"].replace("Z", "+00:00"))
    before = (raised - timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    later = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()
    assert [a["seq"] for a in get(server, "/api/alerts", params={"since": before}).json()["alerts"]] == \
        [a["seq"] for a in doc["alerts"]]
    assert get(server, "/api/alerts", params={"since": later}).json()["alerts"] == []
    assert get(server, "/api/alerts", params={"after": doc["last_seq"]}).json()["alerts"] == []
    bad = get(server, "/api/alerts", params={"since": "yesterday"})
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["detail"]


def test_feeds_and_health(live):
    watcher, server = live
    (feed,) = get(server, "/api/feeds").json()
    assert feed["kind"] == "beast" and feed["url"].startswith("beast://127.0.0.1:")
    assert feed["messages"] == 239 and feed["positions"] >= 1 and feed["connects"] == 1
    health = get(server, "/api/health").json()
    assert health["status"] == "ok" and health["feeds"] == 1 and health["watchlisted"] == 1
    assert health["aircraft"] >= 1 and health["alerts"] >= 1 and health["journaled"] >= 1
    # read-only: nothing but GET
    assert httpx.post(server.url + "api/aircraft", timeout=5).status_code == 405
    assert get(server, "/docs").status_code == 404  # no API explorer (it would load scripts from the network)


def test_countries_geojson_is_small_and_cached(live):
    _, server = live
    t0 = time.monotonic()
    first = get(server, "/api/countries")
    second = get(server, "/api/countries")
    assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
    assert first.content == second.content
    doc = json.loads(first.content)
    iso = {f["properties"]["iso2"] for f in doc["features"]}
    assert {"FR", "RU", "US", "NL"} <= iso and len(iso) > 150
    assert len(first.content) < 700_000 and len(gzip.compress(first.content)) < 250_000
    assert time.monotonic() - t0 < 10


def test_page_is_self_contained(live):
    _, server = live
    r = get(server, "/")
    page = r.text
    assert r.status_code == 200 and "default-src 'none'" in r.headers["content-security-policy"]
    assert "/*APP_JS*/" not in page and "api/aircraft" in page and ".plane" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "the page must not reference the network"
    assert not re.search(r"""url\(\s*["']?(https?:)?//|@import|fetch\(\s*["']https?:""", page)


def test_bind_parsing_and_busy_port(live):
    watcher, server = live
    assert parse_bind("8080") == ("127.0.0.1", 8080)
    assert parse_bind("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_bind("[::1]:9000") == ("::1", 9000)
    for bad in ("web", "127.0.0.1:http", "70000"):
        with pytest.raises(BadInput, match="--web"):
            parse_bind(bad)
    with pytest.raises(BadInput, match="cannot listen on 127.0.0.1:"):
        WebServer(watcher, "127.0.0.1", server.port).start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass  # the running server is untouched
