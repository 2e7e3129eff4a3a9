"""Itineraries as two CSV tables, legs and points, for spreadsheets and scripts.

Two files because a leg and a point are different rows. `--out X.csv` writes
`X.legs.csv` and `X.points.csv`; `--out DIR` (a folder, or a path without a
suffix) writes `DIR/legs.csv` and `DIR/points.csv`. List fields (countries,
reasons) are joined with `;`. Legs are numbered from 1, as in every other format; points
keep that `leg` number (empty when the point belongs to no leg) so every leg figure can be
traced back to its rows.

Every CSV the tool writes goes through `neutralise_formulas` (`csv_text`, `write_frame_csv`): a
text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is what a spreadsheet
runs as a formula, and a callsign or a list entry is data from outside (`=HYPERLINK(…)` in a
feed). Such a cell is written with a leading `'`, as spreadsheet-injection guidance advises:
the spreadsheet shows the text, and a script sees one character more, never a changed value.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tailwatch.report.tracks import candidates, leg_index, notice_of, time_note

FORMULA_START = r"^[=+\-@\t\r]"  # what a spreadsheet reads as the start of a formula


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading `'` (columnar, every String column)."""
    text = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text)


def csv_text(frame: pl.DataFrame) -> str:
    """The frame as CSV text, formula cells neutralised."""
    return neutralise_formulas(frame).write_csv()


def write_frame_csv(frame: pl.DataFrame, path: Path) -> None:
    """The frame as a CSV file, formula cells neutralised."""
    neutralise_formulas(frame).write_csv(path)


LEG_COLUMNS = [
    "aircraft", "registration", "leg", "origin", "origin_name", "origin_country", "origin_evidence",
    "origin_candidates", "destination", "destination_name", "destination_country", "destination_evidence",
    "destination_candidates", "takeoff", "landing",
    "confidence", "great_circle_km", "flown_km", "n_points", "first_point", "last_point", "gaps",
    "countries", "banned_countries", "max_payload_t", "payload_band_lo_t", "payload_band_hi_t", "reasons",
    "trip", "detour_km", "detour_pct", "position_sources", "time_assumed",
    "direct_barred", "crossed_barred", "avoided", "legal_shortest_km", "legal_detour_km", "legal_detour_pct",
    "airspace_sentence",
]


def legs_frame(itins: list[dict], notice: str | None = None) -> pl.DataFrame:
    """One row per leg with the itinerary JSON's figures and evidence."""
    rows = []
    for itin in itins:
        aircraft = itin.get("aircraft") or {}
        for position, leg in enumerate(itin.get("legs") or []):
            o, d = leg.get("origin") or {}, leg.get("destination") or {}
            band = leg.get("payload_band_t") or [None, None]
            rows.append({
                "aircraft": aircraft.get("icao24"), "registration": aircraft.get("registration"),
                "leg": leg_index(leg, position) + 1,  # numbered from 1, like the points' `leg` below
                "origin": o.get("icao"), "origin_name": o.get("name"), "origin_country": o.get("country"),
                "origin_evidence": leg.get("origin_evidence"),
                # an unknown end names what it could have been (";"-separated, best first)
                "origin_candidates": ";".join(candidates(leg, "origin")) if not o.get("icao") else None,
                "destination": d.get("icao"), "destination_name": d.get("name"), "destination_country": d.get("country"),
                "destination_evidence": leg.get("destination_evidence"),
                "destination_candidates": ";".join(candidates(leg, "destination")) if not d.get("icao") else None,
                "takeoff": leg.get("takeoff"), "landing": leg.get("landing"),
                "confidence": _float(leg.get("confidence")),
                "great_circle_km": _float(leg.get("great_circle_km")), "flown_km": _float(leg.get("flown_km")),
                "n_points": leg.get("n_points"), "first_point": leg.get("first_point"), "last_point": leg.get("last_point"),
                "gaps": len(leg.get("gaps") or []),
                "countries": ";".join(leg.get("countries") or []),
                "banned_countries": ";".join(leg.get("banned_countries") or []),
                "max_payload_t": _float(leg.get("max_payload_t")),
                "payload_band_lo_t": _float(band[0]), "payload_band_hi_t": _float(band[1]),
                "reasons": ";".join(leg.get("reasons") or []),
                "trip": leg.get("trip"),
                "detour_km": _float(leg.get("detour_km")), "detour_pct": _float(leg.get("detour_pct")),
                # "adsb=812;mlat=40"; empty when the source does not say
                "position_sources": ";".join(f"{k}={v}" for k, v in (leg.get("position_sources") or {}).items()) or None,
                "time_assumed": time_note(leg),
                # barred airspace (ISO2, ";"-joined); empty avoided/direct when an end is unknown
                **{k: None if leg.get(k) is None else ";".join(leg[k])
                   for k in ("direct_barred", "crossed_barred", "avoided")},
                "legal_shortest_km": _float(leg.get("legal_shortest_km")),
                "legal_detour_km": _float(leg.get("legal_detour_km")),
                "legal_detour_pct": _float(leg.get("legal_detour_pct")),
                "airspace_sentence": leg.get("airspace_sentence"),
            })
    schema = {c: pl.String() for c in LEG_COLUMNS}
    schema.update({c: pl.Float64() for c in ("confidence", "great_circle_km", "flown_km", "max_payload_t",
                                              "payload_band_lo_t", "payload_band_hi_t", "detour_km", "detour_pct",
                                              "legal_shortest_km", "legal_detour_km", "legal_detour_pct")})
    schema.update({"leg": pl.Int64(), "n_points": pl.Int64(), "gaps": pl.Int64(), "trip": pl.Int64()})
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    return frame.with_columns(pl.lit(notice).alias("notice")) if notice else frame


def _float(v) -> float | None:
    return None if v is None else float(v)


def points_frame(itins: list[dict], points: dict[str, pl.DataFrame], notice: str | None = None) -> pl.DataFrame:
    """All aircraft's points, with their leg number (from 1, as in legs.csv) and ISO times."""
    frames = []
    for itin in itins:
        icao24 = (itin.get("aircraft") or {}).get("icao24")
        frame = points.get(icao24) if icao24 else None
        if frame is None or frame.height == 0:
            continue
        if "leg" not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("leg"))
        frames.append(frame.with_columns(
            pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"), pl.col("leg").cast(pl.Int64) + 1))
    out = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame({"timestamp": [], "icao24": []})
    first = [c for c in ("icao24", "leg", "timestamp") if c in out.columns]
    out = out.select(first + [c for c in out.columns if c not in first])
    return out.with_columns(pl.lit(notice).alias("notice")) if notice else out


def csv_paths(path: Path) -> tuple[Path, Path]:
    """(legs, points) file names for an `--out` value (see the module docstring)."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        return path / "legs.csv", path / "points.csv"
    stem = path.with_suffix("")
    return stem.with_name(stem.name + ".legs.csv"), stem.with_name(stem.name + ".points.csv")


def write_csv(itins: list[dict], points: dict[str, pl.DataFrame], path: Path, notice: str | None = None) -> list[Path]:
    """Write the legs and points CSVs; returns both paths."""
    notice = notice_of(itins, notice, points)
    legs_path, points_path = csv_paths(path)
    legs_path.parent.mkdir(parents=True, exist_ok=True)
    write_frame_csv(legs_frame(itins, notice), legs_path)
    write_frame_csv(points_frame(itins, points, notice), points_path)
    return [legs_path, points_path]
