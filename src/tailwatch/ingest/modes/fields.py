"""Stateless decoding of a batch: every field a message carries by itself, as columns.

Addresses and parity are checked here (CRC); what needs other messages (CPR
positions, confirmed addresses for address/parity formats, carried values)
is left to `decoder.ModeSDecoder`.

DF18 (extended squitter from non-transponder devices and ground stations) is read by its
control field CF, as DO-260B and readsb define it: CF 0 is ADS-B from a device without a
transponder, 24-bit ICAO address (`adsb`); CF 2 is fine TIS-B, a ground station's radar or
multilateration track of an aircraft (`tisb`); CF 6 is ADS-R, a ground station rebroadcasting
ADS-B heard on the other link (UAT): the aircraft's own ADS-B, so `adsb`. CF 2 and CF 6 carry an
IMF bit (in place of NIC supplement B in positions, of other bits in the other formats): only
IMF 0, a 24-bit ICAO address, is kept. CF 1 and 5 (non-ICAO addresses), CF 3 (coarse TIS-B) and
CF 4 (management) are left out. TIS-B does not confirm an address for the address/parity formats:
the aircraft was tracked by someone, not necessarily heard here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailwatch.ingest.modes import altitude, identification, integrity, position, squawk, velocity
from tailwatch.ingest.modes.bits import bits, downlink_format, expected_length
from tailwatch.ingest.modes.crc import syndrome

# address/parity formats: the parity field is CRC XOR address
AP_FORMATS = (0, 4, 5, 16, 20, 21)
# position_source codes (schema.POSITION_SOURCES by name); MLAT is set by the reader, from the frame's stamp
SOURCE_ADSB, SOURCE_MLAT, SOURCE_TISB = 0, 1, 2
SOURCE_NAMES = ("adsb", "mlat", "tisb")


def _imf(msg: np.ndarray, tc: np.ndarray) -> np.ndarray:
    """The IMF bit of DF18 CF 2/6 messages, where each format keeps it (DO-260B; readsb's `check_imf`)."""
    where = np.zeros(tc.shape, np.int64)  # message bit holding IMF, 0: none (identification)
    where[((tc >= 9) & (tc <= 18)) | ((tc >= 20) & (tc <= 22))] = 40  # ME bit 8
    where[(tc >= 5) & (tc <= 8)] = 53  # ME bit 21
    where[tc == 19] = 41  # ME bit 9
    where[(tc == 28) | (tc == 31)] = 88  # ME bit 56
    where[tc == 29] = 83  # ME bit 51
    byte = np.clip((where - 1) // 8, 0, 13)
    bit = (msg[np.arange(msg.shape[0]), byte] >> (7 - (where - 1) % 8)) & 1
    return (where > 0) & (bit == 1)


@dataclass
class Fields:
    """Per-message columns of one batch (length n; NaN / '' / -1 where a message does not carry the field)."""

    df: np.ndarray  # uint8
    address: np.ndarray  # uint32: AA field (DF11/17/18) or recovered from parity (AP formats)
    length: np.ndarray  # uint8 bytes as given
    length_ok: np.ndarray  # bool
    parity_ok: np.ndarray  # bool: DF11/17/18 parity acceptable (AP formats: always, the check is the address)
    clean: np.ndarray  # bool: DF11/17/18 with acceptable parity
    confirming: np.ndarray  # bool: clean DF11 (syndrome 0) / DF17 / DF18 CF0, CF6 — confirms an address
    needs_known: np.ndarray  # bool: only valid if the address is already confirmed (AP formats, DF11 with IID)
    tc: np.ndarray  # uint8 type code (DF17/18), 0 otherwise
    altitude: np.ndarray
    geoaltitude: np.ndarray
    groundspeed: np.ndarray
    track: np.ndarray
    vertical_rate: np.ndarray
    heading: np.ndarray
    airspeed: np.ndarray
    callsign: np.ndarray  # 'S8' raw characters (b'' where absent)
    squawk: np.ndarray  # 'S4' (b'' where absent)
    onground: np.ndarray  # int8: 1 ground, 0 airborne, -1 unknown
    is_position: np.ndarray  # bool
    surface: np.ndarray  # bool (surface position)
    odd: np.ndarray  # bool (CPR format)
    lat_cpr: np.ndarray  # float fraction in [0, 1)
    lon_cpr: np.ndarray
    is_velocity: np.ndarray  # bool (TC 19, subtype 1-4)
    position_source: np.ndarray  # uint8 SOURCE_* code: adsb, or tisb for DF18 CF 2 (MLAT: set by the decoder)
    # integrity (int8, -1 where the message does not carry it; see integrity.py)
    version: np.ndarray  # ADS-B version (TC 31)
    nic_a: np.ndarray  # NIC supplement A (TC 31)
    nic_b: np.ndarray  # NIC supplement B (airborne positions)
    nic_c: np.ndarray  # NIC supplement C (TC 31 surface)
    nac_p: np.ndarray  # NACp (TC 31, TC 29 subtype 1)
    sil: np.ndarray  # SIL (TC 31, TC 29 subtype 1)


def decode_fields(msg: np.ndarray, length: np.ndarray) -> Fields:
    """Decode every self-contained field of a batch of messages ((n, 14) uint8, lengths in bytes)."""
    msg = np.ascontiguousarray(msg, dtype=np.uint8)
    length = np.asarray(length, dtype=np.uint8)
    n = msg.shape[0]
    df = downlink_format(msg)
    length_ok = expected_length(df) == length
    syn = syndrome(msg, np.where(length_ok, length, 14))
    aa = bits(msg, 9, 32)

    es = ((df == 17) | (df == 18)) & length_ok & (syn == 0)
    cf = bits(msg, 6, 8)
    df18 = df == 18
    imf = df18 & ((cf == 2) | (cf == 6)) & _imf(msg, bits(msg, 33, 37))
    # DF18: CF 0 (non-transponder ADS-B), CF 6 (ADS-R) and CF 2 (fine TIS-B) with IMF 0 (module docstring)
    adsb_icao = es & ((df == 17) | (cf == 0) | ((cf == 6) & ~imf))
    tisb = es & df18 & (cf == 2) & ~imf
    es_icao = adsb_icao | tisb
    df11 = (df == 11) & length_ok & ((syn & ~np.uint32(0x7F)) == 0)
    ap = np.isin(df, AP_FORMATS) & length_ok
    clean = es_icao | df11
    confirming = adsb_icao | (df11 & (syn == 0))
    needs_known = ap | (df11 & (syn != 0))
    address = np.where(ap, syn, aa).astype(np.uint32)

    nan = np.full(n, np.nan)
    f = Fields(
        df=df,
        address=address,
        length=length,
        length_ok=length_ok,
        parity_ok=np.where(np.isin(df, (17, 18)), syn == 0, np.where(df == 11, syn < 0x80, True)),
        clean=clean,
        confirming=confirming,
        needs_known=needs_known,
        tc=np.where(es_icao, bits(msg, 33, 37), 0).astype(np.uint8),
        altitude=nan.copy(),
        geoaltitude=nan.copy(),
        groundspeed=nan.copy(),
        track=nan.copy(),
        vertical_rate=nan.copy(),
        heading=nan.copy(),
        airspeed=nan.copy(),
        callsign=np.zeros(n, dtype="S8"),
        squawk=np.zeros(n, dtype="S4"),
        onground=np.full(n, -1, dtype=np.int8),
        is_position=np.zeros(n, bool),
        surface=np.zeros(n, bool),
        odd=np.zeros(n, bool),
        lat_cpr=nan.copy(),
        lon_cpr=nan.copy(),
        is_velocity=np.zeros(n, bool),
        position_source=np.where(tisb, SOURCE_TISB, SOURCE_ADSB).astype(np.uint8),
        **dict(zip(("version", "nic_a", "nic_b", "nic_c", "nac_p", "sil"), np.full((6, n), -1, np.int8))),
    )
    tc = f.tc

    sel = np.flatnonzero((tc >= 1) & (tc <= 4))
    if sel.size:
        f.callsign[sel] = identification.callsign(msg[sel])

    sel = np.flatnonzero(((tc >= 9) & (tc <= 18)) | ((tc >= 20) & (tc <= 22)) | ((tc >= 5) & (tc <= 8)))
    if sel.size:
        m = msg[sel]
        odd, lat, lon = position.cpr_fields(m)
        f.is_position[sel] = True
        f.odd[sel], f.lat_cpr[sel], f.lon_cpr[sel] = odd, lat, lon
        t = tc[sel]
        surf = t <= 8
        f.surface[sel] = surf
        f.onground[sel] = surf.astype(np.int8)
        baro = (t >= 9) & (t <= 18)
        gnss = t >= 20
        f.altitude[sel] = np.where(baro, altitude.es_altitude(m), np.nan)
        f.geoaltitude[sel] = np.where(gnss, altitude.es_gnss_height(m), np.nan)
        f.groundspeed[sel] = np.where(surf, position.surface_speed(m), np.nan)
        f.track[sel] = np.where(surf, position.surface_track(m), np.nan)
        relayed = df18[sel] & ((cf[sel] == 2) | (cf[sel] == 6))  # bit 40 is IMF there, not NIC supplement B
        f.nic_b[sel] = np.where(surf | relayed, -1, integrity.nic_b(m))

    sel = np.flatnonzero(tc == 31)
    if sel.size:
        status = integrity.operational_status(msg[sel])
        for key in ("version", "nic_a", "nic_c", "nac_p", "sil"):
            getattr(f, key)[sel] = status[key]

    sel = np.flatnonzero(tc == 29)
    if sel.size:
        state = integrity.target_state(msg[sel])
        f.nac_p[sel], f.sil[sel] = state["nac_p"], state["sil"]

    sel = np.flatnonzero(tc == 19)
    if sel.size:
        v = velocity.velocity(msg[sel])
        f.is_velocity[sel] = (v.subtype >= 1) & (v.subtype <= 4)
        f.groundspeed[sel] = v.groundspeed
        f.track[sel] = v.track
        f.vertical_rate[sel] = v.vertical_rate
        f.heading[sel] = v.heading
        f.airspeed[sel] = v.airspeed

    sel = np.flatnonzero((tc == 28) & (bits(msg, 38, 40) == 1))
    if sel.size:  # emergency/priority status carries the Mode A code in bits 44-56
        m = msg[sel]
        ident = bits(m, 44, 56)
        shifted = np.zeros_like(m)
        shifted[:, 2] = (ident >> 8).astype(np.uint8)  # place the 13 bits where DF5 keeps them (bits 20-32)
        shifted[:, 3] = (ident & 0xFF).astype(np.uint8)
        f.squawk[sel] = squawk.squawk(shifted)

    sel = np.flatnonzero(ap & ((df == 0) | (df == 4) | (df == 16) | (df == 20)))
    if sel.size:
        f.altitude[sel] = altitude.altitude_code(msg[sel])
    sel = np.flatnonzero(ap & ((df == 20) | (df == 21)) & (msg[:, 4] == 0x20))
    if sel.size:
        ok, cs = identification.commb_callsign(msg[sel])
        f.callsign[sel[ok]] = cs[ok]
    sel = np.flatnonzero(ap & ((df == 5) | (df == 21)))
    if sel.size:
        f.squawk[sel] = squawk.squawk(msg[sel])
    # flight status (DF4/5/20/21): 1 and 3 on ground, 0 and 2 airborne; DF0 VS bit: 1 on ground
    sel = np.flatnonzero(ap & ((df == 4) | (df == 5) | (df == 20) | (df == 21)))
    if sel.size:
        fs = bits(msg[sel], 6, 8)
        f.onground[sel] = np.where((fs == 1) | (fs == 3), 1, np.where((fs == 0) | (fs == 2), 0, -1))
    sel = np.flatnonzero(ap & (df == 0))
    if sel.size:
        f.onground[sel] = bits(msg[sel], 6, 6).astype(np.int8)
    return f
