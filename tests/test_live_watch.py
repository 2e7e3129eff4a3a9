"""The watcher end to end in-process: a short flight Schiphol → Rotterdam replayed over SBS
raises take-off and landing alerts with their airports (the itinerary module's detector),
tracks the leg, and archives every position."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.archive import scan
from tailwatch.live.replay import ReplayServer, load_recording, sbs_lines
from tailwatch.live.watch import WatchConfig, Watcher
from tailwatch.schema import conform

EHAM = (52.3086, 4.76389)
EHRD = (51.9569, 4.43722)


def short_flight(t0: float) -> pl.DataFrame:
    """Taxi at EHAM, climb out, cruise at 6,000 ft, descend, land and taxi at EHRD (10 s steps)."""
    rows = []  # (lat, lon, alt, gs, vr, onground)
    for i in range(12):
        rows.append((EHAM[0] - 0.01 + i * 1e-3, EHAM[1] - 0.01, 0.0, 15.0, 0.0, True))
    n_air = 40
    for i in range(1, n_air):
        f = i / n_air
        lat = EHAM[0] + (EHRD[0] - EHAM[0]) * f
        lon = EHAM[1] + (EHRD[1] - EHAM[1]) * f
        alt = min(i * 300.0, 6000.0, (n_air - i) * 300.0)
        vr = 1800.0 if i * 300 < 6000 and i < n_air / 2 else (-1800.0 if (n_air - i) * 300 < 6000 else 0.0)
        rows.append((lat, lon, alt, 200.0, vr, False))
    for i in range(12):
        rows.append((EHRD[0] + i * 5e-4, EHRD[1], 0.0, 20.0, 0.0, True))
    n = len(rows)
    frame = pl.DataFrame({
        "timestamp": (np.array([t0 + 10 * i for i in range(n)]) * 1e6).astype(np.int64),
        "icao24": ["4ca123"] * n, "callsign": ["TWL123"] * n,
        "latitude": [r[0] for r in rows], "longitude": [r[1] for r in rows], "altitude": [r[2] for r in rows],
        "groundspeed": [r[3] for r in rows], "vertical_rate": [r[4] for r in rows], "onground": [r[5] for r in rows],
        "track": [225.0] * n, "squawk": ["1000"] * n,
    }).with_columns(pl.from_epoch("timestamp", time_unit="us").dt.replace_time_zone("UTC"))
    return conform(frame, source="test")


def test_takeoff_and_landing_alerts_from_a_replayed_flight(tmp_path: Path):
    flight = short_flight(time.time())
    log = tmp_path / "flight.sbs"
    log.write_bytes(b"".join(sbs_lines(flight)))
    (tmp_path / "watchlist.csv").write_text("icao24\n4ca123\n")
    out, err = io.StringIO(), io.StringIO()

    async def scenario():
        server = ReplayServer(load_recording(log, "sbs"), speed=300)  # 10.5 min of flight in ~2 s
        port = await server.start()
        player = asyncio.create_task(server.play())
        cfg = WatchConfig(feeds=[f"sbs://127.0.0.1:{port}"], archive=tmp_path / "archive",
                          watchlist=tmp_path / "watchlist.csv", cycle_s=0.1, max_runtime_s=60,
                          notify=[f"file:{tmp_path / 'alerts.jsonl'}"],
                          live_display=True, track_resample_s=5.0 / 300)  # time runs 300 times faster
        w = Watcher(cfg, out=out, err=err)
        running = asyncio.create_task(w.run())
        await asyncio.wait_for(player, timeout=30)  # the whole flight was sent
        await asyncio.sleep(0.5)
        w.stop()
        code = await running
        await server.close()
        return w, code

    watcher, code = asyncio.run(scenario())
    assert code == 0
    alerts = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [(a["kind"], a.get("airport")) for a in alerts]
    assert ("seen", None) in kinds
    assert ("takeoff", "EHAM") in kinds and ("landing", "EHRD") in kinds
    takeoff = next(a for a in alerts if a["kind"] == "takeoff")
    landing = next(a for a in alerts if a["kind"] == "landing")
    assert takeoff["time"] < landing["time"]
    assert landing["airport_name"] == "Rotterdam Airport" and landing["airport_country"] == "NL"
    # the archive's alert log (read by `serve`'s live page) has them too, each with the time it was raised
    logged = [json.loads(line) for line in (tmp_path / "archive" / "_journal" / "alerts.jsonl").read_text().splitlines()]
    assert [{k: v for k, v in a.items() if k != "raised"} for a in logged] == alerts and all(a["raised"] for a in logged)
    # the extra notifier got the same alerts as stdout
    assert (tmp_path / "alerts.jsonl").read_text().splitlines() == out.getvalue().splitlines()
    assert takeoff["watchlists"][0]["list"] == "watchlist" and takeoff["callsign"] == "TWL123"
    assert takeoff["reason"] == "ground" and landing["reason"] == "ground"
    assert len(landing["evidence"]["points"]) >= 3
    state = watcher.pipeline.tracker.state().row(0, named=True)
    assert state["phase"] == "ground" and state["origin"] == "EHAM" and state["destination"] == "EHRD"
    stored = scan(tmp_path / "archive").collect()
    assert stored.height == flight.height
    assert "tailwatch watch" in err.getvalue()  # the Rich live tables were drawn (on the error stream)
    assert "★ 4ca123" in err.getvalue() and "TWL123" in err.getvalue()
