"""`tailwatch bridge`: flagged flights into a place over a window, over an archive, through an engine.

The run first asks one query which aircraft were heard low near the place (flagged ones in the window or
the baseline before it, the others in the window: the bridge's population, `bridge.candidates`), builds only
the flagged ones' itineraries over the window and the baseline (one batch through the engine, the same path as
`tailwatch itinerary`, so DuckDB and Spark give the same documents), then hands plain documents to the pure
`tailwatch.bridge` core. A month of a region's traffic costs the traffic near the place, not the region's.
Markdown and CSV are rendered here, HTML by `report.bridge_html`; JSON is the core's document, with two
optional additions made here because the core never sees positions: `simulated`/`notice` when the
itineraries come from the simulator, and (asked with `tracks=True`, as the HTML report and the served page
do) each flight's `track`, its chain drawn from the aircraft's own points gathered in one engine query.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, time, timezone
from pathlib import Path

from tailwatch.errors import BadInput, NoAircraft
from tailwatch.times import json_default, parse_time

FORMATS = ("json", "md", "csv", "html")


def read_polygon(path: Path):
    """The (multi)polygon of a GeoJSON file: a geometry, a Feature or a FeatureCollection (union)."""
    import shapely
    from shapely.geometry import shape

    from tailwatch.files import load_json

    try:
        data = load_json(path)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - one line naming the file
        raise BadInput(f"{path}: not a GeoJSON file ({exc})") from exc
    geoms = []
    items = data.get("features") if isinstance(data, dict) and data.get("type") == "FeatureCollection" else [data]
    for i, item in enumerate(items or []):
        geom = item.get("geometry") if isinstance(item, dict) and item.get("type") == "Feature" else item
        try:
            g = shape(geom)
        except Exception as exc:  # noqa: BLE001
            raise BadInput(f"{path}: feature {i}: not a GeoJSON geometry ({exc})") from exc
        if g.geom_type not in ("Polygon", "MultiPolygon") or g.is_empty:
            raise BadInput(f"{path}: feature {i}: a {g.geom_type}, not a polygon")
        geoms.append(g)
    if not geoms:
        raise BadInput(f"{path}: no polygon in the file")
    return shapely.union_all(geoms)


def destination(into: str):
    from tailwatch.bridge.place import parse_into

    path = Path(into)
    if into.lower().endswith((".geojson", ".json")) or path.is_file():
        if not path.exists():
            raise BadInput(f"{path}: no such file")
        return parse_into(into, read_polygon(path), polygon_label=path.name)
    return parse_into(into)


def window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    t0, t1 = parse_time(start, "--start"), parse_time(end, "--end")
    if t0 is None or t1 is None:
        raise BadInput("give --start and --end (ISO 8601, UTC)")
    if len(end.strip()) == 10:  # a bare date: the whole day
        t1 = datetime.combine(t1.date(), time.max, tzinfo=timezone.utc)
    if t1 < t0:
        raise BadInput(f"--end {end} is before --start {start}")
    if t1 == t0:
        raise BadInput(f"empty window: --start and --end are both {start}")
    return t0, t1


def _entries(frame) -> dict[str, list[dict]]:
    """Resolved list rows → icao24 → [{list, id, operator, country}]."""
    out: dict[str, list[dict]] = {}
    for row in frame.filter(frame["icao24"].is_not_null()).iter_rows(named=True):
        out.setdefault(row["icao24"], []).append({"list": row.get("list"), "id": row.get("entry_id"),
                                                   "operator": row.get("operator"), "country": row.get("country")})
    return out


def criteria_for(archive: Path, watchlist: Path | None, listed: bool, from_: str | None, military: bool,
                 classes: list[str] | None):
    from tailwatch.bridge.criteria import CLASSES, Criteria
    from tailwatch.bridge.place import parse_countries

    countries = parse_countries(from_)
    wanted_classes = frozenset(c.strip().lower() for c in classes or [] if c.strip())
    bad = sorted(wanted_classes - CLASSES)
    if bad:
        raise BadInput(f"--class: unknown type class {', '.join(bad)} (known: {', '.join(sorted(CLASSES))})")
    entries, addresses, label = {}, None, "watchlist"
    if watchlist is not None:
        from tailwatch.identity.watchlist import load_watchlist

        if not watchlist.exists():
            raise BadInput(f"{watchlist}: no such file")
        frame = load_watchlist(watchlist, archive)
        entries, label = _entries(frame), watchlist.name
    elif listed or not (countries or military or wanted_classes):
        from tailwatch.identity.watchlist import archive_watchlist

        frame = archive_watchlist(archive)
        entries, label = _entries(frame), "the archive's watchlist"
    if watchlist is not None or listed or not (countries or military or wanted_classes):
        addresses = frozenset(entries)
    return Criteria(listed=addresses, list_label=label, from_countries=countries, military=military,
                    classes=wanted_classes, entries=entries)


def data_start(archive: Path) -> datetime | None:
    from tailwatch.archive_layout import day_folders, points_root

    days = day_folders(points_root(archive))
    return datetime.combine(days[0][0], time.min, tzinfo=timezone.utc) if days else None


def _check_held(archive: Path, t0: datetime, t1: datetime, start: str, end: str) -> None:
    from tailwatch.archive_layout import day_folders, points_root

    days = day_folders(points_root(archive))
    if not days:
        raise BadInput(f"{archive}: the archive holds no positions")
    if not day_folders(points_root(archive), t0, t1):
        raise BadInput(f"empty window: the archive holds no positions between {start} and {end} "
                       f"(it holds {days[0][0]} to {days[-1][0]})")


def candidates_for(archive: Path, place, criteria, b0: datetime, t0: datetime, t1: datetime):
    """The bridge's `Population` (`bridge.candidates`): flagged aircraft heard low near the place in [b0, t1]
    (built) and aircraft not flagged heard low there in [t0, t1] (listed), from one query and the
    identities of those near, read at once."""
    from tailwatch.bridge.candidates import NEAR_BELOW_FT, near_boxes, select_candidates
    from tailwatch.identity.resolve import identities

    from tailwatch.engines.duckdb import seen_and_near

    seen, near_window, near_any = seen_and_near(archive, near_boxes(place), b0, t0, t1, NEAR_BELOW_FT)
    near = sorted(near_any)
    return select_candidates(seen, near_window, near_any, identities(archive, near, {}, b0, t1) if near else {},
                             criteria)


def population_note(place, counts: dict[str, int]) -> str:
    from tailwatch.bridge.candidates import NEAR_BELOW_FT, NEAR_KM

    return (f"Listed: flagged aircraft heard on the ground or below {NEAR_BELOW_FT:,.0f} ft within {NEAR_KM:.0f} km of "
            f"{place.label} in the window or the baseline ({counts['flagged_near']}: their itineraries are built), and "
            f"aircraft not flagged heard there in the window ({counts['near_not_flagged']}: listed from the positions, "
            f"no itinerary), of {counts['seen']} aircraft seen; flagged aircraft that never came near are neither "
            "counted nor listed")


def run_bridge(archive: Path, into: str, start: str | None, end: str | None, *, from_: str | None = None,
               watchlist: Path | None = None, listed: bool = False, military: bool = False,
               classes: list[str] | None = None, cargo: str | None = None, engine=None,
               on_stage: Callable[[str], None] | None = None, preselect: bool = True,
               tracks: bool = False) -> dict:
    """The `tailwatch.bridge/1` document (raises NoAircraft when the archive has nothing in the window).

    `preselect` (the default) builds itineraries only for the bridge's population (`candidates_for`);
    without it, for every aircraft of the window and the baseline: the same document when no flagged
    aircraft outside the population landed in the place (kept to check the preselection against).
    `tracks` adds each flight's drawn chain (`with_view_data`)."""
    from tailwatch.app.itineraries import itineraries
    from tailwatch.bridge import bridge_document

    if not Path(archive).is_dir():
        raise BadInput(f"{archive}: no such archive folder")
    place = destination(into)
    t0, t1 = window(start, end)
    criteria = criteria_for(Path(archive), watchlist, listed, from_, military, classes)
    load = None
    if cargo:
        from tailwatch.airlift.cargo import load_cargo

        load = load_cargo(cargo)
    first = data_start(Path(archive))
    _check_held(Path(archive), t0, t1, start, end)
    b0 = max(t0 - (t1 - t0), first) if first is not None else t0 - (t1 - t0)
    population = candidates_for(Path(archive), place, criteria, min(b0, t0), t0, t1)
    wanted, counts = population.built, population.counts
    if on_stage is not None:
        on_stage("candidates")
    try:
        if not counts["seen"]:
            raise NoAircraft("no aircraft in this window")
        if preselect and not wanted:  # aircraft in the window, none near the place
            docs = []
        else:
            docs, _ = itineraries(Path(archive), None, wanted if preselect else None, None, min(b0, t0), t1,
                                  engine=engine, every_aircraft=not preselect, with_points=False, on_stage=on_stage)
    except NoAircraft as exc:
        raise NoAircraft(f"no aircraft in {archive} between {start} and {end}: {exc}") from exc
    doc = bridge_document(docs, place, criteria, t0, t1, data_from=first, cargo=load, population=set(wanted),
                          not_flagged=population.not_flagged, notes=[population_note(place, counts)])
    return with_view_data(doc, docs, Path(archive), engine, tracks=tracks, place=place)


def with_view_data(doc: dict, docs: list[dict], archive: Path, engine=None, *, tracks: bool = False,
                   place=None) -> dict:
    """The optional fields a view needs that the core cannot give: `simulated` and `notice` when any
    itinerary comes from the simulator (every report of it carries the banner), and with `tracks` each
    flight's `track` (`report.bridge_html.tracks.flight_track`): the aircraft's points over their chains,
    gathered in one query of the engine, cut and simplified as the itinerary map cuts them, and for a
    polygon destination its outline (`into_outline`, GeoJSON), so the map can draw it."""
    if any(d.get("simulated") for d in docs):
        from tailwatch.report.tracks import SIMULATED_NOTICE

        doc["simulated"], doc["notice"] = True, doc.get("notice") or SIMULATED_NOTICE
    if tracks and place is not None and getattr(place, "polygon", None) is not None:
        import shapely
        from shapely.geometry import mapping

        outline = shapely.set_precision(place.polygon.simplify(0.005, preserve_topology=True), 1e-4)
        doc["into_outline"] = mapping(outline)
    if not tracks or not doc["flights"]:
        return doc
    import polars as pl

    from tailwatch.report.bridge_html.tracks import chain_span, flight_track

    by_hex = {(d.get("aircraft") or {}).get("icao24"): d for d in docs}
    spans = [chain_span(by_hex[f["icao24"]].get("legs") or [], f) for f in doc["flights"] if f["icao24"] in by_hex]
    lo = min((s[0] for s in spans if s[0]), default=None)
    hi = max((s[1] for s in spans if s[1]), default=None)
    frames: dict[str, pl.DataFrame] = {}
    if lo and hi:
        if engine is None:
            from tailwatch.engines import get_engine

            engine = get_engine("duckdb")
        points = engine.points_for(archive, sorted({f["icao24"] for f in doc["flights"]}), parse_time(lo), parse_time(hi))
        if points.height:
            frames = {k[0]: v for k, v in points.partition_by("icao24", as_dict=True, maintain_order=True).items()}
    for f in doc["flights"]:
        itin = by_hex.get(f["icao24"])
        f["track"] = flight_track(itin.get("legs") or [], f, frames.get(f["icao24"])) if itin else []
    return doc


def render_md(doc: dict) -> str:
    t = doc["totals"]
    b = doc["baseline"]
    lines = [f"# Air bridge into {doc['into']}, {doc['start']} to {doc['end']}", ""]
    if doc.get("criteria"):
        lines += ["Aircraft counted: " + "; ".join(doc["criteria"]) + ".", ""]
    band = t["capacity_band_t"]
    band_text = "" if None in band else f" (band {band[0]:,.0f}–{band[1]:,.0f} t)"
    lines += [f"**{_n(t['flights'], 'flight')}** by {t['aircraft']} aircraft ({t['observed_arrivals']} landings observed, "
              f"{t['inferred_arrivals']} inferred); capacity flown in at most **{t['capacity_t']:,.0f} t**{band_text}"
              + (f", {_n(t['flights_with_payload_unknown'], 'flight')} with payload unknown" if t['flights_with_payload_unknown'] else "")
              + ".", ""]
    if b.get("held"):
        ratio = "undefined (no flight before)" if b.get("ratio") is None else f"{b['ratio']:g}×"
        lines += [f"Baseline {b['start']} to {b['end']}: {_n(b['flights'], 'flight')}; ratio {ratio}."
                  + (f" {b['note']}." if b.get("note") else ""), ""]
    else:
        lines += [f"Baseline: {b.get('note')}", ""]
    if b.get("first_seen_in_window"):
        lines += ["First seen landing in the destination in the window: " + ", ".join(b["first_seen_in_window"]) + ".", ""]
    lines += ["Chains run from where the trip began (or the last stop in the destination) to the arrival; a stop "
              "marked (inferred) was reasoned over a gap, \"unknown\" is a stop no airport clearly explains.", "",
              "| # | aircraft | type | operator | arrival | time (UTC) | evidence | chain | from | max payload t | avoided |",
              "|---:|---|---|---|---|---|---|---|---|---:|---|"]
    for i, f in enumerate(doc["flights"], 1):
        a = f["arrival"]
        when = a.get("time") or ("between " + " and ".join(x or "?" for x in a.get("window") or []))
        chain = " → ".join(_stop(s) for s in f.get("chain_stops") or [{"icao": c} for c in f["chain"]])
        payload = "unknown" if f.get("max_payload_t") is None else f"{f['max_payload_t']:.1f}"
        lines.append(f"| {i} | {f.get('registration') or f['icao24']} | {f.get('typecode') or '?'} | "
                     f"{_md(f.get('operator') or 'unknown')} | {a['icao']} | {when} | {a['evidence']} | {chain} | "
                     f"{f.get('from_country') or 'unknown'} | {payload} | {' '.join(f.get('avoided') or []) or '—'} |")
    lines += ["", "## Totals", ""]
    for key, title in (("by_origin_country", "per origin country"), ("by_operator", "per operator"),
                       ("by_week", "per ISO week")):
        lines.append(f"- {title}: " + (", ".join(f"{_md(k)} {v}" for k, v in t[key].items()) or "none"))
    lines.append("- timeline (flights per day): " + ", ".join(f"{d['date'][5:]} {d['flights']}" for d in t["timeline"]))
    if doc.get("cargo"):
        c = doc["cargo"]
        lines += ["", f"## Cargo: {c['cargo']}", "",
                  f"Known mass {c['known_mass_t']:,.1f} t" + (f" ({len(c['items_unknown'])} items unknown)" if c["items_unknown"] else "")
                  + f"; {c['flights_flown']} flights flown could carry at most {c['capacity_flown_t']:,.0f} t."]
        for row in c["per_type"]:
            lines.append(f"- {row['type']}: {row['sorties_needed'] if row['sorties_needed'] is not None else 'unknown'} "
                         f"sorties needed at {row['median_capacity_t']} t; {row['flights']} flown")
        for r in c["reported"]:
            lines.append(f"- reported: {r['description']} ({r['sorties']}; {r['source']})")
    lines += ["", "## Together on the ground", ""]
    lines += [f"- {c['airport']}: " + " and ".join(x.get("registration") or x["icao24"] for x in c["aircraft"])
              + f", {c['from']} to {c['to']} ({c['overlap_h']:g} h, observed)" for c in doc["colocations"]] or ["none observed"]
    lines += ["", "## Not counted", ""]
    lines += [f"- {e.get('registration') or e['icao24']} ({e.get('typecode') or 'type unknown'}): {e['reason']} — {_md(e['detail'])}"
              for e in doc["excluded"]] or ["none"]
    for note in doc.get("notes") or []:
        lines.append(f"\n_{note}_")
    return "\n".join(lines) + "\n"


def _stop(stop: dict) -> str:
    """'GVAC (inferred)', 'DAAG', 'unknown'."""
    if not stop.get("icao"):
        return "unknown"
    return stop["icao"] + (" (inferred)" if stop.get("evidence") == "inferred" else "")


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


CSV_COLUMNS = ["icao24", "registration", "typecode", "operator", "arrival_icao", "arrival_time", "arrival_window_start",
               "arrival_window_end", "arrival_evidence", "chain", "chain_evidence", "from_country", "max_payload_t", "payload_band_low_t",
               "payload_band_high_t", "avoided"]


def render_csv(doc: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for f in doc["flights"]:
        a = f["arrival"]
        win = a.get("window") or [None, None]
        band = f.get("payload_band_t") or [None, None]
        w.writerow([f["icao24"], f.get("registration"), f.get("typecode"), f.get("operator"), a["icao"], a.get("time"),
                    win[0], win[1], a["evidence"], " ".join(s or "unknown" for s in f["chain"]),
                    " ".join(s.get("evidence") or "unknown" for s in f.get("chain_stops") or []), f.get("from_country"),
                    f.get("max_payload_t"), band[0], band[1], " ".join(f.get("avoided") or [])])
    return buf.getvalue()


def render(doc: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False, default=json_default) + "\n"
    if fmt == "md":
        return render_md(doc)
    if fmt == "csv":
        return render_csv(doc)
    if fmt == "html":
        from tailwatch.report.bridge_html import render_bridge_html

        return render_bridge_html(doc)
    raise BadInput(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")


__all__ = ["FORMATS", "destination", "render", "run_bridge", "window", "with_view_data"]
