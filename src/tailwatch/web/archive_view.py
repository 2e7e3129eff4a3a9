"""What `tailwatch serve` reads from an archive: search, aircraft identity and timeline, watchlist, live positions.

Search also finds what the recordings themselves call an aircraft (`seen/`: a registration by
prefix, an operator by substring); the aircraft page carries the recorded identity and its
timeline from `identity.lookup`.

Read-only over the archive: every call goes through the library's own readers
(`identity.lookup`, `identity.watchlist`, `app.scan`, `engines.duckdb`,
`live.journal.read_segment`), none of which writes. Answers are cached per archive
*generation* — a fingerprint of the archive's file names, sizes and modification
times, re-taken at most every `GENERATION_TTL_S` — so concurrent clients share one
DuckDB query, and new data (an ingest, a watcher's flush) shows on the next look.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl

GENERATION_TTL_S = 2.0
MAX_RESULTS = 50
LIVE_WINDOW = timedelta(minutes=15)
LIVE_MAX_BYTES = 64 << 20  # newest journal segments read for the live view
LIVE_TRAIL_POINTS = 120  # positions per aircraft's trail on the live map
LIVE_ALERTS = 100  # newest alerts of the watcher's log shown on the live page
LIVE_ALERT_BYTES = 256 << 10  # read from the end of the log for them
HEX = re.compile(r"~?[0-9a-f]{6}")


class ArchiveView:
    def __init__(self, archive: Path) -> None:
        self.archive = Path(archive)
        self._lock = threading.Lock()
        self._generation: tuple[float, str] | None = None
        self._cache: dict[tuple, object] = {}
        self._cache_generation = ""
        self._key_locks: dict[tuple, threading.Lock] = {}

    # --- caching ---------------------------------------------------------------------------
    def generation(self) -> str:
        """Fingerprint of the committed archive files (journal excluded: it changes every second)."""
        now = time.monotonic()
        with self._lock:
            if self._generation is not None and now - self._generation[0] < GENERATION_TTL_S:
                return self._generation[1]
        digest = hashlib.sha256()
        stack = [self.archive]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or entry.name == "_journal":
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat()
                    digest.update(f"{entry.path}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        value = digest.hexdigest()[:16]
        with self._lock:
            self._generation = (now, value)
        return value

    def peek(self, key: tuple):
        """The cached answer for `key` in the current generation, or None (cheap: no I/O but a rare scandir)."""
        gen = self.generation()
        with self._lock:
            return self._cache.get(key) if gen == self._cache_generation else None

    def cached(self, key: tuple, compute):
        """`compute()` once per key and generation; concurrent callers of the same key wait for one run."""
        gen = self.generation()
        with self._lock:
            if gen != self._cache_generation:
                self._cache.clear()
                self._cache_generation = gen
            if key in self._cache:
                return self._cache[key]
            if len(self._cache) > 4096:
                self._cache.clear()
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._cache and self._cache_generation == gen:
                    return self._cache[key]
            value = compute()
            with self._lock:
                if self._cache_generation == gen:
                    self._cache[key] = value
                self._key_locks.pop(key, None)
            return value

    # --- library calls -----------------------------------------------------------------------
    def watchlist(self) -> pl.DataFrame:
        from tailwatch.identity.watchlist import archive_watchlist

        return self.cached(("watchlist",), lambda: archive_watchlist(self.archive))

    def identity(self, query: str) -> dict | None:
        from tailwatch.identity.lookup import aircraft_identity

        return self.cached(("identity", query), lambda: aircraft_identity(query, self.archive))

    def callsigns(self) -> pl.DataFrame:
        from tailwatch.engines.duckdb import callsign_summary

        return self.cached(("callsigns",), lambda: callsign_summary(self.archive))

    def seen(self, icao24s: tuple[str, ...]) -> dict[str, dict]:
        from tailwatch.engines.duckdb import summary_by_aircraft

        def compute():
            if not icao24s:
                return {}
            frame = summary_by_aircraft(self.archive, list(icao24s))
            return {r["icao24"]: r for r in frame.iter_rows(named=True)}
        return self.cached(("seen", icao24s), compute)

    def operators(self) -> pl.DataFrame:
        """(icao24, registration, operator, owner) from the archive's imported registries."""
        from tailwatch.identity.registry import registry

        def compute():
            rows = registry(self.archive)
            frame = rows.collect() if isinstance(rows, pl.LazyFrame) else rows
            cols = [c for c in ("icao24", "registration", "operator", "owner") if c in frame.columns]
            return frame.select(cols).unique(maintain_order=True) if "icao24" in cols else pl.DataFrame()
        return self.cached(("operators",), compute)

    def recorded(self) -> pl.DataFrame:
        """(icao24, registration, operator) the archive's recordings claim (`seen/`), one row each."""
        from tailwatch.seen_store import read_seen

        return self.cached(("recorded",), lambda: read_seen(self.archive).select(
            "icao24", "registration", "operator").unique(maintain_order=True))

    # --- answers -----------------------------------------------------------------------------
    def search(self, query: str) -> dict:
        """Aircraft matching a hex address, registration, callsign, operator or list entry, and unresolved entries."""
        return self.cached(("search", query), lambda: self._search(query))

    def _search(self, query: str) -> dict:
        from tailwatch.identity.lookup import is_address

        hits: dict[str, dict] = {}

        def hit(icao24: str | None, how: str, registration: str | None = None) -> None:
            if not icao24:
                return
            entry = hits.setdefault(icao24, {"icao24": icao24, "registration": registration, "matched": []})
            entry["registration"] = entry["registration"] or registration
            if how not in entry["matched"]:
                entry["matched"].append(how)

        q = query.strip()
        low = q.lower()
        ident = self.identity(q)
        if ident and ident.get("icao24"):
            hit(ident["icao24"], "address" if is_address(q) else f"registration ({ident['found_by'].get('icao24', '')})",
                ident.get("registration"))
        flat = re.sub(r"[\s-]", "", q).upper()
        calls = self.callsigns()
        if flat and calls.height:
            for r in calls.filter(pl.col("callsign").str.starts_with(flat)).head(MAX_RESULTS).iter_rows(named=True):
                hit(r["icao24"], f"callsign {r['callsign']}")
        watch = self.watchlist()
        unresolved: list[dict] = []
        if watch.height and len(low) >= 2:
            text = pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in
                                  ("list", "entry_id", "name", "operator", "program")], separator=" | ").str.to_lowercase()
            regs = pl.col("registrations").list.join(" ").fill_null("").str.to_lowercase()
            rows = watch.filter(text.str.contains(low, literal=True) | regs.str.contains(low, literal=True))
            for e in rows.iter_rows(named=True):
                label = f"list entry {e['list']} {e['entry_id']}" + (f" ({e['name']})" if e["name"] else "")
                if e["icao24"]:
                    hit(e["icao24"], label, (e["registrations"] or [None])[0])
                else:
                    unresolved.append({"list": e["list"], "id": e["entry_id"], "name": e["name"],
                                       "registrations": e["registrations"] or [], "reason": e["reason"]})
        ops = self.operators()
        if ops.height and len(low) >= 3 and "operator" in ops.columns:
            match = pl.col("operator").fill_null("").str.to_lowercase().str.contains(low, literal=True)
            if "owner" in ops.columns:
                match = match | pl.col("owner").fill_null("").str.to_lowercase().str.contains(low, literal=True)
            for r in ops.filter(match).head(MAX_RESULTS).iter_rows(named=True):
                hit(r["icao24"], f"operator {r.get('operator') or r.get('owner')}", r.get("registration"))
        said = self.recorded()
        if said.height and len(flat) >= 2:  # what the recordings call the aircraft: registration prefix, operator
            from tailwatch.seen_store import registration_key

            match = registration_key(pl.col("registration").fill_null("")).str.starts_with(flat)
            if len(low) >= 3:
                match = match | pl.col("operator").fill_null("").str.to_lowercase().str.contains(low, literal=True)
            for r in said.filter(match).head(MAX_RESULTS).iter_rows(named=True):
                key = re.sub(r"[\s\-_.]", "", (r["registration"] or "").upper())
                what = r["registration"] if key.startswith(flat) else r["operator"]
                hit(r["icao24"], f"recorded as {what}", r["registration"])
        results = list(hits.values())[:MAX_RESULTS]
        seen = self.seen(tuple(sorted(h["icao24"] for h in results)))
        lists = self._lists_by_address()
        for h in results:
            s = seen.get(h["icao24"])
            h["points"] = s["points"] if s else 0
            h["first_seen"], h["last_seen"] = (s["first_seen"], s["last_seen"]) if s else (None, None)
            h["lists"] = lists.get(h["icao24"], [])
        results.sort(key=lambda h: (-(h["points"] > 0), -len(h["lists"]), h["icao24"]))
        return {"query": q, "aircraft": results, "unresolved_entries": unresolved[:MAX_RESULTS],
                "truncated": len(hits) > MAX_RESULTS}

    def _lists_by_address(self) -> dict[str, list[str]]:
        def compute():
            watch = self.watchlist()
            out: dict[str, list[str]] = {}
            for e in watch.filter(pl.col("icao24").is_not_null()).iter_rows(named=True):
                out.setdefault(e["icao24"], []).append(f"{e['list']} {e['entry_id']}")
            return out
        return self.cached(("lists-by-address",), compute)

    def aircraft(self, icao24: str) -> dict:
        """Identity (with list entries and how each fact was found), overall sightings and the daily timeline."""
        from tailwatch.engines.duckdb import daily_summary

        def compute():
            ident = self.identity(icao24) or {"icao24": icao24, "registration": None, "typecode": None,
                                               "country": None, "watchlists": [], "found_by": {}, "history": []}
            seen = self.seen((icao24,)).get(icao24)
            days = daily_summary(self.archive, [icao24]).drop("icao24").to_dicts()
            return {"identity": ident, "seen": seen, "timeline": days}
        return self.cached(("aircraft", icao24), compute)

    def watchlist_rows(self) -> list[dict]:
        """Every entry, resolved or not, with when its aircraft was last seen in this archive."""
        from tailwatch.app.scan import scan_watchlist

        def compute():
            watch = self.watchlist()
            scan = scan_watchlist(self.archive)
            by_hex = {r["icao24"]: r for r in scan.iter_rows(named=True)}
            rows = []
            for e in watch.iter_rows(named=True):
                s = by_hex.get(e["icao24"]) if e["icao24"] else None
                rows.append({
                    "list": e["list"], "id": e["entry_id"], "name": e["name"], "kind": e["kind"],
                    "registrations": e["registrations"] or [], "operator": e["operator"], "program": e["program"],
                    "reason": e["reason"], "listing_date": e["listing_date"], "source": e["source"] or e["source_file"],
                    "icao24": e["icao24"], "resolved": e["icao24"] is not None, "confidence": e["confidence"],
                    "evidence": e["evidence"], "candidates": e["candidates"] or [],
                    "points": s["points"] if s else 0, "last_seen": s["last_seen"] if s and s["points"] else None,
                    "first_seen": s["first_seen"] if s and s["points"] else None,
                })
            return rows
        return self.cached(("watchlist-rows",), compute)

    def live(self) -> dict:
        """Latest position per aircraft from the journal a watcher writes into this archive (not yet flushed)."""
        from tailwatch.live.journal import JOURNAL_DIR, read_segment, segments

        folder = self.archive / JOURNAL_DIR
        if not folder.is_dir():
            return {"watcher": False, "aircraft": [], "segments": 0, "alerts": []}
        alerts = live_alerts(folder)
        paths, total = [], 0
        for path in reversed(segments(folder)):
            try:
                size = path.stat().st_size
            except OSError:
                continue
            if total + size > LIVE_MAX_BYTES and paths:
                break
            paths.append(path)
            total += size
        frames = []
        for path in paths:
            try:
                frames.append(read_segment(path).frame)
            except OSError:  # flushed and removed between listing and reading
                continue
        frames = [f for f in frames if f.height]
        if not frames:
            return {"watcher": True, "aircraft": [], "segments": len(paths), "alerts": alerts}
        points = pl.concat(frames, how="vertical_relaxed")
        newest = points["timestamp"].max()
        recent = points.filter(pl.col("timestamp") >= newest - LIVE_WINDOW).sort("timestamp")
        latest = recent.group_by("icao24", maintain_order=True).last().sort("timestamp", descending=True)
        # each aircraft's trail over the window: its positions, every k-th kept so a trail has at most
        # LIVE_TRAIL_POINTS (the last always kept), computed over all aircraft at once
        located = recent.filter(pl.col("latitude").is_not_null() & pl.col("longitude").is_not_null())
        located = located.with_columns(pl.int_range(pl.len()).over("icao24").alias("_i"),
                                       pl.len().over("icao24").alias("_n"))
        located = located.filter(((pl.col("_i") * LIVE_TRAIL_POINTS) // pl.col("_n")
                                  != ((pl.col("_i") + 1) * LIVE_TRAIL_POINTS) // pl.col("_n"))
                                 | (pl.col("_i") == pl.col("_n") - 1))
        trails = dict(located.group_by("icao24").agg(
            pl.concat_list(pl.col("latitude").round(4), pl.col("longitude").round(4)).alias("trail")).iter_rows())
        lists = self._lists_by_address()
        rows = []
        for r in latest.iter_rows(named=True):
            rows.append({k: r.get(k) for k in ("icao24", "callsign", "timestamp", "latitude", "longitude", "altitude",
                                               "groundspeed", "track", "onground", "squawk", "source")}
                        | {"lists": lists.get(r["icao24"], []), "trail": trails.get(r["icao24"], [])})
        rows.sort(key=lambda r: (not r["lists"],))
        return {"watcher": True, "aircraft": rows, "segments": len(paths), "newest": newest,
                "now": datetime.now(timezone.utc), "alerts": alerts}


def live_alerts(folder: Path) -> list[dict]:
    """The newest alerts a watcher on this archive logged (`live.watch.AlertLog`), newest first, with their
    line number as `seq`; a torn last line (being written) is left out."""
    import json

    from tailwatch.live.watch import AlertLog

    path = folder / AlertLog.NAME
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - LIVE_ALERT_BYTES))
            tail = f.read()
    except OSError:
        return []
    lines = tail.split(b"\n")
    if size > LIVE_ALERT_BYTES:
        lines = lines[1:]  # the first is cut
    out = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
    out = out[-LIVE_ALERTS:]
    return [{"seq": len(out) - k, **a} for k, a in enumerate(reversed(out))]
