"""CPR pairs and local decoding across batches, the speed check on new fixes, and the per-address
position state they keep: the positions part of `ModeSDecoder`."""

from __future__ import annotations

import numpy as np

from tailwatch.geo.geodesy import haversine_km
from tailwatch.ingest.modes import cpr, surface
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
        pair = np.full((o.size, 4), np.nan)  # surface pairs: even lat, even lon, odd lat, odd lon fractions
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
            if s.size:  # decoded below, once a reference is known (modes.surface)
                pair[idx[s]] = np.stack((le[s], lne[s], lod[s], lnod[s]), axis=1)

        # back to (state + batch) order; batch row j sits at k + j
        glat = np.full(icao.size, np.nan)
        glon = np.full(icao.size, np.nan)
        gpair = np.full((icao.size, 4), np.nan)
        glat[o], glon[o], gpair[o] = lat_g, lon_g, pair
        glat, glon, gpair = glat[k:], glon[k:], gpair[k:]

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
        pair2 = np.concatenate((np.full((kp, 4), np.nan), gpair))[o2]
        has_pair = ~np.isnan(pair2[:, 0])
        receiver = ref is not None
        for step in range(3):  # each pass lets a new position serve as reference for the next message
            have = ~np.isnan(cur_lat)
            prev = np.concatenate(([-1], running_last(have)[:-1]))
            ok_prev = (prev >= start2) & (prev >= 0)
            prevc = np.maximum(prev, 0)
            age = t2 - t2[prevc]
            todo_s = is_new2 & surf2 & ~have
            a_ref_ok = ok_prev & (age <= self.local_window)
            todo_a = is_new2 & ~surf2 & ~have & a_ref_ok
            if not todo_a.any() and not todo_s.any():
                break
            if todo_s.any():
                self._surface_step(np.flatnonzero(todo_s), step == 0, cur_lat, cur_lon, have, prevc, ok_prev, age,
                                   icao2, t2, surf2, odd2, la2, lo2, pair2, has_pair, ref if receiver else None)
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

    def _surface_step(self, i, first_pass, cur_lat, cur_lon, have, prevc, ok_prev, age, icao2, t2, surf2, odd2,
                      la2, lo2, pair2, has_pair, receiver) -> None:
        """Decode the surface messages `i` (rows of the sorted arrays) that a reference can place, in
        the order of references of `modes.surface`; fills `cur_lat`/`cur_lon` in place."""
        n = icao2.size
        # the aircraft's next airborne fix (rows sorted by address and time)
        air = have & ~surf2
        nxt_incl = np.minimum.accumulate(np.where(air, np.arange(n), n)[::-1])[::-1]
        nxt = np.concatenate((nxt_incl[1:], [n]))[i]
        nxtc = np.minimum(nxt, n - 1)
        ok_next = (nxt < n) & (icao2[nxtc] == icao2[i])
        lead = t2[nxtc] - t2[i]
        p = prevc[i]
        rlat = np.full(i.size, np.nan)
        rlon = np.full(i.size, np.nan)
        # 1. own previous fix, 2. receiver, 3. next airborne fix: near enough for a single message
        near_prev = ok_prev[i] & (age[i] <= self.surface_window)
        rlat[near_prev], rlon[near_prev] = cur_lat[p[near_prev]], cur_lon[p[near_prev]]
        if receiver is not None:
            rest = np.isnan(rlat)
            rlat[rest], rlon[rest] = receiver
        near_next = np.isnan(rlat) & ok_next & (lead <= surface.NEXT_AIRBORNE_S)
        rlat[near_next], rlon[near_next] = cur_lat[nxtc[near_next]], cur_lon[nxtc[near_next]]
        local_ref = ~np.isnan(rlat)
        # 4. for pairs: the nearest fix in time within an hour, only to choose among the candidates
        pairs = has_pair[i]
        far_prev = ok_prev[i] & (age[i] <= surface.FAR_REFERENCE_S)
        far_next = ok_next & (lead <= surface.FAR_REFERENCE_S)
        use_next = far_next & (~far_prev | (lead < age[i]))
        far = pairs & ~local_ref & (far_prev | far_next)
        src = np.where(use_next, nxtc, p)
        rlat[far], rlon[far] = cur_lat[src[far]], cur_lon[src[far]]
        out_lat = np.full(i.size, np.nan)
        out_lon = np.full(i.size, np.nan)
        g = np.flatnonzero(pairs & ~np.isnan(rlat))
        if g.size:
            q = pair2[i[g]]
            gl, gn = cpr.surface_position(q[:, 0], q[:, 1], q[:, 2], q[:, 3], odd2[i[g]], rlat[g], rlon[g])
            close = haversine_km(gl, gn, rlat[g], rlon[g]) <= surface.REFERENCE_KM
            out_lat[g], out_lon[g] = np.where(close, gl, np.nan), np.where(close, gn, np.nan)
        single = np.flatnonzero(~pairs & local_ref)
        if single.size:
            j = i[single]
            out_lat[single], out_lon[single] = cpr.local_position(la2[j], lo2[j], odd2[j], rlat[single], rlon[single],
                                                                  surface=True)
        # 5. pairs with no reference at all: the airport choice, in the first pass only (its answer does
        # not change), for the first few pairs of each aircraft and hour; the next passes decode the
        # others against those fixes (rules 1 and 4), so a busy airport costs a few lookups per aircraft
        alone = np.flatnonzero(pairs & np.isnan(rlat))
        if first_pass and alone.size:
            rows = i[alone]  # sorted by address, then time
            hour = np.floor(t2[rows] / surface.FAR_REFERENCE_S).astype(np.int64)
            bucket = icao2[rows].astype(np.int64) * 1_000_000 + (hour - hour.min())
            alone = alone[(np.arange(rows.size) - group_starts(bucket)) < surface.AIRPORT_TRIES]
            q = pair2[i[alone]]
            cl, cn = cpr.surface_candidates(q[:, 0], q[:, 1], q[:, 2], q[:, 3], odd2[i[alone]])
            out_lat[alone], out_lon[alone] = surface.airport_choice(cl, cn)
        cur_lat[i], cur_lon[i] = out_lat, out_lon

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
        horizon = t2.max() - max(self.local_window, self.surface_window, surface.FAR_REFERENCE_S)
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
