"""What an alert says and shows: the points behind it, the airport and airspace it names, the other
aircraft heard near a silence."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import polars as pl


EVIDENCE_COLUMNS = ["timestamp", "latitude", "longitude", "altitude", "groundspeed", "track",
                    "vertical_rate", "onground", "squawk", "callsign"]
MAX_EVIDENCE = 10
INTEGRITY_EVIDENCE = ("nac_p", "nic", "sil")


def locate_airspace(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """ISO2 of the national airspace (land + 12 NM sea) holding each point, None outside."""
    from tailwatch.geo.countries import locate

    return locate(lat, lon, layer="airspace")


def iso_time(ts) -> str:
    if isinstance(ts, datetime):
        return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
    return str(ts)


def evidence_points(points: pl.DataFrame, limit: int = MAX_EVIDENCE, extra: tuple[str, ...] = ()) -> list[dict]:
    """The last `limit` points as JSON-ready dicts (times in ISO 8601 Z), with `extra` columns if present."""
    cols = [c for c in (*EVIDENCE_COLUMNS, *extra) if c in points.columns]
    rows = points.select(cols).tail(limit).to_dicts()
    for row in rows:
        row["timestamp"] = iso_time(row["timestamp"])
        for k, v in list(row.items()):
            if isinstance(v, float) and not np.isfinite(v):
                row[k] = None
    return rows


def heard_near(row: dict, last: pl.DataFrame, now: datetime, radius_km: float) -> list[str]:
    """Other aircraft heard since `row` (an aircraft's last position) went silent, within `radius_km`
    of that position or of where its track and speed would have taken it by now (hiding.dark's test)."""
    from tailwatch.geo.geodesy import haversine_km

    others = last.filter((pl.col("icao24") != row["icao24"]) & (pl.col("timestamp") > row["timestamp"]))
    if others.is_empty():
        return []
    lat, lon = [row["latitude"]], [row["longitude"]]
    gs, trk = row.get("groundspeed"), row.get("track")
    if gs is not None and trk is not None and np.isfinite(gs) and np.isfinite(trk):
        elapsed = (now - row["timestamp"]).total_seconds()
        for f in (0.25, 0.5, 0.75, 1.0):  # samples along the expected path
            km = gs * 1.852 / 3600.0 * elapsed * f
            lat.append(row["latitude"] + km * np.cos(np.radians(trk)) / 111.195)
            lon.append(row["longitude"] + km * np.sin(np.radians(trk)) / (111.195 * max(np.cos(np.radians(row["latitude"])), 0.1)))
    olat, olon = others["latitude"].to_numpy(), others["longitude"].to_numpy()
    d = np.asarray(haversine_km(np.array(lat)[:, None], np.array(lon)[:, None], olat[None, :], olon[None, :]))
    return sorted(others["icao24"].filter(pl.Series((d <= radius_km).any(axis=0))).to_list())


def airport_facts(code: str | None) -> dict:
    """Name and country of an airport for the alert text (empty when unknown)."""
    if not code:
        return {}
    from tailwatch.geo.airports import airport

    info = airport(code) or {}
    return {k: info.get(src) for k, src in (("airport_name", "name"), ("airport_country", "country")) if info.get(src)}


def seconds_delta(seconds: float):
    from datetime import timedelta

    return timedelta(seconds=seconds)


def controlling_states(jurisdictions: np.ndarray) -> np.ndarray:
    """The controlling state of each located jurisdiction ('CW' → 'NL'; None stays None)."""
    from tailwatch.geo.countries import states

    return pl.Series(jurisdictions.tolist(), dtype=pl.String).replace(states()).to_numpy()
