"""Bit fields of message batches, numbered as in the Mode S documents (bit 1 = first bit)."""

from __future__ import annotations

import numpy as np
import polars as pl


def bits(msg: np.ndarray, first: int, last: int) -> np.ndarray:
    """The unsigned field spanning bits `first`..`last` (1-based, inclusive) of every row.

    Fields up to 32 bits wide; reads at most five byte columns, so the cost does
    not depend on where in the message the field sits.
    """
    b0 = (first - 1) // 8
    b1 = (last - 1) // 8
    acc = np.zeros(msg.shape[0], np.uint64)
    for b in range(b0, b1 + 1):
        acc = (acc << np.uint64(8)) | msg[:, b].astype(np.uint64)
    shift = (b1 + 1) * 8 - last
    width = last - first + 1
    return ((acc >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.uint32)


def downlink_format(msg: np.ndarray) -> np.ndarray:
    """DF of each message (bits 1-5); DF 24 and above all start with '11'."""
    df = msg[:, 0] >> 3
    return np.where(df >= 24, 24, df).astype(np.uint8)


def expected_length(df: np.ndarray) -> np.ndarray:
    """Message length in bytes implied by the DF: long (14) when the first bit is set."""
    return np.where(df >= 16, 14, 7).astype(np.uint8)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_addresses(addr: np.ndarray) -> np.ndarray:
    """24-bit addresses as 6-char lowercase hex, fixed-width bytes ('S6')."""
    a = np.asarray(addr, dtype=np.uint32)
    chars = np.stack([_HEX[(a >> s) & 0xF] for s in (20, 16, 12, 8, 4, 0)], axis=1)
    return np.ascontiguousarray(chars).view("S6").ravel()


def to_polars(name: str, fixed: np.ndarray) -> pl.Series:
    """A Polars string column from fixed-width ASCII bytes; empty values become null."""
    series = pl.Series(name, fixed).cast(pl.String)
    return series.replace("", None) if series.len() else series
