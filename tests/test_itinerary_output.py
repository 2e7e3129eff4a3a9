"""Itinerary JSON text: `app.output.json_text` writes the standard library's bytes
(`json.dumps(indent=2, ensure_ascii=False, default=json_default)`) through orjson when the two
agree, and the standard library's own when they would not."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest

from tailwatch.app.output import _PASS, JsonStream, json_text, render_json
from tailwatch.ingest.pipeline import read_file
from tailwatch.times import json_default


def _stdlib(body) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False, default=json_default)


@pytest.fixture(scope="module")
def real_docs(traffic_samples: Path) -> list[dict]:
    """Documents of the 20 busiest aircraft of the real quickstart day (enriched: airspace,
    payload, hiding), the aircraft entry given a time as an archive's identity gives one."""
    from tailwatch.hiding.dark import Coverage
    from tailwatch.itinerary.core import Surroundings, itineraries_of

    frame, _ = read_file(traffic_samples / "collections" / "quickstart.json.gz")
    frame = frame.filter(pl.col("latitude").is_not_null()).sort("icao24", "timestamp")
    busiest = frame.group_by("icao24").len().sort("len", "icao24", descending=True)["icao24"].head(20).to_list()
    around = Surroundings(aircraft={"typecode": "A320", "seen": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)},
                          others=Coverage(frame))
    docs = [doc for doc, _ in itineraries_of(frame.filter(pl.col("icao24").is_in(busiest)), lambda _: around)]
    assert len(docs) == 20 and sum(len(d["legs"]) for d in docs) >= 20
    return docs


def test_real_documents_take_the_fast_writer_and_keep_their_bytes(real_docs: list[dict]) -> None:
    for doc in real_docs:
        # orjson's indented text of a real document is the standard library's, layout included
        fast = orjson.dumps(doc, default=json_default, option=_PASS | orjson.OPT_INDENT_2).decode("utf-8")
        assert fast == _stdlib(doc)
        assert json_text(doc) == fast
        assert '"seen": "2026-01-02T03:04:05Z"' in fast  # a datetime goes through json_default
    assert json_text(real_docs) == _stdlib(real_docs)
    assert render_json(real_docs[:1]) == _stdlib(real_docs[0])  # one document alone is an object


@dataclasses.dataclass
class _Point:
    lat: float


class _Kind(enum.IntEnum):
    GROUND = 3


class _Text(str):
    pass


@pytest.mark.parametrize("value", [
    1e-05, 2.5e-05, 1e-7, 0.0001, 1e16, 1.2345678901234568e+17, 1e22, 5e-324, -0.0, 0.1 + 0.2,
    float("nan"), float("inf"), -float("inf"),
    np.float64(1.5), np.float32(0.1), np.int64(7), np.bool_(True),
    2**64, -(2**63) - 1, True, None,
    {1: "int key", 2.5: "float key", None: "null key", True: "bool key"},
    datetime(2026, 12, 7, 14, 0, tzinfo=timezone.utc), datetime(2026, 12, 7, 14, 0), date(2026, 12, 7),
    _Point(1.0), _Kind.GROUND, _Text("sub"), {"k": _Text("v")},
    "\x7f\u2028\u2029\x00\x1f\"\\/é漢🙂", {"a": [], "b": {}, "c": [{}, [[]]], "d": ()},
])
def test_every_odd_value_is_written_as_the_standard_library_writes_it(value) -> None:
    body = {"legs": [{"x": value, "n": 1}], "notes": [value]}
    assert json_text(body) == _stdlib(body)
    assert json_text([body, body]) == _stdlib([body, body])


def test_a_body_neither_writer_takes_fails_as_before() -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        json_text({"loop": loop})
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate: no UTF-8 file can hold it
        json_text({"bad": "\ud800"}).encode("utf-8")


def test_a_stream_of_odd_documents_is_the_whole_rendered(real_docs: list[dict]) -> None:
    import io

    odd = {"schema": "tailwatch.itinerary/1", "legs": [{"detour_pct": 1e-05, "flown_km": float("nan")}]}
    batch = [real_docs[0], odd, real_docs[1]]
    buffer = io.StringIO()
    stream = JsonStream(buffer)
    for doc in batch:
        stream.write(doc)
    assert stream.close() == 3
    assert buffer.getvalue() == _stdlib(batch) + "\n"
