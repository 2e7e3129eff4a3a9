"""readsb traces: every valid JSON layout reads every row, the fast path is the JSON parser's
reading whenever it is taken, and the trace's own claims (position source per point, identity
in `Rejects.seen`) are filled.

Built from the real sample `readsb/trace_full_ac671b.json` (2,500 points) rewritten in the
layouts seen in the wild or allowed by JSON.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from tailwatch.ingest import readsb
from tailwatch.ingest.base import Rejects
from tailwatch.ingest.pipeline import read_file
from tailwatch.schema import EXTENSION_SCHEMA, POSITION_SOURCES, SEEN_SCHEMA

SAMPLE = ("readsb", "trace_full_ac671b.json")
HEADER_KEYS = ("icao", "r", "t", "dbFlags", "desc", "ownOp", "year", "timestamp")


def _doc(traffic_samples: Path) -> dict:
    return json.loads(traffic_samples.joinpath(*SAMPLE).read_bytes())


def _readsb_header(doc: dict) -> str:
    return "{" + ",\n".join(f'"{k}":{json.dumps(doc[k])}' for k in HEADER_KEYS if k in doc) + ',\n"trace":[\n'


def _row(r: list) -> str:
    return json.dumps(r, separators=(",", ":"))


def layouts(doc: dict) -> dict[str, str]:
    rows = [_row(r) for r in doc["trace"]]
    head = _readsb_header(doc)
    joined = rows[:100] + [rows[100] + "," + rows[101]] + rows[102:]  # a newline lost between two rows
    readme = []  # README-json's own example: a details object on a line of its own
    for r in doc["trace"]:
        if isinstance(r[8], dict):
            readme.append(_row(r[:8])[:-1] + ",\n    " + _row(r[8]) + ",\n    " + _row(r[9:])[1:])
        else:
            readme.append(_row(r))
    return {
        "one line": json.dumps(doc, separators=(",", ":")),
        "one line, ', ' between rows": json.dumps(doc),
        "rows separated by ', ' on one line": head + ", ".join(rows) + "\n]\n}\n",
        "pretty-printed": json.dumps(doc, indent=2),
        "a missing newline between two rows": head + ",\n".join(joined) + " ]\n }\n",
        "details on their own lines": head + ",\n".join(readme) + " ]\n }\n",
        "CRLF line endings": (head + ",\n".join(rows) + " ]\n }\n").replace("\n", "\r\n"),
        "keys after the trace": json.dumps({"trace": doc["trace"], **{k: doc[k] for k in HEADER_KEYS if k in doc}}),
    }


@pytest.fixture(scope="module")
def reference(traffic_samples: Path) -> tuple[pl.DataFrame, Rejects]:
    frame, rejects = read_file(traffic_samples.joinpath(*SAMPLE))
    assert frame.height == 2500 and rejects.total == 0 and rejects.records == 2500
    return frame, rejects


def _no_file(seen: pl.DataFrame) -> pl.DataFrame:
    return seen.drop("file")


LAYOUTS = ["one line", "one line, ', ' between rows", "rows separated by ', ' on one line", "pretty-printed",
           "a missing newline between two rows", "details on their own lines", "CRLF line endings",
           "keys after the trace"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_reads_all_2500_points(tmp_path: Path, traffic_samples: Path, reference, layout: str):
    frame0, rejects0 = reference
    text = layouts(_doc(traffic_samples))[layout]
    for compress in (False, True):
        path = tmp_path / f"trace_full_ac671b{'-gz' if compress else ''}.json"
        path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
        frame, rejects = read_file(path)
        assert rejects.records == 2500 and rejects.total == 0, (layout, dict(rejects.counts), rejects.examples)
        assert frame.equals(frame0), layout
        assert _no_file(rejects.seen).equals(_no_file(rejects0.seen)), layout


def test_fast_path_is_the_json_parsers_reading(traffic_samples: Path, reference, monkeypatch: pytest.MonkeyPatch):
    """The sample as readsb writes it is taken by the fast path (the JSON parser is never asked),
    and the JSON parser alone gives the very same frame and claims."""
    path = traffic_samples.joinpath(*SAMPLE)
    frame0, rejects0 = reference
    with monkeypatch.context() as patch:  # the fast path declines every file: the JSON parser reads it
        patch.setattr(readsb, "_fast_traces", lambda items: [None] * len(items))
        by_parser, alone = read_file(path)
    assert by_parser.equals(frame0)
    assert alone.seen.equals(rejects0.seen) and alone.records == 2500 and alone.total == 0

    def never(*args, **kwargs):
        raise AssertionError("the JSON parser was asked")

    monkeypatch.setattr(readsb, "_json_trace", never)
    again, _ = read_file(path)
    assert again.equals(frame0)


def test_layout_mixed_into_a_batch_reads_as_alone(tmp_path: Path, traffic_samples: Path):
    """Files of other layouts among readsb-laid-out ones in one `read_many`: each reads as alone."""
    doc = _doc(traffic_samples)
    texts = layouts(doc)
    plain = traffic_samples.joinpath(*SAMPLE).read_text()
    paths = []
    for k, text in enumerate([plain, texts["a missing newline between two rows"], plain, texts["pretty-printed"]]):
        icao = f"{0xAC671B + k:06x}"
        path = tmp_path / f"trace_full_{icao}.json"
        path.write_text(text.replace('"icao":"ac671b"', f'"icao":"{icao}"', 1).replace('"icao": "ac671b"', f'"icao": "{icao}"', 1))
        paths.append(path)
    together = readsb.TRACE_READER.read_many(paths, [Rejects() for _ in paths])
    for path, frame in zip(paths, together):
        (alone,) = readsb.TRACE_READER.read_many([path], [Rejects()])
        assert frame.height == 2500 and frame.equals(alone), path.name


def test_damaged_file_keeps_its_good_rows_and_counts_the_rest(tmp_path: Path, traffic_samples: Path):
    """Not valid JSON: a row cut in two and a stray row joined to another. Every row not stored is
    counted as rejected, with its line."""
    lines = traffic_samples.joinpath(*SAMPLE).read_text().split("\n")
    lines[30] = lines[30][:25]  # a row cut short (and the JSON with it)
    path = tmp_path / "trace_full_ac671b.json"
    path.write_text("\n".join(lines))
    frame, rejects = read_file(path)
    assert frame.height + rejects.total == 2500 and rejects.total == 1
    assert rejects.examples == [f"{path}:31: malformed trace row (time offset)"]


def test_position_source_from_readsb_types(tmp_path: Path):
    """Field 9, readsb's source type names (toString.h addrtype_enum_string), per point."""
    names = ["adsb_icao", "adsb_icao_nt", "adsr_icao", "adsb_other", "mlat", "tisb_icao", "tisb_trackfile",
             "tisb_other", "adsc", "mode_s", "other", "unknown", None]
    expected = ["adsb", "adsb", "adsb", "adsb", "mlat", "tisb", "tisb", "tisb", "adsc", "other", "other", "other", None]
    rows = [[i * 5.0, 50.0 + i / 100, 8.0, 30000, 400.0, 90.0, 0, 0, None, name, 30500] for i, name in enumerate(names)]
    rows.append([100.0, 51.0, 8.0, 30000, 400.0, 90.0, 0, 0, None])  # an old trace row: no source type at all
    rows[3][8] = {"type": "adsb_other", "flight": "TEST1   ", "nic": 8}
    doc = {"icao": "abc123", "timestamp": 1_700_000_000.0, "trace": rows}
    fast = tmp_path / "fast.json"
    fast.write_text('{"icao":"abc123",\n"timestamp": 1700000000.0,\n"trace":[\n'
                    + ",\n".join(_row(r) for r in rows) + " ]\n }\n")
    slow = tmp_path / "slow.json"
    slow.write_text(json.dumps(doc))
    a, ra = read_file(fast)
    b, rb = read_file(slow)
    assert a.equals(b) and ra.total == rb.total == 0
    assert a["position_source"].to_list() == expected + [None]
    assert set(a["position_source"].drop_nulls()) <= set(POSITION_SOURCES)
    assert a.schema["position_source"] == EXTENSION_SCHEMA["position_source"]


def test_seen_claims_of_the_sample(traffic_samples: Path, reference):
    _, rejects = reference
    seen = rejects.seen
    assert dict(seen.schema) == SEEN_SCHEMA
    assert seen["callsign"].to_list() == ["DAL1812", "DAL2418", "DAL1615", "DAL2927"]  # in the order first stated
    assert str(seen["first"][0]) == "2025-02-04 21:14:09.509000+00:00"  # the first details object stating it
    row = seen.row(0, named=True)
    assert (row["icao24"], row["registration"], row["typecode"], row["description"], row["operator"], row["year"]) == (
        "ac671b", "N899DN", "B739", "BOEING 737-900", "DELTA AIR LINES INC", 2018)
    assert (row["military"], row["interesting"], row["pia"], row["ladd"]) == (False, False, False, False)  # dbFlags 0
    assert row["source"] == "readsb-trace" and row["file"] == str(traffic_samples.joinpath(*SAMPLE))
    assert seen["first"].is_sorted() and (seen["first"] <= seen["last"]).all()


def test_seen_flags_and_no_callsign(tmp_path: Path):
    """dbFlags bits 1 military, 2 interesting, 4 PIA, 8 LADD; absent flags are unknown (null), not false;
    a trace stating no callsign gives one row over its span."""
    rows = [[0.0, 50.0, 8.0, 30000, 400.0, 90.0, 0, 0, None, "adsb_icao"],
            [60.0, 50.5, 8.0, 30000, 400.0, 90.0, 0, 0, None, "adsb_icao"]]
    flagged = tmp_path / "flagged.json"
    flagged.write_text(json.dumps({"icao": "ae1234", "r": "12-3456", "t": "C17", "dbFlags": 9, "timestamp": 1.7e9,
                                   "trace": rows}))
    _, rejects = read_file(flagged)
    (row,) = rejects.seen.iter_rows(named=True)
    assert (row["military"], row["interesting"], row["pia"], row["ladd"]) == (True, False, False, True)
    assert row["callsign"] is None and row["registration"] == "12-3456" and row["typecode"] == "C17"
    assert (row["last"] - row["first"]).total_seconds() == 60
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"icao": "ae1234", "t": "C17", "timestamp": 1.7e9, "trace": rows}))
    _, rejects = read_file(bare)
    (row,) = rejects.seen.iter_rows(named=True)
    assert row["military"] is None and row["ladd"] is None and row["year"] is None


ODD_ROWS = {
    "a quoted number": '[5.0,50.1,8.1,30000,"480.5",90.0,0,0,null,"adsb_icao",30500]',
    "a comma in the source type": '[5.0,50.1,8.1,30000,480.5,90.0,0,0,null,"adsb,icao",30500]',
    "a nested array after the fields read": '[5.0,50.1,8.1,30000,480.5,90.0,0,0,null,"adsb_icao",30500,[1,2],7]',
    "a number as source type": '[5.0,50.1,8.1,30000,480.5,90.0,0,0,null,5,30500]',
    "an object inside the details": '[5.0,50.1,8.1,30000,480.5,90.0,0,0,{"acas_ra":{"flight":"XX"},"flight":"AB12"},"mlat",30500]',
    "an escaped quote": '[5.0,50.1,8.1,30000,480.5,90.0,0,0,{"flight":"A\\"B"},"mlat",30500]',
    "a boolean latitude": '[5.0,true,8.1,30000,480.5,90.0,0,0,null,"adsb_icao",30500]',
    "spaces between fields": '[ 5.0 , 50.1 , 8.1 , 30000 , 480.5 , 90.0 , 0 , 0 , null , "adsb_icao" , 30500 ]',
    "a bracket in the source type": '[5.0,50.1,8.1,30000,480.5,90.0,0,0,{"flight":"AB12"},"a]b",30500]',
    "a nested array as ground speed": '[5.0,50.1,8.1,30000,[4,5],90.0,0,0,null,"adsb_icao",30500]',
}


@pytest.mark.parametrize("case", list(ODD_ROWS))
def test_odd_valid_rows_read_as_the_json_parser_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str):
    """Valid JSON the fast path cannot read as such: whatever it decides, the result is the JSON parser's."""
    rows = ['[0.0,50.0,8.0,30000,480.0,90.0,0,0,{"type":"adsb_icao","flight":"TEST1   ","squawk":"1000","nic":8},'
            '"adsb_icao",30500]', ODD_ROWS[case], '[10.0,50.2,8.2,30000,480.0,90.0,0,0,null,"adsb_icao",30500]']
    path = tmp_path / "trace_full_abc123.json"
    path.write_text('{"icao":"abc123",\n"timestamp": 1700000000.0,\n"trace":[\n' + ",\n".join(rows) + " ]\n }\n")
    assert json.loads(path.read_text())  # valid JSON
    frame, rejects = read_file(path)
    with monkeypatch.context() as patch:
        patch.setattr(readsb, "_fast_traces", lambda items: [None] * len(items))
        parsed, by_parser = read_file(path)
    assert frame.equals(parsed), case
    assert dict(rejects.counts) == dict(by_parser.counts) and rejects.records == by_parser.records == 3
    assert rejects.seen.equals(by_parser.seen)
