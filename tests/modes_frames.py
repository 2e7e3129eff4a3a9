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
