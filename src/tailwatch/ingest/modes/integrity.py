"""Navigation integrity and accuracy: NIC, NUCp, NACp, SIL and the ADS-B version (DO-260/A/B).

Where each figure comes from (bits numbered as in the Mode S documents, message bit 1 = DF's first):
- operational status, TC 31 (BDS 6,5): version (ME 41-43), NIC supplement A (ME 44), NACp (ME 45-48),
  SIL (ME 51-52); surface subtype (1) also NIC supplement C (ME 20).
- target state and status, TC 29 subtype 1 (BDS 6,2, DO-260B): NACp (ME 40-43), SIL (ME 45-46). Subtype 0
  (DO-260A) lays its fields out differently and is left out.
- position messages: NIC supplement B (ME 8) on airborne positions; the type code itself.

NIC is a function of the position type code and the supplements, by version, exactly as pyModeS's tables
(`TC_NICv1_lookup`, `TC_NICv2_lookup`): version 1 keys the ambiguous type codes (11, 16) by supplement A;
version 2 by 2*A + B (airborne) or 2*A + C (surface). Version 0 has no NIC, only NUCp (type code alone).
A combination the tables do not define gives no NIC, as in pyModeS. All functions are column-wise.
"""

from __future__ import annotations

import numpy as np

from tailwatch.ingest.modes.bits import bits

NONE = -1  # int8 "not carried"

# NUCp by type code (DO-260), NIC by type code and supplement key (DO-260A = v1, DO-260B = v2).
_NUCP = {5: 9, 6: 8, 7: 7, 8: 6, 9: 9, 10: 8, 11: 7, 12: 6, 13: 5, 14: 4, 15: 3, 16: 2, 17: 1, 18: 0,
         20: 9, 21: 8, 22: 0}
_NIC_V1 = {5: 11, 6: 10, 7: 9, 8: 0, 9: 11, 10: 10, 11: {1: 9, 0: 8}, 12: 7, 13: 6, 14: 5, 15: 4,
           16: {1: 3, 0: 2}, 17: 1, 18: 0, 20: 11, 21: 10, 22: 0}
_NIC_V2 = {5: 11, 6: 10, 7: {2: 9, 0: 8}, 8: {3: 7, 2: 6, 1: 6, 0: 0}, 9: 11, 10: 10, 11: {3: 9, 0: 8},
           12: 7, 13: 6, 14: 5, 15: 4, 16: {3: 3, 0: 2}, 17: 1, 18: 0, 20: 11, 21: 10, 22: 0}
# Radius of containment in metres by NIC (DO-260B nominal bounds); NIC 6 depends on the supplements.
_RC_M = {11: 7.5, 10: 25.0, 9: 75.0, 8: 185.2, 7: 370.4, 6: 926.0, 5: 1852.0, 4: 3704.0, 3: 7408.0,
         2: 14816.0, 1: 37040.0}
# NUCp's horizontal containment radius (RCu, metres), for version 0
_RCU_M = {9: 3.0, 8: 10.0, 7: 92.6, 6: 185.2, 5: 463.0, 4: 926.0, 3: 1852.0, 2: 9260.0, 1: 18520.0}


def _table(mapping: dict, key: int) -> np.ndarray:
    """(32, 4) int8 table: type code x supplement key → value (-1 undefined)."""
    out = np.full((32, 4), NONE, np.int8)
    for tc, value in mapping.items():
        for k in range(4):
            v = value.get(k, NONE) if isinstance(value, dict) else value
            out[tc, k] = v
    return out


NUCP_BY_TC = np.full(32, NONE, np.int8)
for _tc, _v in _NUCP.items():
    NUCP_BY_TC[_tc] = _v
NIC_V1 = _table(_NIC_V1, 1)
NIC_V2 = _table(_NIC_V2, 2)
RC_BY_NIC = np.full(16, np.nan)
for _nic, _rc in _RC_M.items():
    RC_BY_NIC[_nic] = _rc
RCU_BY_NUCP = np.full(16, np.nan)
for _n, _rc in _RCU_M.items():
    RCU_BY_NUCP[_n] = _rc


def operational_status(msg: np.ndarray) -> dict[str, np.ndarray]:
    """TC 31 fields (int8): subtype, version, nic_a, nic_c (surface only, else -1), nac_p, sil."""
    subtype = bits(msg, 38, 40).astype(np.int8)
    surface = subtype == 1
    known = (subtype == 0) | surface
    version = bits(msg, 73, 75).astype(np.int8)
    return {
        "subtype": subtype,
        "version": np.where(known, version, NONE).astype(np.int8),
        "nic_a": np.where(known, bits(msg, 76, 76), NONE).astype(np.int8),
        "nic_c": np.where(surface, bits(msg, 52, 52), NONE).astype(np.int8),
        "nac_p": np.where(known, bits(msg, 77, 80), NONE).astype(np.int8),
        "sil": np.where(known, bits(msg, 83, 84), NONE).astype(np.int8),
    }


def target_state(msg: np.ndarray) -> dict[str, np.ndarray]:
    """TC 29 subtype 1 fields (int8): nac_p, sil; -1 for other subtypes."""
    v2 = bits(msg, 38, 39) == 1
    return {
        "nac_p": np.where(v2, bits(msg, 72, 75), NONE).astype(np.int8),
        "sil": np.where(v2, bits(msg, 77, 78), NONE).astype(np.int8),
    }


def nic_b(msg: np.ndarray) -> np.ndarray:
    """NIC supplement B of airborne position messages (ME bit 8; the single antenna flag in version 0)."""
    return bits(msg, 40, 40).astype(np.int8)


def nuc_p(tc: np.ndarray) -> np.ndarray:
    """NUCp of position messages by type code (int8, -1 for other messages)."""
    return NUCP_BY_TC[np.asarray(tc, np.int64) & 31]


def nic(tc: np.ndarray, version: np.ndarray, nic_a: np.ndarray, nic_bc: np.ndarray) -> np.ndarray:
    """NIC (int8, -1 where unknown) of position messages given the version and supplements in force.

    `nic_bc`: supplement B for airborne positions, C for surface ones (-1 when not known, read as 0
    as pyModeS's callers do for a missing supplement). Version 0 or unknown (-1) gives -1.
    """
    tc = np.asarray(tc, np.int64) & 31
    a = np.maximum(np.asarray(nic_a, np.int64), 0)
    bc = np.maximum(np.asarray(nic_bc, np.int64), 0)
    v = np.asarray(version, np.int64)
    v1 = NIC_V1[tc, a]
    v2 = NIC_V2[tc, np.where((tc >= 20) & (tc <= 22), 0, 2 * a + bc)]
    return np.where(v == 1, v1, np.where(v >= 2, v2, NONE)).astype(np.int8)


def containment_m(nic_value: np.ndarray, nuc_value: np.ndarray, version: np.ndarray,
                  nic_a: np.ndarray, nic_bc: np.ndarray) -> np.ndarray:
    """Horizontal radius of containment in metres: from NIC (versions 1, 2) or NUCp (version 0), NaN unknown.

    NIC 6 spans three bounds: 0.6 NM (1111 m) with supplement A set in version 1 or A and B/C set in
    version 2, 0.3 NM (556 m) with only B/C set in version 2, else 0.5 NM (926 m).
    """
    n = np.asarray(nic_value, np.int64)
    v = np.asarray(version, np.int64)
    a = np.asarray(nic_a, np.int64) == 1
    bc = np.asarray(nic_bc, np.int64) == 1
    rc = RC_BY_NIC[np.clip(n, 0, 15)]
    six = n == 6
    rc = np.where(six & (((v == 1) & a) | ((v >= 2) & a & bc)), 1111.2, rc)
    rc = np.where(six & (v >= 2) & ~a & bc, 555.6, rc)
    rc = np.where(n < 0, np.nan, rc)
    u = np.asarray(nuc_value, np.int64)
    rcu = np.where(u < 0, np.nan, RCU_BY_NUCP[np.clip(u, 0, 15)])
    return np.where(v == 0, rcu, rc)
