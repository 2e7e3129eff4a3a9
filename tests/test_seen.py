"""What the recordings say about the aircraft (`seen/`): read from real FR24 files and from
aircraft.json snapshots, stored once, and used by whois, watchlists, itineraries and serve."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from tailwatch.cli import main
from tailwatch.ingest.pipeline import ingest_files, read_file
from tailwatch.schema import SEEN_SCHEMA
from tailwatch.seen_store import read_seen, seen_root

HBJMF = "34a8254b"  # Edelweiss A340-300 HB-JMF, address 4b1901, LSZH → MMUN


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(now: float, entries: list[dict]) -> str:
    return json.dumps({"now": now, "messages": 1000, "aircraft": entries})


def a340(registration: str, **extra) -> dict:
    """One readsb aircraft.json entry as readsb writes it with an aircraft database (README-json)."""
    return {"hex": "4b1901", "type": "adsb_icao", "flight": "EDW24   ", "r": registration, "t": "A343",
            "desc": "AIRBUS A-340-300", "ownOp": "", "year": "2003", "alt_baro": 35000, "gs": 480.0,
            "track": 250.0, "lat": 46.5, "lon": 6.5, "seen_pos": 0.4, "mlat": [], "tisb": [], **extra}


@pytest.fixture(scope="module")
def fr24(traffic_samples: Path) -> Path:
    return traffic_samples / "fr24"


def test_fr24_claims(fr24: Path):
    _, rejects = read_file(fr24 / f"{HBJMF}.json")
    seen = rejects.seen
    assert dict(seen.schema) == SEEN_SCHEMA and seen.height == 1
    row = seen.row(0, named=True)
    assert (row["icao24"], row["registration"], row["typecode"], row["description"]) == (
        "4b1901", "HB-JMF", "A343", "Airbus A340-313")
    assert (row["operator"], row["callsign"], row["origin"], row["destination"]) == (
        "Edelweiss Air", "EDW24", "LSZH", "MMUN")
    assert row["military"] is None and row["year"] is None  # FR24 says nothing of them: not known
    assert row["first"] < row["last"] and row["source"] == "fr24" and row["file"].endswith(f"{HBJMF}.json")


def test_aircraft_json_claims_and_position_source(tmp_path: Path):
    """dbFlags bits (1 military, 2 interesting, 4 PIA, 8 LADD), absent dbFlags with a database entry
    = no flag, no database fields = nothing claimed; empty text is null; how each position was got."""
    path = tmp_path / "aircraft.json"
    path.write_text(snapshot(1712400000.0, [
        a340("HB-JMF"),  # no dbFlags written: readsb writes it only when it is not zero
        {**a340("AE-1234", dbFlags=13), "hex": "ae1234", "type": "mlat", "mlat": ["lat", "lon", "gs"]},
        {"hex": "3c6444", "type": "tisb_icao", "flight": "DLH1", "lat": 48.0, "lon": 9.0, "seen_pos": 1.0},
        {"hex": "3c6445", "type": "adsc", "lat": 48.0, "lon": 9.0, "seen_pos": 1.0},
        {"hex": "3c6446", "type": "mode_s", "lat": 48.0, "lon": 9.0, "seen_pos": 1.0},
        {"hex": "3c6447", "lat": 48.0, "lon": 9.0, "seen_pos": 1.0},
    ]))
    frame, rejects = read_file(path)
    how = dict(zip(frame["icao24"], frame["position_source"]))
    assert how == {"4b1901": "adsb", "ae1234": "mlat", "3c6444": "tisb", "3c6445": "adsc", "3c6446": "other",
                   "3c6447": None}
    claims = {r["icao24"]: r for r in rejects.seen.to_dicts()}
    assert set(claims) == {"4b1901", "ae1234"}  # a callsign alone is no claim
    hb = claims["4b1901"]
    assert hb["registration"] == "HB-JMF" and hb["operator"] is None and hb["year"] == 2003
    assert [hb[f] for f in ("military", "interesting", "pia", "ladd")] == [False] * 4
    mil = claims["ae1234"]
    assert [mil[f] for f in ("military", "interesting", "pia", "ladd")] == [True, False, True, True]
    assert hb["first"] == hb["last"] and hb["first"].timestamp() == 1712400000.0


def test_aircraft_json_series_read_together_claims_alike(tmp_path: Path):
    from tailwatch.ingest.aircraft_json import READER
    from tailwatch.ingest.base import Rejects

    paths = []
    for k, reg in enumerate(("HB-JMF", "HB-JMF", "9H-BIG")):
        path = tmp_path / f"{k}.json"
        path.write_text(snapshot(1712400000.0 + 600 * k, [a340(reg), {"hex": "3c6444", "lat": 48.0, "lon": 9.0}]))
        paths.append(path)
    together = [Rejects() for _ in paths]
    frames = READER.read_many(paths, together)
    for path, frame, rejects in zip(paths, frames, together):
        alone = Rejects()
        assert frame.equals(pl.concat(list(READER.read(path, alone))))
        assert rejects.seen.equals(alone.seen) and rejects.seen.height == 1


def test_ingest_writes_claims_once(fr24: Path, tmp_path: Path):
    archive = tmp_path / "archive"
    flights = sorted(fr24.glob("*.json"))
    assert all(s.error is None for s in ingest_files(flights, archive))
    files = sorted(seen_root(archive).rglob("*.parquet"))
    assert len(files) == 4 and all(f.parent.name.startswith("date=") for f in files)
    before = {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in files}
    again = ingest_files(flights, archive)
    assert all(s.skipped for s in again)
    assert {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in sorted(seen_root(archive).rglob("*.parquet"))} == before
    # the manifest gone (as after a crash between claims and manifest): re-read, same files, no second copy
    for manifest in (archive / "_ingested").glob("*.json"):
        os.remove(manifest)
    ingest_files(flights, archive)
    assert sorted(seen_root(archive).rglob("*.parquet")) == files
    claims = read_seen(archive)
    assert claims.height == 4 and claims["icao24"].n_unique() == 4
    assert read_seen(archive, registrations=["hbjmf"])["icao24"].to_list() == ["4b1901"]
    assert read_seen(archive, icao24s=["4BAAC6"])["registration"].to_list() == ["TC-JVF"]
    assert read_seen(tmp_path / "nothing").height == 0


@pytest.fixture(scope="module")
def archive(fr24: Path, tmp_path_factory) -> Path:
    """The four real FR24 flights and nothing else: no registry, no list."""
    arc = tmp_path_factory.mktemp("seen") / "archive"
    assert all(s.error is None for s in ingest_files(sorted(fr24.glob("*.json")), arc))
    return arc


def test_whois_registration_from_the_data_alone(capsys, archive: Path):
    code, _, err = run(capsys, "whois", "HB-JMF")
    assert code == 1 and "no address" in err  # no archive: nothing knows HB-JMF
    code, out, err = run(capsys, "whois", "HB-JMF", "--archive", str(archive), "--format", "json")
    assert code == 0, err
    ident = json.loads(out)
    assert ident["icao24"] == "4b1901" and ident["typecode"] == "A343" and ident["operator"] == "Edelweiss Air"
    assert ident["found_by"]["icao24"] == f"the recording's own field ({ident['recorded_flights'][0]['file']})"
    assert ident["recorded_flights"][0]["file"].endswith(f"fr24/{HBJMF}.json")
    assert ident["recorded_flights"] == [{
        "callsign": "EDW24", "origin": "LSZH", "destination": "MMUN", "first": "2024-04-06T10:43:07Z",
        "last": "2024-04-06T21:42:37Z", "source": "fr24", "file": ident["recorded_flights"][0]["file"],
        "evidence": "the recording's own claim, not observed"}]
    code, out, err = run(capsys, "whois", "4b1901", "--archive", str(archive))
    assert code == 0, err
    lines = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
    assert lines["registration"].startswith("HB-JMF (the recording's own field (") and f"{HBJMF}.json" in lines["registration"]
    assert lines["type"].startswith("A343 (the recording's own field (")
    assert lines["recorded"].startswith("HB-JMF A343 (Airbus A340-313), Edelweiss Air")
    assert lines["recorded flight"].startswith("EDW24 LSZH → MMUN")


def test_ranked_below_rules(capsys, archive: Path):
    """TC-JVF: the Turkish allocation rule gives the address; the recording agrees and gives the type."""
    code, out, err = run(capsys, "whois", "TC-JVF", "--archive", str(archive), "--format", "json")
    assert code == 0, err
    ident = json.loads(out)
    assert ident["icao24"] == "4baac6" and ident["found_by"]["icao24"].startswith("rule")
    assert "recorded" not in ident["found_by"]  # the recording names the same address
    assert ident["typecode"] == "B738" and ident["found_by"]["typecode"].startswith("the recording's own field")


def test_watchlist_resolves_by_recorded_registration(capsys, archive: Path, tmp_path: Path):
    listing = tmp_path / "list.csv"
    listing.write_text("registration,note\nHB-JMF,seen only in a recording\nZZ-NONE,nowhere\n")
    code, _, err = run(capsys, "watchlist", "import", str(listing), "--archive", str(archive))
    assert code == 0, err
    code, out, err = run(capsys, "watchlist", "show", "--archive", str(archive), "--no-seed", "--format", "json")
    assert code == 0, err
    rows = {r["registrations"][0]: r for r in json.loads(out)}
    assert rows["HB-JMF"]["icao24"] == "4b1901" and rows["HB-JMF"]["confidence"] == 0.8
    assert rows["HB-JMF"]["evidence"].startswith("the recording's own field (") and "HB-JMF, 2024-04-06T10:43:07Z" in rows["HB-JMF"]["evidence"]
    assert rows["ZZ-NONE"]["icao24"] is None


def itinerary_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, "itinerary", *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_itinerary_by_registration_on_input_and_archive(capsys, fr24: Path, archive: Path, tmp_path: Path):
    """`--aircraft HB-JMF` on the FR24 file itself and on the archive it was ingested into: the
    address, registration and type come from the recording; its own airports stand beside the
    observed ones as a claim, never in their place."""
    on_input = itinerary_json(capsys, "--input", str(fr24 / f"{HBJMF}.json"), "--aircraft", "HB-JMF")
    on_archive = itinerary_json(capsys, "--archive", str(archive), "--aircraft", "HB-JMF")
    for doc in (on_input, on_archive):
        ac = doc["aircraft"]
        assert (ac["icao24"], ac["registration"], ac["typecode"], ac["country"]) == ("4b1901", "HB-JMF", "A343", "CH")
        assert ac["found_by"]["typecode"].startswith("the recording's own field (")
        assert doc["airlift"]["type"] == "A343"  # the type reached the payload step (the table has no A340-300)
        assert [(f["origin"], f["destination"], f["evidence"]) for f in ac["recorded_flights"]] == [
            ("LSZH", "MMUN", "the recording's own claim, not observed")]
        assert doc["route"]["airports"] == ["LSZH", "MMUN"]  # what the points show
    assert on_input["legs"] == on_archive["legs"]
    # a window holding part of the flight keeps the flight's recorded airports (`resolve.in_window`)
    code, out, _ = run(capsys, "itinerary", "--archive", str(archive), "--aircraft", "4b1901",
                       "--start", "2024-04-06T20:00:00Z", "--format", "json")
    assert code == 0 and json.loads(out)["aircraft"]["recorded_flights"][0]["origin"] == "LSZH"  # overlaps
    listing = tmp_path / "by-registration.csv"
    listing.write_text("registration,note\nHB-JMF,named in the file only\n")
    by_list = itinerary_json(capsys, "--input", str(fr24 / f"{HBJMF}.json"), "--watchlist", str(listing))
    assert by_list["aircraft"]["icao24"] == "4b1901" and by_list["legs"] == on_input["legs"]
    code, _, err = run(capsys, "itinerary", "--input", str(fr24 / f"{HBJMF}.json"), "--aircraft", "ZZ-NONE")
    assert code == 1 and "no address known" in err


def test_fr24_itinerary_with_a_known_type_has_payload(capsys, fr24: Path, tmp_path: Path):
    """The real HB-JMF track with its file's type field set to one the payload table knows (B744: the
    table holds no type of the four FR24 samples): the legs get a payload figure from the data's type."""
    doc = json.loads((fr24 / f"{HBJMF}.json").read_text())
    doc["result"]["response"]["data"]["flight"]["aircraft"]["model"]["code"] = "B744"
    path = tmp_path / "hbjmf-b744.json"
    path.write_text(json.dumps(doc))
    itin = itinerary_json(capsys, "--input", str(path), "--aircraft", "HB-JMF")
    assert itin["aircraft"]["typecode"] == "B744" and itin["airlift"]["known"] is True
    leg = next(leg for leg in itin["legs"] if leg["origin"] and leg["destination"])
    assert leg["max_payload_t"] is not None and leg["max_payload_t"] > 0


def test_timeline_of_a_registration_change(capsys, tmp_path: Path):
    """Two aircraft.json snapshots a year apart: the address 4b1901 is HB-JMF, then 9H-ABC (re-flagged),
    and a second aircraft carries the old registration HB-JMF afterwards on another address."""
    folder = tmp_path / "snapshots"
    folder.mkdir()
    (folder / "a.json").write_text(snapshot(1712400000.0, [a340("HB-JMF")]))
    (folder / "b.json").write_text(snapshot(1743936000.0, [a340("9H-ABC", flight="AMC101"),
                                                            {**a340("HB-JMF"), "hex": "4b1a00", "lat": 47.1}]))
    archive = tmp_path / "archive"
    assert all(s.error is None for s in ingest_files(sorted(folder.iterdir()), archive))
    code, out, err = run(capsys, "whois", "4b1901", "--archive", str(archive), "--format", "json")
    assert code == 0, err
    ident = json.loads(out)
    assert [(e["registration"], e["first"], e["last"]) for e in ident["identity_history"]] == [
        ("HB-JMF", "2024-04-06T10:40:00Z", "2024-04-06T10:40:00Z"),
        ("9H-ABC", "2025-04-06T10:40:00Z", "2025-04-06T10:40:00Z")]
    assert ident["identity_changes"] == "the recordings name address 4b1901 as HB-JMF, then 9H-ABC"
    assert ident["registration"] == "9H-ABC" and ident["found_by"]["registration"].endswith("b.json)")
    # by registration: the newest address named, the older one in the timeline
    code, out, err = run(capsys, "whois", "HB-JMF", "--archive", str(archive), "--format", "json")
    ident = json.loads(out)
    assert ident["icao24"] == "4b1a00"
    assert [(e["icao24"], e["registration"]) for e in ident["identity_history"]] == [
        ("4b1901", "HB-JMF"), ("4b1a00", "HB-JMF")]
    code, out, err = run(capsys, "whois", "4b1901", "--archive", str(archive))
    assert "identity change\tthe recordings name address 4b1901 as HB-JMF, then 9H-ABC" in out
    assert out.count("identity timeline\t") == 2
    docs = itinerary_json(capsys, "--archive", str(archive), "--aircraft", "4b1901")
    assert [e["registration"] for e in docs["aircraft"]["identity_history"]] == ["HB-JMF", "9H-ABC"]
    assert docs["aircraft"]["identity_changes"].startswith("the recordings name address 4b1901")


def test_serve_search_and_aircraft_page(archive: Path):
    import httpx
    from test_web_serve import Served

    server = Served(archive)
    try:
        with httpx.Client(base_url=server.base, timeout=60, trust_env=False) as c:
            hits = c.get("/api/search", params={"q": "HB-JMF"}).json()["aircraft"]
            assert [h["icao24"] for h in hits] == ["4b1901"] and hits[0]["points"] > 0
            assert hits[0]["matched"][0].startswith("registration (the recording's own field (")
            prefix = {h["icao24"]: h for h in c.get("/api/search", params={"q": "HB-J"}).json()["aircraft"]}
            assert set(prefix) == {"4b1901"} and "recorded as HB-JMF" in prefix["4b1901"]["matched"]
            airline = {h["icao24"]: h for h in c.get("/api/search", params={"q": "edelweiss"}).json()["aircraft"]}
            assert "recorded as Edelweiss Air" in airline["4b1901"]["matched"]
            ident = c.get("/api/aircraft/4b1901").json()["identity"]
            assert ident["registration"] == "HB-JMF" and ident["recorded"]["typecode"] == "A343"
            assert [e["registration"] for e in ident["identity_history"]] == ["HB-JMF"]
            page = c.get("/static/investigate.js").text
            assert "Identity timeline" in page and "recorded_flights" in page
    finally:
        assert server.stop() == 0


def test_aircraft_page_shows_the_recorded_identity_in_chromium(archive: Path, tmp_path: Path):
    """The serve aircraft page in headless Chromium: the recorded identity, its timeline and the
    flight's recorded airports, marked as the recording's claim; no console error."""
    from browser import browser_page
    from test_web_serve import Served

    server = Served(archive)
    errors: list[str] = []
    outside: list[str] = []
    try:
        with browser_page(server.base, tmp_path, errors, outside) as page:
            page.goto(server.base + "aircraft/4b1901", wait_until="load")
            page.wait_for_selector("table.identity-timeline tbody tr", timeout=30_000)
            text = page.locator("#identity").inner_text()
            timeline = page.locator("table.identity-timeline tbody tr").all_inner_texts()
            flights = page.locator("table.recorded-flights tbody tr").all_inner_texts()
    finally:
        assert server.stop() == 0
    assert not errors and not outside
    assert "HB-JMF" in text.splitlines()[0] and "A343" in text
    assert "Recorded identity (the recordings' own fields)" in text and "Edelweiss Air" in text
    assert "the recording's own field (" in text
    assert len(timeline) == 1 and "HB-JMF" in timeline[0] and "fr24" in timeline[0]
    assert len(flights) == 1 and "LSZH" in flights[0] and "MMUN" in flights[0]
    assert "the recording's own claim, not observed" in text
