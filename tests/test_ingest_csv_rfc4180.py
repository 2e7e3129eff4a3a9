"""Every CSV reader reads RFC 4180: quotes removed, quoted commas and line breaks kept in their
field, CR / CRLF / LF line ends, a BOM; a ragged or broken row is rejected with its line.

Inputs are real points (traffic's `collections/quickstart.json.gz`) written as OpenSky state
vectors, traffic-style CSV and an FR24 export, quoted as RFC 4180 writers quote them.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from tailwatch.ingest.detect import detect
from tailwatch.ingest.pipeline import read_file
from tailwatch.schema import COLUMNS

ENDINGS = {"LF": "\n", "CRLF": "\r\n", "CR": "\r"}


@pytest.fixture(scope="module")
def states(traffic_samples: Path) -> pl.DataFrame:
    raw = pl.DataFrame(json.loads(gzip.decompress((traffic_samples / "collections" / "quickstart.json.gz").read_bytes())))
    raw = raw.filter(pl.col("callsign").is_not_null()).head(300)
    return raw.select(
        (pl.col("timestamp") // 1000).alias("time"), "icao24", pl.col("latitude").alias("lat"),
        pl.col("longitude").alias("lon"), (pl.col("groundspeed") * 1852 / 3600).round(2).alias("velocity"),
        pl.col("track").round(4).alias("heading"), (pl.col("vertical_rate") * 0.3048 / 60).round(3).alias("vertrate"),
        pl.col("callsign").str.pad_end(8), "onground", pl.lit(False).alias("alert"), pl.lit(False).alias("spi"),
        "squawk", (pl.col("altitude") * 0.3048).round(2).alias("baroaltitude"),
        (pl.col("altitude") * 0.3048 + 30).round(2).alias("geoaltitude"),
        (pl.col("timestamp") / 1000 - 0.3).alias("lastposupdate"), (pl.col("timestamp") / 1000).alias("lastcontact"),
        ((pl.col("timestamp") // 3_600_000) * 3600).alias("hour"),
    )


def _write(path: Path, frame: pl.DataFrame, ending: str = "\n", quote: str = "necessary", bom: bool = False) -> Path:
    text = frame.write_csv(quote_style=quote, line_terminator=ending)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("quote", ["necessary", "always"])
def test_opensky_quotes_and_line_ends_read_every_row(tmp_path: Path, states: pl.DataFrame, ending: str, quote: str):
    plain, _ = read_file(_write(tmp_path / "plain.csv", states))
    assert plain.height == states.height
    path = _write(tmp_path / "states.csv", states, ENDINGS[ending], quote, bom=ending == "CRLF")
    assert detect(path).name == "opensky-csv"
    frame, rejects = read_file(path)
    assert rejects.records == states.height and rejects.total == 0, rejects.examples
    assert frame.equals(plain)
    assert not frame["callsign"].str.contains('"').any()  # "DAL1812" is DAL1812


def test_opensky_quoted_comma_and_line_break_stay_in_their_field(tmp_path: Path, states: pl.DataFrame):
    odd = states.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("AB,C"))
        .when(pl.int_range(pl.len()) == 9).then(pl.lit("DE\nF")).otherwise(pl.col("callsign")).alias("callsign"))
    bad = odd.with_columns(pl.when(pl.int_range(pl.len()) == 20).then(pl.lit("north")).otherwise(
        pl.col("lat").cast(pl.String)).alias("lat"))
    path = _write(tmp_path / "states.csv", bad)
    frame, rejects = read_file(path)
    assert rejects.records == states.height and frame.height == states.height - 1
    assert rejects.examples == [f"{path}:23: unparsable lat"]  # record 21 starts on line 23: a field spans two lines
    assert {"AB,C", "DE\nF"} <= set(frame["callsign"])
    plain, _ = read_file(_write(tmp_path / "plain.csv", states))
    kept = plain.filter(pl.col("timestamp") != plain.sort("timestamp")["timestamp"][0])  # columns stay aligned
    assert frame.drop("callsign").filter(pl.col("timestamp").is_in(kept["timestamp"].implode())).height >= kept.height - 1


def test_opensky_ragged_and_broken_rows_rejected_with_their_line(tmp_path: Path, states: pl.DataFrame):
    lines = states.head(30).write_csv().splitlines()
    lines[5] += ",surplus"  # line 6: one field too many
    lines[12] += ',"open'  # line 13: a quote that never closes
    path = tmp_path / "states.csv"
    path.write_text("\r".join(lines) + "\r")  # CR line ends too
    frame, rejects = read_file(path)
    assert rejects.records == 30 and frame.height == 28
    assert f"{path}:6: expected 17 fields, found 18" in rejects.examples
    assert f"{path}:13: broken row (a quote that does not close)" in rejects.examples
    ragged = tmp_path / "ragged.csv"
    lines = states.head(30).write_csv().splitlines()
    lines[7] += ",surplus"
    ragged.write_text("\n".join(lines) + "\n")
    frame, rejects = read_file(ragged)  # the columnar reader's own check
    assert frame.height == 29 and rejects.examples == [f"{ragged}:8: more fields than the header's 17"]


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_traffic_csv_quotes_and_line_ends(tmp_path: Path, traffic_samples: Path, ending: str):
    raw = pl.DataFrame(json.loads(gzip.decompress((traffic_samples / "collections" / "quickstart.json.gz").read_bytes())))
    raw = raw.head(200).with_columns(pl.col("callsign").fill_null("").str.pad_end(8))
    plain, _ = read_file(_write(tmp_path / "plain.csv", raw))
    path = _write(tmp_path / "flights.csv", raw, ENDINGS[ending], "always")
    assert detect(path).name == "traffic-csv"
    frame, rejects = read_file(path)
    assert rejects.total == plain_rejects(tmp_path, raw) and frame.select(COLUMNS).equals(plain.select(COLUMNS))
    assert frame.height == plain.height > 150


def plain_rejects(tmp_path: Path, raw: pl.DataFrame) -> int:
    _, rejects = read_file(_write(tmp_path / "again.csv", raw))
    return rejects.total


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_fr24_csv_quoted_position_and_line_ends(tmp_path: Path, traffic_samples: Path, ending: str):
    doc = json.loads((traffic_samples / "fr24" / "372355e5.json").read_bytes())
    track = doc["result"]["response"]["data"]["flight"]["track"]
    rows = ["Timestamp,UTC,Callsign,Position,Altitude,Speed,Direction"]
    for p in track:
        rows.append(f'{p["timestamp"]},2020-01-01T00:00:00Z,"DLH 4\n",'
                    f'"{p["latitude"]},{p["longitude"]}",{p["altitude"]["feet"]},{p["speed"]["kts"]},{p["heading"]}')
    rows.insert(3, '1,2,"bad')  # a quote that never closes: the rest of the file is still read
    path = tmp_path / "flight.csv"
    path.write_bytes(ENDINGS[ending].join(rows).encode() + ENDINGS[ending].encode())
    assert detect(path).name == "fr24-csv"
    frame, rejects = read_file(path, icao24="3c6444")
    assert frame.height == len(track)
    assert frame["callsign"].unique().to_list() == ["DLH 4"]
    assert rejects.total == 1 and rejects.examples[0].startswith(f"{path}:")
