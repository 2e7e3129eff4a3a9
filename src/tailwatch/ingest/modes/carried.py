"""Values carried per address between messages, and the output frame: the integrity figures in force
(TC 31 / TC 29) and callsign, squawk and velocity filled from the state (`ModeSDecoder`'s part)."""

from __future__ import annotations

import numpy as np
import polars as pl

from tailwatch.ingest.modes import integrity
from tailwatch.ingest.modes.bits import hex_addresses, to_polars
from tailwatch.ingest.modes.columns import INTEGRITY_FIELDS, POINT_COLUMNS, callsigns, empty_points, group_starts, running_last, small_codes, timestamps
from tailwatch.ingest.modes.fields import SOURCE_NAMES, Fields

SOURCE_NAMES_ARRAY = np.array(SOURCE_NAMES, dtype=object)


class CarriedSteps:
    """Integrity figures in force and carried values per address, and the output frame of `ModeSDecoder`."""

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
        start = group_starts(icao_s)
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
            idx = running_last((value >= 0)[o])
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
        start = group_starts(icao_s)

        def last(flag: np.ndarray) -> np.ndarray:
            idx = running_last(flag[o])
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
            timestamps(c["t"][src]),
            to_polars("icao24", hex_addresses(c["icao"][src])),
            callsigns(np.where(pick(lc) >= 0, callsign[o[np.maximum(pick(lc), 0)]], b"")),
            to_polars("squawk", np.where(pick(lq) >= 0, squawk[o[np.maximum(pick(lq), 0)]], b"")),
            pl.lit(self.source, pl.String).alias("source"),
            pl.Series("rc_m", c["rc_m"][src], pl.Float32, nan_to_null=True),
            pl.Series("position_source", SOURCE_NAMES_ARRAY[c["position_source"][src]], pl.String),
            *(small_codes(name, c[key][src]) for name, key in (
                ("nic", "nic"), ("nac_p", "nac_p_now"), ("sil", "sil_now"), ("nuc_p", "nuc_p"),
                ("adsb_version", "version_now"))),
        ).select(POINT_COLUMNS)
