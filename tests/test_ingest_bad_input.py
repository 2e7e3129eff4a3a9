"""`tailwatch ingest` on a folder of mixed good and bad files, into an archive that already holds data.

DESIGN.md: bad input gives one-line errors naming the file (and line or offset), exit 2,
and nothing already stored is lost; the good files of the same run still go in.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from tailwatch.archive import scan

OPENSKY_HEADER = ("time,icao24,lat,lon,velocity,heading,vertrate,callsign,onground,alert,spi,squawk,"
                  "baroaltitude,geoaltitude,lastposupdate,lastcontact,hour")


def tailwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True,
                          timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def parquet_digests(archive: Path) -> dict[str, str]:
    return {str(p.relative_to(archive)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in archive.rglob("*.parquet")}


def test_mixed_folder_keeps_the_good_and_names_the_bad(tmp_path: Path, traffic_samples: Path):
    arc = tmp_path / "arc"
    first = tailwatch("ingest", str(traffic_samples / "readsb"), "--archive", str(arc))
    assert first.returncode == 0, first.stderr
    before = parquet_digests(arc)
    stored_before = scan(arc).select(pl.len()).collect().item()
    assert before and stored_before == 2500

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(traffic_samples / "fr24" / "372355e5.json", mixed / "flight.json")
    trace = gzip.compress((traffic_samples / "readsb" / "trace_full_ac671b.json").read_bytes())
    (mixed / "trace_full_cut.json").write_bytes(trace[: len(trace) // 2])  # a download cut short
    (mixed / "empty.csv").write_bytes(b"")
    (mixed / "noise.bin").write_bytes(bytes(range(256)) * 4)
    (mixed / "states.csv").write_text(
        OPENSKY_HEADER + "\n"
        "1600000000,4b1801,47.1,8.5,200,90,0,SWR1,false,false,false,1000,10000,10100,1600000000,1600000000,1599998400\n"
        "1600000020,4b1801,notanumber,8.7,200,90,0,SWR1\n"
        "1600000030,4b1801,47.3,8.7,200,90,0,SWR1,false,false,false,1000,10000,10100,1600000030,1600000030,1599998400\n"
    )
    out = tailwatch("ingest", str(mixed), "--archive", str(arc))

    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    for name in ("trace_full_cut.json", "empty.csv", "noise.bin"):
        hits = [line for line in errors if name in line]
        assert len(hits) == 1, (name, errors)  # one line per bad file, naming it
    assert not any(name in line for line in errors for name in ("flight.json", "states.csv"))
    assert f"{mixed / 'states.csv'}:3" in out.stderr  # the bad line, by number

    # nothing already stored was touched; the good files and good lines went in
    after = parquet_digests(arc)
    assert all(after.get(name) == digest for name, digest in before.items())
    points = scan(arc).collect()
    assert points.height == stored_before + 634 + 2  # 372355e5 holds 634 points
    assert points.filter(pl.col("icao24") == "4b1801").height == 2


def test_itinerary_input_reports_skipped_lines(tmp_path: Path):
    """`itinerary --input` skips a bad line like ingest does, and says so in the report."""
    rows = [f"{1600000000 + 60 * i},4b1801,{47.0 + 0.05 * i},{8.5 + 0.05 * i},200,45,0,SWR1,false,false,false,1000,"
            f"10000,10100,{1600000000 + 60 * i},{1600000000 + 60 * i},1599998400" for i in range(10)]
    rows[5] = "1600000300,4b1801,notanumber,8.7,200,90,0,SWR1"
    path = tmp_path / "states.csv"
    path.write_text(OPENSKY_HEADER + "\n" + "\n".join(rows) + "\n")
    out = tailwatch("itinerary", "--input", str(path), "--format", "json")
    assert out.returncode == 0, out.stderr
    notes = json.loads(out.stdout)["notes"]
    assert any(f"{path}:7: unparsable lat" in note and "1 record(s) skipped" in note for note in notes), notes


def test_empty_folder_is_bad_input_not_success(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    out = tailwatch("ingest", str(tmp_path / "empty"), "--archive", str(tmp_path / "arc"))
    assert out.returncode == 2 and "no files to ingest" in out.stderr and "Traceback" not in out.stderr


def test_itinerary_watchlist_lists_unresolved_and_unseen_entries(tmp_path: Path, traffic_samples: Path):
    """An unresolved list entry or a listed aircraft without points is said, never silently dropped."""
    arc = tmp_path / "arc"
    assert tailwatch("ingest", str(traffic_samples / "fr24" / "372355e5.json"), "--archive", str(arc)).returncode == 0
    icao24 = scan(arc).select("icao24").collect()["icao24"][0]
    (tmp_path / "list.csv").write_text(f"icao24,registration,note\n{icao24},,seen\n,EP-XYZ,no rule for Iran\n"
                                       "abcdef,,never seen\n")
    out = tailwatch("itinerary", "--archive", str(arc), "--watchlist", str(tmp_path / "list.csv"), "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["aircraft"]["icao24"] == icao24
    notes = " | ".join(doc["notes"])
    assert "EP-XYZ" in notes and "unresolved" in notes, notes
    assert "not seen in the data: abcdef" in notes, notes


def test_damaged_gzip_is_named_with_its_offset(tmp_path: Path, traffic_samples: Path):
    """A truncated gzip is still recognised by what decompresses, and the error says where it stops."""
    from tailwatch.ingest.base import BadInput
    from tailwatch.ingest.detect import detect
    from tailwatch.ingest.pipeline import read_file

    whole = gzip.compress((traffic_samples / "readsb" / "trace_full_ac671b.json").read_bytes())
    cut = tmp_path / "trace_full_ac671b.json"  # readsb names gzip traces .json
    cut.write_bytes(whole[:20_000])
    assert detect(cut).name.startswith("readsb")  # not "unknown format"
    try:
        read_file(cut)
    except BadInput as exc:
        assert f"{cut}@20000" in str(exc) and "truncated" in str(exc)
    else:
        raise AssertionError("a truncated gzip must be refused")
    garbage = tmp_path / "noise.gz"
    garbage.write_bytes(b"\x1f\x8b\x08\x00" + b"not deflate data" * 10)
    out = tailwatch("ingest", str(garbage), "--archive", str(tmp_path / "arc"))
    assert out.returncode == 2 and f"{garbage}@0" in out.stderr and "Traceback" not in out.stderr
