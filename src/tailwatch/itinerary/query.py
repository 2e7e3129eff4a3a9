"""`tailwatch itinerary` behind the CLI: pick the aircraft and their points, build, write.

Kept out of cli.py so the web page and the demo call the same path. Output goes through
`WRITERS` (format → function); formats not listed here go to `tailwatch.report.formats`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from tailwatch.ingest.base import BadInput


class NoAircraft(LookupError):
    """None of the requested aircraft has points in the data."""


def parse_time(value: str | None, name: str = "time") -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput(f"{name}: not an ISO 8601 time: {value!r}") from exc
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def resolve_aircraft(query: str, archive: Path | None) -> dict:
    """The aircraft object for a hex address or registration (identity lookup when available)."""
    from tailwatch.identity.lookup import aircraft_identity, is_address

    ident = aircraft_identity(query, archive)
    if ident and ident.get("icao24"):
        return ident
    if is_address(query):
        return {"icao24": query.strip().lstrip("~").lower(), "registration": None, "typecode": None,
                "country": None, "watchlists": []}
    raise NoAircraft(f"{query}: no address known for this registration")


def watchlist_aircraft(path: Path, archive: Path | None, notes: list[str] | None = None) -> list[dict]:
    """Aircraft of a watchlist file; `notes` (when given) gains a line per unresolved entry (listed, never dropped)."""
    from tailwatch.identity.watchlist import load_watchlist

    if not path.exists():
        raise BadInput(f"{path}: no such file")
    entries = load_watchlist(path, archive)
    if notes is not None:
        for row in entries.filter(pl.col("icao24").is_null()).iter_rows(named=True):
            notes.append(f"watchlist {path.name}: entry {row['list']} {row['entry_id']} ({row['name']}) "
                         "is unresolved (no address), so it is not in this report")
    hexes = [h for h in entries["icao24"].drop_nulls().unique(maintain_order=True).to_list()]
    out = []
    for h in hexes:
        try:
            out.append(resolve_aircraft(h, archive))
        except NoAircraft:
            continue
    return out


def load_points(archive: Path | None, inputs: list[Path] | None, icao24s: list[str] | None,
                start: datetime | None, end: datetime | None, skipped: list[str] | None = None,
                heard: list[pl.DataFrame] | None = None) -> pl.DataFrame:
    """Points of the aircraft; `skipped` (when given) gains one line per input file with rejected records;
    `heard` (when given) the heard minutes of Mode S input files (hiding.heard)."""
    if archive is not None:
        from tailwatch.engines.duckdb import points_for

        if not archive.is_dir():
            raise BadInput(f"{archive}: no such archive folder")
        return points_for(archive, icao24s, start, end)
    from tailwatch.ingest.pipeline import read_file

    frames = []
    for path in inputs or []:
        if not path.exists():
            raise BadInput(f"{path}: no such file")
        frame, rejects = read_file(path)
        frames.append(frame)
        if heard is not None and isinstance(rejects.heard, pl.DataFrame):
            heard.append(rejects.heard)
        if skipped is not None and rejects.total:  # bad records are skipped, never silently
            reasons = ", ".join(f"{reason}: {n}" for reason, n in rejects.counts.most_common())
            skipped.append(f"input {path}: {rejects.total} record(s) skipped ({reasons}); first: "
                           + "; ".join(rejects.examples[:3]))
    if not frames:
        raise BadInput("give --archive DIR or --input FILE ...")
    points = pl.concat(frames, how="diagonal_relaxed")
    if icao24s is not None:
        points = points.filter(pl.col("icao24").is_in(icao24s))
    if start is not None:
        points = points.filter(pl.col("timestamp") >= start)
    if end is not None:
        points = points.filter(pl.col("timestamp") <= end)
    return points.sort(["icao24", "timestamp"])


def hiding_step(itin: dict, points: pl.DataFrame, context: dict) -> dict:
    """`dark_intervals`: when the aircraft went dark inside coverage or withheld its position (hiding.dark).

    Other aircraft (the coverage evidence) come from the archive, one pruned query around each
    silence, and the heard minutes from the archive's heard table; with `--input` files, both from
    the input files (the other aircraft in them, the Mode S files' heard minutes).
    """
    from tailwatch.hiding.dark import hiding_evidence, window_pad

    if points.height == 0:
        return itin
    icao24 = points["icao24"][0]
    archive = context.get("archive")
    if archive is not None:
        from tailwatch.engines.duckdb import positions_in_box
        from tailwatch.hiding.heard import read_heard

        pad = window_pad()
        heard = read_heard(archive, [icao24], points["timestamp"].min() - pad, points["timestamp"].max() + pad)

        def others(start, end, box):  # one pruned archive query per silence
            return positions_in_box(archive, start, end, box, exclude=icao24)
    else:
        everyone = context.get("points")
        others = everyone.filter(pl.col("icao24") != icao24) if everyone is not None else points.clear()
        heard = context.get("heard")
        heard = heard.filter(pl.col("icao24") == icao24) if heard is not None else None
    itin["dark_intervals"] = hiding_evidence(points, others, heard, window_end=context.get("end"))
    return itin


def enrich(itin: dict, points: pl.DataFrame, context: dict | None = None) -> dict:
    """Airspace, payload and hiding enrichers, when those modules are installed (pure functions on the dict)."""
    try:
        from tailwatch.airspace.enrich import add_airspace
    except ImportError:
        add_airspace = None
    try:
        from tailwatch.airlift.enrich import add_payload
    except ImportError:
        add_payload = None
    aircraft = itin.get("aircraft") or {}
    steps = []
    if add_airspace is not None:
        steps.append(("airspace", lambda d: add_airspace(d, points, aircraft.get("country"))))
    if add_payload is not None:
        steps.append(("payload", lambda d: add_payload(d, aircraft.get("typecode"))))
    if context is not None:
        steps.append(("hiding", lambda d: hiding_step(d, points, context)))
    for name, step in steps:
        try:
            itin = step(itin)
        except Exception as exc:  # noqa: BLE001 - an enricher failing must not lose the itinerary
            itin.setdefault("notes", []).append(f"{name} enrichment failed: {type(exc).__name__}: {exc}")
    return itin


def itineraries(archive: Path | None, inputs: list[Path] | None, aircraft: list[str] | None,
                watchlist: Path | None, start: datetime | None, end: datetime | None,
                enrich_with: Callable[[dict, pl.DataFrame], dict] | None = enrich
                ) -> tuple[list[dict], dict[str, pl.DataFrame]]:
    """Itinerary JSON per aircraft and each one's points (with `leg`)."""
    wanted: list[dict] = []
    skipped: list[str] = []  # notes for every report: unresolved entries, unseen aircraft, skipped records
    for q in aircraft or []:
        wanted.append(resolve_aircraft(q, archive))
    if watchlist is not None:
        wanted += watchlist_aircraft(watchlist, archive, skipped)
    if archive is not None and not wanted:
        raise BadInput("give --aircraft HEX_OR_REG or --watchlist FILE with --archive")
    hexes = list(dict.fromkeys(a["icao24"] for a in wanted)) if wanted else None
    heard: list[pl.DataFrame] = []
    # input files: every aircraft in them is coverage evidence for the others (hiding.dark)
    everyone = load_points(archive, inputs, hexes if archive is not None else None, start, end, skipped, heard)
    points = everyone if archive is not None or hexes is None else everyone.filter(pl.col("icao24").is_in(hexes))
    if points.height == 0:
        raise NoAircraft("no points for " + (", ".join(hexes) if hexes else "any aircraft") + " in the data")
    unseen = sorted(set(hexes or []) - set(points["icao24"].unique().to_list()))
    if unseen:
        skipped.append("asked for but not seen in the data" + (" in this window" if start or end else "")
                       + ": " + ", ".join(unseen))
    by_hex = {a["icao24"]: a for a in wanted}
    context = {"archive": archive, "points": everyone if archive is None else None, "end": end,
               "heard": pl.concat(heard) if heard else None}
    out: list[dict] = []
    frames: dict[str, pl.DataFrame] = {}
    groups = points.partition_by("icao24", as_dict=True, maintain_order=True)
    idents = {icao24: by_hex.get(icao24) or _identity_or_none(icao24, archive) for (icao24,) in groups}
    histories = None
    if archive is not None:  # every aircraft's prior at once: one query, not one per aircraft
        from tailwatch.itinerary.history import aircraft_histories

        histories = aircraft_histories(archive, [ac or {"icao24": h} for h, ac in idents.items()], end)
    for (icao24,), pts in groups.items():
        used = histories.get(icao24, {}) if histories is not None else None
        doc, itin = itinerary_doc(pts, idents[icao24], archive, end, skipped, enrich_with, used=used, context=context)
        out.append(doc)
        frames[icao24] = itin.points
    return out, frames


def _identity_or_none(icao24: str, archive: Path | None) -> dict | None:
    try:
        return resolve_aircraft(icao24, archive)
    except Exception:  # noqa: BLE001 - identity is optional enrichment here
        return None


def itinerary_doc(points: pl.DataFrame, aircraft: dict | None, archive: Path | None, end: datetime | None,
                  notes: list[str], enrich_with: Callable[[dict, pl.DataFrame], dict] | None = enrich,
                  used: dict[str, int] | None = None, context: dict | None = None):
    """One aircraft's itinerary JSON (and the Itinerary): history prior, build, notes, enrichment.

    The single per-aircraft step every engine runs (`itinerary_core`, then `enrich_doc`).
    `used` is the airport history; when None and an archive is given, it is read from the
    archive (the aircraft's and its fleet's). `context` (archive, input points, heard minutes,
    window end) feeds the hiding evidence when the default enrichment runs."""
    doc, itin = itinerary_core(points, aircraft, archive, end, notes, used)
    return enrich_doc(doc, itin, archive, end, enrich_with, context), itin


def itinerary_core(points: pl.DataFrame, aircraft: dict | None, archive: Path | None, end: datetime | None,
                   notes: list[str], used: dict[str, int] | None = None):
    """History prior, build and notes of one aircraft: the itinerary before enrichment."""
    from tailwatch.itinerary.build import build_itinerary

    icao24 = points["icao24"][0]
    if used is None and archive is not None:  # the archive's whole history of it: the prior for unseen stops
        from tailwatch.itinerary.history import aircraft_history

        used = aircraft_history(archive, aircraft or {"icao24": icao24}, end)
    itin = build_itinerary(points, aircraft, used_airports=used)
    doc = itin.to_json()
    if used:
        doc["airport_history"] = {"airports_used": dict(list(used.items())[:20]),
                                  "note": "days the aircraft (or its operator's fleet, at half weight) was seen on the "
                                          "ground or low at each airport in the archive: the prior for unseen stops"}
    if notes:
        doc.setdefault("notes", []).extend(notes)
    return doc, itin


def enrich_doc(doc: dict, itin, archive: Path | None, end: datetime | None,
               enrich_with: Callable[[dict, pl.DataFrame], dict] | None = enrich, context: dict | None = None) -> dict:
    """Airspace, payload and hiding evidence on one itinerary (the default), or the caller's enricher."""
    if enrich_with is enrich:
        return enrich(doc, itin.points, context or {"archive": archive, "end": end})
    return enrich_with(doc, itin.points) if enrich_with is not None else doc


def _json_default(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def render_json(itins: list[dict], points: dict[str, pl.DataFrame] | None = None) -> str:
    body = itins[0] if len(itins) == 1 else itins
    return json.dumps(body, indent=2, ensure_ascii=False, default=_json_default)


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
