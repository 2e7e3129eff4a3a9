"""Aircraft identification (DF17/18 type codes 1-4): callsign and emitter category."""

from __future__ import annotations

import numpy as np

from tailwatch.ingest.modes.bits import bits

CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
_CHARS = np.frombuffer(CHARSET.encode(), dtype=np.uint8)


def callsign(msg: np.ndarray) -> np.ndarray:
    """Callsigns as fixed-width bytes ('S8'), padding spaces and illegal characters ('#') kept.

    Bytes rather than str objects: a million of them convert to a Polars
    string column in milliseconds (`strings.to_polars`).
    """
    if msg.shape[0] == 0:
        return np.zeros(0, dtype="S8")
    codes = np.stack([bits(msg, 41 + 6 * i, 46 + 6 * i) for i in range(8)], axis=1)
    return np.ascontiguousarray(_CHARS[codes]).view("S8").ravel()


_VALID = np.zeros(64, bool)
_VALID[1:27] = True  # A-Z
_VALID[32] = True  # space
_VALID[48:58] = True  # 0-9


def commb_callsign(msg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(is BDS 2,0, callsign bytes) of DF20/21 replies.

    Comm-B registers are not labelled, so a reply counts as identification
    only when its MB starts with 0x20 and every character is a legal one
    (letters, digits, space, with no space before a letter or digit).
    """
    codes = np.stack([bits(msg, 41 + 6 * i, 46 + 6 * i) for i in range(8)], axis=1)
    legal = _VALID[codes].all(axis=1)
    space = codes == 32
    # spaces may only pad the end: once a space appears, all that follow are spaces
    padded = np.all(~space[:, :-1] | space[:, 1:], axis=1)
    ok = (msg[:, 4] == 0x20) & legal & padded & ~space[:, 0]
    return ok, np.ascontiguousarray(_CHARS[codes]).view("S8").ravel()


def category(msg: np.ndarray) -> np.ndarray:
    """Emitter category code: type code and CA field as in DO-260 ('A3' = large aircraft)."""
    tc = bits(msg, 33, 37)
    ca = bits(msg, 38, 40)
    letter = np.array(list("?DCBA"), dtype=object)[np.clip(tc, 0, 4)]
    return letter + ca.astype(str).astype(object)
