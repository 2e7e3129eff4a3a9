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
  else the receiver `reference` given to the decoder or to `decode`.
- carried values: last callsign (DF17/18 identification, or DF20/21 Comm-B
  identification BDS 2,0) and squawk (DF5/21, DF17 emergency status) per
  address, last velocity (ground speed, track, vertical rate) for
  `velocity_window` seconds.
- plausibility: a fix that jumps away from both its neighbours faster than
  `max_speed_kt` (1500 kt + 2 km, as pyModeS) is dropped and counted; CRC
  lets one corrupted message in 16 million through, and one such fix would
  otherwise draw a false leg.

Everything runs column-wise: pairs are found by sorting the batch by address
and time and taking running maxima of row indices, never by a loop over
messages.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl

from tailwatch.geo.geodesy import haversine_km
from tailwatch.ingest.modes import cpr, integrity
from tailwatch.ingest.modes.bits import hex_addresses, to_polars
from tailwatch.ingest.modes.fields import Fields, decode_fields
from tailwatch.schema import INTEGRITY_SCHEMA, POINT_SCHEMA, TIMESTAMP

REJECT_CRC = "bad parity (CRC)"
REJECT_UNCONFIRMED = "unconfirmed address"
REJECT_LENGTH = "length does not match downlink format"
REJECT_TIME = "no valid time"
REJECT_SPIKE = "position inconsistent with its neighbours (speed)"
MOTION_MARGIN_KM = 2.0  # as pyModeS: CPR quantisation and timing jitter
KT_KM_PER_S = 1.852 / 3600.0
REJECT_REASONS = (REJECT_CRC, REJECT_UNCONFIRMED, REJECT_LENGTH, REJECT_TIME, REJECT_SPIKE)  # by code

MESSAGE_COLUMNS = (
    "timestamp", "icao24", "df", "tc", "altitude", "geoaltitude", "groundspeed", "track",
    "vertical_rate", "heading", "airspeed", "callsign", "squawk", "onground",
    "cpr_odd", "surface", "latitude", "longitude",
    "adsb_version", "nic_a", "nic_b", "nic_c", "nac_p", "sil", "nic", "nuc_p", "rc_m",
)
INTEGRITY_FIELDS = ("version", "nic_a", "nic_c", "nac_p", "sil")  # carried per address from TC 31 / TC 29
DECODED_SCHEMA = {**POINT_SCHEMA, **INTEGRITY_SCHEMA}  # what `decode` returns: canonical, then integrity
POINT_COLUMNS = list(DECODED_SCHEMA)


def empty_points() -> pl.DataFrame:
    """An empty frame of `decode`'s columns."""
    return pl.DataFrame(schema=DECODED_SCHEMA)


def _running_last(flag: np.ndarray) -> np.ndarray:
    """For each row, the index of the latest row at or before it where `flag` holds (-1 if none)."""
    idx = np.where(flag, np.arange(flag.size), -1)
    return np.maximum.accumulate(idx) if idx.size else idx


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """For rows sorted by key, the index of the first row of each row's group."""
    n = sorted_keys.size
    if n == 0:
        return np.zeros(0, np.int64)
    new = np.ones(n, bool)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return _running_last(new)


class ModeSDecoder:
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
        self._cpr = {k: np.zeros(0, d) for k, d in _CPR_STATE.items()}
        # last position per address
        self._pos = {k: np.zeros(0, d) for k, d in _POS_STATE.items()}
        # carried values per address
        self._carry = {k: np.zeros(0, d) for k, d in _CARRY_STATE.items()}
        # integrity values in force per address: value and time of each of INTEGRITY_FIELDS
        self._integrity = {k: np.zeros(0, d) for k, d in _INTEGRITY_STATE.items()}

    # ------------------------------------------------------------------ public
    def decode(
        self,
        msg: np.ndarray,
        length: np.ndarray,
        t: np.ndarray,
        reference: tuple[float, float] | None = None,
    ) -> pl.DataFrame:
        """Canonical points (positions only) of one batch; call again with the next batch."""
        c = self._decode(msg, length, t, reference)
        if self.record_heard and c["t"].size:
            from tailwatch.ingest.modes.heard import heard_minutes

            has = c["is_position"] & ~np.isnan(c["latitude"])
            self._heard.append(heard_minutes(c["icao"], c["t"], has, self.source))
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
            _small(name, c[key]) for name, key in (
                ("adsb_version", "version"), ("nic_a", "nic_a"), ("nic_b", "nic_b"), ("nic_c", "nic_c"),
                ("nac_p", "nac_p"), ("sil", "sil"), ("nic", "nic"), ("nuc_p", "nuc_p"))
        )
        return frame.with_columns(
            _timestamps(c["t"]),
            to_polars("icao24", hex_addresses(c["icao"])),
            _callsigns(c["callsign"]),
            to_polars("squawk", c["squawk"]),
            pl.Series("onground", c["onground"]).replace_strict({-1: None, 0: False, 1: True}, return_dtype=pl.Boolean),
        ).select(*MESSAGE_COLUMNS, "row")

    # ------------------------------------------------------------ internals
    def _decode(self, msg, length, t, reference, raw_integrity: bool = False) -> dict[str, np.ndarray]:
        """NumPy columns of the accepted messages of a batch (positions decoded, state advanced)."""
        msg = np.asarray(msg, dtype=np.uint8).reshape(-1, 14)
        length = np.asarray(length, dtype=np.uint8)
        t = np.asarray(t, dtype=np.float64)
        if not (msg.shape[0] == length.shape[0] == t.shape[0]):
            raise ValueError("msg, length and t must have the same number of rows")
        n = msg.shape[0]
        self.messages_seen += n
        f = decode_fields(msg, length)
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
            **({k: getattr(f, k)[rows] for k in (*INTEGRITY_FIELDS, "nic_b")} if raw_integrity else {}),
        } | self._integrity_of_rows(f, t, rows)

    def _integrity_of_rows(self, f: Fields, t: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
        """`_integrity_in_force` over the rows that carry or need integrity (positions, TC 29, TC 31), spread back."""
        tc = f.tc[rows]
        rel = np.flatnonzero(f.is_position[rows] | (tc == 29) | (tc == 31))
        sub = rows[rel]
        got = self._integrity_in_force(f.address[sub], t[sub], f.tc[sub], f.is_position[sub], f.surface[sub],
                                       {k: getattr(f, k)[sub] for k in (*INTEGRITY_FIELDS, "nic_b")})
        out = {}
        for key, values in got.items():
            full = np.full(rows.size, np.nan if values.dtype.kind == "f" else -1, values.dtype)
            full[rel] = values
            out[key] = full
        return out

    def _integrity_in_force(self, icao, t, tc, is_position, surface, raw) -> dict[str, np.ndarray]:
        """Per accepted message: the version, supplements, NACp and SIL last announced by its aircraft
        (state of earlier batches included; NACp, SIL and supplements at most `integrity_window` old,
        the version for as long as the aircraft is tracked), and for positions NIC, NUCp and Rc."""
        st = self._integrity
        k = st["icao"].size
        m = icao.size
        all_icao = np.concatenate((st["icao"], icao))
        seq = np.concatenate((np.full(k, -1), np.arange(m)))
        tt = np.concatenate((np.full(k, -np.inf), t))
        o = np.lexsort((seq, tt, all_icao))
        icao_s = all_icao[o]
        start = _group_starts(icao_s)
        end = np.ones(o.size, bool)
        end[:-1] = icao_s[1:] != icao_s[:-1]
        ends = np.flatnonzero(end)
        batch_pos = np.empty(m, np.int64)  # where each batch row sits in the sorted order
        batch_pos[o[o >= k] - k] = np.flatnonzero(o >= k)
        now: dict[str, np.ndarray] = {}
        new_state: dict[str, np.ndarray] = {"icao": icao_s[ends]}
        for key in INTEGRITY_FIELDS:
            value = np.concatenate((st[key], raw[key]))
            when = np.concatenate((st[f"t_{key}"], t))
            idx = _running_last((value >= 0)[o])
            idx = np.where(idx >= start, idx, -1)
            src = o[np.maximum(idx, 0)]
            got = np.where(idx >= 0, value[src], -1).astype(np.int8)
            at = np.where(idx >= 0, when[src], -np.inf)
            new_state[key], new_state[f"t_{key}"] = got[ends], at[ends]
            got_b, at_b = got[batch_pos], at[batch_pos]
            fresh = (key == "version") | (t - at_b <= self.integrity_window)
            now[key] = np.where(fresh, got_b, -1).astype(np.int8)
        keep = np.zeros(ends.size, bool)
        for key in INTEGRITY_FIELDS:
            keep |= new_state[key] >= 0
        self._integrity = {key: v[keep] for key, v in new_state.items()}
        supplement = np.where(surface, now["nic_c"], raw["nic_b"])
        nic = np.where(is_position, integrity.nic(tc, now["version"], now["nic_a"], supplement), -1).astype(np.int8)
        nuc = np.where(is_position, integrity.nuc_p(tc), -1).astype(np.int8)
        rc = np.where(is_position, integrity.containment_m(nic, nuc, now["version"], now["nic_a"], supplement), np.nan)
        return {"nic": nic, "nuc_p": nuc, "rc_m": rc, "nac_p_now": now["nac_p"], "sil_now": now["sil"],
                "version_now": now["version"]}

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

    def _positions(self, f: Fields, t: np.ndarray, rows: np.ndarray, ref: tuple[float, float] | None):
        """Latitude/longitude of the position messages `rows` (NaN where undecodable); updates CPR state."""
        st = self._cpr
        k = st["icao"].size
        m = rows.size
        icao = np.concatenate((st["icao"], f.address[rows]))
        surf = np.concatenate((st["surface"], f.surface[rows]))
        odd = np.concatenate((st["odd"], f.odd[rows]))
        tt = np.concatenate((st["t"], t[rows]))
        la = np.concatenate((st["lat"], f.lat_cpr[rows]))
        lo = np.concatenate((st["lon"], f.lon_cpr[rows]))
        seq = np.concatenate((np.full(k, -1), np.arange(m)))
        is_new = seq >= 0

        # 1. global decoding of even/odd pairs, per (address, surface), in time order
        key = (icao.astype(np.int64) << 1) | surf
        o = np.lexsort((seq, tt, key))
        key_s, odd_s, t_s, la_s, lo_s, surf_s = key[o], odd[o], tt[o], la[o], lo[o], surf[o]
        start = _group_starts(key_s)
        last_even = _running_last(~odd_s)
        last_odd = _running_last(odd_s)
        partner = np.where(odd_s, last_even, last_odd)
        has = (partner >= start) & (partner >= 0)
        partner_c = np.maximum(partner, 0)
        has &= (t_s - t_s[partner_c]) <= self.pair_window
        lat_g = np.full(o.size, np.nan)
        lon_g = np.full(o.size, np.nan)
        idx = np.flatnonzero(has & is_new[o])
        if idx.size:
            p = partner_c[idx]
            newest_odd = odd_s[idx]
            le = np.where(newest_odd, la_s[p], la_s[idx])
            lne = np.where(newest_odd, lo_s[p], lo_s[idx])
            lod = np.where(newest_odd, la_s[idx], la_s[p])
            lnod = np.where(newest_odd, lo_s[idx], lo_s[p])
            airborne = ~surf_s[idx]
            a = np.flatnonzero(airborne)
            if a.size:
                gl, gn = cpr.global_position(le[a], lne[a], lod[a], lnod[a], newest_odd[a])
                lat_g[idx[a]], lon_g[idx[a]] = gl, gn
            s = np.flatnonzero(~airborne)
            if s.size:
                gl, gn = cpr.global_position(le[s], lne[s], lod[s], lnod[s], newest_odd[s], surface=True)
                lat_g[idx[s]], lon_g[idx[s]] = gl, gn  # quadrant chosen below against a reference

        # back to (state + batch) order; batch row j sits at k + j
        glat = np.full(icao.size, np.nan)
        glon = np.full(icao.size, np.nan)
        glat[o], glon[o] = lat_g, lon_g
        glat, glon = glat[k:], glon[k:]

        # 2. references and local decoding, per address in time order (airborne and surface together),
        # with the last known positions of earlier batches in front
        ps = self._pos
        kp = ps["icao"].size
        pad_f = np.zeros(kp, bool)
        pad_n = np.full(kp, np.nan)
        b_surf = surf[k:]
        icao2 = np.concatenate((ps["icao"], icao[k:]))
        t_all = np.concatenate((ps["t"], tt[k:]))
        seq2 = np.concatenate((np.full(kp, -1), np.arange(m)))
        o2 = np.lexsort((seq2, t_all, icao2))
        icao2, t2 = icao2[o2], t_all[o2]
        start2 = _group_starts(icao2)
        is_new2 = o2 >= kp
        cur_lat = np.concatenate((ps["lat"], np.where(b_surf, np.nan, glat)))[o2]
        cur_lon = np.concatenate((ps["lon"], np.where(b_surf, np.nan, glon)))[o2]
        surf2 = np.concatenate((pad_f, b_surf))[o2]
        odd2 = np.concatenate((pad_f, odd[k:]))[o2]
        la2 = np.concatenate((pad_n, la[k:]))[o2]
        lo2 = np.concatenate((pad_n, lo[k:]))[o2]
        glat2 = np.concatenate((pad_n, glat))[o2]
        glon2 = np.concatenate((pad_n, glon))[o2]
        ref_lat = np.full(o2.size, np.nan if ref is None else ref[0])
        ref_lon = np.full(o2.size, np.nan if ref is None else ref[1])
        for _ in range(3):  # each pass lets a new position serve as reference for the next message
            have = ~np.isnan(cur_lat)
            prev = np.concatenate(([-1], _running_last(have)[:-1]))
            ok_prev = (prev >= start2) & (prev >= 0)
            prevc = np.maximum(prev, 0)
            age = t2 - t2[prevc]
            # surface: the quadrant of a global fix and local decoding both need a reference
            s_ref_ok = ok_prev & (age <= self.surface_window)
            s_rlat = np.where(s_ref_ok, cur_lat[prevc], ref_lat)
            s_rlon = np.where(s_ref_ok, cur_lon[prevc], ref_lon)
            todo_s = is_new2 & surf2 & np.isnan(cur_lat) & ~np.isnan(s_rlat)
            a_ref_ok = ok_prev & (age <= self.local_window)
            todo_a = is_new2 & ~surf2 & np.isnan(cur_lat) & a_ref_ok
            if not todo_a.any() and not todo_s.any():
                break
            if todo_s.any():
                i = np.flatnonzero(todo_s)
                g = ~np.isnan(glat2[i])
                sl, sn = cpr.nearest_surface(glat2[i], glon2[i], s_rlat[i], s_rlon[i])
                ll, ln = cpr.local_position(la2[i], lo2[i], odd2[i], s_rlat[i], s_rlon[i], surface=True)
                cur_lat[i] = np.where(g, sl, ll)
                cur_lon[i] = np.where(g, sn, ln)
            if todo_a.any():
                i = np.flatnonzero(todo_a)
                ll, ln = cpr.local_position(la2[i], lo2[i], odd2[i], cur_lat[prevc[i]], cur_lon[prevc[i]])
                cur_lat[i], cur_lon[i] = ll, ln

        cur_lat, cur_lon, spiked = self._drop_spikes(icao2, t2, is_new2, cur_lat, cur_lon)

        # results for the batch rows, in the order of `rows`
        out_lat = np.full(m, np.nan)
        out_lon = np.full(m, np.nan)
        sel = np.flatnonzero(is_new2)
        out_lat[o2[sel] - kp] = cur_lat[sel]
        out_lon[o2[sel] - kp] = cur_lon[sel]
        self._spiked = np.sort(o2[sel][spiked[sel]] - kp)  # into `rows`

        self._update_cpr_state(icao, surf, odd, tt, la, lo)
        self._update_pos_state(icao2, t2, cur_lat, cur_lon)
        return out_lat, out_lon

    def _drop_spikes(self, icao, t, is_new, lat, lon) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Blank positions that jump away from both neighbours faster than `max_speed_kt`.

        Rows are sorted by address and time. A lone wrong fix (an undetected
        corrupted message) is inconsistent with the position before it and the
        one after it; a real move is consistent with at least one. The
        neighbour must be at most `local_window` away in time to count.
        """
        have = np.flatnonzero(~np.isnan(lat))
        if have.size < 2:
            return lat, lon, np.zeros(lat.size, bool)
        same = icao[have[1:]] == icao[have[:-1]]
        dt = np.abs(t[have[1:]] - t[have[:-1]])
        km = haversine_km(lat[have[:-1]], lon[have[:-1]], lat[have[1:]], lon[have[1:]])
        too_fast = same & (dt <= self.local_window) & (km > MOTION_MARGIN_KM + dt * self.max_speed_kt * KT_KM_PER_S)
        bad_before = np.concatenate(([False], too_fast))
        bad_after = np.concatenate((too_fast, [False]))
        has_before = np.concatenate(([False], same & (dt <= self.local_window)))
        has_after = np.concatenate((same & (dt <= self.local_window), [False]))
        spike = bad_before & (bad_after | ~has_after) & has_before
        # the first fix of a track, contradicted by a next fix that agrees with the one after it
        next_fine = np.concatenate((has_after[1:] & ~bad_after[1:], [False]))
        spike |= bad_after & ~has_before & next_fine
        drop = have[spike & is_new[have]]
        spiked = np.zeros(lat.size, bool)
        if drop.size:
            self.rejects[REJECT_SPIKE] += int(drop.size)
            lat, lon = lat.copy(), lon.copy()
            lat[drop] = np.nan
            lon[drop] = np.nan
            spiked[drop] = True
        return lat, lon, spiked

    def _update_cpr_state(self, icao, surf, odd, tt, la, lo) -> None:
        if icao.size == 0:
            return
        key = (icao.astype(np.int64) << 2) | (surf.astype(np.int64) << 1) | odd
        o = np.lexsort((tt, key))
        ks = key[o]
        last = np.ones(o.size, bool)
        last[:-1] = ks[1:] != ks[:-1]
        keep = o[last]
        horizon = tt.max() - self.pair_window
        keep = keep[tt[keep] >= horizon]
        self._cpr = {
            "icao": icao[keep], "surface": surf[keep], "odd": odd[keep],
            "t": tt[keep], "lat": la[keep], "lon": lo[keep],
        }

    def _update_pos_state(self, icao2, t2, lat, lon) -> None:
        have = ~np.isnan(lat)
        if not have.any():
            return
        i = np.flatnonzero(have)
        ic = icao2[i]
        last = np.ones(i.size, bool)
        last[:-1] = ic[1:] != ic[:-1]
        i = i[last]
        horizon = t2.max() - max(self.local_window, self.surface_window)
        i = i[t2[i] >= horizon]
        old = self._pos
        keep_old = ~np.isin(old["icao"], icao2[i])
        self._pos = {
            "icao": np.concatenate((old["icao"][keep_old], icao2[i])),
            "t": np.concatenate((old["t"][keep_old], t2[i])),
            "lat": np.concatenate((old["lat"][keep_old], lat[i])),
            "lon": np.concatenate((old["lon"][keep_old], lon[i])),
        }
        fresh = self._pos["t"] >= horizon
        self._pos = {k: v[fresh] for k, v in self._pos.items()}

    def _points(self, c: dict[str, np.ndarray]) -> pl.DataFrame:
        """Positions with callsign, squawk and velocity carried from earlier messages of the same aircraft.

        Per address in time order (state of earlier batches first), the index
        of the latest row holding each carried value is a running maximum;
        values are gathered only for the position rows.
        """
        st = self._carry
        k = st["icao"].size
        icao = np.concatenate((st["icao"], c["icao"]))
        t = np.concatenate((np.full(k, -np.inf), c["t"]))
        seq = np.concatenate((np.full(k, -1), np.arange(c["t"].size)))
        callsign = np.concatenate((st["callsign"], c["callsign"]))
        squawk = np.concatenate((st["squawk"], c["squawk"]))
        v_gs = np.concatenate((st["v_gs"], c["groundspeed"]))
        v_track = np.concatenate((st["v_track"], c["track"]))
        v_rate = np.concatenate((st["v_rate"], c["vertical_rate"]))
        v_t = np.concatenate((st["v_t"], c["t"]))
        has_v = np.concatenate((np.ones(k, bool), c["is_velocity"]))
        o = np.lexsort((seq, t, icao))
        icao_s = icao[o]
        start = _group_starts(icao_s)

        def last(flag: np.ndarray) -> np.ndarray:
            idx = _running_last(flag[o])
            return np.where(idx >= start, idx, -1)

        last_cs = last(callsign != b"")
        last_sq = last(squawk != b"")
        last_v = last(has_v)

        # state for the next batch: the latest of each value per address
        end = np.ones(o.size, bool)
        end[:-1] = icao_s[1:] != icao_s[:-1]
        ends = np.flatnonzero(end)
        if ends.size:
            lc, lq, lv = last_cs[ends], last_sq[ends], last_v[ends]
            keep = (lc >= 0) | (lq >= 0) | (lv >= 0)
            ends, lc, lq, lv = ends[keep], lc[keep], lq[keep], lv[keep]
            vo = o[np.maximum(lv, 0)]
            self._carry = {
                "icao": icao_s[ends],
                "callsign": np.where(lc >= 0, callsign[o[np.maximum(lc, 0)]], b""),
                "squawk": np.where(lq >= 0, squawk[o[np.maximum(lq, 0)]], b""),
                "v_gs": np.where(lv >= 0, v_gs[vo], np.nan),
                "v_track": np.where(lv >= 0, v_track[vo], np.nan),
                "v_rate": np.where(lv >= 0, v_rate[vo], np.nan),
                "v_t": np.where(lv >= 0, v_t[vo], -np.inf),
            }

        is_pos = np.concatenate((np.zeros(k, bool), c["is_position"] & ~np.isnan(c["latitude"])))
        sel = np.flatnonzero(is_pos[o])
        src = o[sel] - k  # rows of the batch columns
        if sel.size == 0:
            return empty_points()
        lc, lq, lv = last_cs[sel], last_sq[sel], last_v[sel]
        vo = o[np.maximum(lv, 0)]
        fresh = (lv >= 0) & (c["t"][src] - v_t[vo] <= self.velocity_window)
        surface = c["surface"][src]
        gs = np.where(surface, c["groundspeed"][src], np.where(fresh, v_gs[vo], np.nan))
        trk = np.where(surface, c["track"][src], np.where(fresh, v_track[vo], np.nan))
        vr = np.where(surface | ~fresh, np.nan, v_rate[vo])
        order = np.lexsort((src, c["icao"][src], c["t"][src]))
        src = src[order]
        pick = lambda a: a[order]  # noqa: E731
        frame = pl.DataFrame(
            {
                "latitude": c["latitude"][src],
                "longitude": c["longitude"][src],
                "altitude": c["altitude"][src].astype(np.float32),
                "geoaltitude": c["geoaltitude"][src].astype(np.float32),
                "groundspeed": pick(gs).astype(np.float32),
                "track": pick(trk).astype(np.float32),
                "vertical_rate": pick(vr).astype(np.float32),
                "onground": surface[order],
            },
            nan_to_null=True,
        )
        return frame.with_columns(
            _timestamps(c["t"][src]),
            to_polars("icao24", hex_addresses(c["icao"][src])),
            _callsigns(np.where(pick(lc) >= 0, callsign[o[np.maximum(pick(lc), 0)]], b"")),
            to_polars("squawk", np.where(pick(lq) >= 0, squawk[o[np.maximum(pick(lq), 0)]], b"")),
            pl.lit(self.source, pl.String).alias("source"),
            pl.Series("rc_m", c["rc_m"][src], pl.Float32, nan_to_null=True),
            *(_small(name, c[key][src]) for name, key in (
                ("nic", "nic"), ("nac_p", "nac_p_now"), ("sil", "sil_now"), ("nuc_p", "nuc_p"),
                ("adsb_version", "version_now"))),
        ).select(POINT_COLUMNS)


def _timestamps(t: np.ndarray) -> pl.Series:
    micros = np.round(t * 1e6).astype(np.int64)
    return pl.Series("timestamp", micros).cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(TIMESTAMP)


def _small(name: str, values: np.ndarray) -> pl.Series:
    """A UInt8 column from int8 codes, -1 (not carried) as null."""
    values = np.asarray(values)
    return pl.Series(name, np.maximum(values, 0).astype(np.uint8)).set(pl.Series(values < 0), None)


def _callsigns(raw: np.ndarray) -> pl.Series:
    """Callsign column from raw 8-byte identification characters: '#' dropped, padding stripped."""
    return to_polars("callsign", raw).str.replace_all("#", "", literal=True).str.strip_chars().replace("", None)


_CPR_STATE = {"icao": np.uint32, "surface": bool, "odd": bool, "t": np.float64, "lat": np.float64, "lon": np.float64}
_POS_STATE = {"icao": np.uint32, "t": np.float64, "lat": np.float64, "lon": np.float64}
_INTEGRITY_STATE = {"icao": np.uint32, **{k: np.int8 for k in INTEGRITY_FIELDS},
                    **{f"t_{k}": np.float64 for k in INTEGRITY_FIELDS}}
_CARRY_STATE = {
    "icao": np.uint32,
    "callsign": "S8",
    "squawk": "S4",
    "v_gs": np.float64,
    "v_track": np.float64,
    "v_rate": np.float64,
    "v_t": np.float64,
}
