"""`tailwatch ingest` on a folder of mixed good and bad files, into an archive that already holds data.

DESIGN.md: bad input gives one-line errors naming the file (and line or offset), exit 2,
and nothing already stored is lost; the good files of the same run still go in.
"""

from __future__ import annotations

import gzip
import re
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

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


CORPUS = Path(__file__).parent / "data" / "corpus"  # inputs that once crashed a reader, or nearly (README there)


def ingest_in_process(capsys, *args: str) -> tuple[int, str]:
    """`tailwatch ingest ...` in this process (a subprocess per corpus file costs seconds)."""
    from tailwatch.cli import main

    try:
        main(["ingest", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("path", sorted((CORPUS / "bad").iterdir()), ids=lambda p: p.name)
def test_corpus_of_bad_files(path: Path, tmp_path: Path, capsys):
    """Truncated, corrupt, random, huge-line and bomb inputs: one line naming the file and where, exit 2,
    and nothing written to the archive (no points, no manifest, no temporary file)."""
    arc = tmp_path / "arc"
    code, err = ingest_in_process(capsys, str(path), "--archive", str(arc))
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert re.match(rf"error: {re.escape(str(path))}(@\d+|:\d+)?: ", errors[0]), errors[0]
    if path.name.startswith(("trace_truncated", "trace_bomb", "states_bomb", "fr24_cut", "trace_cut")):
        assert re.match(rf"error: {re.escape(str(path))}(@\d+|:\d+): ", errors[0]), errors[0]  # and where
    assert not [p for p in arc.rglob("*") if p.is_file()], sorted(arc.rglob("*"))


def test_corpus_rows_out_of_range_are_rejected_by_line(tmp_path: Path, capsys):
    """NaN, infinite and out-of-range positions and times, and callsigns that are not UTF-8:
    the rows are rejected with their line, the others stored, every stored value finite and in range."""
    arc = tmp_path / "arc"
    files = sorted((CORPUS / "rejects").iterdir())
    code, err = ingest_in_process(capsys, *map(str, files), "--archive", str(arc))
    assert code == 0, err
    csv = CORPUS / "rejects" / "states_nan_inf_range.csv"
    for line in (3, 4, 5, 6, 8):  # NaN, inf, -inf, 91.5, 1e308 latitudes
        assert f"rejected {csv}:{line}: position out of range" in err, err
    points = scan(arc).collect()
    assert points.height > 0
    assert points.filter(~pl.col("latitude").is_between(-90, 90) | ~pl.col("longitude").is_between(-180, 180)
                         | pl.col("latitude").is_nan() | pl.col("longitude").is_nan()).height == 0
    years = points["timestamp"].dt.year()
    assert years.min() >= 1990 and years.max() < 2100
    by_file = {Path(s).name: n for s, n in zip(*_stored_counts(arc))}
    assert by_file["states_nan_inf_range.csv"] == 3  # lines 2, 7, 9 of 11 rows
    assert by_file["states_non_utf8_callsign.csv"] == 2  # kept, the bytes replaced
    assert by_file["aircraft_out_of_range.json"] == 2
    callsigns = points.filter(pl.col("source") == "opensky")["callsign"].drop_nulls().to_list()
    assert all(isinstance(c, str) for c in callsigns) and any("\ufffd" in c for c in callsigns)


def _stored_counts(arc: Path) -> tuple[list[str], list[int]]:
    manifests = [json.loads(p.read_text()) for p in (arc / "_ingested").glob("*.json")]
    return [m["path"] for m in manifests], [m["written"] for m in manifests]
