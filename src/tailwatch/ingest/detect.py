"""Choose a reader by what a file contains, never by its name.

Readers are asked in order; the first whose `sniff` accepts the head of the
content wins. Order matters only where formats overlap (JSON variants are told
apart by their keys, so the more specific readers come first).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from tailwatch.ingest.base import BadInput, Reader, UnknownFormat, is_gzip, read_head

# module path, attribute: imported lazily so a broken optional reader never blocks the others.
READER_SPECS: list[tuple[str, str]] = [
    ("tailwatch.ingest.parquet", "READER"),
    ("tailwatch.ingest.beast", "READER"),
    ("tailwatch.ingest.avr", "READER"),
    # JSON documents told apart by their keys (cheap checks) before the JSON-lines sniff
    ("tailwatch.ingest.readsb", "TRACE_READER"),
    ("tailwatch.ingest.aircraft_json", "READER"),
    ("tailwatch.ingest.fr24", "JSON_READER"),
    ("tailwatch.ingest.opensky", "REST_READER"),
    ("tailwatch.ingest.rawjsonl", "READER"),
    ("tailwatch.ingest.traffic_json", "READER"),
    ("tailwatch.ingest.sbs", "READER"),
    ("tailwatch.ingest.opensky", "CSV_READER"),
    ("tailwatch.ingest.fr24", "CSV_READER"),
    ("tailwatch.ingest.traffic_csv", "READER"),
]


def readers() -> list[Reader]:
    found: list[Reader] = []
    for module, attr in READER_SPECS:
        try:
            found.append(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError):
            continue
    return found


def detect(path: Path) -> Reader:
    """The reader for `path`, or UnknownFormat naming every format tried."""
    head = read_head(path)
    if not head and path.stat().st_size > 0 and is_gzip(path):
        raise BadInput(f"{path}@0: compressed file whose start does not decompress (corrupt?)")
    candidates = readers()
    for reader in candidates:
        try:
            taken = reader.sniff(head)
        except Exception:  # noqa: BLE001 - a sniff that trips over odd bytes does not take the file
            continue
        if taken:
            return reader
    tried = ", ".join(r.name for r in candidates)
    raise UnknownFormat(f"{path}: unknown format (tried: {tried})")
