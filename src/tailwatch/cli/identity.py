"""Identity commands: `whois`, `watchlist import|show`, and `scan` for where the watched aircraft were seen."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from tailwatch.cli.base import EngineOption, NoResult, SparkMasterOption, _engine, app, console
from tailwatch.terminal import print_table


watchlist_app = typer.Typer(help="Import and show watchlists (OFAC, OpenSanctions, hand-made CSV) and registries.",
                            no_args_is_help=True)
app.add_typer(watchlist_app, name="watchlist")


def _identity_time(value: Optional[str], name: str):
    from tailwatch.times import parse_time

    return parse_time(value, name)


def _identity_archive(archive: Optional[Path]) -> Optional[Path]:
    from tailwatch.errors import BadInput

    if archive is not None and not archive.is_dir():
        raise BadInput(f"{archive}: no such archive folder")
    return archive


@watchlist_app.command("import")
def watchlist_import(
    files: Annotated[list[Path], typer.Argument(help="OFAC sdn.xml / SDN_ADVANCED.XML / sdn.csv, FtM JSON lines, "
                                                     "CSV (icao24 or registration), or an aircraft registry.")],
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder (created if missing).")],
) -> None:
    """Import watchlists (and registries) into the archive; re-importing a file adds nothing."""
    from rich.table import Table

    from tailwatch.identity.watchlist import import_files

    archive.mkdir(parents=True, exist_ok=True)
    results = import_files(files, archive)
    table = Table(title=f"watchlist import → {archive}")
    for col in ("file", "format", "entries", "new"):
        table.add_column(col, justify="right" if col in ("entries", "new") else "left")
    for r in results:
        table.add_row(r["file"], r["format"], f"{r['entries']:,}", f"{r['new']:,}")
    print_table(console, table)


@watchlist_app.command("show")
def watchlist_show(
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder.")],
    unresolved: Annotated[bool, typer.Option("--unresolved", help="Only entries with no address.")] = False,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Leave out the bundled seed list.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """One row per entry with its resolved icao24, or `unresolved`, and the evidence."""
    import polars as pl
    from rich.table import Table

    from rich.text import Text

    from tailwatch.identity.watchlist import archive_watchlist
    from tailwatch.errors import BadInput

    if fmt not in ("table", "json", "csv"):
        raise BadInput(f"--format must be table, json or csv, got {fmt!r}")
    watch = archive_watchlist(_identity_archive(archive), include_seed=not no_seed)
    if unresolved:
        watch = watch.filter(watch["icao24"].is_null())
    if fmt == "json":  # written by Polars from the columns: 100,000 entries in a fraction of a second
        sys.stdout.write(watch.write_json() + "\n")
        return
    if fmt == "csv":
        flat = watch.drop("candidates").with_columns(
            watch["registrations"].list.join(";"), watch["previous_registrations"].list.join(";"),
            watch["icao24"].fill_null("unresolved"))
        from tailwatch.report.csv import csv_text

        sys.stdout.write(csv_text(flat))
        return
    # the cells as columns (100,000 entries print in a second or two), then a Rich table on a terminal or TSV
    confidence = (pl.col("confidence") * 100).round(0).cast(pl.Int64).cast(pl.String).str.zfill(3)
    cells = watch.rechunk().select(
        pl.col("list").fill_null(""), pl.col("entry_id").fill_null("").alias("entry"), pl.col("name").fill_null(""),
        pl.col("registrations").list.join(", ").fill_null("").alias("registrations"),
        pl.col("icao24").fill_null("unresolved"), pl.col("country").fill_null(""),
        pl.concat_str(confidence.str.head(-2), pl.lit("."), confidence.str.tail(2)).fill_null("").alias("confidence"),
        pl.concat_str(pl.col("reason").fill_null(""), pl.lit(": "), pl.col("evidence").fill_null("")).alias("reason / evidence"),
    ).with_columns(pl.all().str.replace_all(r"\s+", " ").str.strip_chars())  # one line per row, tabs only between fields
    if not console.is_terminal:
        console.file.write(cells.write_csv(separator="\t", quote_style="never"))
        console.file.flush()
        return
    table = Table(title=f"watchlist — {watch.height} entries")
    for col in cells.columns:
        # the address column never wraps: "unresolved" and hex codes must stay greppable
        table.add_column(col, overflow="fold", no_wrap=col == "icao24", min_width=10 if col == "icao24" else None)
    for row in cells.iter_rows():
        table.add_row(*(Text(c) for c in row))
    print_table(console, table)


@app.command()
def whois(
    query: Annotated[str, typer.Argument(metavar="HEX_OR_REG", help="ICAO address (6 hex) or registration.")],
    archive: Annotated[Optional[Path], typer.Option("--archive", help="Use this archive's registries and lists.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Address, registration, country, type, operator and list entries of one aircraft."""
    import json

    from rich.table import Table

    from rich.text import Text

    from tailwatch.identity.lookup import aircraft_identity
    from tailwatch.errors import BadInput

    if fmt not in ("table", "json"):
        raise BadInput(f"--format must be table or json, got {fmt!r}")
    ident = aircraft_identity(query, _identity_archive(archive))
    if ident is None:
        raise NoResult(f"{query}: no address, registration, registry record or list entry known")
    if fmt == "json":
        sys.stdout.write(json.dumps(ident, indent=1, ensure_ascii=False, default=str) + "\n")
        return
    table = Table(title=f"whois {query}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    found = ident["found_by"]
    rows = [
        ("icao24", (ident["icao24"] or "unknown") + (f"  ({found['icao24']})" if "icao24" in found else "")),
        ("registration", (ident["registration"] or "unknown")
         + (f"  ({found['registration']})" if "registration" in found else "")),
        ("country", " ".join(x for x in (ident["country"], ident["country_name"] and f"({ident['country_name']})") if x)
         or "unknown"),
        *([("rule", found["rule"])] if "rule" in found else []),
        ("military block", {True: "yes", False: "no", None: "unknown"}[ident["military_block"]]),
        ("type", (ident["typecode"] or ident["model"] or "unknown")
         + (f"  ({found['typecode']})" if "typecode" in found else "")),
        ("operator", (ident["operator"] or "unknown") + (f"  ({found['operator']})" if "operator" in found else "")),
        ("owner", ident["owner"] or "unknown"),
        *([("recordings", found["recorded"])] if "recorded" in found else []),
        *_recorded_rows(ident),
    ]
    for entry in ident["watchlists"]:
        rows.append(("list entry", f"{entry['list']} {entry['id']}: {entry['name'] or ''} — {entry['reason']}"
                     + (f", program {entry['program']}" if entry["program"] else "")
                     + (f", listed {entry['listing_date']}" if entry["listing_date"] else "")
                     + f" [{entry['evidence']}]"))
    for h in ident["history"]:
        rows.append(("history", f"{h['snapshot']} {h['icao24']} {h['registration'] or ''} {h['operator'] or ''} "
                     f"({h['source']})"))
    for k, v in rows:
        table.add_row(k, Text(v))
    print_table(console, table)


def _recorded_rows(ident: dict) -> list[tuple[str, str]]:
    """whois rows for what the recordings themselves say (`seen/` claims): the newest claim with its
    source, the flights' own airports, and the identity timeline."""
    rows: list[tuple[str, str]] = []
    said = ident.get("recorded")
    if said:
        flags = ", ".join(f"{name} {'yes' if said[key] else 'no'}" for key, name in
                          (("military", "military"), ("interesting", "interesting"), ("pia", "PIA"), ("ladd", "LADD"))
                          if said.get(key) is not None)
        text = " ".join(x for x in (said.get("registration"), said.get("typecode"),
                                    f"({said['description']})" if said.get("description") else None) if x)
        text += "".join(f", {x}" for x in (said.get("operator"), said.get("year") and f"built {said['year']}",
                                           flags and f"flags: {flags}") if x)
        sources = "; ".join(dict.fromkeys((said.get("sources") or {}).values()))
        rows.append(("recorded", f"{text}  ({sources})"))
    for f in ident.get("recorded_flights") or []:
        rows.append(("recorded flight", f"{f['callsign'] or ''} {f['origin'] or '?'} → {f['destination'] or '?'} "
                     f"{f['first']} … {f['last']} ({f['evidence']}: {f['file']})"))
    for e in ident.get("identity_history") or []:
        rows.append(("identity timeline", f"{e['first']} … {e['last']}  {e['icao24']}  {e['registration']}"
                     + (f"  {e['typecode']}" if e.get("typecode") else "") + (f"  {e['operator']}" if e.get("operator") else "")
                     + f"  ({len(e['files'])} recording(s): {', '.join(e['sources'])})"))
    if ident.get("identity_changes"):
        rows.append(("identity change", ident["identity_changes"]))
    return rows


@app.command()
def scan(
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder.")],
    start: Annotated[Optional[str], typer.Option("--start", help="ISO 8601 start (UTC if no zone).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="ISO 8601 end (UTC if no zone).")] = None,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Leave out the bundled seed list.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
) -> None:
    """When and where each resolved watchlisted aircraft was seen (first/last, points, bounding box)."""
    import json

    import polars as pl
    from rich.table import Table

    from tailwatch.app.scan import scan_watchlist
    from tailwatch.errors import BadInput

    if fmt not in ("table", "json", "csv"):
        raise BadInput(f"--format must be table, json or csv, got {fmt!r}")
    runner = _engine(engine, spark_master)
    result = scan_watchlist(_identity_archive(archive), _identity_time(start, "--start"),
                            _identity_time(end, "--end"), include_seed=not no_seed, engine=runner)
    # DESIGN.md: times are UTC with a `Z`, in every output
    result = result.with_columns(pl.col(c).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
                                 for c in ("first_seen", "last_seen") if isinstance(result.schema.get(c), pl.Datetime))
    if fmt == "json":
        sys.stdout.write(json.dumps(result.to_dicts(), indent=1, ensure_ascii=False, default=str) + "\n")
        return
    if fmt == "csv":
        from tailwatch.report.csv import csv_text

        sys.stdout.write(csv_text(result.with_columns(pl.col(pl.List(pl.String)).list.join(";"))))
        return
    table = Table(title=f"watchlisted aircraft in {archive}")
    for col in ("icao24", "registrations", "lists", "first seen", "last seen", "points", "days", "bbox lat", "bbox lon"):
        table.add_column(col, justify="right" if col in ("points", "days") else "left", overflow="fold")
    for r in result.iter_rows(named=True):
        seen = r["points"] > 0
        table.add_row(r["icao24"], ", ".join(r["registrations"] or []), ", ".join(r["lists"] or []),
                      str(r["first_seen"]) if seen else "not seen", str(r["last_seen"]) if seen else "",
                      f"{r['points']:,}", str(r["days"]),
                      f"{r['lat_min']:.3f}…{r['lat_max']:.3f}" if seen else "",
                      f"{r['lon_min']:.3f}…{r['lon_max']:.3f}" if seen else "")
    print_table(console, table)
