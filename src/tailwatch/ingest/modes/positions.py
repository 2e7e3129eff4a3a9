"""CPR pairs and local decoding across batches, the speed check on new fixes, and the per-address
position state they keep: the positions part of `ModeSDecoder`."""

from __future__ import annotations

import numpy as np

from tailwatch.geo.geodesy import haversine_km
from tailwatch.ingest.modes import cpr
from tailwatch.ingest.modes.columns import KT_KM_PER_S, MOTION_MARGIN_KM, REJECT_SPIKE, group_starts, running_last
from tailwatch.ingest.modes.fields import Fields


class PositionSteps:
    """CPR pairs and the speed check: how `ModeSDecoder` turns position messages into fixes, batch after batch."""

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
        start = group_starts(key_s)
        last_even = running_last(~odd_s)
        last_odd = running_last(odd_s)
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
        start2 = group_starts(icao2)
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
            prev = np.concatenate(([-1], running_last(have)[:-1]))
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
