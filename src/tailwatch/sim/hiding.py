"""SIMULATED traffic for the hiding and interference analyses: crossings, a jammed region, a dark aircraft.

Nothing here is a recording. `crossings` draws aircraft cruising straight across a box (random
entry point, heading, speed) with the integrity figures a healthy ADS-B version 2 aircraft reports
(NACp 9-10, NIC 8, SIL 3); `jam` degrades those figures (NACp 0-4, NIC 0-5) for every position inside
a circle during a window, as GNSS jamming does; `scenario` puts both together with a receiver network,
a watched aircraft that switches its transponder off mid-leg inside coverage, and another aircraft
that merely flies out of coverage. Vectorised: one NumPy pass per frame, no per-point loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from tailwatch.geo.geodesy import haversine_km
from tailwatch.schema import ARCHIVE_SCHEMA
from tailwatch.sim.coverage import Coverage, Receiver

SOURCE = "simulated"
NOTICE = "SIMULATED scenario: positions, times, receivers and interference are generated, not recorded"
KM_PER_DEG = 111.195


def _offset(lat: np.ndarray, lon: np.ndarray, bearing_deg: np.ndarray, km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points `km` from (lat, lon) along `bearing_deg` on the sphere."""
    d = np.asarray(km) / 6371.0088
    b = np.radians(bearing_deg)
    p1, l1 = np.radians(lat), np.radians(lon)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0


def _frame(icao: np.ndarray, t_us: np.ndarray, lat, lon, alt, gs, track, callsign=None) -> pl.DataFrame:
    n = t_us.size
    return pl.DataFrame({
        "timestamp": pl.Series(t_us, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "icao24": icao,
        "callsign": callsign if callsign is not None else pl.repeat(None, n, dtype=pl.String, eager=True),
        "latitude": lat, "longitude": lon,
        "altitude": alt.astype(np.float32), "geoaltitude": (alt + 500.0).astype(np.float32),
        "groundspeed": gs.astype(np.float32), "track": track.astype(np.float32),
        "vertical_rate": np.zeros(n, np.float32), "onground": np.zeros(n, bool),
        "squawk": pl.repeat(None, n, dtype=pl.String, eager=True), "source": pl.repeat(SOURCE, n, eager=True),
        "new_leg": pl.repeat(None, n, dtype=pl.Boolean, eager=True),
        "nic": np.full(n, 8, np.uint8), "nac_p": np.where(np.arange(n) % 3 == 0, 9, 10).astype(np.uint8),
        "sil": np.full(n, 3, np.uint8), "nuc_p": np.full(n, 7, np.uint8),
        "rc_m": np.full(n, 185.2, np.float32), "adsb_version": np.full(n, 2, np.uint8),
        "position_source": pl.repeat("adsb", n, dtype=pl.String, eager=True),
        "time_assumed": pl.repeat(None, n, dtype=pl.Boolean, eager=True),
    }).select([pl.col(c).cast(t) for c, t in ARCHIVE_SCHEMA.items()])


def crossings(n_aircraft: int, start: datetime, hours: float, box: tuple[float, float, float, float],
              step_s: float = 10.0, seed: int = 3, minutes: tuple[float, float] = (40.0, 150.0)) -> pl.DataFrame:
    """Aircraft cruising straight over `box` (south, west, north, east): archive columns, sorted by icao24, time.

    Positions outside the box are dropped: the box stands for the area a receiver network watches."""
    rng = np.random.default_rng(seed)
    south, west, north, east = box
    lat0 = rng.uniform(south, north, n_aircraft)
    lon0 = rng.uniform(west, east, n_aircraft)
    heading = rng.uniform(0, 360, n_aircraft)
    speed = rng.uniform(400, 480, n_aircraft)
    alt = rng.choice(np.arange(30_000, 40_000, 1000), n_aircraft).astype(float)
    begin = rng.uniform(0, hours * 3600.0, n_aircraft)
    count = np.maximum((rng.uniform(*minutes, n_aircraft) * 60.0 / step_s).astype(np.int64), 2)
    icao = np.array([f"{a:06x}" for a in rng.choice(np.arange(0x100000, 0xEFFFFF), n_aircraft, replace=False)])
    order = np.argsort(icao)
    lat0, lon0, heading, speed, alt, begin, count, icao = (a[order] for a in (lat0, lon0, heading, speed, alt, begin,
                                                                                count, icao))
    who = np.repeat(np.arange(n_aircraft), count)
    k = np.arange(who.size) - np.repeat(np.cumsum(count) - count, count)
    elapsed = k * step_s
    lat, lon = _offset(lat0[who], lon0[who], heading[who], speed[who] * 1.852 / 3600.0 * elapsed)
    t0 = int(start.timestamp() * 1e6)
    t_us = t0 + ((begin[who] + elapsed) * 1e6).astype(np.int64)
    inside = (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)  # the box is the area watched
    return _frame(icao[who], t_us, lat, lon, alt[who], speed[who], heading[who]).filter(pl.Series(inside))


def jam(points: pl.DataFrame, centre: tuple[float, float], radius_km: float,
        window: tuple[datetime, datetime] | None = None, seed: int = 5) -> pl.DataFrame:
    """Degrade NACp (0-4), NIC (0-5) and Rc of every position inside the circle (during `window`)."""
    rng = np.random.default_rng(seed)
    d = haversine_km(points["latitude"].to_numpy(), points["longitude"].to_numpy(), centre[0], centre[1])
    inside = np.asarray(d) <= radius_km
    if window is not None:
        t = points["timestamp"]
        inside &= ((t >= window[0]) & (t < window[1])).to_numpy()
    n = points.height
    nac = np.where(inside, rng.integers(0, 5, n), points["nac_p"].to_numpy()).astype(np.uint8)
    nic = np.where(inside, rng.integers(0, 6, n), points["nic"].to_numpy()).astype(np.uint8)
    return points.with_columns(pl.Series("nac_p", nac), pl.Series("nic", nic),
                               pl.when(pl.Series(inside)).then(pl.lit(None, pl.Float32)).otherwise(pl.col("rc_m"))
                               .alias("rc_m"))


def spoof(points: pl.DataFrame, centre: tuple[float, float], radius_km: float, fake: tuple[float, float],
          seed: int = 6) -> pl.DataFrame:
    """Move every position inside the circle to `fake` (± 200 m), figures left good: what a spoofer does."""
    rng = np.random.default_rng(seed)
    d = np.asarray(haversine_km(points["latitude"].to_numpy(), points["longitude"].to_numpy(), centre[0], centre[1]))
    inside = d <= radius_km
    n = points.height
    lat = np.where(inside, fake[0] + rng.normal(0, 0.002, n), points["latitude"].to_numpy())
    lon = np.where(inside, fake[1] + rng.normal(0, 0.002, n), points["longitude"].to_numpy())
    return points.with_columns(pl.Series("latitude", lat), pl.Series("longitude", lon))


@dataclass
class HidingScenario:
    """A day of SIMULATED traffic over a receiver network, with a jammed circle and two aircraft of interest."""

    start: datetime = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)
    box: tuple[float, float, float, float] = (38.0, -98.0, 46.0, -84.0)
    jam_centre: tuple[float, float] = (42.0, -91.0)
    jam_radius_km: float = 150.0
    spoof_centre: tuple[float, float] = (39.5, -94.0)
    spoof_radius_km: float = 80.0
    spoof_fake: tuple[float, float] = (38.9, -96.8)  # where spoofed receivers think they are (one spot)
    dark_icao24: str = "abcdef"  # the watched aircraft that switches its transponder off
    leaver_icao24: str = "abcd01"  # flies out of coverage: must not be called dark
    withholder_icao24: str = "abcd02"  # answers interrogations but withholds its position for a while
    notice: str = NOTICE
    receivers: list[Receiver] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.receivers:  # a grid of receivers over the box's western two thirds; none east of 88°W
            self.receivers = [Receiver(f"rx{i}{j}", la, lo, max_range_km=300.0)
                              for i, la in enumerate(np.arange(38.5, 46.1, 1.5))
                              for j, lo in enumerate(np.arange(-97.5, -88.4, 1.5))]


def _straight(icao24: str, callsign: str, t0: datetime, lat: float, lon: float, kt: float, ft: float,
              seconds: float, step: float = 5.0) -> pl.DataFrame:
    n = int(seconds / step)
    elapsed = np.arange(n) * step
    la, lo = _offset(np.full(n, lat), np.full(n, lon), np.full(n, 90.0), kt * 1.852 / 3600.0 * elapsed)
    t_us = int(t0.timestamp() * 1e6) + (elapsed * 1e6).astype(np.int64)
    return _frame(np.full(n, icao24), t_us, la, lo, np.full(n, ft), np.full(n, kt), np.full(n, 90.0),
                  np.full(n, callsign))


def scenario(n_aircraft: int = 1500, hours: float = 24.0, seed: int = 3) -> tuple[pl.DataFrame, dict]:
    """(points heard, truth): SIMULATED. Truth holds the jammed circle, the dark interval, the leaver,
    the aircraft that withholds its position, and `heard`: the heard minutes a receiver would log."""
    from tailwatch.ingest.modes.heard import heard_minutes

    sc = HidingScenario()
    traffic = jam(crossings(n_aircraft, sc.start, hours, sc.box, seed=seed), sc.jam_centre, sc.jam_radius_km)
    traffic = spoof(traffic, sc.spoof_centre, sc.spoof_radius_km, sc.spoof_fake)
    # the watched aircraft: west → east along 41.2°N at 440 kt, transponder off for 30 min mid-leg, in coverage
    t_dep = sc.start + timedelta(hours=10)
    dark = _straight(sc.dark_icao24, "DRK01", t_dep, 41.2, -97.4, 440.0, 33_000.0, 2 * 3600.0)
    off_from, off_to = t_dep + timedelta(minutes=20), t_dep + timedelta(minutes=50)
    ts = dark["timestamp"]
    dark = dark.filter(~((ts >= off_from) & (ts < off_to)))
    # the leaver: heads east out of the covered area and is simply not heard any more
    leaver = _straight(sc.leaver_icao24, "LVR01", t_dep + timedelta(hours=1), 43.0, -94.0, 450.0, 35_000.0, 3 * 3600.0)
    # the withholder: keeps replying to interrogations but sends no position for 30 min
    withholder = _straight(sc.withholder_icao24, "WHD01", t_dep + timedelta(hours=2), 42.5, -97.0, 430.0, 31_000.0,
                           2 * 3600.0)
    hold_from, hold_to = t_dep + timedelta(hours=2, minutes=30), t_dep + timedelta(hours=3)
    wt = withholder["timestamp"]
    held = (wt >= hold_from) & (wt < hold_to)
    replies = withholder.filter(held)
    withholder = withholder.filter(~held)
    everything = pl.concat([traffic, dark, leaver, withholder])
    cover = Coverage(sc.receivers, p_detect=0.95)
    heard = cover.observe(everything, seed=seed)
    heard_replies = cover.observe(replies, seed=seed + 1)
    minutes = pl.concat([
        heard_minutes(heard["icao24"], heard["timestamp"].dt.epoch("us").to_numpy() / 1e6, np.ones(heard.height, bool),
                      SOURCE),
        heard_minutes(heard_replies["icao24"], heard_replies["timestamp"].dt.epoch("us").to_numpy() / 1e6,
                      np.zeros(heard_replies.height, bool), SOURCE),
    ])
    truth = {
        "notice": sc.notice,
        "jam_centre": sc.jam_centre, "jam_radius_km": sc.jam_radius_km,
        "dark_icao24": sc.dark_icao24, "dark_from": off_from, "dark_to": off_to,
        "leaver_icao24": sc.leaver_icao24,
        "withholder_icao24": sc.withholder_icao24, "withheld_from": hold_from, "withheld_to": hold_to,
        "spoof_centre": sc.spoof_centre, "spoof_radius_km": sc.spoof_radius_km, "spoof_fake": sc.spoof_fake,
        "receivers": sc.receivers,
        "heard": minutes,
    }
    return heard.sort("icao24", "timestamp"), truth
