"""Test helper: build real DF17 extended squitters and modulate them into Mode S I/Q samples.

Used to drive a real receiver program (Debian's dump1090-mutability, `--ifile`)
and to synthesise Beast captures for replay tests and the live benchmark. The
messages follow ICAO Annex 10 / DO-260 field layouts; parity comes from
pyModeS's CRC. An encoder is a test fixture only: the product never encodes.

Modulation: 1090 MHz Mode S is pulse-position modulated at 1 µs per bit (a
0.5 µs pulse in the first half for 1, in the second half for 0) after an 8 µs
preamble with pulses at 0, 1, 3.5 and 4.5 µs. dump1090-mutability (2018)
demodulates at 2.4 Msps, so each sample here is the pulse energy averaged over
its 1/2.4 µs window ("area sampling"), written as 8-bit unsigned interleaved
I/Q centred on 127.5 (`--iformat UC8`, the default).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from pyModeS.util import cprNL, crc

SAMPLE_RATE = 2_400_000
CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def _bits_to_bytes(bits: str) -> bytes:
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def with_parity(msg56_or_112: bytes) -> bytes:
    """Fill the last 24 bits of a DF17 message with its CRC parity."""
    body = msg56_or_112[:-3] + b"\x00\x00\x00"
    parity = crc(body.hex())
    return body[:-3] + parity.to_bytes(3, "big")


def df17(icao24: str, me: int, ca: int = 5) -> bytes:
    """A DF17 extended squitter for address `icao24` with the 56-bit ME field `me`."""
    head = (17 << 3) | ca
    raw = bytes([head]) + bytes.fromhex(icao24) + me.to_bytes(7, "big") + b"\x00\x00\x00"
    return with_parity(raw)


def identification(icao24: str, callsign: str, category: int = 0) -> bytes:
    """TC 4 aircraft identification (callsign, 8 characters)."""
    cs = callsign.upper().ljust(8)[:8]
    me = (4 << 51) | (category << 48)
    for i, ch in enumerate(cs):
        me |= CHARSET.index(ch) << (42 - 6 * i)
    return df17(icao24, me)


def altitude_code(alt_ft: float) -> int:
    """12-bit altitude field with the Q bit set (25 ft steps)."""
    n = int(round((alt_ft + 1000) / 25))
    return ((n >> 4) << 5) | (1 << 4) | (n & 0xF)


def cpr_encode(lat: float, lon: float, odd: int, nbits: int = 17) -> tuple[int, int]:
    """Airborne CPR encoding of a position (DO-260B A.1.7)."""
    scale = 1 << nbits
    dlat = 360.0 / (60 - odd)
    yz = math.floor(scale * ((lat % dlat) / dlat) + 0.5)
    rlat = dlat * (yz / scale + math.floor(lat / dlat))
    nl = cprNL(rlat)
    dlon = 360.0 / max(nl - odd, 1)
    xz = math.floor(scale * ((lon % dlon) / dlon) + 0.5)
    return yz % scale, xz % scale


def airborne_position(icao24: str, lat: float, lon: float, alt_ft: float, odd: int, tc: int = 11) -> bytes:
    """TC 9–18 airborne position with barometric altitude."""
    yz, xz = cpr_encode(lat, lon, odd)
    me = (tc << 51) | (altitude_code(alt_ft) << 36) | (odd << 34) | (yz << 17) | xz
    return df17(icao24, me)


def velocity(icao24: str, groundspeed_kt: float, track_deg: float, vrate_fpm: float = 0.0) -> bytes:
    """TC 19 subtype 1 ground speed / track / vertical rate."""
    vew = groundspeed_kt * math.sin(math.radians(track_deg))
    vns = groundspeed_kt * math.cos(math.radians(track_deg))
    dew, dns = int(vew < 0), int(vns < 0)
    vew_f = min(int(round(abs(vew))) + 1, 1023)
    vns_f = min(int(round(abs(vns))) + 1, 1023)
    svr = int(vrate_fpm < 0)
    vr_f = min(int(round(abs(vrate_fpm) / 64)) + 1, 511)
    me = (19 << 51) | (1 << 48) | (dew << 42) | (vew_f << 32) | (dns << 31) | (vns_f << 21)
    me |= (1 << 20) | (svr << 19) | (vr_f << 10)
    return df17(icao24, me)


def emergency_status(icao24: str, squawk: str, state: int = 1) -> bytes:
    """TC 28 subtype 1: emergency/priority status with the Mode A code."""
    digits = [int(c) for c in squawk]
    a, b, c, d = digits
    # Mode A 13-bit field order: C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4
    bits = [
        (c >> 0) & 1, (a >> 0) & 1, (c >> 1) & 1, (a >> 1) & 1, (c >> 2) & 1, (a >> 2) & 1, 0,
        (b >> 0) & 1, (d >> 0) & 1, (b >> 1) & 1, (d >> 1) & 1, (b >> 2) & 1, (d >> 2) & 1,
    ]
    code = int("".join(map(str, bits)), 2)
    me = (28 << 51) | (1 << 48) | (state << 45) | (code << 32)
    return df17(icao24, me)


def flight_messages(
    icao24: str, callsign: str, track: Iterable[tuple[float, float, float, float]], gs_kt: float = 250.0,
    hdg: float = 90.0,
) -> list[tuple[float, bytes]]:
    """(time s, message) for a path of (t, lat, lon, alt): identification, then even/odd positions."""
    out: list[tuple[float, bytes]] = []
    for i, (t, lat, lon, alt) in enumerate(track):
        if i % 10 == 0:
            out.append((t, identification(icao24, callsign)))
            out.append((t + 0.01, velocity(icao24, gs_kt, hdg)))
        out.append((t + 0.02, airborne_position(icao24, lat, lon, alt, odd=i % 2)))
    return out


# --- modulation ---------------------------------------------------------------------------

def _pulse_intervals(msg: bytes) -> list[tuple[float, float]]:
    """High intervals (µs from the frame start) of the preamble and PPM data pulses."""
    pulses = [(0.0, 0.5), (1.0, 1.5), (3.5, 4.0), (4.5, 5.0)]
    nbits = len(msg) * 8
    value = int.from_bytes(msg, "big")
    for k in range(nbits):
        bit = (value >> (nbits - 1 - k)) & 1
        start = 8.0 + k + (0.0 if bit else 0.5)
        pulses.append((start, start + 0.5))
    return pulses


def envelope(msg: bytes, sample_rate: int = SAMPLE_RATE, offset_us: float = 0.0) -> np.ndarray:
    """Pulse magnitude (0..1) per sample, area-sampled, for one frame starting at `offset_us`."""
    total_us = 8.0 + len(msg) * 8 + 2.0
    n = int(math.ceil((total_us + offset_us) * sample_rate / 1e6)) + 1
    edges = np.arange(n + 1) * (1e6 / sample_rate)  # µs
    env = np.zeros(n)
    for a, b in _pulse_intervals(msg):
        a += offset_us
        b += offset_us
        lo = np.clip(edges[:-1], a, b)
        hi = np.clip(edges[1:], a, b)
        env += (hi - lo) / (1e6 / sample_rate)
    return env


def modulate(
    frames: Iterable[tuple[float, bytes]], amplitude: float = 100.0, noise: float = 2.0,
    sample_rate: int = SAMPLE_RATE, seed: int = 1, lead_s: float = 0.01, tail_s: float = 0.05,
) -> bytes:
    """UC8 interleaved I/Q for messages at the given times (seconds), with Gaussian noise."""
    frames = sorted(frames)
    if not frames:
        return b""
    t_end = frames[-1][0] + lead_s + tail_s
    n = int(t_end * sample_rate) + 1
    mag = np.zeros(n)
    for t, msg in frames:
        start_s = (t + lead_s) * sample_rate
        i0 = int(start_s)
        frac_us = (start_s - i0) * 1e6 / sample_rate
        env = envelope(msg, sample_rate, frac_us)
        mag[i0 : i0 + env.size] += env[: max(0, min(env.size, n - i0))]
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * math.pi)
    i = 127.5 + amplitude * mag * math.cos(phase) + rng.normal(0, noise, n)
    q = 127.5 + amplitude * mag * math.sin(phase) + rng.normal(0, noise, n)
    iq = np.empty(2 * n, dtype=np.uint8)
    iq[0::2] = np.clip(np.round(i), 0, 255).astype(np.uint8)
    iq[1::2] = np.clip(np.round(q), 0, 255).astype(np.uint8)
    return iq.tobytes()


# --- Beast framing (for synthetic captures) -----------------------------------------------

def beast_frame(msg: bytes, ticks: int, signal: int = 200) -> bytes:
    """One Beast binary frame (type '2' short or '3' long) with 0x1a escaping."""
    kind = b"3" if len(msg) == 14 else b"2"
    body = ticks.to_bytes(6, "big") + bytes([signal]) + msg
    return b"\x1a" + kind + body.replace(b"\x1a", b"\x1a\x1a")


def beast_capture(frames: Iterable[tuple[float, bytes]]) -> bytes:
    """A Beast capture from (time s, message) pairs, 12 MHz ticks from time zero."""
    return b"".join(beast_frame(m, int(round(t * 12e6))) for t, m in sorted(frames))


# --- bulk synthetic traffic (vectorised; for the live benchmark and load tests) -------------

_CRC_POLY = 0xFFF409


def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for b in range(256):
        c = b << 16
        for _ in range(8):
            c = ((c << 1) ^ _CRC_POLY) if c & 0x800000 else (c << 1)
        table[b] = c & 0xFFFFFF
    return table


_TABLE = _crc_table()


def crc24_rows(data: np.ndarray) -> np.ndarray:
    """CRC-24 remainder of each row of `data` (n, L) uint8 (the data bits, parity excluded)."""
    crc = np.zeros(data.shape[0], dtype=np.uint32)
    for j in range(data.shape[1]):
        idx = ((crc >> 16) ^ data[:, j]) & 0xFF
        crc = ((crc << 8) & 0xFFFFFF) ^ _TABLE[idx]
    return crc


def _nl(lat: np.ndarray) -> np.ndarray:
    a = 1 - np.cos(np.pi / 30)
    b = np.cos(np.radians(np.abs(lat))) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        nl = np.floor(2 * np.pi / np.arccos(1 - a / b))
    nl = np.where(np.abs(lat) >= 87, 1, nl)
    return np.where(lat == 0, 59, nl).astype(np.int64)


def _me_bytes(me: np.ndarray) -> np.ndarray:
    """(n,) uint64 56-bit fields → (n, 7) bytes."""
    return np.stack([((me >> np.uint64(8 * (6 - k))) & np.uint64(0xFF)).astype(np.uint8) for k in range(7)], axis=1)


def synthetic_traffic(n_aircraft: int, seconds: float, rate: float, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, msg (n,14), length) of `rate` msg/s from `n_aircraft` in straight flight, CRC-valid.

    Mix: 45 % DF17 airborne positions (even/odd alternating per aircraft), 20 % DF17
    velocity, 5 % DF17 identification, 30 % DF11 all-call replies.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.sort(rng.uniform(0, seconds, n))
    ac = rng.integers(0, n_aircraft, n)
    icao = (0x300000 + np.arange(n_aircraft) * 131).astype(np.uint64)[ac]
    lat0 = rng.uniform(40, 60, n_aircraft)[ac]
    lon0 = rng.uniform(-5, 25, n_aircraft)[ac]
    hdg = np.radians(rng.uniform(0, 360, n_aircraft))[ac]
    lat = lat0 + np.cos(hdg) * t * 0.002
    lon = lon0 + np.sin(hdg) * t * 0.003
    alt = (rng.integers(100, 400, n_aircraft) * 100)[ac]
    kind = rng.choice(4, size=n, p=[0.45, 0.20, 0.05, 0.30])
    msg = np.zeros((n, 14), dtype=np.uint8)
    length = np.where(kind == 3, 7, 14)
    odd = (np.arange(n) % 2).astype(np.int64)
    # positions
    dlat = 360.0 / (60 - odd)
    yz = np.floor(131072 * np.mod(lat, dlat) / dlat + 0.5)
    rlat = dlat * (yz / 131072 + np.floor(lat / dlat))
    dlon = 360.0 / np.maximum(_nl(rlat) - odd, 1)
    xz = np.floor(131072 * np.mod(lon, dlon) / dlon + 0.5)
    ncode = np.round((alt + 1000) / 25).astype(np.uint64)
    altcode = ((ncode >> np.uint64(4)) << np.uint64(5)) | np.uint64(16) | (ncode & np.uint64(15))
    me_pos = (np.uint64(11) << np.uint64(51)) | (altcode << np.uint64(36)) | (odd.astype(np.uint64) << np.uint64(34))
    me_pos |= (yz.astype(np.uint64) % np.uint64(131072)) << np.uint64(17)
    me_pos |= xz.astype(np.uint64) % np.uint64(131072)
    vew = np.abs(np.round(np.sin(hdg) * 420)).astype(np.uint64) + np.uint64(1)
    vns = np.abs(np.round(np.cos(hdg) * 420)).astype(np.uint64) + np.uint64(1)
    me_vel = (np.uint64(19) << np.uint64(51)) | (np.uint64(1) << np.uint64(48))
    me_vel = me_vel | ((np.sin(hdg) < 0).astype(np.uint64) << np.uint64(42)) | (vew << np.uint64(32))
    me_vel |= ((np.cos(hdg) < 0).astype(np.uint64) << np.uint64(31)) | (vns << np.uint64(21)) | (np.uint64(1) << np.uint64(10))
    me_id = (np.uint64(4) << np.uint64(51)) | np.uint64(0x0C30C30C30C3)  # callsign "CCCCCCCC"
    me = np.where(kind == 0, me_pos, np.where(kind == 1, me_vel, me_id))
    msg[:, 0] = np.where(kind == 3, (11 << 3) | 5, (17 << 3) | 5)
    msg[:, 1] = (icao >> np.uint64(16)).astype(np.uint8)
    msg[:, 2] = (icao >> np.uint64(8)).astype(np.uint8)
    msg[:, 3] = icao.astype(np.uint8)
    longm = kind != 3
    msg[longm, 4:11] = _me_bytes(me[longm])
    crc_long = crc24_rows(msg[longm, :11])
    msg[longm, 11] = (crc_long >> 16).astype(np.uint8)
    msg[longm, 12] = (crc_long >> 8).astype(np.uint8)
    msg[longm, 13] = crc_long.astype(np.uint8)
    short = ~longm
    crc_short = crc24_rows(msg[short, :4])
    msg[short, 4] = (crc_short >> 16).astype(np.uint8)
    msg[short, 5] = (crc_short >> 8).astype(np.uint8)
    msg[short, 6] = crc_short.astype(np.uint8)
    return t, msg, length


def beast_capture_arrays(t: np.ndarray, msg: np.ndarray, length: np.ndarray) -> bytes:
    """A Beast capture from arrays (12 MHz ticks from t)."""
    ticks = np.round(t * 12e6).astype(np.uint64)
    out = []
    for tk, m, n in zip(ticks.tolist(), msg, length.tolist()):
        body = int(tk).to_bytes(6, "big") + b"\xc8" + m[:n].tobytes()
        out.append((b"\x1a3" if n == 14 else b"\x1a2") + body.replace(b"\x1a", b"\x1a\x1a"))
    return b"".join(out)
