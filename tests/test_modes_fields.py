"""Field decoders checked exhaustively (every code) or on real frames against pyModeS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pyModeS import util
from pyModeS._altcode import altcode_to_altitude
from pyModeS._idcode import idcode_to_squawk

from tailwatch.ingest.modes import cpr
from tailwatch.ingest.modes.altitude import ac13_feet
from tailwatch.ingest.modes.bits import bits, hex_addresses, to_polars
from tailwatch.ingest.modes.crc import syndrome
from tailwatch.ingest.modes.position import surface_speed
from tailwatch.ingest.modes.squawk import squawk


def test_every_altitude_code_matches_pymodes() -> None:
    mine = ac13_feet(np.arange(8192))
    for code in range(8192):
        ref = altcode_to_altitude(code)
        assert (ref is None and np.isnan(mine[code])) or ref == mine[code], code


def test_every_squawk_code_matches_pymodes() -> None:
    codes = np.arange(8192)
    msg = np.zeros((8192, 14), np.uint8)
    msg[:, 2] = codes >> 8
    msg[:, 3] = codes & 0xFF
    mine = to_polars("squawk", squawk(msg)).to_list()
    assert mine == [idcode_to_squawk(int(c)) for c in codes]


def test_every_movement_code_matches_pymodes() -> None:
    import pyModeS

    msg = np.zeros((128, 14), np.uint8)
    codes = np.arange(128)
    # type code 7 surface position with movement in bits 38-44
    base = bytes.fromhex("8c3933223929d481102c499627a7")
    for code in codes:
        m = bytearray(base)
        m[4] = (7 << 3) | (int(code) >> 4)
        m[5] = ((int(code) & 0xF) << 4) | (m[5] & 0x0F)
        msg[code] = np.frombuffer(bytes(m), np.uint8)
    mine = surface_speed(msg)
    for code in codes:
        ref = pyModeS.decode(bytes(msg[code]).hex())["groundspeed"]
        assert (ref is None and np.isnan(mine[code])) or ref == mine[code], code


def test_nl_table_matches_pymodes() -> None:
    lats = np.concatenate((np.linspace(-90, 90, 20001), cpr._T, -cpr._T, cpr._T + 1e-9, cpr._T - 1e-9))
    mine = cpr.nl(lats)
    ref = np.array([util.cprNL(float(x)) for x in lats])
    assert (mine == ref).mean() > 0.9995  # at most floating noise exactly on a transition latitude
    off = np.abs(np.abs(lats[mine != ref])[:, None] - cpr._T[None, :]).min(axis=1) if (mine != ref).any() else np.zeros(0)
    assert (off < 1e-6).all()


def test_crc_and_addresses_on_real_frames(traffic_samples: Path) -> None:
    frames = pl.read_ndjson(traffic_samples / "rs1090" / "full_flight_short.jsonl", infer_schema_length=None)
    hexes = [f if int(d) >= 16 else f[:14] for f, d in zip(frames["frame"], frames["df"])][:5000]
    msg = np.frombuffer(bytes.fromhex("".join(h.ljust(28, "0") for h in hexes)), np.uint8).reshape(-1, 14).copy()
    length = np.array([len(h) // 2 for h in hexes], np.uint8)
    msg[length == 7, 7:] = 0
    mine = syndrome(msg, length)
    assert mine.tolist() == [util.crc(h) for h in hexes]
    names = to_polars("icao24", hex_addresses(bits(msg, 9, 32))).to_list()
    assert names[:3] == [h[2:8] for h in hexes[:3]]


@pytest.mark.parametrize(
    "hexmsg, first, last, value",
    [("8d4840d6202cc371c32ce0576098", 1, 5, 17), ("8d4840d6202cc371c32ce0576098", 9, 32, 0x4840D6),
     ("8d4840d6202cc371c32ce0576098", 33, 37, 4), ("8d4840d6202cc371c32ce0576098", 89, 112, 0x576098)],
)
def test_bit_fields(hexmsg: str, first: int, last: int, value: int) -> None:
    msg = np.frombuffer(bytes.fromhex(hexmsg), np.uint8).reshape(1, 14)
    assert bits(msg, first, last)[0] == value
