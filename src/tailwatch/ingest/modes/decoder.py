"""The stateful Mode S decoder: batches of raw messages in, canonical positions out.

State kept between batches (so a file read in chunks, or a live feed read
socket read by socket read, decodes as one stream):
- confirmed addresses: DF0/4/5/16/20/21 carry no address of their own (it is
  folded into the parity), so any noise "decodes" to some address; as in
  dump1090/readsb, such a message is kept only when its address was already
  seen in a clean DF11 (syndrome 0), DF17 or DF18 earlier in the stream;
  others count as "unconfirmed address". DF11 with a nonzero interrogator
  code is accepted on the same condition. No single-bit error correction.
- CPR: the last even and odd message per address (and surface/airborne), so
  a pair is decoded globally when both are at most `pair_window` (10 s)
  apart; a lone message is decoded locally against the aircraft's last
  position if at most `local_window` (30 s, as pyModeS) old. Surface messages
  need a reference: the aircraft's last position (within `surface_window`),
  else the receiver `reference` given to the decoder or to `decode`, else its
  next airborne fix or, for a global pair, the one candidate near an airport
  (`modes.surface`). The next fix is looked for inside the batch only (readers
  pass a million messages at a time).
- carried values: last callsign (DF17/18 identification, or DF20/21 Comm-B
  identification BDS 2,0) and squawk (DF5/21, DF17 emergency status) per
  address, last velocity (ground speed, track, vertical rate) for
  `velocity_window` seconds.
- plausibility: a fix that jumps away from both its neighbours faster than
  `max_speed_kt` (1500 kt + 2 km, as pyModeS) is dropped and counted; CRC
  lets one corrupted message in 16 million through, and one such fix would
  otherwise draw a false leg.

The parts: `positions` (CPR and the speed check), `carried` (integrity, carried values, the
output frame), `columns` (what they share). Everything runs column-wise: pairs are found by sorting the batch by address
and time and taking running maxima of row indices, never by a loop over
messages.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl

from tailwatch.ingest.modes.bits import hex_addresses, to_polars
from tailwatch.ingest.modes.carried import CarriedSteps
from tailwatch.ingest.modes.columns import (  # noqa: F401 - DECODED_SCHEMA, REJECT_REASONS, empty_points: the decoder's contract
    CARRY_STATE,
    CPR_STATE,
    DECODED_SCHEMA,
    INTEGRITY_FIELDS,
    INTEGRITY_STATE,
    MESSAGE_COLUMNS,
    POS_STATE,
    REJECT_REASONS,
    callsigns,
    empty_points,
    small_codes,
    timestamps,
)
from tailwatch.ingest.modes.fields import SOURCE_MLAT, Fields, decode_fields
from tailwatch.ingest.modes.positions import PositionSteps


class ModeSDecoder(PositionSteps, CarriedSteps):
    """Decode Mode S batches into canonical points, keeping per-aircraft state across batches."""

    def __init__(
        self,
        reference: tuple[float, float] | None = None,
        source: str = "modes",
        pair_window: float = 10.0,
        local_window: float = 30.0,
        surface_window: float = 600.0,
        velocity_window: float = 30.0,
        max_speed_kt: float = 1500.0,
        integrity_window: float = 60.0,
        record_heard: bool = False,
    ) -> None:
        self.integrity_window = integrity_window
        # heard minutes (hiding.heard) of every accepted message, position or not, when asked for
        self.record_heard = record_heard
        self._heard: list[pl.DataFrame] = []
        self.max_speed_kt = max_speed_kt
        self.reference = reference
        self.source = source
        self.pair_window = pair_window
        self.local_window = local_window
        self.surface_window = surface_window
        self.velocity_window = velocity_window
        self.rejects: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.messages_seen = 0
        # indices (into the last batch) and reasons of rejected messages, for file:offset reports
        self.last_rejected: np.ndarray = np.zeros(0, np.int64)
        self.last_reasons: np.ndarray = np.zeros(0, np.uint8)
        self._spiked = np.zeros(0, np.int64)
        self._confirmed = np.zeros(0, np.uint32)
        # last CPR message per (address, surface, odd): columns icao, surface, odd, t, lat, lon
        self._cpr = {k: np.zeros(0, d) for k, d in CPR_STATE.items()}
        # last position per address
        self._pos = {k: np.zeros(0, d) for k, d in POS_STATE.items()}
        # carried values per address
        self._carry = {k: np.zeros(0, d) for k, d in CARRY_STATE.items()}
        # integrity values in force per address: value and time of each of INTEGRITY_FIELDS
        self._integrity = {k: np.zeros(0, d) for k, d in INTEGRITY_STATE.items()}

    # ------------------------------------------------------------------ public
    def decode(
        self,
        msg: np.ndarray,
        length: np.ndarray,
        t: np.ndarray,
        reference: tuple[float, float] | None = None,
        mlat: np.ndarray | None = None,
    ) -> pl.DataFrame:
        """Canonical points (positions only) of one batch; call again with the next batch.

        `mlat`: per message, True where the frame is a multilateration result (a Beast or AVR frame
        stamped with the MLAT magic value, `modes.clock.is_mlat`): its points get
        `position_source` "mlat" instead of what the message format says.
        """
        c = self._decode(msg, length, t, reference, mlat=mlat)
        if self.record_heard and c["t"].size:
            from tailwatch.ingest.modes.heard import heard_minutes

            has = c["is_position"] & ~np.isnan(c["latitude"])
            self._heard.append(heard_minutes(c["icao"], c["t"], has, self.source, c["is_position"]))
        return self._points(c)

    def take_heard(self) -> pl.DataFrame:
        """The heard minutes recorded since the last call (one row per aircraft and minute)."""
        from tailwatch.heard import empty_heard, merge

        parts, self._heard = self._heard, []
        return merge(parts) if parts else empty_heard()

    def messages(
        self,
        msg: np.ndarray,
        length: np.ndarray,
        t: np.ndarray,
        reference: tuple[float, float] | None = None,
    ) -> pl.DataFrame:
        """One row per accepted message with every decoded field (positions where CPR allows).

        For inspection and comparison with other decoders; advances the same
        state as `decode` except the carried values.
        """
        c = self._decode(msg, length, t, reference, raw_integrity=True)
        frame = pl.DataFrame(
            {k: c[k] for k in ("row", "df", "tc", "altitude", "geoaltitude", "groundspeed", "track", "vertical_rate",
                               "heading", "airspeed", "cpr_odd", "surface", "latitude", "longitude", "rc_m")},
            nan_to_null=True,
        ).with_columns(
            small_codes(name, c[key]) for name, key in (
                ("adsb_version", "version"), ("nic_a", "nic_a"), ("nic_b", "nic_b"), ("nic_c", "nic_c"),
                ("nac_p", "nac_p"), ("sil", "sil"), ("nic", "nic"), ("nuc_p", "nuc_p"))
        )
        return frame.with_columns(
            timestamps(c["t"]),
            to_polars("icao24", hex_addresses(c["icao"])),
            callsigns(c["callsign"]),
            to_polars("squawk", c["squawk"]),
            pl.Series("onground", c["onground"]).replace_strict({-1: None, 0: False, 1: True}, return_dtype=pl.Boolean),
        ).select(*MESSAGE_COLUMNS, "row")

    # ------------------------------------------------------------ internals
    def _decode(self, msg, length, t, reference, raw_integrity: bool = False, mlat=None) -> dict[str, np.ndarray]:
        """NumPy columns of the accepted messages of a batch (positions decoded, state advanced)."""
        msg = np.asarray(msg, dtype=np.uint8).reshape(-1, 14)
        length = np.asarray(length, dtype=np.uint8)
        t = np.asarray(t, dtype=np.float64)
        if not (msg.shape[0] == length.shape[0] == t.shape[0]):
            raise ValueError("msg, length and t must have the same number of rows")
        n = msg.shape[0]
        self.messages_seen += n
        f = decode_fields(msg, length)
        if mlat is not None:
            f.position_source = np.where(np.asarray(mlat, bool), SOURCE_MLAT, f.position_source).astype(np.uint8)
        accepted = self._accept(f, np.isfinite(t))
        rows = np.flatnonzero(accepted)
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        pos_rows = rows[f.is_position[rows]]
        ref = reference or self.reference
        if pos_rows.size:
            plat, plon = self._positions(f, t, pos_rows, ref)
            lat[pos_rows], lon[pos_rows] = plat, plon
            if self._spiked.size:  # reported with the batch's other rejections
                self.last_rejected = np.concatenate((self.last_rejected, pos_rows[self._spiked]))
                self.last_reasons = np.concatenate((self.last_reasons, np.full(self._spiked.size, 4, np.uint8)))
        return {
            "row": rows,
            "t": t[rows],
            "icao": f.address[rows],
            "df": f.df[rows],
            "tc": f.tc[rows],
            "altitude": f.altitude[rows],
            "geoaltitude": f.geoaltitude[rows],
            "groundspeed": f.groundspeed[rows],
            "track": f.track[rows],
            "vertical_rate": f.vertical_rate[rows],
            "heading": f.heading[rows],
            "airspeed": f.airspeed[rows],
            "onground": f.onground[rows],
            "cpr_odd": f.odd[rows],
            "surface": f.surface[rows],
            "is_position": f.is_position[rows],
            "is_velocity": f.is_velocity[rows],
            "latitude": lat[rows],
            "longitude": lon[rows],
            "callsign": f.callsign[rows],
            "squawk": f.squawk[rows],
            "position_source": f.position_source[rows],
            **({k: getattr(f, k)[rows] for k in (*INTEGRITY_FIELDS, "nic_b")} if raw_integrity else {}),
        } | self._integrity_of_rows(f, t, rows)

    def _accept(self, f: Fields, timed: np.ndarray) -> np.ndarray:
        """Which messages to keep; counts the others by reason; updates the confirmed set."""
        n = f.df.size
        order = np.arange(n)
        f.confirming &= timed
        conf_addr = f.address[f.confirming]
        conf_idx = order[f.confirming]
        uniq, first = np.unique(conf_addr, return_index=True)
        first_idx = conf_idx[first]
        known_before = np.isin(f.address, self._confirmed, assume_unique=False)
        pos = np.searchsorted(uniq, f.address)
        pos_c = np.minimum(pos, max(uniq.size - 1, 0))
        in_batch = (uniq.size > 0) & (uniq[pos_c] == f.address) if uniq.size else np.zeros(n, bool)
        confirmed_earlier = in_batch & (first_idx[pos_c] < order) if uniq.size else in_batch
        known = known_before | confirmed_earlier
        accepted = ((f.clean & ~f.needs_known) | (f.needs_known & known)) & timed
        reason = np.full(n, 255, np.uint8)
        es_or_11 = np.isin(f.df, (11, 17, 18))
        reason[~f.length_ok & (f.length != 2)] = 2  # Mode A/C replies (2 bytes) are skipped, not rejected
        reason[f.length_ok & es_or_11 & ~f.parity_ok] = 0
        reason[f.length_ok & f.needs_known & ~known] = 1
        reason[~timed & (reason == 255) & (f.clean | f.needs_known)] = 3
        bad = np.flatnonzero(reason != 255)
        skipped = ~accepted & (reason == 255)
        if skipped.any():  # valid but not decoded here (DF19/22/24, DF18 non-ICAO/TIS-B)
            for df, count in zip(*np.unique(f.df[skipped], return_counts=True)):
                self.skipped[f"DF{int(df)}"] += int(count)
        self.last_rejected = bad
        self.last_reasons = reason[bad]
        for code, count in zip(*np.unique(self.last_reasons, return_counts=True)):
            self.rejects[REJECT_REASONS[int(code)]] += int(count)
        if uniq.size:
            self._confirmed = np.union1d(self._confirmed, uniq)
        return accepted
