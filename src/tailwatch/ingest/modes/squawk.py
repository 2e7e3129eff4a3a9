"""Mode A identity (squawk) of DF5/21: the 13-bit ID field as four octal digits."""

from __future__ import annotations

import numpy as np

from tailwatch.ingest.modes.bits import bits


def _table() -> np.ndarray:
    code = np.arange(8192, dtype=np.int64)

    def bit(k: int) -> np.ndarray:  # ID13 order: C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4
        return (code >> (13 - k)) & 1

    c1, a1, c2, a2, c4, a4, b1, d1, b2, d2, b4, d4 = (bit(k) for k in (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13))
    a = a4 * 4 + a2 * 2 + a1
    b = b4 * 4 + b2 * 2 + b1
    c = c4 * 4 + c2 * 2 + c1
    d = d4 * 4 + d2 * 2 + d1
    digits = np.stack((a, b, c, d), axis=1).astype(np.uint8) + ord("0")
    return np.ascontiguousarray(digits).view("S4").ravel()


_SQUAWK = _table()


def squawk(msg: np.ndarray) -> np.ndarray:
    """Squawks as 4-byte strings (b'7700') from bits 20-32."""
    return _SQUAWK[bits(msg, 20, 32)]
