"""Commands that need no data: the legal `route` between two airports and the `airlift` a type allows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from tailwatch.cli.base import NoResult, app


@app.command()
def route(
    origin: Annotated[str, typer.Argument(help="Origin airport (ICAO or IATA).")],
    destination: Annotated[str, typer.Argument(help="Destination airport (ICAO or IATA).")],
    type_code: Annotated[Optional[str], typer.Option("--type", help="Type code (range from the airlift model).")] = None,
    operator_country: Annotated[Optional[str], typer.Option("--operator-country", help="ISO2 of the operator.")] = None,
    registration_country: Annotated[Optional[str], typer.Option("--registration-country", help="ISO2 of the register.")] = None,
    payload_t: Annotated[Optional[float], typer.Option("--payload-t", help="Payload in tonnes (default 20).")] = None,
    range_km: Annotated[Optional[float], typer.Option("--range-km", help="Hop range in km (overrides the type model).")] = None,
    when: Annotated[Optional[str], typer.Option("--date", help="Bans in force on this date (default: today).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or md.")] = "json",
) -> None:
    """Shortest route that avoids the airspace banned to the operator, with fuel stops."""
    import json
    from datetime import date

    from tailwatch.airspace.routing import NoRoute, legal_route, route_markdown
    from tailwatch.errors import BadInput

    if fmt not in ("json", "md"):
        raise BadInput(f"--format must be json or md, not {fmt!r}")
    for flag, iso2 in (("--operator-country", operator_country), ("--registration-country", registration_country)):
        if iso2 is not None and not (len(iso2) == 2 and iso2.isascii() and iso2.isalpha()):
            raise BadInput(f"{flag}: not an ISO 3166 alpha-2 code: {iso2!r}")
    if type_code is not None and range_km is None:
        from tailwatch.airlift.types import aircraft_type

        if aircraft_type(type_code) is None:
            raise BadInput(f"unknown aircraft type {type_code!r}: no range data for it (give --range-km)")
    try:
        answer = legal_route(origin, destination, typecode=type_code, operator_country=operator_country,
                             registration_country=registration_country, payload_t=payload_t,
                             range_km=range_km, when=when or date.today().isoformat())
    except NoRoute as exc:
        raise NoResult(str(exc)) from exc
    if fmt == "json":
        typer.echo(json.dumps(answer, indent=2))
    else:
        typer.echo(route_markdown(answer))


@app.command()
def airlift(
    km: Annotated[Optional[list[float]], typer.Argument(metavar="[KM]...", help="More leg distances (km).")] = None,
    type_code: Annotated[Optional[str], typer.Option("--type", help="Type code: IL76, IL76MD90A, A124, C17, B77L…")] = None,
    leg_km: Annotated[Optional[list[float]], typer.Option("--leg-km", help="Flown distance of a leg in km (repeatable).")] = None,
    itinerary: Annotated[Optional[Path], typer.Option("--itinerary", help="tailwatch.itinerary/1 JSON (object or array).")] = None,
    cargo: Annotated[Optional[str], typer.Option("--cargo", help="Cargo set name (shahed-136, kornet, s400-battery) or CSV file.")] = None,
    count: Annotated[int, typer.Option("--count", help="How many times the cargo set.")] = 1,
    supply: Annotated[Optional[Path], typer.Option("--supply", help="CSV filling a named set's unknown figures.")] = None,
    claim_t: Annotated[Optional[float], typer.Option("--claim-t", help="Check a claimed load (t) against every leg.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or md.")] = "json",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """What a type could carry on each leg, and how many sorties a cargo needs."""
    import json

    from tailwatch.airlift.cargo import load_cargo, merge_masses, read_cargo_file
    from tailwatch.airlift.enrich import leg_distance_km, leg_label, read_itineraries
    from tailwatch.airlift.report import airlift_report, render_markdown
    from tailwatch.airlift.types import aircraft_type
    from tailwatch.errors import BadInput

    if fmt not in ("json", "md"):
        raise BadInput(f"--format must be json or md, got {fmt!r}")
    if type_code is not None and aircraft_type(type_code) is None:
        raise BadInput(f"unknown aircraft type {type_code!r}: no payload data for it")
    distances = list(leg_km or []) + list(km or [])
    if bool(distances) == bool(itinerary):
        raise BadInput("give either --leg-km KM ... or --itinerary FILE")
    load = None
    if cargo:
        load = load_cargo(cargo)
        if supply:
            load = merge_masses(load, read_cargo_file(supply))
        load = load.scaled(count) if count != 1 else load
    runs: list[tuple[str, list[float], list[dict] | None]] = []
    if itinerary:
        for it in read_itineraries(itinerary):
            code = type_code or (it.get("aircraft") or {}).get("typecode")
            if not code:
                raise BadInput(f"{itinerary}: aircraft typecode unknown; give --type")
            if aircraft_type(code) is None:
                raise BadInput(f"unknown aircraft type {code!r}: no payload data for it")
            runs.append((code, [leg_distance_km(leg) for leg in it["legs"]], [leg_label(leg) for leg in it["legs"]]))
    else:
        if type_code is None:
            raise BadInput("--type is required with --leg-km")
        runs.append((type_code, distances, None))
    reports = [airlift_report(code, d, cargo=load, claim_t=claim_t, leg_labels=labels) for code, d, labels in runs]
    if fmt == "json":
        text = json.dumps(reports[0] if len(reports) == 1 else reports, indent=2, ensure_ascii=False) + "\n"
    else:
        text = "\n".join(render_markdown(r) for r in reports)
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
