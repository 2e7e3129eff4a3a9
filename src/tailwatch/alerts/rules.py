"""Alert rules (YAML) and the engine that turns live positions and phase events into alerts.

A rules file:

    dedupe_minutes: 30           # default quiet time per (rule, aircraft, place)
    rules:
      - {name: listed-seen, when: seen}                   # aircraft: watchlist (default) | any | [hex...]
                                                          # (with no watchlist, `seen` fires only for `any` or listed hex)
      - {name: takeoff, when: takeoff}
      - {name: landing, when: landing}
      - {name: over-box, when: region, region: {bbox: [lon_min, lat_min, lon_max, lat_max]}}
      - {name: in-ru, when: country, countries: [RU, BY]}   # NL also matches CW, AW, SX, BQ (see geo.countries.states)
      - {name: dark, when: dark, minutes: 15, airport_km: 15, min_altitude_ft: 1500}
      - {name: emergency, when: squawk, codes: ["7500", "7600", "7700"], hold_seconds: 60, aircraft: any}
      - {name: dark-cov, when: dark_in_coverage, minutes: 10, radius_km: 100, min_others: 2}
      - {name: jam, when: gnss_degraded, min_points: 3}                # a watched aircraft's NACp/NIC degraded
      - {name: jam-area, when: gnss_degraded, region: {circle: {lat: 46, lon: 27, radius_km: 150}},
         share: 0.10, min_aircraft: 3, window_minutes: 30}            # share of aircraft in a region degraded

`dark_in_coverage` is `dark` made to tell a switched-off transponder from a coverage hole: it
also needs at least `min_others` other aircraft heard, since the silence began, within `radius_km`
of where the aircraft was or should be by now (its last position carried along its track and speed).
`gnss_degraded` uses the integrity columns of the positions (NACp < `nacp_below`, default 8, or
NIC < `nic_below`, default 7; see hiding.interference): for aircraft, `min_points` degraded positions
in a row; with a `region`, the share of aircraft seen in the region during the last `window_minutes`
that sent a degraded position there, gpsjam's measure (above `share`, with `min_aircraft` aircraft),
alerted once per region with `icao24` null and the degraded aircraft in the evidence.

Regions are `bbox`, `circle: {lat, lon, radius_km}` or `polygon: [[lon, lat], ...]`.
Every alert is a dict: kind, rule, icao24, time (UTC, Z), callsign, evidence
(the points that triggered it, plus airport/country/squawk where relevant).
An alert for the same (rule, aircraft, place) is not repeated within the
de-duplication window, so a circling aircraft does not cause an alert storm.
The engine holds only small per-aircraft state; the points arrive vectorised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from tailwatch.alerts.evidence import (
    INTEGRITY_EVIDENCE,
    MAX_EVIDENCE,
    airport_facts,
    controlling_states,
    evidence_points,
    heard_near,
    iso_time,
    locate_airspace,
    seconds_delta,
)
from tailwatch.alerts.rulebook import Rule, load_rules, parse_rules, region_mask  # noqa: F401 - rules files load from here too


@dataclass
class _SquawkState:
    code: str
    since: datetime
    points: list[dict] = field(default_factory=list)


class RuleEngine:
    """Evaluates rules over batches of positions, phase events and the passing of time."""

    def __init__(self, rules: list[Rule], watchlist: pl.DataFrame | None = None,
                 locator: Callable[[np.ndarray, np.ndarray], np.ndarray] = locate_airspace) -> None:
        self.rules = rules
        self.watch: dict[str, list[dict]] = {}
        self.watch_all = watchlist is None
        if watchlist is not None:
            for row in watchlist.filter(pl.col("icao24").is_not_null()).to_dicts():
                entry = {"list": row.get("list"), "id": row.get("entry_id", row.get("id")), "name": row.get("name"),
                         "program": row.get("program")}
                entry = {k: v for k, v in entry.items() if v is not None}
                self.watch.setdefault(str(row["icao24"]).lower(), []).append(entry)
        self._locate = locator
        self._fired: dict[tuple, datetime] = {}
        self._last_seen: dict[str, datetime] = {}
        self._inside: dict[tuple, dict[str, bool]] = {}
        self._squawk: dict[str, _SquawkState] = {}
        self._dark_fired: dict[tuple[str, str], datetime] = {}  # (rule, aircraft) → last position alerted on
        self._degraded_run: dict[tuple[str, str], tuple[int, list[dict]]] = {}  # (rule, aircraft) → run, points
        self._area: dict[str, dict[str, tuple[datetime, datetime | None]]] = {}  # rule → aircraft → (seen, degraded)
        self._area_evidence: dict[str, list[tuple[datetime, dict]]] = {}  # rule → recent degraded points
        self.suppressed = 0

    # -- selection and de-duplication --------------------------------------------------------
    def _selected(self, rule: Rule, icao: pl.Series) -> pl.Series:
        if rule.aircraft == "watchlist" and self.watch_all and rule.when == "seen":
            # "seen" says a watched aircraft is in the air: with no watchlist nothing is watched, and an
            # alert for every aircraft heard would bury the ones that matter (`aircraft: any` asks for that)
            return pl.Series(np.zeros(len(icao), dtype=bool))
        if rule.aircraft == "any" or (rule.aircraft == "watchlist" and self.watch_all):
            return pl.Series(np.ones(len(icao), dtype=bool))
        wanted = self.watch.keys() if rule.aircraft == "watchlist" else rule.aircraft
        return icao.is_in(list(wanted))

    def _alert(self, rule: Rule, icao24: str, when: datetime, points: list[dict], place: str = "",
               **extra) -> dict | None:
        key = (rule.name, icao24, place)
        last = self._fired.get(key)
        if last is not None and (when - last).total_seconds() < rule.dedupe_s:
            self.suppressed += 1
            return None
        self._fired[key] = when
        callsign = next((p.get("callsign") for p in reversed(points) if p.get("callsign")), None)
        alert = {"kind": rule.when, "rule": rule.name, "icao24": icao24, "time": iso_time(when),
                 "callsign": callsign, "watchlists": self.watch.get(icao24, [])}
        alert.update(extra)
        alert["evidence"] = {"points": points, **({"place": place} if place else {})}
        return alert

    # -- positions ---------------------------------------------------------------------------
    def on_positions(self, batch: pl.DataFrame) -> list[dict]:
        """Alerts from a batch of canonical positions (seen, region, country, squawk)."""
        if batch.is_empty():
            return []
        batch = batch.sort("icao24", "timestamp")
        alerts: list[dict] = []
        for rule in self.rules:
            sel = batch.filter(self._selected(rule, batch["icao24"]))
            if sel.is_empty():
                continue
            if rule.when == "seen":
                alerts += self._seen(rule, sel)
            elif rule.when == "region":
                mask = region_mask(rule.region, sel["latitude"].to_numpy(), sel["longitude"].to_numpy())
                alerts += self._entries(rule, sel, mask, "region:" + rule.name)
            elif rule.when == "country":
                where = self._locate(sel["latitude"].to_numpy(), sel["longitude"].to_numpy())
                state = controlling_states(where)
                for iso2 in rule.countries:  # a state's code also covers the territories it controls
                    alerts += self._entries(rule, sel, (where == iso2) | (state == iso2), iso2, country=iso2)
            elif rule.when == "squawk":
                alerts += self._squawks(rule, sel)
            elif rule.when == "gnss_degraded" and rule.region is None:
                alerts += self._degraded_aircraft(rule, sel)
        for rule in self.rules:  # regions count every aircraft in them, listed or not
            if rule.when == "gnss_degraded" and rule.region is not None:
                alerts += self._degraded_area(rule, batch)
        latest = batch.group_by("icao24").agg(pl.col("timestamp").max())
        self._last_seen.update(zip(latest["icao24"].to_list(), latest["timestamp"].to_list()))
        return [a for a in alerts if a is not None]

    def _seen(self, rule: Rule, sel: pl.DataFrame) -> list[dict]:
        """A sighting starts when an aircraft appears after `dedupe_s` of silence (or ever)."""
        first = sel.group_by("icao24", maintain_order=True).agg(pl.col("timestamp").first())
        prev = pl.DataFrame({"icao24": list(self._last_seen), "_prev": list(self._last_seen.values())},
                            schema={"icao24": pl.String(), "_prev": sel.schema["timestamp"]})
        new = first.join(prev, on="icao24", how="left").filter(
            pl.col("_prev").is_null()
            | ((pl.col("timestamp") - pl.col("_prev")).dt.total_microseconds() >= rule.dedupe_s * 1e6)
        )
        if new.is_empty():
            return []
        heads = sel.filter(pl.col("icao24").is_in(new["icao24"].implode())).group_by(
            "icao24", maintain_order=True).head(3)
        return [self._alert(rule, icao, t, evidence_points(heads.filter(pl.col("icao24") == icao)))
                for icao, t in new.select("icao24", "timestamp").iter_rows()]

    def _entries(self, rule: Rule, sel: pl.DataFrame, mask: np.ndarray, place: str, **extra) -> list[dict]:
        """Alerts where an aircraft goes from outside (or unseen) to inside."""
        key = (rule.name, place)
        state = self._inside.setdefault(key, {})
        frame = sel.with_columns(pl.Series("_in", np.asarray(mask, dtype=bool)),
                                 pl.int_range(pl.len()).alias("_row"))
        was = pl.DataFrame({"icao24": list(state), "_was": list(state.values())},
                           schema={"icao24": pl.String(), "_was": pl.Boolean()})
        frame = frame.join(was, on="icao24", how="left", maintain_order="left").with_columns(
            pl.col("_in").shift(1).over("icao24").fill_null(pl.col("_was")).fill_null(False).alias("_prev"))
        last = frame.group_by("icao24").agg(pl.col("_in").last())
        state.update(zip(last["icao24"].to_list(), last["_in"].to_list()))
        out = []
        for icao, i in frame.filter(pl.col("_in") & ~pl.col("_prev")).select("icao24", "_row").iter_rows():
            # each entry; the de-duplication window silences repeats
            pts = frame.slice(max(i - 2, 0), 4).filter(pl.col("icao24") == icao).drop("_in", "_row", "_was", "_prev")
            out.append(self._alert(rule, icao, frame["timestamp"][i], evidence_points(pts), place, **extra))
        return out

    def _squawks(self, rule: Rule, sel: pl.DataFrame) -> list[dict]:
        out = []
        watched = [i for i, st in self._squawk.items() if st.code in rule.codes]
        coded = sel.filter(pl.col("squawk").is_not_null()
                           & (pl.col("squawk").is_in(list(rule.codes)) | pl.col("icao24").is_in(watched)))
        for (icao,), pts in coded.group_by("icao24", maintain_order=True):
            for row in pts.iter_rows(named=True):
                state = self._squawk.get(icao)
                code = row["squawk"]
                if state is None or state.code != code:
                    state = self._squawk[icao] = _SquawkState(code, row["timestamp"])
                if code not in rule.codes:
                    self._squawk.pop(icao, None)
                    continue
                if len(state.points) < 3 or (row["timestamp"] - state.since).total_seconds() >= rule.hold_seconds:
                    state.points = (state.points + [row])[-MAX_EVIDENCE:]
                held = (row["timestamp"] - state.since).total_seconds()
                if held >= rule.hold_seconds:
                    ev = evidence_points(pl.DataFrame(state.points, schema=sel.schema))
                    out.append(self._alert(rule, icao, row["timestamp"], ev, code, squawk=code, held_s=round(held, 1)))
        return out

    def _degraded_mask(self, rule: Rule, frame: pl.DataFrame) -> np.ndarray:
        n = frame.height
        nac = frame["nac_p"].cast(pl.Float64).fill_null(np.nan).to_numpy() if "nac_p" in frame.columns else np.full(n, np.nan)
        nic = frame["nic"].cast(pl.Float64).fill_null(np.nan).to_numpy() if "nic" in frame.columns else np.full(n, np.nan)
        with np.errstate(invalid="ignore"):
            return (nac < rule.nacp_below) | (nic < rule.nic_below)

    def _degraded_aircraft(self, rule: Rule, sel: pl.DataFrame) -> list[dict]:
        """An aircraft sending `min_points` positions in a row with degraded NACp/NIC (the run spans batches)."""
        bad = self._degraded_mask(rule, sel)
        icao = sel["icao24"].to_numpy()
        flagged = set(icao[bad].tolist())
        for a in set(icao.tolist()) - flagged:  # a clean batch ends the run
            self._degraded_run.pop((rule.name, a), None)
        out = []
        for a in sorted(flagged):
            run = self._degraded_run.get((rule.name, a), 0)
            rows: list[int] = []
            for i in np.flatnonzero(icao == a).tolist():
                if not bad[i]:
                    run, rows = 0, []
                    continue
                run += 1
                rows.append(i)
                if run == rule.min_points:
                    ev = evidence_points(sel[rows[-MAX_EVIDENCE:]], extra=INTEGRITY_EVIDENCE)
                    out.append(self._alert(rule, a, sel["timestamp"][i], ev, "",
                                           reason=f"{run} positions in a row with NACp < {rule.nacp_below:g} "
                                                  f"or NIC < {rule.nic_below:g}"))
            self._degraded_run[(rule.name, a)] = run
        return out

    def _degraded_area(self, rule: Rule, batch: pl.DataFrame) -> list[dict]:
        """The share of aircraft in the region with degraded figures over the last `window_minutes`."""
        inside = region_mask(rule.region, batch["latitude"].to_numpy(), batch["longitude"].to_numpy())
        if not inside.any():
            return []
        frame = batch.filter(pl.Series(inside))
        bad = self._degraded_mask(rule, frame)
        known = np.ones(frame.height, bool)
        if "nac_p" in frame.columns or "nic" in frame.columns:
            known = np.zeros(frame.height, bool)
            for c in ("nac_p", "nic"):
                if c in frame.columns:
                    known |= frame[c].is_not_null().to_numpy()
        frame = frame.with_columns(pl.Series("_bad", bad), pl.Series("_known", known)).filter(pl.col("_known"))
        if frame.is_empty():
            return []
        state = self._area.setdefault(rule.name, {})
        per = frame.group_by("icao24").agg(pl.col("timestamp").max().alias("seen"),
                                           pl.col("timestamp").filter(pl.col("_bad")).max().alias("bad"))
        for a, seen, bad_t in per.iter_rows():
            old = state.get(a)
            state[a] = (seen, bad_t if bad_t is not None else (old[1] if old else None))
        now = frame["timestamp"].max()
        horizon = now - seconds_delta(rule.window_minutes * 60)
        for a in [a for a, (seen, _) in state.items() if seen < horizon]:
            del state[a]
        degraded = sorted(a for a, (_, b) in state.items() if b is not None and b >= horizon)
        held = self._area_evidence.get(rule.name, [])
        newest = frame.filter(pl.col("_bad")).sort("timestamp").tail(MAX_EVIDENCE)
        held += list(zip(newest["timestamp"].to_list(),
                         evidence_points(newest, limit=MAX_EVIDENCE, extra=("icao24", *INTEGRITY_EVIDENCE))))
        held = [(t, e) for t, e in held if t >= horizon][-MAX_EVIDENCE:]
        self._area_evidence[rule.name] = held
        if len(state) < rule.min_aircraft or len(degraded) / len(state) <= rule.share:
            return []
        ev = [e for _, e in held]
        alert = self._alert(rule, None, now, ev, "region:" + rule.name, aircraft_seen=len(state),
                            aircraft_degraded=len(degraded), share=round(len(degraded) / len(state), 3),
                            degraded_icao24=degraded[:50])
        return [alert]

    # -- phase events (takeoff / landing from the shared detector) ----------------------------
    def on_phase_events(self, events: pl.DataFrame, window: pl.DataFrame) -> list[dict]:
        """Alerts from new take-off/landing events; `window` holds the aircraft's recent points."""
        out: list[dict] = []
        if events.is_empty():
            return out
        for rule in self.rules:
            if rule.when not in ("takeoff", "landing"):
                continue
            ev = events.filter((pl.col("kind") == rule.when) & self._selected(rule, events["icao24"]))
            for row in ev.iter_rows(named=True):
                airport = row.get("airport")
                if rule.airports and (airport or "").upper() not in rule.airports:
                    continue
                t = row["timestamp"]
                pts = window.filter((pl.col("icao24") == row["icao24"])
                                    & pl.col("timestamp").is_between(t - seconds_delta(600), t + seconds_delta(600)))
                near = pts.with_columns((pl.col("timestamp") - t).abs().alias("_d")).sort("_d").head(MAX_EVIDENCE)
                points = evidence_points(near.drop("_d").sort("timestamp"))
                extra = {"airport": airport, **airport_facts(airport), "distance_km": row.get("distance_km")}
                if row.get("evidence") is not None:
                    extra["reason"] = row["evidence"]
                out.append(self._alert(rule, row["icao24"], t, points, airport or "", **extra))
        return [a for a in out if a is not None]

    def forget_older_than(self, cutoff: datetime) -> None:
        """Drop per-aircraft state older than `cutoff` (a long watch keeps bounded memory)."""
        horizon = cutoff - seconds_delta(max((r.dedupe_s for r in self.rules), default=0.0))
        self._last_seen = {k: t for k, t in self._last_seen.items() if t >= cutoff}
        self._fired = {k: t for k, t in self._fired.items() if t >= horizon}
        self._dark_fired = {k: t for k, t in self._dark_fired.items() if t >= horizon}
        self._degraded_run = {k: n for k, n in self._degraded_run.items() if k[1] in self._last_seen}
        self._squawk = {k: st for k, st in self._squawk.items() if st.since >= cutoff or k in self._last_seen}
        for state in self._inside.values():
            for icao in [i for i in state if i not in self._last_seen]:
                del state[icao]

    # -- silence ------------------------------------------------------------------------------
    def on_tick(self, now: datetime, last: pl.DataFrame, recent: Callable[[str], pl.DataFrame],
                near_airport: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> list[dict]:
        """'Went dark' alerts: airborne, away from any airport, silent for `minutes`.

        `last` is one row per aircraft (its last position); `recent(icao)` its recent points;
        `near_airport(lat, lon, km)` tells which positions lie within km of an airport.
        """
        out: list[dict] = []
        if last.is_empty():
            return out
        for rule in self.rules:
            if rule.when not in ("dark", "dark_in_coverage"):
                continue
            cutoff = now - seconds_delta(rule.minutes * 60)
            cand = last.filter(
                self._selected(rule, last["icao24"])
                & (pl.col("timestamp") <= cutoff)
                & ~pl.col("onground").fill_null(False)
                & (pl.col("altitude").fill_null(pl.col("geoaltitude")) >= rule.min_altitude_ft)
            )
            if cand.is_empty():
                continue
            cand = cand.filter(pl.Series([self._dark_fired.get((rule.name, i)) != t for i, t in
                                          cand.select("icao24", "timestamp").iter_rows()]))
            if cand.is_empty():
                continue
            near = near_airport(cand["latitude"].to_numpy(), cand["longitude"].to_numpy(), rule.airport_km)
            for row, is_near in zip(cand.iter_rows(named=True), near):
                if is_near:
                    continue
                extra = {}
                if rule.when == "dark_in_coverage":
                    others = heard_near(row, last, now, rule.radius_km)
                    if len(others) < rule.min_others:
                        continue  # nothing else heard there either: a coverage hole, not a switched-off transponder
                    extra = {"coverage": {"other_aircraft": len(others), "radius_km": rule.radius_km,
                                          "examples": others[:5]}}
                self._dark_fired[(rule.name, row["icao24"])] = row["timestamp"]
                silent = (now - row["timestamp"]).total_seconds() / 60.0
                out.append(self._alert(rule, row["icao24"], row["timestamp"],
                                       evidence_points(recent(row["icao24"])), "",
                                       silent_minutes=round(silent, 1), alerted_at=iso_time(now), **extra))
        return [a for a in out if a is not None]
