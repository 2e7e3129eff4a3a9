"""What the decoder's parts share: reject reasons, the columns of a decoded batch, the per-address
state tables, and the column helpers (running maxima of row indices, never a loop over messages)."""

from __future__ import annotations

import numpy as np
import polars as pl

from tailwatch.ingest.modes.bits import to_polars
from tailwatch.schema import EXTENSION_SCHEMA, INTEGRITY_SCHEMA, POINT_SCHEMA, TIMESTAMP


REJECT_CRC = "bad parity (CRC)"
REJECT_UNCONFIRMED = "unconfirmed address"
REJECT_LENGTH = "length does not match downlink format"
REJECT_TIME = "no valid time"
REJECT_SPIKE = "position inconsistent with its neighbours (speed)"
MOTION_MARGIN_KM = 2.0  # as pyModeS: CPR quantisation and timing jitter
KT_KM_PER_S = 1.852 / 3600.0
REJECT_REASONS = (REJECT_CRC, REJECT_UNCONFIRMED, REJECT_LENGTH, REJECT_TIME, REJECT_SPIKE)  # by code
MESSAGE_COLUMNS = (
    "timestamp", "icao24", "df", "tc", "altitude", "geoaltitude", "groundspeed", "track",
    "vertical_rate", "heading", "airspeed", "callsign", "squawk", "onground",
    "cpr_odd", "surface", "latitude", "longitude",
    "adsb_version", "nic_a", "nic_b", "nic_c", "nac_p", "sil", "nic", "nuc_p", "rc_m",
)
INTEGRITY_FIELDS = ("version", "nic_a", "nic_c", "nac_p", "sil")  # carried per address from TC 31 / TC 29
# what `decode` returns: canonical, then integrity, then how the position was obtained (schema.POSITION_SOURCES)
DECODED_SCHEMA = {**POINT_SCHEMA, **INTEGRITY_SCHEMA, "position_source": EXTENSION_SCHEMA["position_source"]}
POINT_COLUMNS = list(DECODED_SCHEMA)


def empty_points() -> pl.DataFrame:
    """An empty frame of `decode`'s columns."""
    return pl.DataFrame(schema=DECODED_SCHEMA)


def running_last(flag: np.ndarray) -> np.ndarray:
    """For each row, the index of the latest row at or before it where `flag` holds (-1 if none)."""
    idx = np.where(flag, np.arange(flag.size), -1)
    return np.maximum.accumulate(idx) if idx.size else idx


def group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """For rows sorted by key, the index of the first row of each row's group."""
    n = sorted_keys.size
    if n == 0:
        return np.zeros(0, np.int64)
    new = np.ones(n, bool)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return running_last(new)


def timestamps(t: np.ndarray) -> pl.Series:
    micros = np.round(t * 1e6).astype(np.int64)
    return pl.Series("timestamp", micros).cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(TIMESTAMP)


def small_codes(name: str, values: np.ndarray) -> pl.Series:
    """A UInt8 column from int8 codes, -1 (not carried) as null."""
    values = np.asarray(values)
    return pl.Series(name, np.maximum(values, 0).astype(np.uint8)).set(pl.Series(values < 0), None)


def callsigns(raw: np.ndarray) -> pl.Series:
    """Callsign column from raw 8-byte identification characters: '#' dropped, padding stripped."""
    return to_polars("callsign", raw).str.replace_all("#", "", literal=True).str.strip_chars().replace("", None)


CPR_STATE = {"icao": np.uint32, "surface": bool, "odd": bool, "t": np.float64, "lat": np.float64, "lon": np.float64}
POS_STATE = {"icao": np.uint32, "t": np.float64, "lat": np.float64, "lon": np.float64}
INTEGRITY_STATE = {"icao": np.uint32, **{k: np.int8 for k in INTEGRITY_FIELDS},
                    **{f"t_{k}": np.float64 for k in INTEGRITY_FIELDS}}
CARRY_STATE = {
    "icao": np.uint32,
    "callsign": "S8",
    "squawk": "S4",
    "v_gs": np.float64,
    "v_track": np.float64,
    "v_rate": np.float64,
    "v_t": np.float64,
}
