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
outside all), or wholly inside one jurisdiction's land and airspace touching no other land, take
that cell's answer, kept for later calls since it depends on the polygons only; the rest go to an
STRtree over the individual polygons for bbox candidates, then one prepared-geometry
`contains_xy` call over all (candidate polygon, point) pairs. Where two airspaces overlap (along
a land border, or territorial seas in a narrow strait) the point goes to the state whose land is
nearer: a point on a claimant's land is settled by one query of the land layer, and only points
on no claimant's land are measured to each claimant's coastline.
"""

from __future__ import annotations

import threading
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
    """STRtree over single polygons of one layer, each tagged with its ISO2 (`owners`) and with
    that code's number in `codes` (`owner_ids`), so the per-point work is on integers."""

    def __init__(self, shapes: dict[str, shapely.Geometry]):
        parts, owners = [], []
        for iso2, geom in shapes.items():
            for poly in shapely.get_parts(geom):
                parts.append(poly)
                owners.append(iso2)
        self.codes = np.array(list(shapes), dtype=object)
        self.parts = np.array(parts, dtype=object)
        self.owners = np.array(owners, dtype=object)
        number = {code: i for i, code in enumerate(self.codes)}
        self.owner_ids = np.array([number[c] for c in owners], dtype=np.int32)
        shapely.prepare(self.parts)
        self.tree = shapely.STRtree(self.parts)

    def pairs(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point index, part index) for every point inside a part: the tree's box candidates,
        then one `contains_xy` over all (part, point) pairs (each part prepared)."""
        pi, gi = self.tree.query(shapely.points(lon, lat))
        if pi.size == 0:
            return pi, gi
        order = np.argsort(gi, kind="stable")
        pi, gi = pi[order], gi[order]
        inside = shapely.contains_xy(self.parts[gi], lon[pi], lat[pi])
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
        out = np.full(lon.size, np.inf)
        on_land = np.zeros(lon.size, dtype=bool)
        for part in self.parts:
            on_land |= shapely.contains_xy(part, lon, lat)
        out[on_land] = 0.0
        sea = np.flatnonzero(~on_land)
        out[sea] = self.sea_distance(lon[sea], lat[sea], scale[sea])
        return out

    def sea_distance(self, lon: np.ndarray, lat: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """`distance` of points known not to lie inside the land: to the nearest point of the
        nearest coastline piece (each point's answer its own, whatever the others)."""
        out = np.full(lon.size, np.inf)
        if lon.size and self.pieces.size:
            pts = shapely.points(lon, lat)
            _, nearest = self.tree.query_nearest(pts, all_matches=False, return_distance=False)
            xy = shapely.get_coordinates(shapely.get_point(shapely.shortest_line(self.pieces[nearest], pts), 0))
            out[:] = np.hypot((xy[:, 0] - lon) * scale, xy[:, 1] - lat)
        return out


@lru_cache(maxsize=None)
def _coast(code: str) -> _Coast | None:
    land = country_shapes().get(code)
    return None if land is None else _Coast(land)


GRID_DEG = (0.25, 0.05, 0.01)  # cell sizes tried in turn before a point is tested against the polygons
_EDGE = 1e-9  # degrees each cell is grown by, so a point is inside its cell whatever the rounding
_UNDECIDED, _NOWHERE = -2, -1  # a cell's answer when a border runs through it / when it touches no polygon
_CELLS_KEPT = 1_000_000  # cell answers kept per layer and size before the cache starts over
_cells: dict[tuple[str, float], tuple[np.ndarray, np.ndarray]] = {}  # (layer, size) → (sorted cell keys, answers)
_cells_lock = threading.Lock()
_NO_CELLS = (np.empty(0, np.int64), np.empty(0, np.int32))


def _cell_answers(index: _Index, cells: np.ndarray, size: float, layer: str) -> np.ndarray:
    """Answer per cell key (owner id, `_NOWHERE`, or `_UNDECIDED`): a cell is decided when it lies
    wholly inside one polygon part and touches no other, or touches none. Every (cell box, part)
    pair the tree gives is tested in one call per predicate (the parts are prepared).

    Where territorial seas overlap a land border (every cell within 12 NM of one), a cell is
    decided too when it lies wholly inside one jurisdiction's land and its airspace and touches no
    other land: each of its points is on that land, so it wins whoever else claims it (`_exact_ids`:
    the nearer land wins, and no other land touches the point)."""
    x0 = (cells % 100_000) * size - 180.0 - _EDGE
    y0 = (cells // 100_000) * size - 90.0 - _EDGE
    boxes = shapely.box(x0, y0, x0 + size + 2 * _EDGE, y0 + size + 2 * _EDGE)
    bi, gi = index.tree.query(boxes)
    answer = np.full(cells.size, _NOWHERE, dtype=np.int32)
    if bi.size == 0:
        return answer
    meets = shapely.intersects(index.parts[gi], boxes[bi])
    bi, gi = bi[meets], gi[meets]
    within = shapely.contains_properly(index.parts[gi], boxes[bi])
    touching = np.bincount(bi, minlength=cells.size)
    inside_one = np.zeros(cells.size, dtype=bool)
    inside_one[bi[within]] = True
    answer[touching > 0] = _UNDECIDED
    one = inside_one & (touching == 1)
    owner = np.full(cells.size, _NOWHERE, dtype=np.int32)
    owner[bi[within]] = index.owner_ids[gi[within]]
    answer[one] = owner[one]
    shared = np.flatnonzero((touching > 1) & inside_one)  # inside one claimant's airspace, touching another's
    if layer != "land" and shared.size:
        land = spatial_index("land")
        lb, lg = land.tree.query(boxes[shared])
        lmeets = shapely.intersects(land.parts[lg], boxes[shared][lb])
        lb, lg = lb[lmeets], lg[lmeets]
        lwithin = shapely.contains_properly(land.parts[lg], boxes[shared][lb])
        lands = np.bincount(lb, minlength=shared.size)
        held = np.full(shared.size, _NOWHERE, dtype=np.int64)
        held[lb[lwithin]] = _index_ids(layer)[land.owner_ids[lg[lwithin]]]
        width = np.int64(index.codes.size + 1)
        air = bi[within] * width + index.owner_ids[gi[within]]  # (cell, jurisdiction) whose airspace holds it
        sure = (lands == 1) & (held >= 0) & np.isin(shared * width + held, air)
        answer[shared[sure]] = held[sure]
    return answer


@lru_cache(maxsize=len(LAYERS))
def _index_ids(layer: str) -> np.ndarray:
    """Per land-layer id, the id of the same jurisdiction in `layer`'s index (-1 when it has none there)."""
    number = {code: i for i, code in enumerate(spatial_index(layer).codes)}
    return np.array([number.get(code, -1) for code in spatial_index("land").codes], dtype=np.int64)


@lru_cache(maxsize=len(LAYERS))
def _land_ids(layer: str) -> np.ndarray:
    """Per id of `layer`'s index, that jurisdiction's id in the land layer (-1 when it has no land)."""
    number = {code: i for i, code in enumerate(spatial_index("land").codes)}
    return np.array([number.get(code, -1) for code in spatial_index(layer).codes], dtype=np.int64)


def _pure_cells(index: _Index, lon: np.ndarray, lat: np.ndarray, size: float, layer: str) -> np.ndarray:
    """Owner id per point from its `size`° cell (`_cell_answers`), `_UNDECIDED` where a border or
    coast runs through the cell. A cell's answer depends on the polygons only, so it is kept and
    reused by later calls (a fleet flies over the same cells day after day)."""
    ix = np.floor((lon + 180.0) / size).astype(np.int64)
    iy = np.floor((lat + 90.0) / size).astype(np.int64)
    key = iy * 100_000 + ix
    # a track stays many points in one cell: the distinct cells are found among the runs of one
    run = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    cells, back = np.unique(key[run], return_inverse=True)
    back = np.repeat(back, np.diff(np.r_[run, key.size]))
    keys, answers = _cells.get((layer, size), _NO_CELLS)
    at = np.minimum(np.searchsorted(keys, cells), max(keys.size - 1, 0))
    known = (keys[at] == cells) if keys.size else np.zeros(cells.size, dtype=bool)
    found = np.empty(cells.size, dtype=np.int32)
    found[known] = answers[at[known]]
    new = np.flatnonzero(~known)
    if new.size:
        found[new] = _cell_answers(index, cells[new], size, layer)
        with _cells_lock:  # another thread may have added cells meanwhile: merge with what is there now
            keys, answers = _cells.get((layer, size), _NO_CELLS)
            if keys.size + new.size > _CELLS_KEPT:
                keys, answers = _NO_CELLS
            at = np.searchsorted(keys, cells[new])
            fresh = (at == keys.size) | (keys[np.minimum(at, max(keys.size - 1, 0))] != cells[new]) if keys.size \
                else np.ones(new.size, dtype=bool)
            _cells[(layer, size)] = (np.insert(keys, at[fresh], cells[new][fresh]),
                                     np.insert(answers, at[fresh], found[new][fresh]))
    return found[back]


def _wrapped(lon: np.ndarray) -> np.ndarray:
    """`(lon + 180) % 360 - 180`, the floating-point remainder taken only where lon + 180 is outside
    [0, 360): inside, the remainder is the value itself, exactly (and it is the slow step of a
    group's millions of track points)."""
    shifted = lon + 180.0
    outside = ~((shifted >= 0.0) & (shifted < 360.0))  # NaN included
    if outside.any():
        shifted[outside] %= 360.0
    shifted -= 180.0
    return shifted


def locate_ids(lat: ArrayLike, lon: ArrayLike, layer: str = "airspace") -> tuple[np.ndarray, np.ndarray]:
    """(id per point, codes): `locate` as integers, -1 outside every country, `codes[id]` the
    jurisdiction ISO2 — for callers that compare or count the answers of many points."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    index = spatial_index(layer)
    out = np.full(lat.shape, _NOWHERE, dtype=np.int32)
    if lat.size == 0:
        return out, index.codes
    flat_lat = lat.ravel()
    with np.errstate(invalid="ignore"):  # an infinite longitude stays non-finite: outside every country
        flat_lon = _wrapped(lon.ravel())
    flat = out.ravel()
    todo = np.flatnonzero(np.isfinite(flat_lat) & np.isfinite(flat_lon))
    rest = np.flatnonzero(~(np.isfinite(flat_lat) & np.isfinite(flat_lon)))
    for size in GRID_DEG:
        if todo.size == 0:
            break
        owner = _pure_cells(index, flat_lon[todo], flat_lat[todo], size, layer)
        decided = owner != _UNDECIDED
        flat[todo[decided]] = owner[decided]
        todo = todo[~decided]
    left = np.r_[todo, rest].astype(np.int64)
    if left.size:
        flat[left] = _exact_ids(flat_lat[left], flat_lon[left], index, layer)
    return flat.reshape(lat.shape), index.codes


SETTLE_MARGIN_DEG = 1e-7  # how far a point may move without leaving its cell, for `settled_ids`
SETTLE_MAX_LAT = 80.0  # settled only this far from the poles (nearer, a unit-vector round trip moves more)


def settled_ids(lat: ArrayLike, lon: ArrayLike, layer: str = "airspace") -> np.ndarray:
    """Per point, the owner id (or -1) that `locate_ids` gives it and every point within
    `SETTLE_MARGIN_DEG` of it, where that is known from its `GRID_DEG[0]` cell alone: the point at
    most `SETTLE_MAX_LAT` from the equator, at least the margin inside its cell (so any point that
    near is in the same cell) and the cell decided (`_pure_cells`); -2 elsewhere.

    Why: a densified track's points are its fixes brought to unit vectors and back, which moves
    them by about 1e-13 degrees (`airspace.crossing.densified_runs`); where that cannot change the
    answer the round trip need not be worked out."""
    lat = np.asarray(lat, dtype=float).ravel()
    out = np.full(lat.size, _UNDECIDED, dtype=np.int32)
    if lat.size == 0:
        return out
    with np.errstate(invalid="ignore"):
        flat_lon = _wrapped(np.asarray(lon, dtype=float).ravel())
        size = GRID_DEG[0]
        fx, fy = (flat_lon + 180.0) / size, (lat + 90.0) / size
        gx, gy = fx - np.floor(fx), fy - np.floor(fy)
        edge = SETTLE_MARGIN_DEG / size
        inside = ((np.abs(lat) <= SETTLE_MAX_LAT) & (gx > edge) & (gx < 1.0 - edge)
                  & (gy > edge) & (gy < 1.0 - edge))  # NaN and infinities are never inside
    todo = np.flatnonzero(inside)
    if todo.size:
        out[todo] = _pure_cells(spatial_index(layer), flat_lon[todo], lat[todo], size, layer)
    return out


def locate(lat: ArrayLike, lon: ArrayLike, layer: str = "airspace") -> np.ndarray:
    """Jurisdiction ISO2 (object array, None outside every country) of each point, vectorised;
    `states()` turns a code into the controlling state.

    Exact, and cheap for tracks: points are first bucketed in cells of `GRID_DEG` (0.25°, then
    0.05°, then 0.01°); a cell wholly inside one polygon part and touching no other (or touching
    none) answers for every point in it, which is what testing each of them gives. Only points in
    cells that a border or coast runs through are tested against the polygons (a few per cent of
    a day's traffic), so the cost follows the cells a batch touches, not its points; each cell's
    answer is kept for the next call."""
    ids, codes = locate_ids(lat, lon, layer)
    return _codes(ids, codes)


def _codes(ids: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Object array of codes (None for -1) from ids."""
    with_none = np.r_[codes, np.array([None], dtype=object)]
    return with_none[np.where(ids < 0, codes.size, ids)]


def _exact(lat: np.ndarray, lon: np.ndarray, index: _Index, layer: str) -> np.ndarray:
    """`locate` by testing every point against the polygon parts whose box holds it (lon normalised)."""
    return _codes(_exact_ids(lat, lon, index, layer), index.codes)


def _exact_ids(lat: np.ndarray, lon: np.ndarray, index: _Index, layer: str) -> np.ndarray:
    """`_exact` as owner ids (-1 outside every country)."""
    out = np.full(lat.shape, _NOWHERE, dtype=np.int32)
    pi, gi = index.pairs(lon, lat)
    owners = index.owner_ids[gi]
    out[pi] = owners
    # overlapping territorial seas: the state whose land is nearer wins
    uniq, counts = np.unique(pi, return_counts=True)
    contested = uniq[counts > 1]
    if contested.size and layer != "land":
        sel = np.isin(pi, contested)
        cpi, cown = pi[sel], owners[sel]
        dist = _claim_distances(lat, lon, cpi, cown, index, layer)
        order = np.lexsort((dist, cpi))
        first = np.r_[True, np.diff(cpi[order]) != 0]
        out[cpi[order][first]] = cown[order][first]
    return out


def _claim_distances(lat: np.ndarray, lon: np.ndarray, cpi: np.ndarray, cown: np.ndarray, index: _Index,
                     layer: str) -> np.ndarray:
    """Distance (degrees, longitude scaled by cos lat: a local median line) from point `cpi[k]` to
    the land of its claimant `cown[k]`, as `_Coast.distance` gives it, where it can decide who wins.

    Most contested points lie near a land border, on one claimant's land (distance 0): which land
    holds each point is found for all of them in one query of the land layer, and such a point
    goes to that claimant whatever the others' distances, which are left infinite. Only points on
    no claimant's land (straits, where two territorial seas overlap), and the rare point lying
    exactly on a claimant's coastline, are measured to each claimant's coastline."""
    land = spatial_index("land")
    land_of = _land_ids(layer)[cown]
    dist = np.full(cpi.size, np.inf)
    points, back = np.unique(cpi, return_inverse=True)
    plon, plat = lon[points], lat[points]
    # every (point, land part) box candidate: inside (contains) and touching (on its boundary)
    qi, qg = land.tree.query(shapely.points(plon, plat))
    inside = shapely.contains_xy(land.parts[qg], plon[qi], plat[qi]) if qi.size else np.zeros(0, dtype=bool)
    width = np.int64(land.codes.size + 1)
    held = np.unique(qi[inside] * width + land.owner_ids[qg[inside]])
    claim = back.astype(np.int64) * width + land_of
    on_land = (land_of >= 0) & np.isin(claim, held)
    dist[on_land] = 0.0
    settled = np.zeros(points.size, dtype=bool)
    settled[back[on_land]] = True
    out = ~inside
    if out.any():  # a claimant's coastline through the point: its distance is 0 too, measure it
        edge = np.zeros(qi.size, dtype=bool)
        edge[out] = shapely.intersects_xy(land.parts[qg[out]], plon[qi[out]], plat[qi[out]])
        touched = np.unique(qi[edge] * width + land.owner_ids[qg[edge]])
        settled[back[(land_of >= 0) & ~on_land & np.isin(claim, touched)]] = False
    measure = np.flatnonzero(~settled[back] & ~on_land & (land_of >= 0))
    if measure.size:
        scale = np.cos(np.radians(lat[cpi[measure]]))
        lon_m, lat_m = lon[cpi[measure]], lat[cpi[measure]]
        codes = cown[measure]
        for code in np.unique(codes):
            rows = np.flatnonzero(codes == code)
            coast = _coast(index.codes[code])
            if coast is not None:
                dist[measure[rows]] = coast.sea_distance(lon_m[rows], lat_m[rows], scale[rows])
    return dist
