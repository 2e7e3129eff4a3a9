"""Live rules for aircraft that hide and GNSS interference: dark_in_coverage, gnss_degraded."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from tailwatch.alerts.rules import RuleEngine, parse_rules
from tailwatch.live.tracker import Tracker, near_airport

from test_alerts_rules import T0, track, watchlist


def _figures(frame: pl.DataFrame, nac_p: list[int | None], nic: list[int | None]) -> pl.DataFrame:
    return frame.with_columns(pl.Series("nac_p", nac_p, pl.UInt8), pl.Series("nic", nic, pl.UInt8))


def test_dark_in_coverage_needs_other_aircraft_heard_there():
    rules = parse_rules([{"name": "dark", "when": "dark", "minutes": 10, "aircraft": "any"},
                         {"name": "dark-cov", "when": "dark_in_coverage", "minutes": 10, "aircraft": ["aaaaaa", "dddddd"],
                          "radius_km": 100, "min_others": 2}])
    eng = RuleEngine(rules)
    tr = Tracker(detector=lambda p: pl.DataFrame(), hold_s=600)
    # aaaaaa goes silent over the North Sea where two other aircraft go on being heard;
    # dddddd goes silent far out over the Atlantic, nothing else heard near it
    tr.update(pl.concat([
        track("aaaaaa", [(i * 10, 55.0 + i * 1e-3, 3.0, 33000) for i in range(10)], groundspeed=450.0, track=0.0),
        track("dddddd", [(i * 10, 50.0, -25.0 + i * 1e-3, 35000) for i in range(10)], groundspeed=470.0, track=270.0),
    ]))
    tr.update(pl.concat([
        track("eeeeee", [(600 + i * 10, 55.6, 3.4, 36000) for i in range(5)]),
        track("ffffff", [(650 + i * 10, 55.2, 2.6, 30000) for i in range(5)]),
    ]))
    alerts = eng.on_tick(T0 + timedelta(minutes=12), tr.last, tr.points_of, near_airport)
    plain = sorted(a["icao24"] for a in alerts if a["kind"] == "dark")
    covered = [a for a in alerts if a["kind"] == "dark_in_coverage"]
    assert plain == ["aaaaaa", "dddddd"]  # the plain rule cannot tell them apart
    assert [a["icao24"] for a in covered] == ["aaaaaa"]
    assert covered[0]["coverage"]["other_aircraft"] == 2 and covered[0]["coverage"]["examples"] == ["eeeeee", "ffffff"]


def test_gnss_degraded_watched_aircraft_after_a_run():
    eng = RuleEngine(parse_rules([{"name": "jam", "when": "gnss_degraded", "min_points": 3}]), watchlist("4ca123"))
    good = _figures(track("4ca123", [(i, 42.0, -91.0 + i * 1e-3, 33000) for i in range(4)]), [10] * 4, [8] * 4)
    assert eng.on_positions(good) == []
    # two degraded positions, one good, then a run of three split over two batches
    first = _figures(track("4ca123", [(10 + i, 42.0, -90.9, 33000) for i in range(5)]),
                     [3, 2, 9, 2, 1], [8, 8, 8, 8, 8])
    assert eng.on_positions(first) == []
    second = _figures(track("4ca123", [(20 + i, 42.0, -90.8, 33000) for i in range(2)]), [10, 10], [4, 8])
    alerts = eng.on_positions(second)
    assert [a["kind"] for a in alerts] == ["gnss_degraded"]
    assert alerts[0]["time"].startswith("2026-11-25T08:00:20")
    assert alerts[0]["evidence"]["points"][-1]["nic"] == 4
    # not listed: no alert, however degraded
    other = _figures(track("3c6dd4", [(i, 42.0, -91.0, 33000) for i in range(5)]), [0] * 5, [0] * 5)
    assert eng.on_positions(other) == []


def test_gnss_degraded_region_share():
    rule = {"name": "jam-area", "when": "gnss_degraded", "region": {"circle": {"lat": 42.0, "lon": -91.0, "radius_km": 150}},
            "share": 0.10, "min_aircraft": 3, "window_minutes": 30}
    eng = RuleEngine(parse_rules([rule]), watchlist("4ca123"))  # regions count every aircraft
    two = pl.concat([
        _figures(track("a00001", [(0, 42.0, -91.0, 30000)]), [2], [0]),
        _figures(track("a00002", [(5, 42.2, -90.9, 30000)]), [10], [8]),
        _figures(track("a00003", [(6, 50.0, 10.0, 30000)]), [10], [8]),  # outside the region
        _figures(track("a00004", [(7, 42.1, -91.1, 30000)]), [None], [None]),  # no figures: not counted
    ])
    assert eng.on_positions(two) == []  # two aircraft with figures in the region: too few to tell
    more = pl.concat([_figures(track(f"b0000{k}", [(60 + k, 42.0 + k * 0.1, -91.0, 31000)]), [9], [8]) for k in range(3)])
    alerts = eng.on_positions(more)
    assert len(alerts) == 1
    a = alerts[0]
    assert a["kind"] == "gnss_degraded" and a["icao24"] is None and a["evidence"]["place"] == "region:jam-area"
    assert (a["aircraft_seen"], a["aircraft_degraded"], a["degraded_icao24"]) == (5, 1, ["a00001"])
    assert a["evidence"]["points"][0]["icao24"] == "a00001" and a["evidence"]["points"][0]["nac_p"] == 2
    # de-duplicated: the next batch in the same state raises nothing
    assert eng.on_positions(more.with_columns(pl.col("timestamp") + timedelta(minutes=1))) == []


def test_gnss_rule_live_on_a_real_beast_capture(traffic_samples, tmp_path):
    """dump1090's Beast sample replayed into `tailwatch watch`: the decoded NACp (9) reaches the rules."""
    import asyncio
    import io
    import json

    from tailwatch.live.replay import ReplayServer, load_recording
    from tailwatch.live.watch import WatchConfig, Watcher

    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: nacp-below-10, when: gnss_degraded, nacp_below: 10, nic_below: 0,"
                     " min_points: 2, aircraft: any}\n")
    out, err = io.StringIO(), io.StringIO()

    async def run():
        server = ReplayServer(load_recording(traffic_samples / "dump1090" / "sample_dump1090.bin", "beast"), speed=20)
        port = await server.start()
        player = asyncio.create_task(server.play())
        w = Watcher(WatchConfig(feeds=[f"beast://127.0.0.1:{port}"], archive=tmp_path / "archive", rules=rules,
                                cycle_s=0.1, max_runtime_s=60, live_display=False), out=out, err=err)
        running = asyncio.create_task(w.run())
        await asyncio.wait_for(player, timeout=30)
        await asyncio.sleep(0.5)
        w.stop()
        code = await running
        await server.close()
        return code

    assert asyncio.run(run()) == 0
    alerts = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(a["kind"], a["icao24"]) for a in alerts] == [("gnss_degraded", "48520a")]
    assert {p["nac_p"] for p in alerts[0]["evidence"]["points"]} == {9}
    # the watcher archived the positions with their integrity, and the heard minutes beside them
    from tailwatch.archive import scan
    from tailwatch.heard_store import read_heard

    stored = scan(tmp_path / "archive").collect()
    assert stored.height == 3 and stored["nac_p"].to_list() == [9, 9, 9] and stored["nic"].to_list() == [8, 8, 8]
    heard = read_heard(tmp_path / "archive")
    assert heard["messages"].sum() >= 200 and set(heard["icao24"]) >= {"48520a", "3981e4"}
    assert heard.filter(pl.col("icao24") == "3981e4")["positions"].sum() == 0  # heard, never a position
