"""`tailwatch watch`: feeds → merge → decode → journal → tracker → rules → notifiers.

One asyncio loop owns the sockets (feed clients) and the clock; every
`cycle_s` it hands what the feeds read to a worker thread that does the
column-wise work (framing, duplicate suppression, Mode S decoding, journal
append, tracker update, rule evaluation), so reading never stops for decoding.
Sealed journal segments are flushed into the Parquet archive by a third
thread. Alerts are sent by a notifier thread (a slow webhook never stalls
decoding); stdout carries alerts only, counters and status lines go to stderr.
On SIGINT/SIGTERM the watcher stops reading, processes what it has, seals and
flushes the journal, and returns 0.
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from tailwatch.alerts.notify import Dispatcher, StreamNotifier, make_notifier
from tailwatch.alerts.rulebook import load_rules
from tailwatch.live.config import WatchConfig, load_watchlist_frame
from tailwatch.live.feeds import make_feed
from tailwatch.live.journal import Journal, flush_segment
from tailwatch.live.pipeline import Pipeline
from tailwatch.live.tracker import near_airport


class RecentAlerts:
    """The last `maxlen` alerts with a sequence number and the time they were raised (thread-safe)."""

    def __init__(self, maxlen: int = 500) -> None:
        self._items: deque[tuple[int, datetime, dict]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.seq = 0

    def add(self, alert: dict) -> None:
        with self._lock:
            self.seq += 1
            self._items.append((self.seq, datetime.now(timezone.utc), alert))

    def items(self) -> list[tuple[int, datetime, dict]]:
        with self._lock:
            return list(self._items)


class AlertLog:
    """The alerts as JSON lines in the archive's journal folder (`_journal/alerts.jsonl`), each with the time it
    was raised, so `tailwatch serve --archive` on the same archive shows what `watch --web` shows. Bounded: past
    `MAX_BYTES` the file becomes `alerts.jsonl.1` (the one before is dropped). A write that fails is counted,
    never fatal: alerts still go to stdout and the notifiers."""

    NAME = "alerts.jsonl"
    MAX_BYTES = 8 << 20

    def __init__(self, archive: Path) -> None:
        from tailwatch.live.journal import JOURNAL_DIR

        self.path = Path(archive) / JOURNAL_DIR / self.NAME
        self.failed = 0

    def add(self, alert: dict) -> None:
        from tailwatch.alerts.notify import alert_json

        line = alert_json({"raised": datetime.now(timezone.utc), **alert}) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size + len(line) > self.MAX_BYTES:
                self.path.replace(self.path.with_name(self.NAME + ".1"))
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError:
            self.failed += 1


class Watcher:
    """The asyncio half: feed tasks, the processing cycle, flushing, display, shutdown."""

    def __init__(self, cfg: WatchConfig, out=None, err=None) -> None:
        self.cfg = cfg
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.feeds = [make_feed(u) for u in cfg.feeds]
        self.rules = load_rules(cfg.rules)
        self.watchlist = load_watchlist_frame(cfg.watchlist, cfg.archive) if cfg.watchlist else None
        cfg.archive.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(cfg.archive, cfg.fsync)
        self.archived_rows = 0
        self.recovered_rows = 0
        self._flusher = ThreadPoolExecutor(1, thread_name_prefix="tailwatch-flush")
        self._flushing = None
        self._last_flush = time.monotonic()
        self._alerts: queue.Queue = queue.Queue()
        self.stdout: StreamNotifier | None = StreamNotifier(self.out)  # written at once, in order
        self.dispatcher = Dispatcher([make_notifier(t) for t in cfg.notify])  # may be slow: own thread
        self._notify_thread = threading.Thread(target=self._notify_loop, name="tailwatch-notify", daemon=True)
        self._stop = asyncio.Event()
        self.pipeline: Pipeline | None = None
        self.recent_alerts = RecentAlerts()  # read by the web page
        self.alert_log = AlertLog(cfg.archive)  # read by `tailwatch serve`'s live page over the same archive
        self.started_at = datetime.now(timezone.utc)

    def stop(self) -> None:
        """Ask `run` to finish: what was read is processed, the journal flushed (as on SIGTERM)."""
        self._stop.set()

    # -- status -------------------------------------------------------------------------------
    def log(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    def table(self):
        from rich.table import Table

        t = Table(title="tailwatch watch", expand=False)
        for col in ("feed", "state", "messages", "decoded", "positions", "errors", "duplicates", "backlog"):
            t.add_column(col, justify="left" if col in ("feed", "state") else "right")
        for f in self.feeds:
            s = f.stats
            t.add_row(f.url, "connected" if s.connected else (s.last_error[:40] or "connecting"),
                      f"{s.messages:,}", f"{s.decoded:,}", f"{s.positions:,}", f"{s.errors:,}",
                      f"{s.duplicates:,}", f"{f.backlog:,}")
        p = self.pipeline
        tracked = p.tracker.last.height if p else 0
        t.caption = (f"aircraft {tracked:,} · journaled {self.journal.rows_written:,} "
                     f"(synced {self.journal.rows_synced:,}) · archived {self.archived_rows:,} · "
                     f"alerts {p.alerts if p else 0:,}")
        if p is None or p.tracker.last.is_empty():
            return t
        from rich.console import Group

        return Group(t, self.aircraft_table(p))

    def aircraft_table(self, p: Pipeline, rows: int = 10):
        """The most recently heard aircraft (watchlisted ones first) with phase and current leg."""
        from rich.table import Table

        state = p.tracker.state()
        listed = list(p.engine.watch)
        state = state.with_columns(pl.col("icao24").is_in(listed).alias("_listed")).sort(
            ["_listed", "timestamp"], descending=True).head(rows)
        t = Table(title="aircraft (watchlisted first)", expand=False)
        for col in ("icao24", "callsign", "phase", "altitude", "origin", "leg start", "last heard"):
            t.add_column(col)
        for r in state.iter_rows(named=True):
            t.add_row(("★ " if r["_listed"] else "") + r["icao24"], r["callsign"] or "", r["phase"],
                      "" if r["altitude"] is None else f"{r['altitude']:,.0f} ft", r["origin"] or "",
                      "" if r["leg_start"] is None else r["leg_start"].strftime("%H:%M:%SZ"),
                      r["timestamp"].strftime("%H:%M:%SZ"))
        return t

    def status_line(self) -> str:
        parts = [f"{f.url} {'up' if f.stats.connected else 'down'} msgs={f.stats.messages} "
                 f"decoded={f.stats.decoded} positions={f.stats.positions} errors={f.stats.errors} "
                 f"duplicates={f.stats.duplicates}"
                 for f in self.feeds]
        p = self.pipeline
        lag = p.take_max_lag() if p else 0.0
        backlog = max((f.backlog for f in self.feeds), default=0)
        return ("status " + " | ".join(parts) + f" | journaled={self.journal.rows_written} "
                f"synced={self.journal.rows_synced} archived={self.archived_rows} alerts={p.alerts if p else 0} "
                f"aircraft={p.tracker.last.height if p else 0} lag={lag:.2f}s backlog={backlog}")

    # -- notifier thread ------------------------------------------------------------------------
    def _notify_loop(self) -> None:
        while True:
            alert = self._alerts.get()
            if alert is None:
                return
            self.dispatcher.send(alert)

    # -- flushing -------------------------------------------------------------------------------
    def _flush_sealed(self, paths: list[Path], heard: pl.DataFrame | None = None) -> int:
        """Sealed journal segments into the archive, and the heard minutes decoded since the last flush
        (kept in memory until then: a kill loses those minutes, never positions)."""
        if heard is not None and heard.height:
            from tailwatch.heard_store import write_heard

            write_heard(self.cfg.archive, heard, f"live-{time.time_ns()}-{os.getpid()}")
        rows = 0
        for path in paths:
            rows += flush_segment(path, self.cfg.archive).rows_written
        return rows

    def _maybe_flush(self, force: bool = False) -> None:
        if self._flushing is not None and self._flushing.done():
            try:
                self.archived_rows += self._flushing.result()
            except Exception as exc:  # noqa: BLE001 - the segments stay in the journal; retried next time
                self.log(f"error: flushing the journal into {self.cfg.archive} failed ({exc}); will retry")
            self._flushing = None
        due = time.monotonic() - self._last_flush >= self.cfg.flush_seconds
        big = self.journal.rows_in_segment >= self.cfg.flush_rows
        if (force or due or big) and self._flushing is None:
            self._last_flush = time.monotonic()
            self.journal.seal()
            sealed = self.journal.sealed()
            heard = self.pipeline.decoder.take_heard()
            if sealed or heard.height:
                self._flushing = self._flusher.submit(self._flush_sealed, sealed, heard)

    def _warm_up(self) -> None:
        """Build the airport (and, for country rules, airspace) indexes before data flows."""
        near_airport(np.array([0.0]), np.array([0.0]), 1.0)
        if any(r.when == "country" for r in self.rules):
            from tailwatch.alerts.evidence import locate_airspace

            locate_airspace(np.array([0.0]), np.array([0.0]))

    # -- main -----------------------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        # connect first: the feeds buffer (bounded) while the last run's journal is replayed
        tasks = [asyncio.create_task(f.run(), name=f.url) for f in self.feeds]
        warm = asyncio.create_task(asyncio.to_thread(self._warm_up))
        try:
            recovered = await asyncio.to_thread(self.journal.recover)
        except BaseException:
            for f in self.feeds:
                f.stop()
            for t in tasks:
                t.cancel()
            raise
        self.recovered_rows = recovered.rows_written
        self.archived_rows += recovered.rows_written
        self.log(f"journal replayed: {recovered.rows_written} positions recovered into {self.cfg.archive}")
        self.pipeline = Pipeline(self.cfg, self.feeds, self.rules, self.watchlist, self.journal)
        if self.watchlist is None and any(r.aircraft == "watchlist" for r in self.rules):
            self.log("note: no --watchlist given: watchlist rules apply to every aircraft")
        self._notify_thread.start()
        connected = {f.url: False for f in self.feeds}
        live = self._live_display()
        started = time.monotonic()
        last_status = started
        try:
            while not self._stop.is_set():
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=self.cfg.cycle_s)
                except asyncio.TimeoutError:
                    pass
                await self._cycle()
                for f in self.feeds:
                    if f.stats.connected != connected[f.url]:
                        connected[f.url] = f.stats.connected
                        self.log(f"feed {f.url} {'connected' if f.stats.connected else 'disconnected'}"
                                 + ("" if f.stats.connected else f" ({f.stats.last_error})"))
                if live is not None:
                    live.update(self.table())
                elif time.monotonic() - last_status >= self.cfg.status_every_s:
                    last_status = time.monotonic()
                    self.log(self.status_line())
                if self.cfg.max_runtime_s is not None and time.monotonic() - started >= self.cfg.max_runtime_s:
                    break
        finally:
            for f in self.feeds:
                f.stop()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._cycle(final=True)
            await asyncio.gather(warm, return_exceptions=True)
            if live is not None:
                live.update(self.table())
                live.stop()
            await asyncio.to_thread(self._shutdown)
        self.log(self.status_line())
        return 0

    async def _cycle(self, final: bool = False) -> None:
        taken = [(f, f.take()[0]) for f in self.feeds]
        alerts = await asyncio.to_thread(self.pipeline.process, taken, final)
        for a in alerts:
            self.recent_alerts.add(a)
            self.alert_log.add(a)
            if self.stdout is not None:
                try:
                    self.stdout.send(a)
                except (BrokenPipeError, OSError) as exc:  # e.g. `| head` went away: keep watching
                    self.log(f"error: stdout closed ({exc}); alerts continue to the other notifiers")
                    self.stdout = None
            if self.dispatcher.notifiers:
                self._alerts.put(a)
        problems, self.pipeline.problems = self.pipeline.problems, []
        for text in problems[:5]:
            self.log(f"error: {text}")
        self._maybe_flush()

    def _shutdown(self) -> None:
        """Flush everything journaled into the archive; on failure the journal keeps it for the next start."""
        try:
            if self._flushing is not None:
                flushing, self._flushing = self._flushing, None
                self.archived_rows += flushing.result()
            self.journal.seal()
            self.archived_rows += self._flush_sealed(self.journal.sealed(), self.pipeline.decoder.take_heard())
        finally:
            self.journal.close()
            self._flusher.shutdown(wait=True)
            self._alerts.put(None)
            if self._notify_thread.is_alive():
                self._notify_thread.join(timeout=30)
            self.dispatcher.close()
            for name, n in self.dispatcher.failures.items():
                self.log(f"notifier {name}: {n} failed deliveries (last: {self.dispatcher.last_error})")

    def _live_display(self):
        show = self.cfg.live_display
        if show is None:
            show = self.err.isatty()
        if not show:
            return None
        from rich.console import Console
        from rich.live import Live

        live = Live(self.table(), console=Console(file=self.err), refresh_per_second=2, transient=False)
        live.start()
        return live


def run_watch(cfg: WatchConfig, web: tuple[str, int] | None = None, token: str | None = None) -> int:
    """Blocking entry point for the CLI; `web` (host, port) also serves the live page while watching,
    with `token` required on every request when given (web/security.py: any bind but 127.0.0.1)."""
    watcher = Watcher(cfg)
    server = None
    if web is not None:
        from tailwatch.web.server import WebServer

        try:
            server = WebServer(watcher, *web, token=token).start()
        except BaseException:
            watcher.journal.close()  # nothing was read yet: release the archive for the next try
            watcher._flusher.shutdown(wait=False)
            raise
        watcher.log(f"web page on {server.url}")
    try:
        return asyncio.run(watcher.run())
    finally:
        if server is not None:
            server.stop()
