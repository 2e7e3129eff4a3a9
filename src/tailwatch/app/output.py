"""Itinerary documents to text or files: JSON and Markdown here, the report package for the rest.

Output goes through `WRITERS` (format → function); formats not listed here go to
`tailwatch.report.formats`. The CLI, the web page and the demo write through `emit`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import orjson
import polars as pl

from tailwatch.errors import BadInput
from tailwatch.times import json_default


def render_json(itins: list[dict], points: dict[str, pl.DataFrame] | None = None) -> str:
    body = itins[0] if len(itins) == 1 else itins
    return json_text(body)


# orjson writes what it has no type for (datetimes, dataclasses, subclasses) through `default`, as
# the standard library does; its own forms (RFC 3339 times...) would differ
_PASS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def json_text(body) -> str:
    """`json.dumps(body, indent=2, ensure_ascii=False, default=json_default)`, byte for byte, in a
    fraction of its time.

    Why not orjson alone: its bytes differ where the standard library's are odd (1e-05 is written
    0.00001, NaN null, a NumPy number or a key that is not a string go other ways), and a document
    must read the same whichever writer made it. So each body is also written compactly by both
    (the standard library's C encoder is fast without `indent`); when those agree token for token,
    orjson's indented text is the standard library's (the layout of both is fixed: two spaces,
    `": "`, one item a line, `[]`/`{}` when empty). When they do not, or orjson refuses the body, the
    standard library writes it, as before."""
    try:
        compact = json.dumps(body, ensure_ascii=False, default=json_default, separators=(",", ":"))
        if orjson.dumps(body, default=json_default, option=_PASS) == compact.encode("utf-8"):
            return orjson.dumps(body, default=json_default, option=_PASS | orjson.OPT_INDENT_2).decode("utf-8")
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError, UnicodeEncodeError a ValueError
        pass
    return json.dumps(body, indent=2, ensure_ascii=False, default=json_default)


class JsonStream:
    """`render_json` of documents that arrive one at a time, written as they come: the same bytes
    (one document alone, several as an array), without holding the batch. `close()` ends it and
    says how many were written."""

    def __init__(self, sink) -> None:
        self.sink = sink  # a text file
        self.count = 0
        self._first: dict | None = None

    def _dump(self, doc: dict) -> str:
        text = json_text(doc)
        return "  " + text.replace("\n", "\n  ")  # one level into the array, as json.dumps(list) indents it

    def write(self, doc: dict) -> None:
        self.count += 1
        if self.count == 1:  # alone or the first of an array: not known yet
            self._first = doc
            return
        if self._first is not None:
            self.sink.write("[\n" + self._dump(self._first))
            self._first = None
        self.sink.write(",\n" + self._dump(doc))

    def close(self) -> int:
        if self._first is not None:
            self.sink.write(render_json([self._first]) + "\n")
        elif self.count:
            self.sink.write("\n]\n")
        else:
            self.sink.write(render_json([]) + "\n")
        self.sink.flush()
        return self.count


def render_md(itins: list[dict], points: dict[str, pl.DataFrame] | None = None) -> str:
    from tailwatch.report.markdown import render_markdown

    return render_markdown(itins, points or {})


# format → text renderer; the writers of the report package take the rest (html, geojson, kml, csv)
WRITERS: dict[str, Callable[[list[dict], dict[str, pl.DataFrame] | None], str]] = {
    "json": render_json,
    "md": render_md,
}


def emit(fmt: str, itins: list[dict], points: dict[str, pl.DataFrame], out: Path | None) -> list[Path] | str:
    """Write to `out` (returns the files) or return the text for stdout."""
    if fmt in WRITERS:
        text = WRITERS[fmt](itins, points)
        if out is None:
            return text
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
        return [out]
    try:
        from tailwatch.report.formats import FORMATS, render_report, write_report
    except ImportError as exc:
        raise BadInput(f"--format {fmt}: not available ({exc})") from exc
    if fmt not in FORMATS:
        known = ", ".join([*WRITERS, *FORMATS])
        raise BadInput(f"--format must be one of {known}, got {fmt!r}")
    if out is None:
        return render_report(fmt, itins, points)
    return write_report(fmt, itins, points, out)
