"""Property tests: every reader, fed random bytes or a mutated valid file, either
returns canonical points (counting what it skipped) or raises BadInput naming the
file. Never another exception, never a crash.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailwatch.ingest.base import BadInput
from tailwatch.ingest.detect import detect
from tailwatch.ingest.pipeline import read_file
from tailwatch.schema import POINT_SCHEMA


READERS = [
    ("tailwatch.ingest.opensky", "CSV_READER"),
    ("tailwatch.ingest.opensky", "REST_READER"),
    ("tailwatch.ingest.readsb", "TRACE_READER"),
    ("tailwatch.ingest.aircraft_json", "READER"),
    ("tailwatch.ingest.fr24", "JSON_READER"),
    ("tailwatch.ingest.fr24", "CSV_READER"),
    ("tailwatch.ingest.sbs", "READER"),
    ("tailwatch.ingest.parquet", "READER"),
    ("tailwatch.ingest.traffic_json", "READER"),
    ("tailwatch.ingest.traffic_csv", "READER"),
]


def reader_of(spec):
    import importlib

    return getattr(importlib.import_module(spec[0]), spec[1])


def run_reader(reader, data: bytes, name: str = "input.bin") -> None:
    from tailwatch.ingest.base import Rejects
    from tailwatch.ingest.validate import valid_points

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        rejects = Rejects()
        try:
            for frame in valid_points(reader.read(path, rejects, 64), rejects, str(path)):
                for column, dtype in POINT_SCHEMA.items():
                    assert frame.schema[column] == dtype
        except BadInput as exc:
            assert str(path) in str(exc)
            assert "\n" not in str(exc).strip()


FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("spec", READERS, ids=[f"{m.rsplit('.', 1)[1]}.{a}" for m, a in READERS])
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(spec, data: bytes):
    run_reader(reader_of(spec), data)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_gzip_and_detection(data: bytes):
    import zstandard

    for payload in (data, gzip.compress(data), zstandard.ZstdCompressor().compress(data)):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.json"
            path.write_bytes(payload)
            try:
                read_file(path)
            except BadInput as exc:
                assert str(path) in str(exc)


# --- mutated valid inputs --------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid_inputs(traffic_samples: Path) -> dict[str, bytes]:
    """One small valid file per format (real data cut down, or derived from it)."""
    trace = json.loads((traffic_samples / "readsb" / "trace_full_ac671b.json").read_bytes())
    trace_text = (
        '{"icao":"ac671b",\n "timestamp": 1738703622.619,\n "trace":[\n'
        + ",\n".join(json.dumps(r, separators=(",", ":")) for r in trace["trace"][:40])
        + "\n]\n}\n"
    )
    fr24 = json.loads((traffic_samples / "fr24" / "3376ab31.json").read_bytes())
    fr24["result"]["response"]["data"]["flight"]["track"] = fr24["result"]["response"]["data"]["flight"]["track"][:30]
    quick = pl.DataFrame(json.loads(gzip.decompress((traffic_samples / "collections" / "quickstart.json.gz").read_bytes()))[:40])
    sv = quick.select(
        (pl.col("timestamp") // 1000).alias("time"), "icao24", pl.col("latitude").alias("lat"),
        pl.col("longitude").alias("lon"), (pl.col("groundspeed") * 0.514).alias("velocity"),
        pl.col("track").alias("heading"), (pl.col("vertical_rate") * 0.00508).alias("vertrate"), "callsign",
        "onground", pl.lit(False).alias("alert"), pl.lit(False).alias("spi"), "squawk",
        (pl.col("altitude") * 0.3048).alias("baroaltitude"), (pl.col("altitude") * 0.3048).alias("geoaltitude"),
        (pl.col("timestamp") / 1000).alias("lastposupdate"), (pl.col("timestamp") / 1000).alias("lastcontact"),
    )
    rows = list(quick.iter_rows(named=True))
    aircraft = {"now": rows[-1]["timestamp"] / 1000, "aircraft": [
        {"hex": r["icao24"], "flight": r["callsign"], "alt_baro": r["altitude"], "gs": r["groundspeed"],
         "lat": r["latitude"], "lon": r["longitude"], "seen_pos": 1.0} for r in rows[:10]]}
    rest = {"time": rows[-1]["timestamp"] // 1000, "states": [
        [r["icao24"], r["callsign"], "X", r["timestamp"] / 1000, 0, r["longitude"], r["latitude"], 1000.0, False,
         100.0, 90.0, 0.0, None, 1000.0, r["squawk"], False, 0] for r in rows[:10]]}
    sbs = "\n".join(
        f"MSG,3,1,1,{r['icao24'].upper()},1,2021/10/07,12:00:{i:02d}.000,2021/10/07,12:00:{i:02d}.000,,"
        f"{r['altitude']},,,{r['latitude']},{r['longitude']},,,0,0,0,0"
        for i, r in enumerate(rows[:30])
    )
    fr24_csv = "Timestamp,UTC,Callsign,Position,Altitude,Speed,Direction\n" + "\n".join(
        f'{r["timestamp"] // 1000},2021-10-07T12:00:00Z,ABC,"{r["latitude"]},{r["longitude"]}",{r["altitude"]},300,90'
        for r in rows[:30]
    )
    parquet = Path(tempfile.mkdtemp()) / "sv.parquet"
    sv.write_parquet(parquet)
    return {
        "CSV_READER@opensky": sv.write_csv().encode(),
        "REST_READER@opensky": json.dumps(rest).encode(),
        "TRACE_READER@readsb": trace_text.encode(),
        "READER@aircraft_json": json.dumps(aircraft).encode(),
        "JSON_READER@fr24": json.dumps(fr24).encode(),
        "CSV_READER@fr24": fr24_csv.encode(),
        "READER@sbs": sbs.encode(),
        "READER@parquet": parquet.read_bytes(),
        "READER@traffic_json": quick.write_json().encode(),
        "READER@traffic_csv": quick.write_csv().encode(),
    }


def key(spec) -> str:
    return f"{spec[1]}@{spec[0].rsplit('.', 1)[1]}"


@pytest.mark.parametrize("spec", READERS, ids=[key(s) for s in READERS])
def test_valid_inputs_read_cleanly(spec, valid_inputs):
    data = valid_inputs[key(spec)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "valid"
        path.write_bytes(data)
        assert detect(path) is reader_of(spec)
        frame, rejects = read_file(path, icao24="abcdef")  # the address fills only rows without one
        assert frame.height >= 10, rejects


mutation = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(["flip", "delete", "insert", "cut"]),
              st.binary(min_size=1, max_size=8)),
    min_size=1, max_size=6,
)


def mutate(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for pos, kind, payload in edits:
        if not buf:
            break
        at = pos % len(buf)
        if kind == "flip":
            buf[at] ^= payload[0] or 1
        elif kind == "delete":
            del buf[at: at + len(payload)]
        elif kind == "insert":
            buf[at:at] = payload
        else:
            del buf[at:]
    return bytes(buf)


@pytest.mark.parametrize("spec", READERS, ids=[key(s) for s in READERS])
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=mutation)
def test_mutated_valid_input(spec, valid_inputs, edits):
    run_reader(reader_of(spec), mutate(valid_inputs[key(spec)], edits))


# --- values at and beyond the edges, compressed streams cut anywhere ------------------------

HEADER = ("time,icao24,lat,lon,velocity,heading,vertrate,callsign,onground,alert,spi,squawk,"
          "baroaltitude,geoaltitude,lastposupdate,lastcontact,hour")
edge_float = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([90.0, -180.0, 1e308, -0.0]))
edge_time = st.one_of(st.floats(min_value=-1e12, max_value=1e13), st.just(float("nan")), st.integers(-10**15, 10**15))
state_row = st.tuples(edge_time, edge_float, edge_float, st.binary(max_size=12))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(state_row, min_size=1, max_size=40))
def test_state_vectors_with_edge_values(rows):
    """NaN, inf, huge, negative times and non-UTF-8 callsigns: each row is kept with a finite,
    in-range position and a time in 1990-2100, or counted as rejected; nothing else happens."""
    lines = [HEADER.encode()]
    for t, lat, lon, callsign in rows:
        callsign = callsign.replace(b",", b" ").replace(b"\n", b" ").replace(b"\r", b" ")
        lines.append(b"%s,4b1801,%r,%r,200,90,0,%s,false,false,false,1000,10000,10100,%s,%s,0"
                     % (str(t).encode(), lat, lon, callsign, str(t).encode(), str(t).encode()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "states.csv"
        path.write_bytes(b"\n".join(lines) + b"\n")
        frame, rejects = read_file(path)
    assert frame.height + rejects.total == len(rows)
    if frame.height:
        assert frame["latitude"].is_between(-90, 90).all() and frame["longitude"].is_between(-180, 180).all()
        years = frame["timestamp"].dt.year()
        assert years.min() >= 1990 and years.max() < 2100
        assert all(isinstance(c, str) for c in frame["callsign"].drop_nulls())


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(["gzip", "zstd"]), cut=st.floats(min_value=0.0, max_value=1.0))
def test_compressed_trace_cut_anywhere(valid_inputs, kind, cut):
    """A gzip or zstd trace cut at any byte: read whole, or one BadInput naming the file and the offset."""
    import zstandard

    data = valid_inputs[key(("tailwatch.ingest.readsb", "TRACE_READER"))]
    packed = gzip.compress(data) if kind == "gzip" else zstandard.ZstdCompressor().compress(data)
    end = int(len(packed) * cut)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace_full_ac671b.json"
        path.write_bytes(packed[:end])
        try:
            frame, _ = read_file(path)
        except BadInput as exc:
            assert end < len(packed)
            assert str(exc).startswith(f"{path}@") or str(exc).startswith(f"{path}:"), exc
        else:
            assert end == len(packed) and frame.height == 40


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(mutation, min_size=2, max_size=4))
def test_aircraft_json_series_read_together_as_alone(valid_inputs, edits):
    """Mutated snapshots read in one pass (`read_many`) give each file what reading it alone gives."""
    from tailwatch.ingest.aircraft_json import READER
    from tailwatch.ingest.base import Rejects

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k, edit in enumerate(edits):
            path = Path(tmp) / f"{k}.json"
            path.write_bytes(mutate(valid_inputs["READER@aircraft_json"], edit) if k % 2 else
                             valid_inputs["READER@aircraft_json"])
            paths.append(path)
        together = READER.read_many(paths, [Rejects() for _ in paths])
        for path, got in zip(paths, together):
            try:
                frames = list(READER.read(path, Rejects()))
            except BadInput as exc:
                assert isinstance(got, BadInput) and str(exc) == str(got)
                continue
            want = pl.concat(frames) if frames else pl.DataFrame()
            assert isinstance(got, pl.DataFrame) and got.equals(want), path.name
