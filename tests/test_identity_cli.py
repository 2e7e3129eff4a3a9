"""CLI: whois, watchlist import|show, scan — through the real entry point."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from tailwatch.archive import write_frames
from tailwatch.cli import main
from tailwatch.app.scan import scan_watchlist
from tailwatch.schema import conform

DATA = Path(__file__).parent / "data" / "identity"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """The CLI console is made at import, before COLUMNS can be set: widen it directly."""
    import tailwatch.cli

    monkeypatch.setattr(tailwatch.cli.console, "width", 250)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def test_whois_offline(capsys):
    code, out, _ = run(capsys, "whois", "RA-78765")
    assert code == 0 and "1533ad" in out and "Russia" in out and "Aviacon Zitotrans" in out
    code, out, _ = run(capsys, "whois", "N12345")
    assert code == 0 and "a061d9" in out and "United States" in out
    code, out, _ = run(capsys, "whois", "ra78765", "--format", "json")
    ident = json.loads(out)
    assert ident["icao24"] == "1533ad" and ident["country"] == "RU" and ident["registration"] == "RA-78765"
    assert ident["watchlists"][0]["list"] == "seed"


def test_whois_unknown_exit_1(capsys):
    code, out, err = run(capsys, "whois", "EP-GOL")
    assert code == 1 and out == "" and err.strip().startswith("no result:") and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "whois", "000000")
    assert code == 1
    code, _, err = run(capsys, "whois", "RA-78765", "--format", "xml")
    assert code == 2 and "--format" in err


def _points(icao24: str, start: datetime, n: int, lat0: float, lon0: float) -> pl.DataFrame:
    times = [start + timedelta(seconds=60 * i) for i in range(n)]
    return conform(pl.DataFrame({
        "timestamp": times, "icao24": [icao24] * n, "callsign": ["TST123"] * n,
        "latitude": [lat0 + 0.01 * i for i in range(n)], "longitude": [lon0 + 0.02 * i for i in range(n)],
        "altitude": [30000.0] * n,
    }), source="test")


@pytest.fixture()
def archive(tmp_path):
    archive = tmp_path / "archive"
    day1 = datetime(2024, 6, 1, 10, tzinfo=timezone.utc)
    day2 = datetime(2024, 6, 2, 8, tzinfo=timezone.utc)
    write_frames(archive, [pl.concat([
        _points("1533ad", day1, 30, 55.0, 37.0), _points("1533ad", day2, 20, 43.0, 45.0),
        _points("4b1805", day1, 10, 46.2, 6.1), _points("abcdef", day1, 10, 40.0, -74.0),
    ])], "identitytest")
    return archive


def test_watchlist_import_show_and_scan(capsys, archive, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = run(capsys, "watchlist", "import", str(DATA / "sdn.xml"), str(DATA / "handlist.csv"),
                       "--archive", str(archive))
    assert code == 0 and "ofac-sdn-xml" in out
    code, out, _ = run(capsys, "watchlist", "import", str(DATA / "sdn.xml"), "--archive", str(archive))
    assert code == 0
    code, out, _ = run(capsys, "watchlist", "show", "--archive", str(archive), "--format", "json", "--no-seed")
    rows = json.loads(out)
    assert len(rows) == 6  # importing twice did not duplicate
    by_id = {r["entry_id"]: r for r in rows}
    assert by_id["90001"]["icao24"] == "1533ad" and by_id["90003"]["icao24"] is None
    code, out, _ = run(capsys, "watchlist", "show", "--archive", str(archive), "--unresolved", "--format", "csv")
    lines = out.strip().splitlines()
    assert len(lines) == 3 and all("unresolved" in line for line in lines[1:])
    code, out, _ = run(capsys, "watchlist", "show", "--archive", str(archive))
    assert code == 0 and "unresolved" in out and "1533ad" in out

    result = scan_watchlist(archive)
    seen = {r["icao24"]: r for r in result.to_dicts()}
    assert seen["1533ad"]["points"] == 50 and seen["1533ad"]["days"] == 2
    assert seen["1533ad"]["first_seen"] == datetime(2024, 6, 1, 10, tzinfo=timezone.utc)
    assert seen["1533ad"]["lat_min"] == pytest.approx(43.0) and seen["1533ad"]["lat_max"] == pytest.approx(55.29)
    assert seen["4b1805"]["points"] == 10 and seen["a061d9"]["points"] == 0  # listed, never seen
    assert "abcdef" not in seen  # not on a list
    windowed = scan_watchlist(archive, start=datetime(2024, 6, 2, tzinfo=timezone.utc))
    assert {r["icao24"]: r["points"] for r in windowed.to_dicts()}["1533ad"] == 20
    code, out, _ = run(capsys, "scan", "--archive", str(archive), "--start", "2024-06-02T00:00:00Z", "--format", "json")
    assert code == 0
    assert {r["icao24"]: r["points"] for r in json.loads(out)}["1533ad"] == 20
    first = {r["icao24"]: r for r in json.loads(out)}["1533ad"]
    assert first["first_seen"].startswith("2024-06-02T") and first["first_seen"].endswith("Z")  # UTC with a Z
    code, out, _ = run(capsys, "scan", "--archive", str(archive))
    assert code == 0 and "not seen" in out
    code, _, err = run(capsys, "scan", "--archive", str(archive), "--start", "yesterday")
    assert code == 2 and "ISO 8601" in err


def test_whois_uses_archive_lists(capsys, archive):
    run(capsys, "watchlist", "import", str(DATA / "sdn.csv"), str(DATA / "aircraft-database-complete-2024-06.csv"),
        "--archive", str(archive))
    code, out, _ = run(capsys, "whois", "152c97", "--archive", str(archive), "--format", "json")
    ident = json.loads(out)
    assert ident["registration"] == "RA-76951"
    assert {w["id"] for w in ident["watchlists"]} >= {"90101", "90102/152c97"}
    code, _, err = run(capsys, "watchlist", "import", str(DATA / "bomb.xml"), "--archive", str(archive))
    assert code == 2 and "entity" in err and len(err.strip().splitlines()) == 1
