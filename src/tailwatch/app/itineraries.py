"""`tailwatch itinerary`: over an archive through an engine, or over input files on this machine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import polars as pl

from tailwatch.errors import BadInput, NoAircraft
from tailwatch.itinerary.core import Surroundings, itineraries_of


def itineraries(archive: Path | None, inputs: list[Path] | None, aircraft: list[str] | None,
                watchlist: Path | None, start: datetime | None, end: datetime | None, *, engine=None,
                every_aircraft: bool = False, with_points: bool = True,
                on_stage: Callable[[str], None] | None = None,
                on_aircraft: Callable[[int, int, int], None] | None = None,
                on_doc: Callable[[dict, pl.DataFrame | None], None] | None = None,
                ) -> tuple[list[dict], dict[str, pl.DataFrame]]:
    """Itinerary JSON per aircraft and each one's points (with `leg`).

    With `archive`, the engine (DuckDB unless given) gathers the points and surroundings and runs
    the pure step; with `inputs`, the files are read here and every aircraft in them is coverage
    evidence for the others. With `on_doc` (an archive), each document goes there as it is made
    and none is returned (`engines.Engine.itineraries`): a big batch is written as it goes."""
    if archive is not None:
        if engine is None:
            from tailwatch.engines import get_engine

            engine = get_engine("duckdb")
        listed = None
        if watchlist is not None:  # a list given, not imported: its entries reach the report as an imported one's do
            from tailwatch.identity.watchlist import load_watchlist

            listed = load_watchlist(watchlist, archive)
        sink = None
        if on_doc is not None:
            def sink(doc: dict, points: pl.DataFrame | None) -> None:
                if listed is not None:
                    doc["aircraft"] = with_list_entries([doc["aircraft"]], listed)[0]
                on_doc(doc, points)
        docs, frames = engine.itineraries(archive, aircraft, watchlist, start, end, every_aircraft=every_aircraft,
                                          with_points=with_points, on_stage=on_stage, on_aircraft=on_aircraft,
                                          **({"on_doc": sink} if sink is not None else {}))
        if listed is not None:
            for doc in docs:
                doc["aircraft"] = with_list_entries([doc["aircraft"]], listed)[0]
        return docs, frames
    return itineraries_from_files(inputs or [], aircraft, watchlist, start, end, on_stage)


def load_inputs(inputs: list[Path], start: datetime | None, end: datetime | None, skipped: list[str],
                heard: list[pl.DataFrame], claims: list[pl.DataFrame] | None = None) -> pl.DataFrame:
    """Points of every input file in [start, end], sorted; `skipped` gains a line per file with rejected
    records, `heard` the heard minutes of the Mode S files, `claims` (when given) the identity claims
    the files make (`tailwatch.seen`)."""
    from tailwatch.ingest.pipeline import read_file

    frames = []
    for path in inputs:
        if not path.exists():
            raise BadInput(f"{path}: no such file")
        frame, rejects = read_file(path)
        frames.append(frame)
        if isinstance(rejects.heard, pl.DataFrame):
            heard.append(rejects.heard)
        if claims is not None and isinstance(rejects.seen, pl.DataFrame):
            claims.append(rejects.seen)
        if rejects.total:  # bad records are skipped, never silently
            reasons = ", ".join(f"{reason}: {n}" for reason, n in rejects.counts.most_common())
            skipped.append(f"input {path}: {rejects.total} record(s) skipped ({reasons}); first: "
                           + "; ".join(rejects.examples[:3]))
    if not frames:
        raise BadInput("give --archive DIR or --input FILE ...")
    points = pl.concat(frames, how="diagonal_relaxed")
    if start is not None:
        points = points.filter(pl.col("timestamp") >= start)
    if end is not None:
        points = points.filter(pl.col("timestamp") <= end)
    return points.sort(["icao24", "timestamp"])


def itineraries_from_files(inputs: list[Path], aircraft: list[str] | None, watchlist: Path | None,
                           start: datetime | None, end: datetime | None,
                           on_stage: Callable[[str], None] | None = None) -> tuple[list[dict], dict[str, pl.DataFrame]]:
    """The pure step on each aircraft of the input files (all of them unless some are named).

    The files' own identity claims (an FR24 file's registration and type, a readsb database's
    fields) stand for the archive's `seen/` table: a registration resolves from them, and an
    aircraft's type reaches the payload model."""
    from tailwatch.engines.gather import unseen_note
    from tailwatch.hiding.dark import Coverage
    from tailwatch.identity.resolve import identity_or_none, in_window, listed_aircraft, wanted_aircraft
    from tailwatch.identity.watchlist import read_entries, resolve
    from tailwatch.seen import empty_seen

    notes: list[str] = []
    if watchlist is not None and not watchlist.exists():
        raise BadInput(f"{watchlist}: no such file")
    entries = read_entries(watchlist) if watchlist is not None else None  # a bad list fails before any input is read
    heard: list[pl.DataFrame] = []
    said: list[pl.DataFrame] = []
    everyone = load_inputs(inputs, start, end, notes, heard, said)
    claims = pl.concat(said) if said else empty_seen()
    wanted = wanted_aircraft(None, aircraft, None, notes, claims)
    if entries is not None:  # no archive holds the list: its entries come from the file itself
        listed = resolve(entries, None, claims)
        wanted = with_list_entries(wanted + listed_aircraft(listed, watchlist.name, None, notes, claims), listed)
    hexes = list(dict.fromkeys(a["icao24"] for a in wanted)) if wanted else None
    points = everyone if hexes is None else everyone.filter(pl.col("icao24").is_in(hexes))
    if points.height == 0:
        raise NoAircraft("no points for " + (", ".join(hexes) if hexes else "any aircraft") + " in the data")
    notes += unseen_note(hexes or [], points["icao24"].unique().to_list(), start, end)
    by_hex = {a["icao24"]: a for a in wanted}
    all_heard = pl.concat(heard) if heard else None
    docs: list[dict] = []
    frames: dict[str, pl.DataFrame] = {}
    others = Coverage(everyone)  # one coverage grid of the files; each aircraft is left out of its own

    def around(icao24: str) -> Surroundings:
        return Surroundings(
            aircraft=in_window(by_hex.get(icao24) or identity_or_none(icao24, None, claims), start, end),
            heard=all_heard.filter(pl.col("icao24") == icao24) if all_heard is not None else None,
            others=others, end=end, notes=tuple(notes))

    for doc, itin in itineraries_of(points, around, on_stage):  # one pass per point step for all of them
        docs.append(doc)
        frames[doc["aircraft"]["icao24"]] = itin.points
    return docs, frames


def with_list_entries(wanted: list[dict], entries: pl.DataFrame) -> list[dict]:
    """The aircraft with the resolved list `entries` that name them (by resolved address, a candidate
    address or the registration) added to `watchlists`, in the form an imported list gives."""
    out = []
    for ac in wanted:
        icao24, reg = ac.get("icao24"), ac.get("registration")
        cond = (pl.col("icao24") == icao24) | pl.col("candidates").list.eval(
            pl.element().struct.field("icao24") == icao24).list.any()
        if reg:
            cond = cond | pl.col("registrations").list.contains(reg)
        have = {(w.get("list"), w.get("id")) for w in ac.get("watchlists") or []}
        extra = [{"list": e["list"], "id": e["entry_id"], "program": e["program"], "name": e["name"],
                  "reason": e["reason"], "listing_date": e["listing_date"], "icao24": e["icao24"],
                  "confidence": e["confidence"], "evidence": e["evidence"], "model": e["model"],
                  "operator": e["operator"], "source": e["source"] or e["source_file"]}
                 for e in entries.filter(cond.fill_null(False)).iter_rows(named=True)
                 if (e["list"], e["entry_id"]) not in have]
        out.append({**ac, "watchlists": [*(ac.get("watchlists") or []), *extra]} if extra else ac)
    return out


__all__ = ["itineraries", "itineraries_from_files", "load_inputs", "with_list_entries"]
