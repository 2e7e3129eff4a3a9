"""Surface positions without a receiver position: which references place them, and the airport
choice for a global even/odd pair when nothing else can.

Why. A surface position message (TC 5-8) carries CPR in zones four times smaller than airborne
ones, so even a global even/odd pair leaves eight solutions (two latitudes, four longitudes
each, 90° apart) and a single message needs a reference within 45 NM. Without a receiver
position, the 16 min of taxi of a real capture at Paris-CDG were dropped and later counted as
"heard, no position": a false *observed* finding. What places them, in order (`positions.py`):

1. the aircraft's own previous fix (airborne or surface) at most `surface_window` (600 s) old;
2. the receiver position, when given (``--receiver``, ``TAILWATCH_RECEIVER``);
3. the aircraft's next *airborne* fix at most `NEXT_AIRBORNE_S` (300 s) later: a surface
   message just before take-off (a climbing aircraft covers at most some 20 NM in that time,
   well inside the 45 NM a reference may be away);
4. for a global pair only (it just needs to pick among candidates thousands of km apart): the
   aircraft's nearest fix in time within `FAR_REFERENCE_S` (1 h) before or after, the
   candidate nearest to it kept only if it lies within `REFERENCE_KM` (450 km, readsb's bound
   for a surface pair against its reference). In practice that fix is its first fix after
   take-off or last before landing, so this places it at the airport it took off from or
   landed at;
5. else, for a global pair, the airport choice below; a lone message without any of these stays
   undecoded (counted as a position message in the heard minutes, never as silence).

Every surface pair decoded against a reference (1-4) must lie within `REFERENCE_KM` of it.

The airport choice. Each of the eight candidates is looked up among the airports an airliner
or business jet taxis at (`tailwatch.geo.airports.nearest` with a runway of at least
`AIRPORT_RUNWAY_FT`, which keeps large and medium airports whose runway is unknown): the
candidate with such an airport within `AIRPORT_KM` is kept when it is the *only* one; none
(an aircraft at an airfield not listed, a helicopter at a helipad) or several (two candidates
each near an airport) and the pair is refused. The candidates of a pair are 90° of longitude
or a hemisphere apart, so two airports matching at once is rare, and a refused pair costs
positions, never a false one. Once one surface fix exists, the next messages decode against
it (rules 1 and 4), so only the first `AIRPORT_TRIES` unplaced pairs of each aircraft and hour of
a batch are looked up: a receiver at a busy airport costs a few lookups per aircraft, not one per
message.

What readsb does (checked in wiedehopf/readsb, track.c `doGlobalCPR` and receiver.c
`receiverGetReference`, snapshot of 2024-10-17): a surface pair is decoded against the user's
receiver location, else a reference derived per receiver from the bounding box of the
positions it has decoded (after 100 of them), else the aircraft's own last reliable position;
with none, it gives up, and it rejects a result more than 450 km from its reference. It uses no
airport database. We keep its order where we can (rules 1, 2, 4 and the 450 km bound) and add
the next airborne fix (files can be read in both directions) and the airport choice instead of
a derived receiver position, which a file merged from several receivers would make wrong.
"""

from __future__ import annotations

import numpy as np

NEXT_AIRBORNE_S = 300.0
FAR_REFERENCE_S = 3600.0
REFERENCE_KM = 450.0
AIRPORT_KM = 8.0
AIRPORT_RUNWAY_FT = 4000.0
AIRPORT_TRIES = 4  # pairs per aircraft and hour looked up; the rest decode against the fixes they give


def airport_choice(cand_lat: np.ndarray, cand_lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one candidate per row (of (n, 8) arrays) with a suitable airport within `AIRPORT_KM`,
    NaN where none or more than one has one (module docstring)."""
    from tailwatch.geo.airports import nearest

    n, k = cand_lat.shape
    flat_lat, flat_lon = cand_lat.ravel(), cand_lon.ravel()
    valid = np.flatnonzero(np.isfinite(flat_lat) & np.isfinite(flat_lon))
    near = np.zeros(n * k, bool)
    if valid.size:
        found = nearest(flat_lat[valid], flat_lon[valid], AIRPORT_KM, min_runway_ft=AIRPORT_RUNWAY_FT)
        near[valid] = found["distance_km"].is_not_null().to_numpy()
    near = near.reshape(n, k)
    one = near.sum(axis=1) == 1
    pick = np.argmax(near, axis=1)
    rows = np.arange(n)
    return (np.where(one, cand_lat[rows, pick], np.nan), np.where(one, cand_lon[rows, pick], np.nan))
