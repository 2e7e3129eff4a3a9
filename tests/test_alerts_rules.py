"""Alert rules: YAML parsing, each rule kind on realistic tracks, de-duplication."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tailwatch.alerts.rules import RuleEngine, load_rules, parse_rules
from tailwatch.ingest.base import BadInput
from tailwatch.live.tracker import Tracker, near_airport
from tailwatch.schema import conform

T0 = datetime(2026, 11, 25, 8, 0, 0, tzinfo=timezone.utc)
EHAM = (52.3086, 4.76389)


def track(icao: str, rows: list[tuple[float, float, float, float | None]], **cols) -> pl.DataFrame:
    """Points from (seconds after T0, lat, lon, altitude ft)."""
    n = len(rows)
    data = {
        "timestamp": [T0 + timedelta(seconds=r[0]) for r in rows],
        "icao24": [icao] * n,
        "latitude": [r[1] for r in rows],
        "longitude": [r[2] for r in rows],
        "altitude": [r[3] for r in rows],
    }
    for k, v in cols.items():
        data[k] = v if isinstance(v, list) else [v] * n
    return conform(pl.DataFrame(data, strict=False), source="test")


def watchlist(*addresses: str) -> pl.DataFrame:
    return pl.DataFrame({"icao24": list(addresses), "list": ["test"] * len(addresses),
                         "entry_id": [f"e{i}" for i in range(len(addresses))]})


def test_yaml_errors_name_the_file_and_line(tmp_path: Path):
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - {name: x, when: seen\n")
    with pytest.raises(BadInput, match=r"rules.yaml:\d+"):
        load_rules(bad)
    bad.write_text("rules:\n  - {name: x, when: teleport}\n")
    with pytest.raises(BadInput, match="'when' must be one of"):
        load_rules(bad)
    bad.write_text("rules:\n  - {name: x, when: region}\n")
    with pytest.raises(BadInput, match="bbox, circle or polygon"):
        load_rules(bad)
    assert [r.when for r in load_rules(None)] == ["seen", "takeoff", "landing", "dark", "squawk"]


def test_seen_once_per_sighting_and_only_for_listed():
    eng = RuleEngine(parse_rules({"dedupe_minutes": 10, "rules": [{"name": "s", "when": "seen"}]}),
                     watchlist("4ca123"))
    a = eng.on_positions(pl.concat([
        track("4ca123", [(i, 52.0, 4.0 + i * 1e-3, 30000) for i in range(5)]),
        track("3c6dd4", [(i, 53.0, 4.0, 30000) for i in range(5)]),
    ]))
    assert [(x["icao24"], x["kind"], x["rule"]) for x in a] == [("4ca123", "seen", "s")]
    assert a[0]["watchlists"] == [{"list": "test", "id": "e0"}]
    assert a[0]["time"] == "2026-11-25T08:00:00Z"
    assert a[0]["evidence"]["points"][0]["latitude"] == 52.0
    # still the same sighting a minute later: quiet
    assert eng.on_positions(track("4ca123", [(60, 52.1, 4.1, 30000)])) == []
    # back after 20 minutes of silence: a new sighting
    again = eng.on_positions(track("4ca123", [(60 + 1200, 52.5, 4.5, 30000)]))
    assert len(again) == 1


def test_seen_without_a_watchlist_fires_for_nobody_unless_asked():
    positions = pl.concat([track("4ca123", [(i, 52.0, 4.0 + i * 1e-3, 30000) for i in range(5)]),
                           track("3c6dd4", [(i, 53.0, 4.0, 30000) for i in range(5)])])
    # the default rules with no --watchlist: nothing is watched, so nothing is "seen"
    assert [a for a in RuleEngine(load_rules(None), None).on_positions(positions) if a["kind"] == "seen"] == []
    # asked for in so many words: every aircraft, or the addresses named
    anyone = RuleEngine(parse_rules([{"name": "all", "when": "seen", "aircraft": "any"}]), None).on_positions(positions)
    assert sorted(a["icao24"] for a in anyone) == ["3c6dd4", "4ca123"]
    named = RuleEngine(parse_rules([{"name": "one", "when": "seen", "aircraft": ["3C6DD4"]}]), None).on_positions(positions)
    assert [a["icao24"] for a in named] == ["3c6dd4"]


def test_region_entries_are_deduplicated():
    rules = parse_rules({"dedupe_minutes": 30, "rules": [
        {"name": "box", "when": "region", "aircraft": "any", "region": {"bbox": [4.0, 52.0, 5.0, 53.0]}},
        {"name": "ring", "when": "region", "aircraft": ["4CA123"],
         "region": {"circle": {"lat": 52.5, "lon": 4.5, "radius_km": 20}}},
        {"name": "poly", "when": "region", "aircraft": "any",
         "region": {"polygon": [[4.4, 52.4], [4.6, 52.4], [4.6, 52.6], [4.4, 52.6]]}},
    ]})
    eng = RuleEngine(rules, None)
    # an aircraft weaving in and out of the box every minute: one alert per rule
    rows = [(60 * i, 52.5, 4.5 if i % 2 else 5.5, 20000) for i in range(10)]
    alerts = eng.on_positions(track("4ca123", rows))
    assert sorted(a["rule"] for a in alerts) == ["box", "poly", "ring"]
    entry = next(a for a in alerts if a["rule"] == "box")
    assert entry["time"] == "2026-11-25T08:01:00Z"
    assert any(p["longitude"] == 5.5 for p in entry["evidence"]["points"])  # outside, then inside
    assert eng.suppressed >= 3


def test_country_airspace_entry_uses_airspace_shapes():
    eng = RuleEngine(parse_rules([{"name": "nl", "when": "country", "countries": ["NL"], "aircraft": "any"}]))
    # from the open North Sea into Dutch airspace
    rows = [(i * 30, 52.4, 2.6 + i * 0.2, 30000) for i in range(12)]
    alerts = eng.on_positions(track("4ca123", rows))
    assert len(alerts) == 1 and alerts[0]["country"] == "NL" and alerts[0]["kind"] == "country"
    from tailwatch.geo.countries import locate

    pts = alerts[0]["evidence"]["points"]
    where = locate(np.array([p["latitude"] for p in pts]), np.array([p["longitude"] for p in pts]))
    assert where[0] is None and where[-1] == "NL"  # the evidence straddles the boundary
    entered = next(p for p, w in zip(pts, where) if w == "NL")
    assert entered["timestamp"] == alerts[0]["time"]
    assert 4.0 < entered["longitude"] < 4.5  # 12 NM off the Dutch coast, not at the shoreline


def test_country_rule_covers_the_territories_a_state_controls():
    """Curaçao is its own jurisdiction (CW) for bans, but a rule on NL means the Kingdom's airspace too."""
    eng = RuleEngine(parse_rules([{"name": "nl", "when": "country", "countries": ["NL"], "aircraft": "any"},
                                  {"name": "cw", "when": "country", "countries": ["CW"], "aircraft": "any"}]))
    # westbound from open sea north of Venezuela over Curaçao (12.2 N, 69.0 W)
    rows = [(i * 30, 12.2, -67.6 - i * 0.15, 30000) for i in range(12)]
    alerts = eng.on_positions(track("0d8123", rows))
    assert sorted(a["rule"] for a in alerts) == ["cw", "nl"]


def test_emergency_squawk_must_be_held_60_s():
    eng = RuleEngine(parse_rules([{"name": "em", "when": "squawk", "aircraft": "any"}]))
    # 7700 for 40 s, then back to normal: a mis-set code, no alert
    rows = [(i * 5, 52.0, 4.0 + i * 1e-3, 30000) for i in range(10)]
    sq = ["7700"] * 9 + ["1000"]
    assert eng.on_positions(track("4ca123", rows, squawk=sq)) == []
    # 7600 held for 75 s (over two batches): one alert, with the held time
    rows2 = [(100 + i * 5, 52.0, 4.1 + i * 1e-3, 30000) for i in range(10)]
    rows3 = [(150 + i * 5, 52.0, 4.2 + i * 1e-3, 30000) for i in range(10)]
    a1 = eng.on_positions(track("4ca123", rows2, squawk="7600"))
    a2 = eng.on_positions(track("4ca123", rows3, squawk="7600"))
    assert a1 == [] and len(a2) == 1
    assert a2[0]["squawk"] == "7600" and a2[0]["held_s"] >= 60
    assert a2[0]["evidence"]["points"][0]["timestamp"] == "2026-11-25T08:01:40Z"


def test_went_dark_airborne_away_from_airports_only():
    eng = RuleEngine(parse_rules([{"name": "dark", "when": "dark", "minutes": 10, "aircraft": "any"}]))
    tr = Tracker(detector=lambda p: pl.DataFrame(), hold_s=600)
    tr.update(pl.concat([
        track("aaaaaa", [(i * 10, 55.0 + i * 1e-3, 1.0, 33000) for i in range(10)]),  # mid North Sea
        track("bbbbbb", [(i * 10, EHAM[0], EHAM[1] + 0.02, 1200 + 0 * i) for i in range(10)]),  # on approach
        track("cccccc", [(i * 10, 54.0, 3.0, 0) for i in range(10)], onground=True),
    ]))
    now = T0 + timedelta(minutes=5)
    assert eng.on_tick(now, tr.last, tr.points_of, near_airport) == []
    now = T0 + timedelta(minutes=12)
    alerts = eng.on_tick(now, tr.last, tr.points_of, near_airport)
    assert [a["icao24"] for a in alerts] == ["aaaaaa"]
    assert alerts[0]["kind"] == "dark" and alerts[0]["silent_minutes"] >= 10
    assert len(alerts[0]["evidence"]["points"]) >= 3
    assert eng.on_tick(now + timedelta(minutes=5), tr.last, tr.points_of, near_airport) == []


def departure_from_eham(icao: str) -> pl.DataFrame:
    """Taxi at Schiphol, roll, lift off and climb out to the north-west."""
    rows, ground, speed = [], [], []
    for i in range(24):  # 4 minutes of taxi at 15 kt
        rows.append((i * 10, EHAM[0] - 0.01 + i * 2e-4, EHAM[1] - 0.01, 0))
        ground.append(True)
        speed.append(15.0)
    for i in range(1, 60):  # climb at 2,000 ft/min, 250 kt
        rows.append((240 + i * 10, EHAM[0] + i * 0.008, EHAM[1] - 0.01 - i * 0.008, 200 + i * 330))
        ground.append(False)
        speed.append(250.0)
    return track(icao, rows, onground=ground, groundspeed=speed,
                 vertical_rate=[0.0] * 24 + [2000.0] * 59)


def test_takeoff_alert_from_the_shared_detector():
    tr = Tracker(detect_every_s=0.0)
    eng = RuleEngine(parse_rules([{"name": "off", "when": "takeoff"}]), watchlist("4ca123"))
    pts = departure_from_eham("4ca123")
    alerts = []
    for chunk in pts.iter_slices(20):  # as batches arrive live
        tr.update(chunk)
        events = tr.detect(T0 + timedelta(hours=1), force=True)
        alerts += eng.on_phase_events(events, tr.recent)
    assert len(alerts) == 1
    a = alerts[0]
    assert a["kind"] == "takeoff" and a["airport"] == "EHAM" and a["icao24"] == "4ca123"
    assert a["evidence"]["points"] and a["reason"] == "ground"
    state = tr.state().row(0, named=True)
    assert state["phase"] == "airborne" and state["origin"] == "EHAM"
    assert state["leg_start"] == datetime.fromisoformat(a["time"].replace("Z", "+00:00"))


def test_near_airport_vectorised():
    mask = near_airport(np.array([EHAM[0], 55.0]), np.array([EHAM[1], 1.0]), 10.0)
    assert mask.tolist() == [True, False]
