"""`tailwatch bridge` on a reduced simulated month (sim/bridge_month.py with fewer background aircraft, the
same generator): the planted Russian, Iranian and Chinese freighter flights into Venezuela are found with
their chains, the decoys are excluded with their reason, the overflight is not counted, the co-location
at Algiers is found, the baseline holds the flights before the window (about 20 s)."""

from __future__ import annotations

from datetime import timedelta

import pytest

BACKGROUND = 150


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    from tailwatch.demo import write_feed
    from tailwatch.identity.registry import import_registry
    from tailwatch.ingest.pipeline import ingest_file
    from tailwatch.sim.bridge_month import bridge_month

    root = tmp_path_factory.mktemp("bridge-month")
    m = bridge_month(background=BACKGROUND)
    ingest_file(write_feed(m.points, root / "positions.parquet"), root / "archive")
    (root / "aircraft.csv").write_text(m.registry_lines(), encoding="utf-8")
    import_registry(root / "aircraft.csv", root / "archive")
    return m, root / "archive"


@pytest.fixture(scope="module")
def doc(month):
    from tailwatch.app.bridge import run_bridge

    m, archive = month
    return run_bridge(archive, "VE", m.window[0].isoformat(), m.window[1].isoformat(), from_="RU,IR,CN")


def test_the_month_is_what_it_says(month):
    m, _ = month
    assert m.points.height > 50_000 and m.points["icao24"].n_unique() >= BACKGROUND
    assert len(m.planted_in_window()) >= 30 and 1 <= len(m.planted_in_baseline()) < len(m.planted_in_window()) / 3
    assert m.points["timestamp"].min() >= m.data_start and m.points["timestamp"].max() <= m.window[1]
    # sparse coverage: nothing over the Sahara or open Atlantic, nothing low away from a feeder airport
    sahara = m.points.filter(m.points["latitude"].is_between(17, 30) & m.points["longitude"].is_between(-15, 30))
    assert sahara.height == 0
    from tailwatch.sim.bridge_month import near_feeder

    low = m.points.filter(m.points["altitude"] < 3000)
    assert near_feeder(low["latitude"].to_numpy(), low["longitude"].to_numpy()).all()
    again = __import__("tailwatch.sim.bridge_month", fromlist=["bridge_month"]).bridge_month(background=20)
    assert again.planted == __import__("tailwatch.sim.bridge_month", fromlist=["bridge_month"]).bridge_month(
        background=20).planted  # seeded


def test_planted_flights_found_with_their_chains(month, doc):
    from tailwatch.sim.bridge_month import score

    m, _ = month
    s = score(doc, m.planted_in_window())
    assert s["precision"] >= 0.98, s["false"]
    assert s["recall"] >= 0.9, s["missed"]
    by_key = {(p["icao24"], p["airport"], p["time"]): p for p in m.planted_in_window()}
    checked = 0
    for f in doc["flights"]:
        a = f["arrival"]
        planted = [p for (h, ap, _), p in by_key.items() if h == f["icao24"] and ap == a["icao"]]
        if not planted:
            continue
        route = min(planted, key=lambda p: abs((p["time"] - _t(a.get("time") or a["window"][0])).total_seconds()))["chain"]
        assert f["chain"][-1] == a["icao"]
        named = [c for c in f["chain"] if c is not None]
        assert [c for c in route if c in named] == named, (f["chain"], route)  # never a stop not flown
        if f["from_country"] is not None:
            assert f["chain"][0] == route[0] and f["from_country"] in ("RU", "IR", "CN")
        checked += 1
    assert checked >= 0.9 * len(m.planted_in_window())
    full = [f for f in doc["flights"] if f["chain"] and f["chain"][0] in ("UUWW", "URSS", "OIIE", "ZBAA", "ZUUU")]
    assert len(full) >= len(doc["flights"]) // 2  # most chains reach back to the home base
    assert doc["totals"]["flights"] == len(doc["flights"]) and set(doc["totals"]["by_origin_country"]) <= {"RU", "IR", "CN", "unknown"}


def _t(text):
    from tailwatch.times import parse_time

    return parse_time(text)


def test_decoys_excluded_with_reason_overflight_not_counted(month, doc):
    m, _ = month
    counted = {f["icao24"] for f in doc["flights"]}
    reasons = {e["icao24"]: e for e in doc["excluded"]}
    for key, d in m.decoys.items():
        assert d["icao24"] not in counted, key
        if d["reason"] is None:  # the same types flying elsewhere: never near, not listed
            assert d["icao24"] not in reasons, key
            continue
        assert reasons[d["icao24"]]["reason"] == d["reason"], (key, reasons.get(d["icao24"]))
    assert "TNCC" in reasons[m.decoys["NBR"]["icao24"]]["detail"]
    not_flagged = [h for h in m.not_flagged_into if reasons.get(h, {}).get("reason") == "not flagged"]
    assert len(not_flagged) >= 0.8 * len(m.not_flagged_into) > 0  # airliners into VE, listed with the test they failed
    assert all("not from CN,IR,RU" in reasons[h]["detail"] for h in not_flagged)


def test_colocation_and_baseline(month, doc):
    m, _ = month
    planted = {(c["airport"], tuple(c["icao24"])) for c in m.colocations
               if c["to"] >= m.window[0] and c["from"] <= m.window[1]}
    found = {(c["airport"], tuple(sorted(a["icao24"] for a in c["aircraft"]))) for c in doc["colocations"]}
    assert ("DAAG", ("154b01", "154c01")) in found  # RU1 and RU5 on the ground at Algiers together
    assert len(planted & found) >= 0.8 * len(planted)
    b = doc["baseline"]
    assert b["held"] and b["flights"] >= 1 and b["ratio"] is not None and b["ratio"] > 1
    assert "50%" in b["note"]  # the data begins two weeks before a four-week window
    assert doc["end"] > doc["start"] and len(doc["totals"]["timeline"]) == (m.window[1] - m.window[0]) // timedelta(days=1)
