"""`tailwatch demo`: the whole chain on a simulated scenario, offline, in well under a minute.

Simulates the reported October 2025 trip of the Il-76TD RA-78765 among other traffic
(scenario and coverage model in `tailwatch.sim`), writes the simulated positions to a
file in a real exchange format (Parquet in traffic's column names), ingests that file
into a fresh archive through the ordinary pipeline (format detected by content), resolves
the seed watchlist to find the aircraft, rebuilds its itinerary from the archive, enriches
it (airspace, payload), compares it with what the simulator flew, and writes HTML,
Markdown, GeoJSON, KML and JSON to the output folder. Every output says *simulated*: the
positions are generated, not received.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tailwatch.report.tracks import SIMULATED_NOTICE

REGISTRATION = "RA-78765"
MARKER = ".tailwatch-demo"  # only folders carrying it are cleared on a re-run


@dataclass
class DemoResult:
    out: Path
    paths: dict[str, Path] = field(default_factory=dict)
    lacks: list[str] = field(default_factory=list)
    itinerary: dict | None = None
    seconds: float = 0.0
    figures: dict = field(default_factory=dict)


def write_feed(points: pl.DataFrame, path: Path) -> Path:
    """The simulated positions as a Parquet file in traffic's column names (one of the formats
    `tailwatch ingest` detects), time-ordered like a recording; `source` stays `simulated`."""
    from tailwatch.schema import COLUMNS

    points.select([c for c in COLUMNS if c in points.columns]).sort("timestamp").write_parquet(
        path, compression="zstd", row_group_size=50_000)
    return path


def _fresh_folder(path: Path) -> None:
    """Create `path`, clearing it first only if a previous demo made it."""
    if path.exists() and (path / MARKER).exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("created by `tailwatch demo`; safe to delete\n")


def _simulate() -> tuple[pl.DataFrame, dict]:
    """All simulated traffic (canonical points) and a description of the scenario."""
    from tailwatch import sim

    scenario = sim.demo_scenario()
    return scenario.points, scenario.describe()


def run_demo(out: Path, console, progress: Callable) -> DemoResult:
    """Run the simulated scenario end to end and print the summary and the paths written."""
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out=out)
    work = out / "work"
    with progress() as bar:
        task = bar.add_task("simulating traffic", total=7)

        def step(text: str) -> None:
            bar.update(task, description=text)

        traffic, scenario = _simulate()
        result.figures["simulated points"] = traffic.height
        result.figures["simulated aircraft"] = traffic["icao24"].n_unique()
        bar.advance(task)

        step("writing the simulated feed")
        _fresh_folder(work)
        feed = write_feed(traffic, work / "simulated-positions.parquet")
        bar.advance(task)

        step("ingesting into the archive")
        from tailwatch.ingest.pipeline import ingest_file

        archive = work / "archive"
        summary = ingest_file(feed, archive)  # format detected by content, like any user file
        result.figures["ingested points"] = summary.written
        bar.advance(task)

        step("resolving the watchlist")
        aircraft = _resolve(archive, scenario, result)
        bar.advance(task)

        step("rebuilding the itinerary")
        from tailwatch.engines.duckdb import points_for

        points = points_for(archive, [aircraft["icao24"]])
        if points.height == 0 and aircraft["icao24"] != scenario["icao24"]:
            result.lacks.append(f"identity: {aircraft['icao24']} has no points; using the scenario's {scenario['icao24']}")
            aircraft = {**aircraft, "icao24": scenario["icao24"]}
            points = points_for(archive, [aircraft["icao24"]])
        itin, points = _itinerary(points, aircraft, result)
        bar.advance(task)

        step("airspace and payload")
        itin = _enrich(itin, points, aircraft, result)
        itin["simulated"] = True
        itin["notice"] = SIMULATED_NOTICE
        itin["simulation"] = _truth(scenario, itin, result)
        result.itinerary = itin
        bar.advance(task)

        step("writing the reports")
        result.paths = write_outputs(itin, points, out, result)
        result.paths.update(_bridge(itin, points, out, result))
        bar.advance(task)
    result.seconds = time.perf_counter() - started
    print_summary(console, result)
    return result


def _resolve(archive: Path, scenario: dict, result: DemoResult) -> dict:
    """The aircraft object: the seed watchlist resolved against the archive, then the identity lookup."""
    wanted = scenario.get("registration", REGISTRATION)
    try:
        from tailwatch.identity.lookup import aircraft_identity
        from tailwatch.identity.registrations import normalize_registration
        from tailwatch.identity.watchlist import archive_watchlist
    except ImportError:
        result.lacks.append("identity: watchlist resolution is not installed; the aircraft is taken from the scenario")
        return {"icao24": scenario["icao24"], "registration": wanted, "typecode": scenario.get("typecode"),
                "country": scenario.get("country"), "watchlists": []}
    entries = archive_watchlist(archive)
    result.figures["seed watchlist entries"] = entries.height
    result.figures["seed watchlist entries resolved to an address"] = int(entries["icao24"].is_not_null().sum())
    key = normalize_registration(wanted)
    row = entries.filter(pl.col("registrations").list.eval(pl.element().map_elements(
        normalize_registration, return_dtype=pl.String) == key).list.any() & pl.col("icao24").is_not_null())
    if row.height:
        icao24 = row["icao24"][0]
        result.figures[f"{wanted} resolved"] = f"{icao24} ({row['evidence'][0]}, confidence {row['confidence'][0]:.2f})"
    else:
        result.lacks.append(f"identity: the seed watchlist did not resolve {wanted}; using the scenario's address")
        icao24 = scenario["icao24"]
    aircraft = aircraft_identity(icao24, archive) or {"icao24": icao24, "registration": wanted, "watchlists": []}
    aircraft.setdefault("typecode", None)
    if not aircraft.get("typecode"):
        aircraft["typecode"] = scenario.get("typecode")
    return aircraft


def _itinerary(points: pl.DataFrame, aircraft: dict, result: DemoResult) -> tuple[dict, pl.DataFrame]:
    from tailwatch.itinerary.build import build_itinerary

    built = build_itinerary(points, aircraft=aircraft, typecode=aircraft.get("typecode"))
    return built.to_json(), built.points


def _enrich(itin: dict, points: pl.DataFrame, aircraft: dict, result: DemoResult) -> dict:
    try:
        from tailwatch.airspace.enrich import add_airspace
    except ImportError:
        result.lacks.append("airspace: countries crossed, bans and the legal shortest route are not computed")
    else:
        itin = add_airspace(itin, points, aircraft.get("operator_country") or aircraft.get("country"))
    try:
        from tailwatch.airlift.enrich import add_payload
    except ImportError:
        result.lacks.append("airlift: maximum payload per leg is not computed")
    else:
        itin = add_payload(itin, aircraft.get("typecode"))
    return itin


def _truth(scenario: dict, itin: dict, result: DemoResult) -> dict:
    """What the simulator flew, and how much of it the rebuilt route recovers (position by position)."""
    flown = list(scenario.get("route") or [])
    rebuilt = list((itin.get("route") or {}).get("airports") or [])
    same = sum(1 for a, b in zip(flown, rebuilt) if a == b)
    result.figures["simulated route"] = " → ".join(flown)
    unknown = sum(1 for b in rebuilt if b is None)
    result.figures["rebuilt route matches it at"] = (f"{same} of {len(flown)} airports ({len(rebuilt)} rebuilt, "
                                                     f"{unknown} unknown, {len(rebuilt) - same - unknown} wrong)")
    return {"notice": scenario.get("notice"), "route": flown, "legs": scenario.get("legs") or [],
            "matching_airports": same, "receivers": scenario.get("receivers"),
            "receiver_outages": {"Kaolack (Dakar area)": scenario["dakar_receiver_offline"]}
            if scenario.get("dakar_receiver_offline") else {}}


def write_outputs(itin: dict, points: pl.DataFrame, out: Path, result: DemoResult) -> dict[str, Path]:
    """HTML, Markdown, GeoJSON, KML and JSON, each carrying the simulated notice."""
    from tailwatch.report.geojson import write_geojson
    from tailwatch.report.html import write_html
    from tailwatch.report.kml import write_kml

    key = (itin.get("aircraft") or {}).get("icao24")
    by_aircraft = {key: points}
    paths: dict[str, Path] = {}
    base = out / "itinerary"
    paths["html"] = write_html([itin], by_aircraft, base.with_suffix(".html"), notice=SIMULATED_NOTICE)[0]
    paths["geojson"] = write_geojson([itin], by_aircraft, base.with_suffix(".geojson"), notice=SIMULATED_NOTICE)[0]
    paths["kml"] = write_kml([itin], by_aircraft, base.with_suffix(".kml"), notice=SIMULATED_NOTICE)[0]
    md_path = base.with_suffix(".md")
    try:
        from tailwatch.report.markdown import render_markdown
    except ImportError:
        result.lacks.append("report: the Markdown writer is not installed; itinerary.md not written")
    else:
        text = render_markdown([itin], by_aircraft)
        if "simulated" not in text[:400].lower():
            text = f"> **{SIMULATED_NOTICE}**\n\n{text}"
        md_path.write_text(text, encoding="utf-8")
        paths["md"] = md_path
    json_path = base.with_suffix(".json")
    json_path.write_text(json.dumps(itin, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    paths["json"] = json_path
    return paths


def _bridge(itin: dict, points, out: Path, result: DemoResult) -> dict[str, Path]:
    """A short air-bridge summary (`tailwatch bridge`) over the demo's itinerary: flights of the watchlisted
    aircraft into Venezuela with their chains, as JSON and as the HTML page (`bridge --format html`).
    The demo has one flagged aircraft, so this is the same core `tailwatch bridge` runs over a whole
    archive, given the itinerary and points already in hand (kept fast)."""
    from tailwatch.bridge import Criteria, bridge_document, parse_into
    from tailwatch.times import parse_time

    ac = itin.get("aircraft") or {}
    legs = itin.get("legs") or []
    times = [parse_time(t) for leg in legs for t in (leg.get("takeoff") or leg.get("first_point"),
                                                        leg.get("landing") or leg.get("last_point")) if t]
    if not times or not ac.get("icao24"):
        result.lacks.append("bridge: no itinerary to count flights over")
        return {}
    listed = frozenset([ac["icao24"]] if ac.get("watchlists") else [])
    doc = bridge_document([itin], parse_into("VE"), Criteria(listed=listed, list_label="the seed watchlist"),
                          min(times), max(times))
    doc["simulated"], doc["notice"] = True, SIMULATED_NOTICE
    t = doc["totals"]
    chains = "; ".join(" → ".join(c or "unknown" for c in f["chain"]) + f" ({f.get('from_country') or 'unknown'} → VE)"
                       for f in doc["flights"])
    result.figures["bridge into VE (watchlisted aircraft)"] = (
        f"{t['flights']} flight(s), capacity at most {t['capacity_t']:,.0f} t" + (f": {chains}" if chains else ""))
    path = out / "bridge.json"
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    from tailwatch.report.bridge_html import render_bridge_html
    from tailwatch.report.bridge_html.tracks import flight_track

    view = {**doc, "flights": [{**f, "track": flight_track(legs, f, points)} for f in doc["flights"]]}
    page = out / "bridge.html"
    page.write_text(render_bridge_html(view), encoding="utf-8")
    return {"bridge": path, "bridge html": page}


def print_summary(console, result: DemoResult) -> None:
    """The legs as a table, the route, what is missing, and the files written."""
    from rich import box
    from rich.table import Table

    itin = result.itinerary or {}
    a = itin.get("aircraft") or {}
    console.print(SIMULATED_NOTICE, style="bold red", markup=False, highlight=False)
    table = Table(title=f"{a.get('registration') or '?'} ({a.get('icao24') or '?'}, {a.get('typecode') or 'type unknown'}) "
                        "— simulated itinerary", caption="ends: take-off/landing observed (obs) or inferred (inf); "
                        "times UTC; km great circle", box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)
    for col in ("#", "leg", "take-off", "landing", "ends", "conf", "km", "barred airspace", "payload"):
        table.add_column(col, justify="right" if col in ("#", "conf", "km", "payload") else "left",
                         no_wrap=col != "barred airspace", min_width=6 if col == "barred airspace" else None)
    short = {"observed": "obs", "inferred": "inf", "unknown": "unk"}
    for i, leg in enumerate(itin.get("legs") or []):
        o, d = leg.get("origin") or {}, leg.get("destination") or {}
        conf = leg.get("confidence")
        table.add_row(str(i + 1), f"{o.get('icao') or '?'}→{d.get('icao') or '?'}",
                      _short_time(leg.get("takeoff")), _short_time(leg.get("landing")),
                      f"{short.get(leg.get('origin_evidence'), '?')}/{short.get(leg.get('destination_evidence'), '?')}",
                      "?" if conf is None else f"{conf:.2f}",
                      "?" if leg.get("great_circle_km") is None else f"{leg['great_circle_km']:,.0f}",
                      _barred_cell(leg),
                      "unknown" if leg.get("max_payload_t") is None else f"{leg['max_payload_t']:.0f} t")
    console.print(table)
    route = itin.get("route") or {}
    if route.get("airports"):
        from tailwatch.report.tracks import route_text

        console.print("route: " + route_text(itin), markup=False, highlight=False)
    if route.get("detour"):
        console.print(route["detour"], markup=False, highlight=False)
    for i, leg in enumerate(itin.get("legs") or [], 1):  # whose airspace each leg went around
        if leg.get("airspace_sentence"):
            console.print(f"leg {i}, {leg['airspace_sentence']}", markup=False, highlight=False)
    longer = [f"{i + 1} {(leg.get('origin') or {}).get('icao') or '?'}→{(leg.get('destination') or {}).get('icao') or '?'} "
              f"{leg['flown_km']:,.0f} km ({leg['flown_km'] / leg['great_circle_km'] - 1:+.0%})"
              for i, leg in enumerate(itin.get("legs") or [])
              if leg.get("flown_km") and leg.get("great_circle_km") and leg["flown_km"] > 1.005 * leg["great_circle_km"]]
    if longer:
        console.print("legs flown longer than their great circle: " + "; ".join(longer), markup=False, highlight=False)
    for k, v in result.figures.items():
        console.print(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}", markup=False, highlight=False)
    for line in result.lacks:
        console.print(f"[yellow]not in this demo:[/] {line}")
    for kind, path in result.paths.items():
        console.print(f"{kind:>8}: {path}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"done in {result.seconds:.1f} s (simulated data)", markup=False, highlight=False)


def _barred_cell(leg: dict) -> str:
    """'around GR AL IT' (on the direct line, not on the track), 'crossed CY'; '—' for neither."""
    parts = []
    if leg.get("avoided"):
        parts.append("around " + " ".join(leg["avoided"]))
    crossed = leg.get("crossed_barred", leg.get("banned_countries")) or []
    if crossed:
        parts.append("crossed " + " ".join(crossed))
    return "; ".join(parts) or "—"


def _short_time(value: str | None) -> str:
    """'2025-10-03T06:00:00Z' → '10-03 06:00' (unknown → '?')."""
    return value[5:16].replace("T", " ") if value else "?"
