"""`tailwatch itinerary` end to end: archive and --input, json and md, exit codes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from tailwatch.archive import ArchiveWriter
from tailwatch.cli import main
from tailwatch.geo.airports import airport
from tailwatch.sim import simulate_trip

T0 = datetime(2025, 6, 1, 6, tzinfo=timezone.utc)
LEG_KEYS = {"origin", "destination", "takeoff", "landing", "origin_evidence", "destination_evidence", "confidence",
            "great_circle_km", "flown_km", "countries", "banned_countries", "max_payload_t"}


def _trip(icao24: str, codes: list[str], start: datetime) -> pl.DataFrame:
    pts, _ = simulate_trip([airport(c) for c in codes], start, [3.0] * (len(codes) - 2), icao24, step_s=10)
    return pts


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("itin")
    a = _trip("4b1901", ["LSZH", "LFPG", "EGLL"], T0)
    b = _trip("3c6444", ["EDDF", "LOWW"], T0 + timedelta(hours=1))
    archive = root / "archive"
    writer = ArchiveWriter(archive, "test")
    writer.write(pl.concat([a, b]))
    writer.flush()
    writer.commit({})
    csv = root / "states.csv"
    _state_vectors(pl.concat([a, b]).sort("timestamp")).write_csv(csv)
    return archive, csv, root


def _state_vectors(points: pl.DataFrame) -> pl.DataFrame:
    """Canonical points → OpenSky historical state-vector CSV columns (SI units, epoch seconds)."""
    secs = pl.col("timestamp").dt.epoch("us") / 1e6
    return points.select(
        secs.alias("time"), pl.col("icao24"), pl.col("latitude").alias("lat"), pl.col("longitude").alias("lon"),
        (pl.col("groundspeed").cast(pl.Float64) * 1852 / 3600).alias("velocity"),
        pl.col("track").cast(pl.Float64).alias("heading"),
        (pl.col("vertical_rate").cast(pl.Float64) * 0.3048 / 60).alias("vertrate"),
        pl.col("callsign"), pl.col("onground"), pl.lit(False).alias("alert"), pl.lit(False).alias("spi"),
        pl.col("squawk"), (pl.col("altitude").cast(pl.Float64) * 0.3048).alias("baroaltitude"),
        pl.lit(None, pl.Float64).alias("geoaltitude"), secs.alias("lastposupdate"), secs.alias("lastcontact"),
    )


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(["itinerary", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_archive_json_follows_the_stable_schema(data, capsys):
    archive, _, _ = data
    code, out, err = run(capsys, "--archive", str(archive), "--aircraft", "4b1901")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "tailwatch.itinerary/1"
    assert doc["aircraft"]["icao24"] == "4b1901"
    assert {"icao24", "registration", "typecode", "country", "watchlists"} <= set(doc["aircraft"])
    assert [leg["origin"]["icao"] for leg in doc["legs"]] == ["LSZH", "LFPG"]
    for leg in doc["legs"]:
        assert LEG_KEYS <= set(leg)
        assert leg["takeoff"].endswith("Z") and leg["landing"].endswith("Z")
        assert {"first_point", "last_point", "n_points", "reasons", "alternatives", "gaps"} <= set(leg)
    assert doc["route"]["airports"] == ["LSZH", "LFPG", "EGLL"]
    assert {"direct_km", "flown_km", "legal_shortest_km"} <= set(doc["route"])
    # the archive's history of the aircraft is the prior for unseen stops, and is shown
    assert set(doc["airport_history"]["airports_used"]) == {"LSZH", "LFPG", "EGLL"}
    for stop in doc["stops"]:
        assert {"score", "runner_up_score", "window_start", "window_end", "reasons"} <= set(stop)


def test_markdown_briefing(data, capsys):
    archive, _, root = data
    out_path = root / "brief.md"
    code, _, err = run(capsys, "--archive", str(archive), "--aircraft", "4b1901", "--format", "md",
                       "--out", str(out_path))
    assert code == 0, err
    text = out_path.read_text()
    assert "### Departure: **LSZH**" in text and "### Stop 1: **LFPG**" in text and "### Arrival: **EGLL**" in text
    assert "*observed*" in text and "| 1 | 1 | LSZH | LFPG |" in text


def test_input_files_several_aircraft_give_an_array(data, capsys):
    _, csv, _ = data
    code, out, err = run(capsys, "--input", str(csv))
    assert code == 0, err
    docs = json.loads(out)
    assert isinstance(docs, list) and {d["aircraft"]["icao24"] for d in docs} == {"4b1901", "3c6444"}
    by = {d["aircraft"]["icao24"]: d for d in docs}
    assert by["3c6444"]["route"]["airports"] == ["EDDF", "LOWW"]


def test_input_takes_several_files_after_one_flag(data, capsys, tmp_path):
    _, csv, _ = data
    frame = pl.read_csv(csv)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    frame.filter(pl.col("icao24") == "4b1901").write_csv(first)
    frame.filter(pl.col("icao24") != "4b1901").write_csv(second)
    code, out, err = run(capsys, "--input", str(first), str(second), "--format", "json")
    assert code == 0, err
    assert {d["aircraft"]["icao24"] for d in json.loads(out)} == {"4b1901", "3c6444"}
    assert run(capsys, str(first))[0] == 2  # a file without --input


def test_time_window_and_watchlist(data, capsys, tmp_path):
    archive, _, _ = data
    wl = tmp_path / "list.csv"
    wl.write_text("icao24,name\n3c6444,test entry\n")
    code, out, err = run(capsys, "--archive", str(archive), "--watchlist", str(wl))
    assert code == 0, err
    assert json.loads(out)["aircraft"]["icao24"] == "3c6444"
    # a window that holds only the first leg of 4b1901
    end = (T0 + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, err = run(capsys, "--archive", str(archive), "--aircraft", "4b1901", "--end", end)
    assert code == 0, err
    assert json.loads(out)["route"]["airports"][:2] == ["LSZH", "LFPG"]


def test_exit_codes(data, capsys):
    archive, _, _ = data
    assert run(capsys, "--archive", str(archive), "--aircraft", "abcdef")[0] == 1  # not in the data
    assert run(capsys, "--aircraft", "4b1901")[0] == 2  # neither --archive nor --input
    assert run(capsys, "--archive", str(archive), "--aircraft", "4b1901", "--start", "yesterday")[0] == 2
    assert run(capsys, "--input", "/nonexistent/file.csv")[0] == 2
    code, _, err = run(capsys, "--archive", str(archive), "--aircraft", "4b1901", "--format", "pdf")
    assert code == 2 and "--format" in err


def test_every_aircraft_of_a_window(data, capsys):
    archive, _, _ = data
    code, out, err = run(capsys, "--archive", str(archive), "--all")
    assert code == 0, err
    docs = json.loads(out)
    assert [d["aircraft"]["icao24"] for d in docs] == ["3c6444", "4b1901"]
    code, one, err = run(capsys, "--archive", str(archive), "--aircraft", "4b1901")
    assert code == 0 and json.loads(one) == docs[1]
    from tailwatch.engines.duckdb import summary_by_aircraft

    seen = summary_by_aircraft(archive)
    first_b = seen.filter(pl.col("icao24") == "3c6444")["first_seen"][0]
    end = (first_b - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, err = run(capsys, "--archive", str(archive), "--all", "--end", end)  # before 3c6444 shows
    assert code == 0, err
    doc = json.loads(out)
    assert doc["aircraft"]["icao24"] == "4b1901"
    code, _, err = run(capsys, "--archive", str(archive), "--all", "--start", "2030-01-01", "--end", "2030-01-02")
    assert code == 1 and "no points for any aircraft" in err
    code, _, err = run(capsys, "--archive", str(archive), "--all", "--aircraft", "4b1901")
    assert code == 2 and "--all" in err
