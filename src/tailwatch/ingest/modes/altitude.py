"""Barometric altitude fields: AC13 (DF0/4/16/20) and the 12-bit field of DF17/18 positions.

25 ft encoding (Q bit set) is arithmetic; 100 ft Gillham (Gray) encoding is
decoded once for all 8192 codes into a table, then looked up per batch.
Metric altitudes (M bit) are rare and returned as NaN.
"""

from __future__ import annotations

import numpy as np

from tailwatch.ingest.modes.bits import bits


def _gray_to_binary(g: np.ndarray) -> np.ndarray:
    b = g.copy()
    shift = g >> 1
    while shift.any():
        b ^= shift
        shift >>= 1
    return b


def _gillham_table() -> np.ndarray:
    """Feet for every 13-bit AC code read as Gillham (NaN where the code is illegal)."""
    code = np.arange(8192, dtype=np.int64)

    def bit(k: int) -> np.ndarray:  # k-th of the 13 AC bits, 1 = most significant
        return (code >> (13 - k)) & 1

    c1, a1, c2, a2, c4, a4, b1, b2, d2, b4, d4 = (bit(k) for k in (1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13))
    d1 = np.zeros_like(code)  # never transmitted in AC13
    five = _gray_to_binary(
        (d1 << 8) | (d2 << 7) | (d4 << 6) | (a1 << 5) | (a2 << 4) | (a4 << 3) | (b1 << 2) | (b2 << 1) | b4
    )
    hundreds = _gray_to_binary((c1 << 2) | (c2 << 1) | c4)
    # the 100 ft code cycles through 1..5 with the Gray values 5 and 7 swapped
    hundreds = np.where(hundreds == 7, 5, np.where(hundreds == 5, 7, hundreds))
    valid = (hundreds >= 1) & (hundreds <= 5)
    hundreds = np.where(five % 2 == 1, 6 - hundreds, hundreds)
    feet = ((five * 5 + hundreds - 13) * 100).astype(np.float64)
    return np.where(valid, feet, np.nan)


_GILLHAM = _gillham_table()


def ac13_feet(ac: np.ndarray) -> np.ndarray:
    """Feet from 13-bit AC codes (float64, NaN when absent, metric or illegal)."""
    ac = ac.astype(np.int64)
    m_bit = (ac >> 6) & 1
    q_bit = (ac >> 4) & 1
    n25 = ((ac >> 2) & 0x7E0) | ((ac >> 1) & 0x10) | (ac & 0xF)  # drop M (bit 7) and Q (bit 9)
    feet = np.where(q_bit == 1, n25 * 25.0 - 1000.0, _GILLHAM[ac & 0x1FFF])
    return np.where((ac == 0) | (m_bit == 1), np.nan, feet)


def altitude_code(msg: np.ndarray) -> np.ndarray:
    """Feet from the AC field (bits 20-32) of DF0/4/16/20."""
    return ac13_feet(bits(msg, 20, 32))


def es_altitude(msg: np.ndarray) -> np.ndarray:
    """Feet from the 12-bit altitude (bits 41-52) of airborne positions with barometric altitude."""
    a12 = bits(msg, 41, 52).astype(np.int64)
    ac = ((a12 & 0xFC0) << 1) | (a12 & 0x3F)  # re-insert M = 0 as AC bit 7
    return ac13_feet(ac)


def es_gnss_height(msg: np.ndarray) -> np.ndarray:
    """Feet from the 12-bit GNSS height (metres) of airborne positions TC 20-22."""
    a12 = bits(msg, 41, 52).astype(np.float64)
    return np.where(a12 == 0, np.nan, a12 / 0.3048)
