"""One file's fault is that file's: whatever a reader raises on one file of a multi-file ingest
becomes that file's one-line error naming it; every good file is stored; exit 2 at the end.

And pandas' column-oriented JSON (traffic's `calibration/nice.json.gz`, `noisy/*.json.gz`),
which once aborted a whole ingest with a Polars schema error, reads as the table it is.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tailwatch.archive import scan
from tailwatch.ingest import readsb
from tailwatch.ingest.base import UnknownFormat
from tailwatch.ingest.detect import detect
from tailwatch.ingest.pipeline import ingest_files, read_file
from tailwatch.ingest.reading import file_error
from tailwatch.schema import COLUMNS


def tailwatch(*args: str) -> subprocess.CompletedProcess:
    import tailwatch as package

    source = str(Path(package.__file__).resolve().parents[1])  # this checkout's code, not an installed copy
    return subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True,
                          timeout=600, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": source})


def _column_oriented(traffic_samples: Path) -> list[Path]:
    files = []
    for path in sorted([*(traffic_samples / "noisy").glob("*.json.gz"), *(traffic_samples / "calibration").glob("*.json.gz")]):
        if gzip.decompress(path.read_bytes()).lstrip()[:1] == b"{":
            files.append(path)
    return files


def test_whole_samples_folder_stores_every_good_file(tmp_path: Path, traffic_samples: Path):
    """The traffic wheel's whole samples folder: the two files that hold no points are named, one line
    each; every other file is stored, pandas' column-oriented ones included."""
    arc = tmp_path / "arc"
    out = tailwatch("ingest", str(traffic_samples), "--archive", str(arc))
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, errors
    assert any("airspaces/LFBOTMA.json: unknown format" in e for e in errors)  # a GeoJSON airspace
    assert any("performance/fuelflow_a320.json.gz: unknown format" in e for e in errors)  # no positions
    assert all(len(e) < 400 for e in errors)
    stored = scan(arc).select("icao24", "callsign").unique().collect()
    for address in ("39b415", "440549", "4baac6", "3946e4"):  # nice, noisy_ground, noisy_spoofing, noisy_takeoff
        assert address in stored["icao24"].to_list(), address
    manifests = list((arc / "_ingested").rglob("*"))
    assert len([m for m in manifests if m.is_file()]) >= 80


def test_column_oriented_json_reads_as_its_records(tmp_path: Path, traffic_samples: Path):
    """Each column-oriented sample reads the same points as its own rows written as a records array."""
    files = _column_oriented(traffic_samples)
    assert {f.name for f in files} >= {"nice.json.gz", "noisy_ground.json.gz", "noisy_spoofing.json.gz",
                                       "noisy_takeoff.json.gz"}
    for path in files:
        assert detect(path).name == "traffic-json"
        frame, rejects = read_file(path)
        doc = json.loads(gzip.decompress(path.read_bytes()))
        index = list(next(iter(doc.values())))
        records = [{name: column.get(i) for name, column in doc.items()} for i in index]
        assert rejects.records == len(records) and frame.height + rejects.total == len(records)
        as_records = tmp_path / f"records-{path.name}"
        as_records.write_bytes(gzip.compress(json.dumps(records).encode()))
        expected, _ = read_file(as_records)
        assert frame.select(COLUMNS).equals(expected.select(COLUMNS)), path.name
    nice, _ = read_file(traffic_samples / "calibration" / "nice.json.gz")
    assert nice.height == 1246 and nice["icao24"].unique().to_list() == ["39b415"]
    assert nice["callsign"].unique().to_list() == ["CALIBRA"]


def test_column_oriented_without_points_is_unknown_format(tmp_path: Path):
    path = tmp_path / "perf.json"
    path.write_text(json.dumps({"timestamp": {"0": 1, "1": 2}, "fuelflow": {"0": 3.5, "1": 3.6}}))
    with pytest.raises(UnknownFormat, match=r"perf\.json: unknown format"):
        read_file(path)


def test_fault_message_is_one_line_naming_the_file():
    huge = pl.exceptions.SchemaError("could not evaluate\n" + "x" * 20_000)
    text = file_error("a/b.json", huge)
    assert text.startswith("a/b.json: cannot read (SchemaError: could not evaluate")
    assert "\n" not in text and len(text) < 300
    assert file_error("a/b.json", KeyError("trace")) == "a/b.json: cannot read (KeyError: 'trace')"


def _traces(tmp_path: Path, traffic_samples: Path, n: int) -> list[Path]:
    text = (traffic_samples / "readsb" / "trace_full_ac671b.json").read_text()
    files = []
    for k in range(n):
        icao = f"{0xAC671B + k:06x}"
        path = tmp_path / f"trace_full_{icao}.json"
        path.write_text(text.replace('"icao":"ac671b"', f'"icao":"{icao}"', 1))
        files.append(path)
    return files


@pytest.mark.parametrize("fault", [KeyError("trace"), TypeError("odd"), pl.exceptions.ComputeError("bad"),
                                   pl.exceptions.PanicException("panic")])
def test_batched_read_that_fails_falls_back_to_one_by_one(tmp_path: Path, traffic_samples: Path,
                                                          monkeypatch: pytest.MonkeyPatch, fault: BaseException):
    """Files read together that fail together are read again one by one: only the bad one fails,
    with its path, and the others are stored as if it had not been there."""
    files = _traces(tmp_path, traffic_samples, 4)
    bad = files[2]
    real = readsb.TraceReader.read_many

    def read_many(self, paths, rejects):
        if bad in paths:
            raise fault
        return real(self, paths, rejects)

    monkeypatch.setattr(readsb.TraceReader, "read_many", read_many)
    summaries = ingest_files(files, tmp_path / "arc")
    assert [s.error is None for s in summaries] == [True, True, False, True]
    assert summaries[2].error.startswith(f"{bad}: cannot read ({type(fault).__name__}")
    assert [s.points for s in summaries] == [2500, 2500, 0, 2500]
    stored = scan(tmp_path / "arc").collect()
    assert stored.height == 3 * 2500 and "ac671d" not in stored["icao24"].unique().to_list()


def test_reader_fault_on_one_file_among_others(tmp_path: Path, traffic_samples: Path, monkeypatch: pytest.MonkeyPatch):
    """A reader without `read_many` raising something unforeseen (not BadInput) on one file."""
    from tailwatch.ingest import fr24

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("372355e5.json", "2ce4f83f.json"):
        shutil.copy(traffic_samples / "fr24" / name, folder / name)
    real = fr24.FlightJsonReader.read

    def read(self, path, rejects, batch_rows=1_000_000):
        if path.name == "2ce4f83f.json":
            raise ValueError("a shape nobody foresaw")
        return real(self, path, rejects, batch_rows)

    monkeypatch.setattr(fr24.FlightJsonReader, "read", read)
    summaries = ingest_files(sorted(folder.iterdir()), tmp_path / "arc")
    by_name = {Path(s.path).name: s for s in summaries}
    assert by_name["2ce4f83f.json"].error == f"{folder / '2ce4f83f.json'}: cannot read (ValueError: a shape nobody foresaw)"
    assert by_name["372355e5.json"].error is None and by_name["372355e5.json"].points == 634


def test_debug_shows_the_traceback_of_an_unforeseen_fault(monkeypatch: pytest.MonkeyPatch, capsys):
    """`tailwatch --debug` (TAILWATCH_DEBUG): the one-line error stays, and the traceback is shown too."""
    def fail():
        raise KeyError("trace")

    try:
        fail()
    except KeyError as exc:
        caught = exc
    assert "Traceback" not in capsys.readouterr().err
    monkeypatch.setenv("TAILWATCH_DEBUG", "1")
    assert file_error("x.json", caught) == "x.json: cannot read (KeyError: 'trace')"
    err = capsys.readouterr().err
    assert err.startswith("x.json:\nTraceback") and "in fail" in err


def test_json_of_an_unknown_shape_is_unknown_format(tmp_path: Path):
    """JSON with the point names but objects where values belong: said so, never a schema error downstream."""
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"timestamp": {"a": 1}, "icao24": {"a": "abc123"}, "latitude": {"a": 1.0},
                                "longitude": {"a": 2.0}}) + "\n")
    with pytest.raises(UnknownFormat, match=r"odd\.json: unknown format"):
        read_file(path)
    summaries = ingest_files([path], tmp_path / "arc")
    assert summaries[0].error.startswith(f"{path}: unknown format")
