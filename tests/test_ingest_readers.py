"""Every reader on real files (traffic's samples) or on files derived from them.

Formats without a real sample in the traffic wheel (OpenSky state vectors, REST
JSON, aircraft.json, SBS-1, the FR24 CSV) are written here from the published
format descriptions, filled with real points of `collections/quickstart.json.gz`
converted to each format's units, so a reader must give back the same points.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tailwatch.ingest.base import BadInput, UnknownFormat
from tailwatch.ingest.detect import detect
from tailwatch.ingest.pipeline import read_file
from tailwatch.schema import M_TO_FT, MS_TO_FPM, MS_TO_KT, POINT_SCHEMA

FT_TO_M = 1 / M_TO_FT


# --- builders from real points ---------------------------------------------------------------


def quickstart(samples: Path, aircraft: int = 4) -> pl.DataFrame:
    """Real points (traffic names, ms timestamps) of the first few aircraft of quickstart."""
    raw = pl.DataFrame(json.loads(gzip.decompress((samples / "collections" / "quickstart.json.gz").read_bytes())))
    keep = raw["icao24"].unique(maintain_order=True).head(aircraft)
    return raw.filter(pl.col("icao24").is_in(keep.implode()))


def opensky_frame(points: pl.DataFrame) -> pl.DataFrame:
    """The same points as OpenSky `state_vectors_data4` rows (SI units, seconds)."""
    return points.select(
        (pl.col("timestamp") // 1000).alias("time"),
        "icao24",
        pl.col("latitude").alias("lat"),
        pl.col("longitude").alias("lon"),
        (pl.col("groundspeed") / MS_TO_KT).alias("velocity"),
        pl.col("track").alias("heading"),
        (pl.col("vertical_rate") / MS_TO_FPM).alias("vertrate"),
        pl.col("callsign").str.pad_end(8),
        "onground",
        pl.lit(False).alias("alert"),
        pl.lit(False).alias("spi"),
        "squawk",
        (pl.col("altitude") * FT_TO_M).alias("baroaltitude"),
        (pl.col("altitude") * FT_TO_M + 30.48).alias("geoaltitude"),
        (pl.col("timestamp") / 1000).alias("lastposupdate"),
        (pl.col("timestamp") / 1000 + 0.2).alias("lastcontact"),
        ((pl.col("timestamp") // 3_600_000) * 3600).alias("hour"),
    )


def expected_from(points: pl.DataFrame) -> pl.DataFrame:
    return points.select(
        pl.from_epoch("timestamp", "ms").dt.replace_time_zone("UTC").dt.cast_time_unit("us").alias("timestamp"),
        "icao24", "latitude", "longitude",
        pl.col("altitude").cast(pl.Float32), pl.col("groundspeed").cast(pl.Float32),
        pl.col("track").cast(pl.Float32), pl.col("vertical_rate").cast(pl.Float32),
    ).sort(["icao24", "timestamp"], maintain_order=True)


def assert_same_points(got: pl.DataFrame, want: pl.DataFrame, tol: float = 0.01) -> None:
    got = got.sort(["icao24", "timestamp"], maintain_order=True)
    assert got.height == want.height
    assert got["icao24"].to_list() == want["icao24"].to_list()
    assert (got["timestamp"] == want["timestamp"]).all()
    for col in ("latitude", "longitude", "altitude", "groundspeed", "track", "vertical_rate"):
        if col in want.columns:
            diff = (got[col].cast(pl.Float64) - want[col].cast(pl.Float64)).abs()
            assert (diff.fill_null(0) <= tol * (1 + want[col].cast(pl.Float64).abs().fill_null(0))).all(), col
            assert got[col].null_count() == want[col].null_count(), col


@pytest.fixture(scope="module")
def points(traffic_samples: Path) -> pl.DataFrame:
    return quickstart(traffic_samples)


# --- canonical output contract ------------------------------------------------------------


def check_canonical(frame: pl.DataFrame, source: str) -> None:
    for name, dtype in POINT_SCHEMA.items():
        assert frame.schema[name] == dtype, name
    assert frame["source"].unique().to_list() == [source]
    assert frame["icao24"].str.contains(r"^[0-9a-f]{6}$").all()


# --- readsb traces (real) -----------------------------------------------------------------


def test_readsb_trace_real_sample(traffic_samples: Path):
    path = traffic_samples / "readsb" / "trace_full_ac671b.json"
    assert detect(path).name == "readsb-trace"
    frame, rejects = read_file(path)
    check_canonical(frame, "readsb-trace")
    assert frame.height == 2500 and rejects.total == 0
    assert frame["icao24"].unique().to_list() == ["ac671b"]
    assert str(frame["timestamp"][0]) == "2025-02-04 21:13:42.619000+00:00"
    assert frame["onground"].sum() == 394  # rows whose altitude is "ground"
    assert frame.filter("onground")["altitude"].null_count() == 394
    # the new-leg flag (bit 2 of field 6) is kept as an optional column for the itinerary builder
    assert frame["new_leg"].sum() == 3
    assert {"DAL1812", "DAL2418"} <= set(frame["callsign"].drop_nulls().to_list())
    assert frame.filter(pl.col("timestamp") >= frame["timestamp"][3])["callsign"].null_count() == 0
    assert frame["geoaltitude"].drop_nulls().len() > 2000


def test_readsb_trace_gzip_named_json_and_json_fallback_agree(traffic_samples: Path, tmp_path: Path):
    src = traffic_samples / "readsb" / "trace_full_ac671b.json"
    gz = tmp_path / "trace_full_ac671b.json"  # gzip content under a .json name, as readsb writes it
    gz.write_bytes(gzip.compress(src.read_bytes()))
    compact = tmp_path / "compact.json"  # one line, keys reordered: forces the JSON-parser path
    doc = json.loads(src.read_bytes())
    compact.write_text(json.dumps({"trace": doc["trace"], "icao": doc["icao"], "timestamp": doc["timestamp"]}))
    a, _ = read_file(src)
    b, _ = read_file(gz)
    c, _ = read_file(compact)
    assert a.equals(b)
    assert a.equals(c)


# --- FR24 (real JSON; CSV derived from it) ------------------------------------------------


def test_fr24_json_real_samples(traffic_samples: Path):
    files = sorted((traffic_samples / "fr24").glob("*.json"))
    assert len(files) == 4
    seen = {}
    for path in files:
        assert detect(path).name == "fr24-json"
        frame, rejects = read_file(path)
        check_canonical(frame, "fr24")
        doc = json.loads(path.read_bytes())["result"]["response"]["data"]["flight"]
        assert frame.height == len(doc["track"]) and rejects.total == 0
        seen[frame["icao24"][0]] = frame["callsign"][0]
        assert frame["squawk"].drop_nulls().str.contains(r"^[0-7]{4}$").all()
    assert seen == {"ae503d": "SPAR19", "8467d8": "JAL516", "4b1901": "EDW24", "4baac6": "THY9BP"}


def test_fr24_csv_export_matches_json(traffic_samples: Path, tmp_path: Path):
    src = traffic_samples / "fr24" / "3376ab31.json"
    flight = json.loads(src.read_bytes())["result"]["response"]["data"]["flight"]
    lines = ["Timestamp,UTC,Callsign,Position,Altitude,Speed,Direction"]
    for p in flight["track"]:
        import datetime as dt

        utc = dt.datetime.fromtimestamp(p["timestamp"], dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f'{p["timestamp"]},{utc},JAL516,"{p["latitude"]},{p["longitude"]}",'
                     f'{p["altitude"]["feet"]},{p["speed"]["kts"]},{p["heading"]}')
    lines.insert(5, "not,a,valid,line")
    csv_path = tmp_path / "JL516_3376ab31.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    assert detect(csv_path).name == "fr24-csv"
    no_address, rejects = read_file(csv_path)
    assert no_address.height == 0
    assert rejects.counts["no aircraft address (give one with --icao24)"] == len(flight["track"])
    frame, rejects = read_file(csv_path, icao24="8467D8")
    want, _ = read_file(src)
    assert rejects.counts == {"expected 7 fields, found 4": 1}
    assert rejects.examples[0] == f"{csv_path}:6: expected 7 fields, found 4"
    assert frame.select("timestamp", "icao24", "latitude", "longitude", "altitude", "groundspeed", "track").equals(
        want.select("timestamp", "icao24", "latitude", "longitude", "altitude", "groundspeed", "track")
    )


# --- traffic's own frames -----------------------------------------------------------------


def test_traffic_collection_json_real(traffic_samples: Path, points: pl.DataFrame):
    path = traffic_samples / "collections" / "quickstart.json.gz"
    assert detect(path).name == "traffic-json"
    frame, rejects = read_file(path)
    check_canonical(frame, "traffic")
    assert frame.height == 284505 and rejects.total == 0
    sub = frame.filter(pl.col("icao24").is_in(points["icao24"].unique().implode()))
    assert_same_points(sub, expected_from(points), tol=1e-6)


def test_traffic_csv_and_parquet_pass_through(tmp_path: Path, points: pl.DataFrame):
    want = expected_from(points)
    points.write_csv(tmp_path / "ms.csv")
    points.with_columns(pl.from_epoch("timestamp", "ms")).write_csv(tmp_path / "iso.txt")
    points.with_columns(pl.from_epoch("timestamp", "ms").dt.replace_time_zone("UTC")).write_parquet(tmp_path / "t.bin")
    for name, fmt in (("ms.csv", "traffic-csv"), ("iso.txt", "traffic-csv"), ("t.bin", "parquet")):
        assert detect(tmp_path / name).name == fmt
        frame, rejects = read_file(tmp_path / name)
        check_canonical(frame, "traffic")
        assert rejects.total == 0
        assert_same_points(frame, want, tol=1e-6)


# --- OpenSky (derived) ----------------------------------------------------------------------


def test_opensky_state_vectors_csv_gz_parquet(tmp_path: Path, points: pl.DataFrame):
    sv = opensky_frame(points)
    sv.write_csv(tmp_path / "states.csv")
    (tmp_path / "states.csv.gz").write_bytes(gzip.compress((tmp_path / "states.csv").read_bytes()))
    sv.write_parquet(tmp_path / "states.parquet")
    shutil.copy(tmp_path / "states.csv.gz", tmp_path / "misleading.parquet")  # content decides, not the name
    want = expected_from(points)
    for name in ("states.csv", "states.csv.gz", "states.parquet", "misleading.parquet"):
        frame, rejects = read_file(tmp_path / name)
        check_canonical(frame, "opensky")
        assert rejects.total == 0, name
        assert_same_points(frame, want)
        assert frame["callsign"].drop_nulls().str.contains(" ").sum() == 0
        geo_minus_baro = (frame["geoaltitude"] - frame["altitude"]).drop_nulls()
        assert ((geo_minus_baro - 100.0).abs() < 0.01).all()  # 30.48 m = 100 ft


def test_opensky_csv_bad_lines_are_counted_with_line_numbers(tmp_path: Path, points: pl.DataFrame):
    sv = opensky_frame(points).head(50)
    lines = sv.write_csv().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[2], "north", 1)  # unparsable latitude, line 4
    lines[10] = "garbage"  # line 11
    lines[20] = lines[20] + ',"extra'  # stray quote: must not swallow the rest of the file
    path = tmp_path / "states.csv"
    path.write_text("\n".join(lines) + "\n")
    frame, rejects = read_file(path)
    assert rejects.records == 50
    assert frame.height == 47  # the row with the stray quote is broken: rejected alone, with its line
    assert rejects.counts["unparsable lat"] == 1
    assert rejects.counts["expected 17 fields, found 1"] == 1  # read line by line past the stray quote: ragged
    assert rejects.counts["broken row (a quote that does not close)"] == 1
    assert f"{path}:4: unparsable lat" in rejects.examples
    assert f"{path}:11: expected 17 fields, found 1" in rejects.examples
    assert f"{path}:21: broken row (a quote that does not close)" in rejects.examples


def test_opensky_rest_states(tmp_path: Path, points: pl.DataFrame):
    snap = points.group_by("icao24").agg(pl.all().last()).sort("icao24")
    states = [
        [r["icao24"], (r["callsign"] or "").ljust(8), "France", r["timestamp"] / 1000, r["timestamp"] / 1000 + 1,
         r["longitude"], r["latitude"], r["altitude"] * FT_TO_M, r["onground"], r["groundspeed"] / MS_TO_KT,
         r["track"], r["vertical_rate"] / MS_TO_FPM, None, r["altitude"] * FT_TO_M, r["squawk"], False, 0]
        for r in snap.iter_rows(named=True)
    ]
    states.append([1, 2, 3])
    path = tmp_path / "states_all.json"
    path.write_text(json.dumps({"time": int(snap["timestamp"].max() / 1000) + 5, "states": states}))
    assert detect(path).name == "opensky-rest"
    frame, rejects = read_file(path)
    check_canonical(frame, "opensky-rest")
    assert rejects.counts["state is not a list of 17+ fields"] == 1
    assert_same_points(frame, expected_from(snap))


# --- aircraft.json (derived) ------------------------------------------------------------------


def test_aircraft_json_snapshots(tmp_path: Path, points: pl.DataFrame):
    snap = points.group_by("icao24").agg(pl.all().last()).sort("icao24")
    now = snap["timestamp"].max() / 1000 + 2.0
    aircraft = [
        {"hex": r["icao24"], "flight": (r["callsign"] or "") + " ",
         "alt_baro": "ground" if r["onground"] else int(r["altitude"]), "gs": r["groundspeed"],
         "track": r["track"], "baro_rate": r["vertical_rate"], "squawk": r["squawk"],
         "lat": r["latitude"], "lon": r["longitude"], "seen_pos": now - r["timestamp"] / 1000, "seen": 0.1,
         "messages": 100, "rssi": -20.1, "mlat": [], "tisb": []}
        for r in snap.iter_rows(named=True)
    ]
    aircraft.append({"hex": "~2b4c1d", "lat": 48.0, "lon": 2.0, "seen_pos": 1.0})  # TIS-B, not an ICAO address
    aircraft.append({"hex": "4ca2d6", "seen": 3.0})  # no position yet
    path = tmp_path / "aircraft.json"
    path.write_text(json.dumps({"now": now, "messages": 12345, "aircraft": aircraft}))
    assert detect(path).name == "aircraft-json"
    frame, rejects = read_file(path)
    check_canonical(frame, "aircraft-json")
    assert rejects.counts == {"invalid icao24 address": 1, "no position": 1}
    want = expected_from(snap).with_columns(pl.col("altitude").round(0))
    assert_same_points(frame.with_columns(pl.col("altitude").round(0)), want)
    assert frame["callsign"].to_list() == [c for c in snap["callsign"].to_list()]


def test_aircraft_json_series_in_one_pass(tmp_path: Path, points: pl.DataFrame):
    """A folder of snapshots read together (`read_many`, Polars' JSON reader) gives each file exactly
    what reading it alone gives; a damaged or odd snapshot among them gets its own error or rejects."""
    from tailwatch.ingest.aircraft_json import READER
    from tailwatch.ingest.base import BadInput, Rejects
    from tailwatch.ingest.pipeline import ingest_files

    folder = tmp_path / "series"
    folder.mkdir()
    minutes = points.with_columns((pl.col("timestamp") // 60_000).alias("minute")).sort("timestamp")
    for k, (_, snap) in enumerate(minutes.group_by("minute", maintain_order=True)):
        if k == 40:
            break
        now = snap["timestamp"].max() / 1000 + 1.0
        aircraft = [{"hex": r["icao24"], "flight": (r["callsign"] or "") + " ",
                     "alt_baro": "ground" if r["onground"] else int(r["altitude"]), "gs": r["groundspeed"],
                     "track": r["track"], "squawk": r["squawk"], "lat": r["latitude"], "lon": r["longitude"],
                     "seen_pos": now - r["timestamp"] / 1000, "nic": 8, "mlat": []}
                    for r in snap.unique("icao24", keep="last").iter_rows(named=True)]
        aircraft.append({"hex": "~2b4c1d", "lat": 48.0, "lon": 2.0, "seen_pos": 1.0})
        (folder / f"{k:03d}.json").write_text(json.dumps({"now": now, "aircraft": aircraft}, indent=1))
    (folder / "900.json").write_text('{"now": 1600000000, "aircraft": [1, {"hex": "4b1801", "lat": 1, "lon": 2}]}')
    (folder / "901.json").write_text('{"now": "late", "aircraft": []}')
    (folder / "902.json").write_text('{"now": 1600000000, "aircraft": [')
    (folder / "903.json").write_text('{"now": "1600000000", "aircraft": [{"hex": "4b1801", "lat": 1, "lon": 2}]}')
    (folder / "904.json").write_text('{"now": 1600000000, "aircraft": [{"hex": "4b1801", "flight": true, "lat": 1, "lon": 2}]}')
    paths = sorted(folder.iterdir())
    many = READER.read_many(paths, [Rejects() for _ in paths])
    for path, got in zip(paths, many):
        alone = Rejects()
        try:
            want = pl.concat(list(READER.read(path, alone)))
        except BadInput as exc:
            assert isinstance(got, BadInput) and str(got) == str(exc)
            continue
        assert not isinstance(got, BadInput) and got.equals(want), path.name
    assert sum(isinstance(g, BadInput) for g in many) == 3  # 901, 903 (no numeric now), 902 (cut short)
    summaries = ingest_files(paths, tmp_path / "arc")
    # the pipeline reads them the same way: every row but the 40 TIS-B tracks is a point
    assert sum(s.points for s in summaries) == sum(g.height for g in many if not isinstance(g, BadInput)) - 40


# --- SBS-1 (derived) ------------------------------------------------------------------------


def sbs_lines(points: pl.DataFrame) -> list[str]:
    """MSG,1 callsign + MSG,4 velocity + MSG,3 position per point, as a receiver would emit."""
    out = []
    for r in points.head(300).iter_rows(named=True):
        import datetime as dt

        t = dt.datetime.fromtimestamp(r["timestamp"] / 1000, dt.timezone.utc)
        d, tm = t.strftime("%Y/%m/%d"), t.strftime("%H:%M:%S.%f")[:-3]
        t0 = (t - dt.timedelta(milliseconds=300)).strftime("%H:%M:%S.%f")[:-3]
        hx = r["icao24"].upper()
        out.append(f"MSG,1,1,1,{hx},1,{d},{t0},{d},{t0},{r['callsign']},,,,,,,,0,0,0,0")
        out.append(f"MSG,4,1,1,{hx},1,{d},{t0},{d},{t0},,,{r['groundspeed']},{r['track']},,,{r['vertical_rate']},,0,0,0,0")
        ground = -1 if r["onground"] else 0
        out.append(f"MSG,3,1,1,{hx},1,{d},{tm},{d},{tm},,{r['altitude']},,,{r['latitude']},{r['longitude']},,,0,0,0,{ground}")
    return out


def test_sbs_joins_positions_with_velocity_and_callsign(tmp_path: Path, points: pl.DataFrame):
    lines = sbs_lines(points)
    lines.insert(0, "STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM")
    lines.insert(10, "MSG,3,1,1,ZZZ")  # malformed: line 11
    path = tmp_path / "feed.sbs"
    path.write_text("\n".join(lines) + "\n")
    assert detect(path).name == "sbs"
    frame, rejects = read_file(path)
    check_canonical(frame, "sbs")
    assert rejects.counts["not a MSG record"] == 1
    assert sum(v for k, v in rejects.counts.items() if k != "not a MSG record") == 1
    assert any(e.startswith(f"{path}:11:") for e in rejects.examples)
    want = expected_from(points.head(300))
    assert_same_points(frame, want, tol=1e-4)
    assert frame["callsign"].to_list() == points.head(300).sort(["icao24", "timestamp"])["callsign"].to_list()


# --- detection ------------------------------------------------------------------------------


def test_unknown_format_names_formats_tried(tmp_path: Path):
    path = tmp_path / "notes.csv"
    path.write_text("name,colour\nfoo,blue\n")
    with pytest.raises(UnknownFormat) as err:
        detect(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    for name in ("opensky-csv", "readsb-trace", "fr24-json", "sbs", "traffic-json", "parquet"):
        assert name in message


def test_truncated_gzip_is_bad_input(traffic_samples: Path, tmp_path: Path):
    data = gzip.compress((traffic_samples / "readsb" / "trace_full_ac671b.json").read_bytes())
    path = tmp_path / "trace_full_ac671b.json"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput) as err:
        read_file(path)
    assert str(path) in str(err.value)


def test_readsb_trace_damaged_row_is_rejected_with_its_line(traffic_samples: Path, tmp_path: Path):
    lines = (traffic_samples / "readsb" / "trace_full_ac671b.json").read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.lstrip().startswith("[") and i > 20)
    lines[row] = lines[row].replace("[", "", 1)  # a row that lost its bracket
    lines[row + 1] = lines[row + 1].replace(",", ",north,", 1)  # a latitude that is not a number
    path = tmp_path / "trace_full_ac671b.json"
    path.write_text("\n".join(lines))
    frame, rejects = read_file(path)
    assert frame.height == 2498
    assert rejects.counts == {"malformed trace row (time offset)": 1, "malformed trace row (position)": 1}
    assert rejects.examples == [
        f"{path}:{row + 1}: malformed trace row (time offset)",
        f"{path}:{row + 2}: malformed trace row (position)",
    ]


def test_zstd_and_gzip_inputs_read_as_plain(tmp_path: Path, traffic_samples: Path):
    """A trace and a state-vector CSV compressed with zstd or gzip (named anything) give the plain file's points."""
    import gzip

    import zstandard

    inputs = {
        "trace.json": (traffic_samples / "readsb" / "trace_full_ac671b.json").read_bytes(),
        "flight.json": (traffic_samples / "fr24" / "372355e5.json").read_bytes(),
        "states.csv": (Path(__file__).parent / "data" / "corpus" / "rejects" / "states_nan_inf_range.csv").read_bytes(),
    }
    for name, data in inputs.items():
        plain = tmp_path / name
        plain.write_bytes(data)
        want, _ = read_file(plain)
        assert want.height > 0
        for packed, suffix in ((zstandard.ZstdCompressor(level=3).compress(data), ".zst"),
                               (gzip.compress(data), ".gz"), (zstandard.ZstdCompressor().compress(data), "")):
            path = tmp_path / f"packed-{suffix or 'noext'}-{name}{suffix}"
            path.write_bytes(packed)
            got, _ = read_file(path)
            assert got.equals(want), path.name
