"""`tailwatch demo`: the whole chain on a simulated scenario, offline, in well under a minute.

Simulates the reported October 2025 trip of the Il-76TD RA-78765 among other traffic
(scenario and coverage model in `tailwatch.sim`), writes the simulated positions to a
file in a real exchange format (OpenSky state-vector CSV), ingests that file into a
fresh archive through the ordinary pipeline, resolves the seed watchlist to find the
aircraft, rebuilds its itinerary from the archive, enriches it (airspace, payload) and
writes HTML, Markdown, GeoJSON, KML and JSON to the output folder. Every output says
*simulated*: the positions are generated, not received.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tailwatch.report.tracks import SIMULATED_NOTICE

REGISTRATION = "RA-78765"
MARKER = ".tailwatch-demo"  # only folders carrying it are cleared on a re-run
SOURCE_LABEL = "simulated"


@dataclass
class DemoResult:
    out: Path
    paths: dict[str, Path] = field(default_factory=dict)
    lacks: list[str] = field(default_factory=list)
    itinerary: dict | None = None
    seconds: float = 0.0
    figures: dict = field(default_factory=dict)


class _SimulatedCsv:
    """The OpenSky state-vector CSV reader, labelling rows `simulated` instead of `opensky`."""

    name = "opensky-csv (simulated)"

    def __init__(self) -> None:
        from tailwatch.ingest.opensky import CSV_READER

        self._inner = CSV_READER

    def sniff(self, head: bytes) -> bool:
        return self._inner.sniff(head)

    def read(self, path: Path, rejects, batch_rows: int = 200_000) -> Iterator[pl.DataFrame]:
        for frame in self._inner.read(path, rejects, batch_rows):
            yield frame.with_columns(pl.lit(SOURCE_LABEL).alias("source"))


def to_state_vectors(points: pl.DataFrame) -> pl.DataFrame:
    """Canonical points → OpenSky historical state-vector columns (SI units, epoch seconds)."""
    from tailwatch.schema import M_TO_FT, MS_TO_FPM, MS_TO_KT

    t = (pl.col("timestamp").dt.epoch("us") / 1e6)
    return points.select(
        t.round(3).alias("time"),
        pl.col("icao24"),
        pl.col("latitude").alias("lat"),
        pl.col("longitude").alias("lon"),
        (pl.col("groundspeed").cast(pl.Float64) / MS_TO_KT).round(2).alias("velocity"),
        pl.col("track").cast(pl.Float64).round(1).alias("heading"),
        (pl.col("vertical_rate").cast(pl.Float64) / MS_TO_FPM).round(2).alias("vertrate"),
        pl.col("callsign"),
        pl.col("onground"),
        pl.col("squawk"),
        (pl.col("altitude").cast(pl.Float64) / M_TO_FT).round(1).alias("baroaltitude"),
        (pl.col("geoaltitude").cast(pl.Float64) / M_TO_FT).round(1).alias("geoaltitude"),
        t.round(3).alias("lastposupdate"),
        t.round(3).alias("lastcontact"),
    )


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
        feed = work / "simulated-state-vectors.csv"
        to_state_vectors(traffic.sort("timestamp")).write_csv(feed)
        bar.advance(task)

        step("ingesting into the archive")
        from tailwatch.ingest.pipeline import ingest_file

        archive = work / "archive"
        summary = ingest_file(feed, archive, reader=_SimulatedCsv())
        result.figures["ingested points"] = summary.written
        bar.advance(task)

        step("resolving the watchlist")
        aircraft = _resolve(archive, scenario, result)
        bar.advance(task)

        step("rebuilding the itinerary")
        from tailwatch.engines.duckdb import points_for

        points = points_for(archive, [aircraft["icao24"]])
        itin, points = _itinerary(points, aircraft, result)
        bar.advance(task)

        step("airspace and payload")
        itin = _enrich(itin, points, aircraft, result)
        itin["simulated"] = True
        itin["notice"] = SIMULATED_NOTICE
        result.itinerary = itin
        bar.advance(task)

        step("writing the reports")
        result.paths = write_outputs(itin, points, out, result)
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


def print_summary(console, result: DemoResult) -> None:
    """The legs as a table, the route, what is missing, and the files written."""
    from rich.table import Table

    itin = result.itinerary or {}
    a = itin.get("aircraft") or {}
    console.print(f"[bold red]SIMULATED[/] — {SIMULATED_NOTICE}")
    table = Table(title=f"{a.get('registration') or '?'} ({a.get('icao24') or '?'}, {a.get('typecode') or 'type unknown'}) — simulated itinerary")
    for col in ("#", "from", "to", "take-off (UTC)", "landing (UTC)", "evidence", "conf.", "km", "banned", "max payload"):
        table.add_column(col, justify="right" if col in ("#", "conf.", "km") else "left")
    for i, leg in enumerate(itin.get("legs") or []):
        o, d = leg.get("origin") or {}, leg.get("destination") or {}
        conf = leg.get("confidence")
        table.add_row(str(i + 1), o.get("icao") or "?", d.get("icao") or "?",
                      (leg.get("takeoff") or "?")[:16], (leg.get("landing") or "?")[:16],
                      f"{leg.get('origin_evidence', '?')}/{leg.get('destination_evidence', '?')}",
                      "?" if conf is None else f"{conf:.2f}",
                      "?" if leg.get("great_circle_km") is None else f"{leg['great_circle_km']:,.0f}",
                      ", ".join(leg.get("banned_countries") or []) or "—",
                      "unknown" if leg.get("max_payload_t") is None else f"{leg['max_payload_t']:.0f} t")
    console.print(table)
    route = itin.get("route") or {}
    if route.get("airports"):
        console.print("route: " + " → ".join(route["airports"]), markup=False, highlight=False)
    if route.get("detour"):
        console.print(route["detour"], markup=False, highlight=False)
    for k, v in result.figures.items():
        console.print(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}", markup=False, highlight=False)
    for line in result.lacks:
        console.print(f"[yellow]not in this demo:[/] {line}")
    for kind, path in result.paths.items():
        console.print(f"{kind:>8}: {path}", markup=False, highlight=False)
    console.print(f"done in {result.seconds:.1f} s (simulated data)", markup=False, highlight=False)
