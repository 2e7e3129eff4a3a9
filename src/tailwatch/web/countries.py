"""Country outlines for the live page: `geo.countries.country_shapes()` as a small GeoJSON.

Simplified (about 0.08°, 1 km at the equator is 0.009°) and rounded to 0.01°, with
islands under 0.1 square degrees dropped (each country keeps its largest part):
about 470 KB, 150 KB gzipped — enough for a situational map, not for
airspace decisions (those use the full shapes in `tailwatch.airspace`).
"""

from __future__ import annotations

import json
from functools import lru_cache

TOLERANCE_DEG = 0.08
MIN_PART_SQ_DEG = 0.1
PRECISION_DEG = 0.01


@lru_cache(maxsize=1)
def countries_geojson() -> bytes:
    """A FeatureCollection (one feature per ISO2 with `iso2` and `name`), encoded once per process."""
    import shapely

    from tailwatch.geo.countries import country_names, country_shapes

    names = country_names()
    features = []
    for iso2, geom in sorted(country_shapes().items()):
        parts = [p for p in getattr(geom, "geoms", [geom]) if not p.is_empty]
        if not parts:
            continue
        largest = max(parts, key=lambda p: p.area)
        parts = [p for p in parts if p.area >= MIN_PART_SQ_DEG or p is largest]
        shape = shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]
        shape = shapely.set_precision(shapely.simplify(shape, TOLERANCE_DEG, preserve_topology=True), PRECISION_DEG)
        if shape.is_empty:
            continue
        features.append({"type": "Feature", "properties": {"iso2": iso2, "name": names.get(iso2, iso2)},
                         "geometry": json.loads(shapely.to_geojson(shape))})
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


@lru_cache(maxsize=1)
def countries_geojson_gzip() -> bytes:
    """`countries_geojson()` gzip-compressed, once per process."""
    import gzip

    return gzip.compress(countries_geojson(), 9)
