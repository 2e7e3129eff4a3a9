"""Test helper: hex Mode S frames (as in rs1090's jsonl, short frames zero-padded) → decoder arrays."""

from __future__ import annotations

import numpy as np

CDG = (49.0097, 2.5479)  # Paris-Charles de Gaulle, the surface reference of the rs1090 sample


def frames_of(hexes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n, 14) uint8 messages zero-padded past their length, and the lengths (7 or 14 bytes)."""
    arr = np.frombuffer(bytes.fromhex("".join(h.ljust(28, "0") for h in hexes)), np.uint8).reshape(-1, 14)
    length = np.where((arr[:, 0] >> 3) >= 16, 14, 7).astype(np.uint8)
    arr = np.where(np.arange(14)[None, :] < length[:, None], arr, 0).astype(np.uint8)
    return arr, length


def _nl(lat: float) -> int:
    from tailwatch.ingest.modes.cpr import nl

    return int(nl(np.array([lat]))[0])


def surface_frame(address: int, lat: float, lon: float, odd: bool, movement: int = 10, track_deg: float = 90.0,
                  df: int = 17, cf_or_ca: int = 5) -> str:
    """A surface position message (TC 7) at (lat, lon), CPR-encoded as DO-260B §A.1.7 (17 bits, 90°
    zones), parity computed: the hex of a frame a transponder at that place would send."""
    from tailwatch.ingest.modes.crc import with_address

    i = int(odd)
    dlat = 90.0 / (60 - i)
    yz = int(np.floor(2**17 * (lat % dlat) / dlat + 0.5))
    rlat = dlat * (yz / 2**17 + np.floor(lat / dlat))
    dlon = 90.0 / max(_nl(rlat) - i, 1)
    xz = int(np.floor(2**17 * (lon % dlon) / dlon + 0.5))
    yz, xz = yz % 2**17, xz % 2**17
    me = (7 << 51) | (movement << 44) | (1 << 43) | (int(round(track_deg / 360 * 128)) % 128 << 36)
    me |= (i << 34) | (yz << 17) | xz
    head = (df << 3) | cf_or_ca
    raw = bytes([head]) + address.to_bytes(3, "big") + me.to_bytes(7, "big") + b"\0\0\0"
    msg = np.frombuffer(raw, np.uint8).reshape(1, 14)
    return with_address(msg, np.array([14], np.uint8), address)[0].tobytes().hex().upper()
