"""`tailwatch itinerary --all` over an archive: the batch ends with one summary line on stderr
(itineraries, points, seconds, points/s, aircraft/s) and its documents are the JSON on stdout."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl

from tailwatch.archive import ArchiveWriter
from tailwatch.ingest.pipeline import read_file


def _quickstart_20min(traffic_samples: Path, tmp_path: Path) -> tuple[Path, pl.DataFrame]:
    """An archive of the first 20 minutes of the real quickstart day, and those points."""
    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null())
    part = frame.filter(pl.col("timestamp") < frame["timestamp"].min() + timedelta(minutes=20))
    archive = tmp_path / "arc"
    writer = ArchiveWriter(archive, "quickstart-20min")
    writer.write(part)
    writer.flush()
    writer.commit({"source": "quickstart, first 20 minutes"})
    return archive, part


def test_every_aircraft_ends_with_a_summary_line(traffic_samples: Path, tmp_path: Path) -> None:
    archive, part = _quickstart_20min(traffic_samples, tmp_path)
    from tailwatch.engines.duckdb import count_points

    stored = count_points(archive)
    out = subprocess.run([sys.executable, "-m", "tailwatch.cli", "itinerary", "--archive", str(archive), "--all",
                          "--format", "json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    docs = json.loads(out.stdout)
    line = out.stderr.strip().splitlines()[-1]
    found = re.fullmatch(r"([\d,]+) itineraries \(([\d,]+) points, ([\d.]+) s: ([\d,]+) points/s, ([\d.,]+) aircraft/s\)",
                         line)
    assert found, line
    assert int(found[1].replace(",", "")) == len(docs) == part["icao24"].n_unique()
    assert int(found[2].replace(",", "")) == stored
    seconds, rate = float(found[3]), int(found[4].replace(",", ""))  # seconds printed to 0.1
    assert stored / (seconds + 0.05) - 1 <= rate <= stored / max(seconds - 0.05, 1e-3) + 1


def test_one_pass_over_many_aircraft_gives_each_what_its_own_pass_gives(traffic_samples: Path) -> None:
    """`batch.prepare` cuts, summarises pieces, finds take-offs and landings and the airports
    under ground pieces for a whole chunk at once; cut per aircraft, it must equal the pass over
    that aircraft's points alone (the single-aircraft path is the batch of one), piece ids too."""
    from polars.testing import assert_frame_equal

    from tailwatch.itinerary.batch import prepare

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null())
    shares = prepare(frame.sample(fraction=1.0, shuffle=True, seed=7))  # any row order
    assert set(shares) == set(frame["icao24"].unique())
    with_ground = with_events = 0
    for icao24, share in shares.items():
        alone = prepare(frame.filter(pl.col("icao24") == icao24))[icao24]
        assert_frame_equal(share.cut, alone.cut)
        assert_frame_equal(share.table, alone.table)
        order = list(share.events.columns)
        assert_frame_equal(share.events.sort(order), alone.events.sort(order))
        assert share.ground_airports == alone.ground_airports
        assert share.table["piece"].min() == 0
        with_ground += bool(share.ground_airports)
        with_events += share.events.height > 0
    assert with_ground > 20 and with_events > 20  # the day's real traffic: many seen at airports


def test_a_batch_of_itineraries_equals_each_built_alone(traffic_samples: Path) -> None:
    """`core.itineraries_of` over a chunk of aircraft gives the very documents `itinerary_of`
    gives one aircraft at a time."""
    from tailwatch.hiding.dark import Coverage
    from tailwatch.itinerary.core import Surroundings, itineraries_of, itinerary_of

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null()).sort("icao24", "timestamp")
    busiest = frame.group_by("icao24").len().sort("len", "icao24", descending=True)["icao24"].head(30).to_list()
    chunk = frame.filter(pl.col("icao24").is_in(busiest))
    around = Surroundings(others=Coverage(frame))
    together = [doc for doc, _ in itineraries_of(chunk, lambda _: around)]
    alone = [itinerary_of(chunk.filter(pl.col("icao24") == h), around)[0] for h in sorted(busiest)]
    assert [d["aircraft"]["icao24"] for d in together] == sorted(busiest)
    assert sum(len(d["legs"]) for d in together) >= 30
    assert json.dumps(together, sort_keys=True, default=str) == json.dumps(alone, sort_keys=True, default=str)


def test_a_batch_is_written_as_it_goes_with_the_bytes_of_the_whole(traffic_samples: Path, tmp_path: Path) -> None:
    """`itinerary --all --format json --out F` hands each document to the file as it is made (no
    list of the batch is kept); the file holds exactly what rendering the whole list gives, and a
    batch of one aircraft is one object, as `--format json` has always written."""
    from tailwatch.app.itineraries import itineraries
    from tailwatch.app.output import JsonStream, render_json

    archive, _ = _quickstart_20min(traffic_samples, tmp_path)
    docs, _ = itineraries(archive, None, None, None, None, None, every_aircraft=True, with_points=False)
    handed: list[dict] = []
    kept, frames = itineraries(archive, None, None, None, None, None, every_aircraft=True, with_points=False,
                               on_doc=lambda doc, points: handed.append(doc))
    assert kept == [] and frames == {} and len(handed) == len(docs) > 10
    out = tmp_path / "all.json"
    run = subprocess.run([sys.executable, "-m", "tailwatch.cli", "itinerary", "--archive", str(archive), "--all",
                          "--format", "json", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert out.read_text(encoding="utf-8") == render_json(docs) + "\n"
    assert not list(tmp_path.glob(".all.json*"))  # the temporary name is gone
    assert re.search(rf"^{len(docs):,} itineraries \(", run.stderr, re.M)
    for batch in ([], docs[:1], docs[:3]):
        import io

        buffer = io.StringIO()
        stream = JsonStream(buffer)
        for doc in batch:
            stream.write(doc)
        assert stream.close() == len(batch)
        assert buffer.getvalue() == render_json(batch) + "\n"


def test_pieces_renumbered_per_aircraft_from_runs_as_by_a_window(traffic_samples: Path) -> None:
    """Each aircraft's cut and piece table, renumbered from 0, come from the runs of the address
    column (`batch._own_pieces`) as from a window over it: the same slices, the same numbers, on
    the real quickstart day in address order and shuffled (where the runs are not whole)."""
    from tailwatch.itinerary.batch import _own_pieces, _renumbered, by_aircraft
    from tailwatch.itinerary.flights import pieces

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    cut, table = pieces(frame.filter(pl.col("latitude").is_not_null()))
    assert table["icao24"].n_unique() > 100
    for part in (cut, table, table.sample(fraction=1.0, shuffle=True, seed=5)):
        got, want = _own_pieces(part), by_aircraft(_renumbered(part))
        assert list(got) == list(want) and all(got[h].equals(want[h]) for h in want)
        assert all(got[h]["piece"].min() == 0 for h in got)
    assert _own_pieces(table.clear()) == {}


def test_piece_ends_find_the_valid_values_a_running_scan_finds(traffic_samples: Path) -> None:
    """`flights._Column` finds the next/last valid value of a column by a binary search among
    its valid positions: the same indices as the running maximum/minimum over every point it
    replaced, for every position of the real quickstart day's altitude, speed, track and
    vertical-rate columns (and for a column with no valid value, and one all valid)."""
    import numpy as np

    from tailwatch.itinerary.flights import _Column, cut_pieces

    cut = cut_pieces(read_file(traffic_samples / "collections" / "quickstart.json.gz")[0]
                     .filter(pl.col("latitude").is_not_null()))
    n = cut.height
    columns = [cut[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in ("alt", "groundspeed", "track",
                                                                             "vertical_rate")]
    assert all(np.isnan(v).any() and not np.isnan(v).all() for v in columns)
    everywhere = np.arange(n)
    for values in columns + [np.full(n, np.nan), np.zeros(n)]:
        valid = ~np.isnan(values)
        last = np.maximum.accumulate(np.where(valid, everywhere, -1))
        nxt = np.minimum.accumulate(np.where(valid, everywhere, n)[::-1])[::-1]
        column = _Column(values)
        assert np.array_equal(column.last_valid(everywhere), last)
        assert np.array_equal(column.next_valid(everywhere), nxt)
        lo = np.sort(np.random.default_rng(3).integers(0, n, 500))
        hi = np.minimum(lo + 40, n - 1)
        got, at = column.first_in(lo, hi)
        assert np.array_equal(at, np.where(nxt[lo] <= hi, nxt[lo], -1))
        assert np.array_equal(got, np.where(at >= 0, values[at], np.nan), equal_nan=True)
        got, at = column.last_in(lo, hi)
        assert np.array_equal(at, np.where(last[hi] >= lo, last[hi], -1))
        assert np.array_equal(got, np.where(at >= 0, values[at], np.nan), equal_nan=True)


def test_addresses_parsed_once_a_run_as_row_by_row(traffic_samples: Path) -> None:
    """`flights._address_numbers` parses each run of the address column once: the numbers of
    the row-by-row parse on the real quickstart day in address order (runs), shuffled (row by
    row), and with addresses that are not hexadecimal or missing (-1)."""
    import numpy as np

    from tailwatch.itinerary.flights import _address_numbers

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    ordered = frame.sort(["icao24", "timestamp"])["icao24"]
    odd = pl.Series("icao24", ["zzzzzz"] * 40 + [None] * 40 + ["3c6444"] * 40, pl.String)
    for icao24 in (ordered, ordered.shuffle(seed=2), pl.concat([ordered, odd])):
        want = icao24.str.to_integer(base=16, strict=False).fill_null(-1).to_numpy()
        got = _address_numbers(icao24)
        assert got.dtype == np.int64 and np.array_equal(got, want)
    assert ordered.rle().len() * 8 <= ordered.len() and (_address_numbers(pl.concat([ordered, odd]))[-120:-40] == -1).all()
