"""National territory and airspace polygons, and a vectorised "which jurisdiction is this point in".

`data/countries.parquet`: one row per jurisdiction and layer — `land`, `airspace` (land + 12 NM
territorial sea), `obstacle` (airspace + 40 km, coarse, for the router) — as WKB in lon/lat,
with `name`, `state`, `eu_territory`, `source` and `as_of`; built by
`scripts/build_countries.py` from Natural Earth 1:10m (public domain).

What a code means: `iso2` is the *jurisdiction* — the ISO 3166-1 alpha-2 code of the
territory whose airspace law applies. A dependent territory with its own ISO code keeps it
(Curaçao `CW`, Bonaire/Sint Eustatius/Saba `BQ`, Greenland `GL`, Gibraltar `GI`, Puerto Rico
`PR`, Hong Kong `HK` …), because a closure names the territories it covers: the EU closure
(Reg. 833/2014 Art. 3d) applies within the territory of the Union (Art. 13), which the
overseas countries and territories of Annex II TFEU are not part of. Territories Natural Earth
draws inside their state (Martinique, Guadeloupe, French Guiana, Réunion, Mayotte → `FR`;
Canaries → `ES`; Azores, Madeira → `PT`; Svalbard → `NO`) share its code; all of those EU ones
are Union territory (outermost regions, TFEU Art. 349 and 355(1)). `state` names the
controlling state (`CW` → `NL`) for display and ATC attribution (`states()`),
`eu_territory` whether the EU Treaties apply there (`eu_territories()`).

The territorial sea is taken as 12 NM from every coast (the UNCLOS maximum); states that
claim otherwise, and seas narrower than 24 NM, are approximated, so a fix
within ~22 km of a foreign coast is attributed by geometry, not by treaty.

Borders are Natural Earth's (it depicts the state in control of an area); a fix is
attributed to the state whose polygon contains it in that source.

Shapes are loaded once per process (a few hundred ms) and cached. `locate` answers for a
whole array of points at once: points in grid cells that lie wholly inside one polygon (or
outside all) take that cell's answer; the rest go to an STRtree over the individual polygons
for bbox candidates, then one prepared-geometry `contains_xy` call per candidate polygon. Where two
territorial seas overlap (narrow straits) the point goes to the state whose land is nearer.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import shapely
from numpy.typing import ArrayLike

LAYERS = ("land", "airspace", "obstacle")


def _data_path() -> Path:
    return Path(str(resources.files("tailwatch") / "data" / "countries.parquet"))


@lru_cache(maxsize=1)
def _table() -> pl.DataFrame:
    return pl.read_parquet(_data_path())


@lru_cache(maxsize=len(LAYERS))
def _layer(layer: str) -> dict[str, shapely.Geometry]:
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; one of {LAYERS}")
    rows = _table().filter(pl.col("layer") == layer)
    geoms = shapely.from_wkb(rows["wkb"].to_numpy())
    return dict(zip(rows["iso2"].to_list(), geoms))


def country_shapes() -> dict[str, shapely.Geometry]:
    """Jurisdiction ISO2 → land (Multi)Polygon in lon/lat (dependent territories with their own
    ISO code under that code; `states()` maps them to the controlling state)."""
    return _layer("land")


def airspace_shapes() -> dict[str, shapely.Geometry]:
    """ISO2 → land plus the 12 NM territorial sea (national airspace), lon/lat."""
    return _layer("airspace")


def obstacle_shapes() -> dict[str, shapely.Geometry]:
    """ISO2 → airspace grown by 40 km and simplified to 0.2° (router node polygons)."""
    return _layer("obstacle")


@lru_cache(maxsize=1)
def states() -> dict[str, str]:
    """Jurisdiction ISO2 → ISO2 of the state controlling it ('CW' → 'NL', 'FR' → 'FR')."""
    rows = _table().filter(pl.col("layer") == "land")
    return dict(zip(rows["iso2"].to_list(), rows["state"].to_list()))


@lru_cache(maxsize=1)
def eu_territories() -> frozenset[str]:
    """Jurisdictions that are territory of the European Union (TFEU Art. 355): the 27 member
    states (with their outermost regions) plus Saint-Martin `MF` and Åland `AX`; not the
    overseas countries and territories of Annex II TFEU nor the Faroe Islands."""
    rows = _table().filter((pl.col("layer") == "land") & pl.col("eu_territory"))
    return frozenset(rows["iso2"].to_list())


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """ISO2 → Natural Earth short name (e.g. 'FR' → 'France')."""
    rows = _table().filter(pl.col("layer") == "land")
    return dict(zip(rows["iso2"].to_list(), rows["name"].to_list()))


class _Index:
    """STRtree over single polygons of one layer, each tagged with its ISO2."""

    def __init__(self, shapes: dict[str, shapely.Geometry]):
        parts, owners = [], []
        for iso2, geom in shapes.items():
            for poly in shapely.get_parts(geom):
                parts.append(poly)
                owners.append(iso2)
        self.parts = np.array(parts, dtype=object)
        self.owners = np.array(owners, dtype=object)
        shapely.prepare(self.parts)
        self.tree = shapely.STRtree(self.parts)

    def pairs(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point index, part index) for every point inside a part."""
        pts = shapely.points(lon, lat)
        pi, gi = self.tree.query(pts)
        if pi.size == 0:
            return pi, gi
        order = np.argsort(gi, kind="stable")
        pi, gi = pi[order], gi[order]
        inside = np.zeros(pi.size, dtype=bool)
        bounds = np.flatnonzero(np.diff(gi)) + 1
        for s, e in zip(np.r_[0, bounds], np.r_[bounds, gi.size]):
            idx = pi[s:e]
            inside[s:e] = shapely.contains_xy(self.parts[gi[s]], lon[idx], lat[idx])
        return pi[inside], gi[inside]


@lru_cache(maxsize=len(LAYERS))
def spatial_index(layer: str = "airspace") -> _Index:
    """The cached STRtree index of a layer (built on first use)."""
    return _Index(_layer(layer))


class _Coast:
    """One jurisdiction's land, for the distance from a point to it: its parts prepared (a point
    on land is at 0) and its rings cut into pieces of `PIECE` vertices in an STRtree, so the
    nearest point of the land to a point at sea is found on one short piece, not by walking every
    vertex of a coastline."""

    PIECE = 32

    def __init__(self, land: shapely.Geometry) -> None:
        self.parts = shapely.get_parts(land)
        shapely.prepare(self.parts)
        rings = shapely.get_parts(shapely.boundary(self.parts))
        pieces = []
        for ring in shapely.get_parts(rings):
            xy = shapely.get_coordinates(ring)
            starts = range(0, max(len(xy) - 1, 1), self.PIECE)
            pieces += [shapely.linestrings(xy[k:k + self.PIECE + 1]) for k in starts if len(xy[k:k + self.PIECE + 1]) > 1]
        self.pieces = np.array(pieces, dtype=object)
        self.tree = shapely.STRtree(self.pieces)

    def distance(self, lon: np.ndarray, lat: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Distance in degrees, longitude scaled by `scale` (cos lat), from each point to the
        planar-nearest point of the land (0 on land)."""
        pts = shapely.points(lon, lat)
        out = np.full(lon.size, np.inf)
        on_land = np.zeros(lon.size, dtype=bool)
        for part in self.parts:
            on_land |= shapely.contains_xy(part, lon, lat)
        out[on_land] = 0.0
        sea = np.flatnonzero(~on_land)
        if sea.size and self.pieces.size:
            _, nearest = self.tree.query_nearest(pts[sea], all_matches=False, return_distance=False)
            xy = shapely.get_coordinates(shapely.get_point(shapely.shortest_line(self.pieces[nearest], pts[sea]), 0))
            out[sea] = np.hypot((xy[:, 0] - lon[sea]) * scale[sea], xy[:, 1] - lat[sea])
        return out


@lru_cache(maxsize=None)
def _coast(code: str) -> _Coast | None:
    land = country_shapes().get(code)
    return None if land is None else _Coast(land)


GRID_DEG = (0.25, 0.05, 0.01)  # cell sizes tried in turn before a point is tested against the polygons
_EDGE = 1e-9  # degrees each cell is grown by, so a point is inside its cell whatever the rounding


def _pure_cells(index: _Index, lon: np.ndarray, lat: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(decided, owner) per point: a point is decided when its `size`° cell lies wholly inside one
    polygon part and touches no other (owner: that part's jurisdiction), or touches none (None)."""
    ix = np.floor((lon + 180.0) / size).astype(np.int64)
    iy = np.floor((lat + 90.0) / size).astype(np.int64)
    cells, back = np.unique(iy * 100_000 + ix, return_inverse=True)
    x0 = (cells % 100_000) * size - 180.0 - _EDGE
    y0 = (cells // 100_000) * size - 90.0 - _EDGE
    boxes = shapely.box(x0, y0, x0 + size + 2 * _EDGE, y0 + size + 2 * _EDGE)
    bi, gi = index.tree.query(boxes)
    touching = np.zeros(cells.size, dtype=np.int64)
    owner = np.full(cells.size, None, dtype=object)
    inside_one = np.zeros(cells.size, dtype=bool)
    if bi.size:
        order = np.argsort(gi, kind="stable")
        bi, gi = bi[order], gi[order]
        meets = np.zeros(bi.size, dtype=bool)
        within = np.zeros(bi.size, dtype=bool)
        bounds = np.flatnonzero(np.diff(gi)) + 1
        for s, e in zip(np.r_[0, bounds], np.r_[bounds, gi.size]):
            part = index.parts[gi[s]]
            meets[s:e] = shapely.intersects(part, boxes[bi[s:e]])
            within[s:e] = shapely.contains_properly(part, boxes[bi[s:e]])
        touching = np.bincount(bi[meets], minlength=cells.size)
        inside_one[bi[within]] = True
        owner[bi[within]] = index.owners[gi[within]]
    decided = (touching == 0) | (inside_one & (touching == 1))
    return decided[back], np.where(decided, owner, None)[back]


def locate(lat: ArrayLike, lon: ArrayLike, layer: str = "airspace") -> np.ndarray:
    """Jurisdiction ISO2 (object array, None outside every country) of each point, vectorised;
    `states()` turns a code into the controlling state.

    Exact, and cheap for tracks: points are first bucketed in cells of `GRID_DEG` (0.25°, then
    0.05°, then 0.01°); a cell wholly inside one polygon part and touching no other (or touching
    none) answers for every point in it, which is what testing each of them gives. Only points in
    cells that a border or coast runs through are tested against the polygons (a few per cent of
    a day's traffic), so the cost follows the cells a batch touches, not its points."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    out = np.full(lat.shape, None, dtype=object)
    if lat.size == 0:
        return out
    flat_lat = lat.ravel()
    with np.errstate(invalid="ignore"):  # an infinite longitude stays non-finite: outside every country
        flat_lon = (lon.ravel() + 180.0) % 360.0 - 180.0
    flat = out.ravel()
    index = spatial_index(layer)
    todo = np.flatnonzero(np.isfinite(flat_lat) & np.isfinite(flat_lon))
    rest = np.flatnonzero(~(np.isfinite(flat_lat) & np.isfinite(flat_lon)))
    for size in GRID_DEG:
        if todo.size == 0:
            break
        decided, owner = _pure_cells(index, flat_lon[todo], flat_lat[todo], size)
        flat[todo[decided]] = owner[decided]
        todo = todo[~decided]
    left = np.r_[todo, rest].astype(np.int64)
    if left.size:
        flat[left] = _exact(flat_lat[left], flat_lon[left], index, layer)
    return flat.reshape(lat.shape)


def _exact(lat: np.ndarray, lon: np.ndarray, index: _Index, layer: str) -> np.ndarray:
    """`locate` by testing every point against the polygon parts whose box holds it (lon normalised)."""
    out = np.full(lat.shape, None, dtype=object)
    pi, gi = index.pairs(lon, lat)
    owners = index.owners[gi]
    out[pi] = owners
    # overlapping territorial seas: the state whose land is nearer wins
    uniq, counts = np.unique(pi, return_counts=True)
    contested = uniq[counts > 1]
    if contested.size and layer != "land":
        # distance in degrees with longitude scaled by cos(lat): a local median line
        sel = np.isin(pi, contested)
        cpi, cown = pi[sel], owners[sel]
        scale = np.cos(np.radians(lat[cpi]))
        lon_c, lat_c = lon[cpi], lat[cpi]
        dist = np.full(cpi.size, np.inf)
        for code in np.unique(cown):
            rows = np.flatnonzero(cown == code)
            coast = _coast(code)
            if coast is None:
                continue
            dist[rows] = coast.distance(lon_c[rows], lat_c[rows], scale[rows])
        order = np.lexsort((dist, cpi))
        first = np.r_[True, np.diff(cpi[order]) != 0]
        out[cpi[order][first]] = cown[order][first]
    return out
