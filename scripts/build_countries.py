#!/usr/bin/env python3
"""Rebuild `src/tailwatch/data/countries.parquet` from packaged Natural Earth data.

Source: Natural Earth 1:10m Admin-0 countries (public domain) as carried by the npm
package `world-atlas` 2.0.2 (`countries-10m.json`, TopoJSON, ISC licence for the
packaging); ISO 3166 numeric → alpha-2 codes and common English names from the npm
package `world-countries` 5.1.0 (`countries.json`, ODbL 1.0). Get both with
`npm pack world-atlas@2.0.2 world-countries@5.1.0` and unpack them, then:

    python scripts/build_countries.py --atlas DIR/world-atlas/package \
        --countries DIR/world-countries/package

Why these: `countryinfo` (PyPI and npm) ships per-country GeoJSON at 1:110m (France has
55 vertices: Malta, Lampedusa, most Greek islands and the Channel Islands vanish), which
cannot decide whether a track crossed a territorial sea. The PyPI packages that speak of
Natural Earth (cartopy, geodatasets, geopandas ≥ 1.0) download it at run time, which the
project does not allow. Natural Earth 1:10m (v4.1.0 in `world-atlas`, quantised to
0.0036° × 0.0017°, ~400 m) is the finest packaged, public-domain world set; `world-atlas`
keys features by ISO numeric code, which avoids Natural Earth's `ISO_A2 = -99` quirk for
France and Norway.

Output rows (one per jurisdiction and layer; `wkb` is a shapely MultiPolygon in lon/lat).
`iso2` is the *jurisdiction*: the ISO 3166-1 alpha-2 code of the territory whose airspace
law applies — a state, or a dependent territory with its own ISO code (Curaçao `CW`,
Greenland `GL`, Gibraltar `GI`, Puerto Rico `PR` …). `state` names the state that controls
it (`CW` → `NL`; `state == iso2` for a state), for display and ATC attribution.
`eu_territory` is true where the EU Treaties apply (TEU Art. 52, TFEU Art. 355): the member
states' own territory including the outermost regions (Art. 349, 355(1): Guadeloupe, French
Guiana, Martinique, Réunion, Mayotte, Saint-Martin, the Canaries, Azores, Madeira — all in
the FR/ES/PT features except Saint-Martin `MF`) and Åland (`AX`, Art. 355(4)); false for
the overseas countries and territories of Annex II TFEU (Art. 355(2)), the Faroe Islands
(Art. 355(5)(a)) and every non-member's territory.
Natural Earth's feature "Netherlands" includes Bonaire, Sint Eustatius and Saba: those
parts (west of 30°W) become `BQ` (an Annex II country/territory).
- `land`     — Natural Earth land, simplified to 0.005° (≤ ~550 m).
- `airspace` — land + 12 NM (22.224 km) territorial sea, buffered in local azimuthal
               equidistant projections on 10° tiles (so the buffer is true distance on
               the sphere everywhere), antimeridian-split, simplified to 0.01°.
- `obstacle` — airspace + 40 km, simplified to 0.2°: the router's node polygons
               (see airspace/routing.py for why this margin).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.ops import transform as shp_transform

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tailwatch" / "data" / "countries.parquet"
TERRITORIAL_SEA_KM = 12 * 1.852
OBSTACLE_MARGIN_KM = 40.0
SOURCE = "Natural Earth 1:10m admin-0 v4.1.0 via npm world-atlas 2.0.2; ISO codes via npm world-countries 5.1.0"

# Natural Earth features without an ISO 3166-1 code of their own (Natural Earth SOVEREIGNT /
# the administering state); they are attributed to that state as its jurisdiction.
# Self-governing states in free association (Cook Is., Niue) keep their own code.
SOVEREIGN_BY_NAME = {
    "Dhekelia": "GB", "Akrotiri": "GB", "Somaliland": "SO", "Kosovo": "XK", "N. Cyprus": "CY",
    "Cyprus U.N. Buffer Zone": "CY", "Siachen Glacier": "IN", "Baikonur": "KZ",
    "USNB Guantanamo Bay": "US", "Indian Ocean Ter.": "AU", "Coral Sea Is.": "AU",
    "Clipperton I.": "FR", "Ashmore and Cartier Is.": "AU",
}
# Dependent territories with their own ISO 3166-1 code → the state controlling them. They
# keep their own code as jurisdiction (a ban names the territories it covers); this table
# fills the `state` column.
SOVEREIGN_BY_ISO2 = {
    # France
    "MF": "FR", "BL": "FR", "NC": "FR", "PF": "FR", "PM": "FR", "WF": "FR", "TF": "FR",
    # Netherlands
    "SX": "NL", "CW": "NL", "AW": "NL", "BQ": "NL",
    # Denmark, Finland
    "GL": "DK", "FO": "DK", "AX": "FI",
    # China
    "HK": "CN", "MO": "CN",
    # United States
    "PR": "US", "GU": "US", "MP": "US", "AS": "US", "VI": "US", "UM": "US",
    # United Kingdom (overseas territories and Crown dependencies)
    "BM": "GB", "KY": "GB", "TC": "GB", "VG": "GB", "AI": "GB", "MS": "GB", "FK": "GB",
    "GS": "GB", "SH": "GB", "IO": "GB", "PN": "GB", "GI": "GB", "JE": "GB", "GG": "GB",
    "IM": "GB",
    # Australia
    "HM": "AU", "NF": "AU",
}
EU_MEMBERS = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())
# territories with their own ISO code that are nevertheless Union territory (see docstring)
EU_TERRITORIES = frozenset({"MF", "AX"})
# Natural Earth "Netherlands" parts west of this longitude are the Caribbean Netherlands
BQ_WEST_OF_LON = -30.0
# Disputed reefs with no single controlling state: left out (no airspace attributed).
DROPPED = {"Spratly Is.", "Scarborough Reef", "Bajo Nuevo Bank", "Serranilla Bank"}


def decode_topojson(topo: dict) -> list[tuple[str | None, str, shapely.Geometry]]:
    """(ISO numeric id, name, geometry) per feature of a quantized TopoJSON."""
    scale, translate = np.array(topo["transform"]["scale"]), np.array(topo["transform"]["translate"])
    arcs = [np.cumsum(np.array(a, dtype=float), axis=0) * scale + translate for a in topo["arcs"]]

    def ring(indices: list[int]) -> np.ndarray:
        parts = []
        for k, i in enumerate(indices):
            a = arcs[i] if i >= 0 else arcs[~i][::-1]
            parts.append(a if k == 0 else a[1:])
        r = np.concatenate(parts)
        # quantisation stores the antimeridian as -180 even where the ring lies east of
        # 170°E (Chukotka, Fiji): give such points the sign of their neighbours
        ring_open = r[:-1].copy() if len(r) > 1 and np.array_equal(r[0], r[-1]) else r.copy()
        n = len(ring_open)
        on = np.abs(np.abs(ring_open[:, 0]) - 180.0) < 1e-9
        on &= ring_open[:, 1].min() > -84.0  # Antarctica's ring closes along ±180 via the pole
        for i in np.flatnonzero(on):
            for step in range(1, n):  # nearest neighbour off the antimeridian, either way
                j = [k for k in ((i - step) % n, (i + step) % n) if not on[k]]
                if j:
                    ring_open[i, 0] = 180.0 if ring_open[j[0], 0] > 0 else -180.0
                    break
        return np.vstack([ring_open, ring_open[:1]])

    def polygon(rings: list[list[int]]) -> Polygon:
        rs = [r for r in (ring(r) for r in rings) if len(r) >= 4]  # quantisation leaves slivers
        return Polygon(rs[0], rs[1:]) if rs else Polygon()

    out = []
    for g in topo["objects"]["countries"]["geometries"]:
        if g["type"] == "Polygon":
            geom = MultiPolygon([polygon(g["arcs"])])
        elif g["type"] == "MultiPolygon":
            geom = MultiPolygon([q for q in (polygon(p) for p in g["arcs"]) if not q.is_empty])
        else:
            continue
        out.append((g.get("id"), g["properties"]["name"], shapely.make_valid(geom)))
    return out


def _polygons(geom: shapely.Geometry) -> list[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygons(g)]
    return []


def _wrap_to_world(geom: shapely.Geometry) -> shapely.Geometry:
    """Fold parts beyond ±180° back into [-180, 180] (antimeridian split)."""
    world = box(-180, -90, 180, 90)
    parts = [geom.intersection(world)]
    for shift in (-360.0, 360.0):
        moved = shapely.affinity.translate(geom, xoff=shift)
        parts.append(moved.intersection(world))
    return shapely.union_all([p for p in parts if not p.is_empty])


def buffer_km(geom: shapely.Geometry, km: float, tile_deg: float = 10.0) -> shapely.Geometry:
    """Buffer a lon/lat geometry by true distance: per 10° tile, in a local azimuthal
    equidistant projection (scale error < 0.3 % within a tile), then unioned.
    buffer(A ∪ B) = buffer(A) ∪ buffer(B), so tiling is exact up to projection error."""
    pieces = []
    minx, miny, maxx, maxy = geom.bounds
    for x0 in np.arange(np.floor(minx / tile_deg) * tile_deg, maxx, tile_deg):
        for y0 in np.arange(np.floor(miny / tile_deg) * tile_deg, maxy, tile_deg):
            part = geom.intersection(box(x0, y0, x0 + tile_deg, y0 + tile_deg))
            if part.is_empty or part.area == 0:
                continue
            c = part.representative_point()
            lon0, lat0 = c.x, c.y
            crs = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +R=6371008.8 +units=m")
            fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
            inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
            projected = shp_transform(fwd.transform, part)
            grown = projected.buffer(km * 1000.0, quad_segs=4)

            def back(x, y, _inv=inv, _lon0=lon0):
                lon, lat = _inv.transform(x, y)
                lon = np.asarray(lon)
                return _lon0 + (lon - _lon0 + 180.0) % 360.0 - 180.0, np.asarray(lat)

            pieces.append(shapely.make_valid(shp_transform(back, grown)))
    return _wrap_to_world(shapely.union_all(pieces))


def as_multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    return MultiPolygon([p for p in _polygons(geom) if p.area > 0])


def build(atlas: Path, countries: Path) -> pl.DataFrame:
    topo = json.loads((atlas / "countries-10m.json").read_text())
    table = json.loads((countries / "countries.json").read_text())
    numeric_to_iso2 = {c["ccn3"]: c["cca2"] for c in table if c.get("ccn3")}
    common_name = {c["cca2"]: c["name"]["common"] for c in table}  # current short names (North Macedonia)
    land: dict[str, list] = {}
    names: dict[str, str] = {}
    for fid, name, geom in decode_topojson(topo):
        if name in DROPPED or geom.is_empty:  # Vatican vanishes at 1:10m quantisation
            continue
        iso2 = SOVEREIGN_BY_NAME.get(name) or numeric_to_iso2.get(fid or "")
        if iso2 is None:
            raise SystemExit(f"no ISO code for {name!r} (id {fid})")
        if iso2 == "NL":  # split Bonaire, Sint Eustatius and Saba (an OCT) off the Netherlands
            parts = shapely.get_parts(geom)
            west = np.array([p.bounds[2] < BQ_WEST_OF_LON for p in parts])
            land.setdefault("BQ", []).extend(parts[west])
            names.setdefault("BQ", common_name.get("BQ", "Caribbean Netherlands"))
            geom = MultiPolygon(list(parts[~west]))
        land.setdefault(iso2, []).append(geom)
        if iso2 not in names or numeric_to_iso2.get(fid or "") == iso2:
            names[iso2] = name
    as_of = date.today().isoformat()
    rows = []
    for iso2 in sorted(land):
        shape = shapely.make_valid(shapely.union_all(land[iso2]))
        land_mp = as_multipolygon(shapely.make_valid(shape.simplify(0.005, preserve_topology=True)))
        if iso2 == "AQ":  # no territorial sea under the Antarctic Treaty; polar tiles skipped
            air = land_mp
        else:
            air = buffer_km(shape, TERRITORIAL_SEA_KM)
        air_mp = as_multipolygon(shapely.make_valid(air.simplify(0.01, preserve_topology=True)))
        obstacle = air_mp if iso2 == "AQ" else buffer_km(air_mp, OBSTACLE_MARGIN_KM)
        obstacle = as_multipolygon(shapely.make_valid(
            shapely.Polygon() if obstacle.is_empty else obstacle.simplify(0.2, preserve_topology=True)))
        for layer, g in (("land", land_mp), ("airspace", air_mp), ("obstacle", obstacle)):
            state = SOVEREIGN_BY_ISO2.get(iso2, iso2)
            eu = (iso2 in EU_MEMBERS) or (iso2 in EU_TERRITORIES)
            rows.append({"iso2": iso2, "name": common_name.get(iso2, names[iso2]), "state": state,
                         "eu_territory": eu, "layer": layer,
                         "wkb": shapely.to_wkb(g), "source": SOURCE, "as_of": as_of})
        print(iso2, names[iso2], {k: shapely.get_num_coordinates(v) for k, v in
                                  (("land", land_mp), ("air", air_mp), ("obst", obstacle))}, flush=True)
    return pl.DataFrame(rows, schema={"iso2": pl.String, "name": pl.String, "state": pl.String,
                                      "eu_territory": pl.Boolean, "layer": pl.String,
                                      "wkb": pl.Binary, "source": pl.String, "as_of": pl.String})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", type=Path, required=True, help="unpacked world-atlas package folder")
    ap.add_argument("--countries", type=Path, required=True, help="unpacked world-countries package folder")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    frame = build(args.atlas, args.countries)
    frame.write_parquet(args.out, compression="zstd", compression_level=19)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {frame.height} rows)")


if __name__ == "__main__":
    main()
