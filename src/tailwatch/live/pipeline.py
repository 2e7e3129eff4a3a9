"""The watcher's column-wise step, run on a worker thread each cycle: framing, duplicate suppression,
Mode S decoding, journal append, tracker update, rule evaluation (live/watch.py)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import polars as pl

from tailwatch.alerts.rulebook import Rule
from tailwatch.alerts.rules import RuleEngine
from tailwatch.live.config import WatchConfig
from tailwatch.live.decoded_feeds import SbsFeed
from tailwatch.live.feed import Feed, ModeSFrames
from tailwatch.live.journal import Journal
from tailwatch.live.merge import MessageMerger, PositionMerger
from tailwatch.live.tracker import Tracker, near_airport
from tailwatch.schema import ARCHIVE_SCHEMA, COLUMNS, POINT_SCHEMA, positions_only, with_extensions


class SbsCarry:
    """Carries callsign/squawk/velocity/altitude from SBS MSG,1/4/5/6 lines onto position lines."""

    CARRIED = ["callsign", "squawk", "altitude", "groundspeed", "track", "vertical_rate", "onground"]

    def __init__(self) -> None:
        self._state = pl.DataFrame(schema={"icao24": pl.String(), **{c: POINT_SCHEMA[c] for c in self.CARRIED}})

    def apply(self, rows: pl.DataFrame) -> pl.DataFrame:
        if rows.is_empty():
            return rows
        state = self._state.with_columns(pl.lit(None, POINT_SCHEMA["timestamp"]).alias("timestamp"),
                                         pl.lit(True).alias("_state"))
        work = rows.with_columns(pl.lit(False).alias("_state"))
        both = pl.concat([state, work], how="diagonal_relaxed").sort("icao24", "timestamp", nulls_last=False)
        both = both.with_columns(pl.col(self.CARRIED).forward_fill().over("icao24"))
        self._state = both.group_by("icao24").agg(pl.col(self.CARRIED).last())
        return both.filter(~pl.col("_state")).select(COLUMNS)


class Pipeline:
    """The synchronous, column-wise half of the watcher (runs in the worker thread)."""

    def __init__(self, cfg: WatchConfig, feeds: list[Feed], rules: list[Rule], watchlist: pl.DataFrame | None,
                 journal: Journal, tracker: Tracker | None = None) -> None:
        from tailwatch.ingest.modes.decoder import ModeSDecoder

        self.cfg = cfg
        self.feeds = feeds
        # source set per feed below; heard minutes (hiding.heard) go to the archive with each flush
        self.decoder = ModeSDecoder(reference=cfg.reference, source="live", record_heard=True)
        self.messages = MessageMerger(cfg.dedupe_window_s)
        self.positions = PositionMerger()
        self.sbs_carry = {id(f): SbsCarry() for f in feeds if isinstance(f, SbsFeed)}
        self.journal = journal
        self.tracker = tracker or Tracker(resample_s=cfg.track_resample_s)
        self.engine = RuleEngine(rules, watchlist)
        self.alerts = 0
        self.points = 0
        self._last_tick = time.monotonic()
        self.max_lag_s = 0.0  # worst (processing time − receive time) of a cycle
        self.problems: list[str] = []  # reported by the watcher on stderr
        self.cycle_time_s = 0.0
        self.lock = threading.Lock()  # guards the tracker against readers in other threads (web page)

    def process(self, taken: list[tuple[Feed, list[tuple[float, bytes]]]], final: bool = False) -> list[dict]:
        """One cycle. Positions reach the journal before anything that could fail on them runs;
        a failure in one feed's bytes or in the rules is reported and the watch goes on."""
        start = time.time()
        oldest = min((c[0][0] for _, c in taken if c), default=start)
        frames: list[ModeSFrames] = []
        point_frames: list[tuple[int, pl.DataFrame]] = []
        for i, (feed, chunks) in enumerate(taken):
            try:
                frames.append(feed.frames(chunks))
                pts = feed.points(chunks)
                if pts is not None and pts.height:
                    carry = self.sbs_carry.get(id(feed))
                    if carry is not None:
                        pts = carry.apply(pts)
                    point_frames.append((i, positions_only(pts).with_columns(pl.lit(f"live-{feed.kind}").alias("source"))))
            except Exception as exc:  # noqa: BLE001 - bytes from the network: never fatal
                frames.append(ModeSFrames.empty())
                self._problem(feed, f"cannot parse a read: {type(exc).__name__}: {exc}")
        frames = self.messages.merge(frames, start)
        for (feed, _), dropped in zip(taken, self.messages.last_dropped):
            feed.stats.duplicates += dropped
        for i, f in enumerate(frames):
            if not len(f):
                continue
            feed = taken[i][0]
            try:
                pts = self.decoder.decode(f.msg, f.length, f.t, mlat=f.mlat)
            except Exception as exc:  # noqa: BLE001
                self._problem(feed, f"cannot decode a batch: {type(exc).__name__}: {exc}")
                continue
            # decoded: accepted by the decoder (parity good, address confirmed)
            feed.stats.decoded += len(f) - len(self.decoder.last_rejected)
            if pts.height:
                point_frames.append((i, positions_only(pts).with_columns(pl.lit(f"live-{feed.kind}").alias("source"))))
        batch = self._merge_points(point_frames, start)
        alerts: list[dict] = []
        if batch.height:
            self.points += batch.height
            self.journal.append(batch)
        try:
            with self.lock:
                alerts += self._evaluate(batch, final)
        except Exception as exc:  # noqa: BLE001 - positions are journaled; alerts of this cycle are lost
            self._problem(None, f"rule evaluation failed: {type(exc).__name__}: {exc}")
        self.journal.tick()
        end = time.time()
        self.cycle_time_s = end - start
        self.max_lag_s = max(self.max_lag_s, end - oldest) if taken else self.max_lag_s
        self.alerts += len(alerts)
        return alerts

    def _evaluate(self, batch: pl.DataFrame, final: bool) -> list[dict]:
        alerts: list[dict] = []
        if batch.height:
            self.tracker.update(batch)
            alerts += self.engine.on_positions(batch)
        now = datetime.now(timezone.utc)
        events = self.tracker.detect(now, force=final)
        if events.height:
            alerts += self.engine.on_phase_events(events, self.tracker.recent)
        if final or time.monotonic() - self._last_tick >= self.cfg.tick_s:
            self._last_tick = time.monotonic()
            alerts += self.engine.on_tick(now, self.tracker.last, self.tracker.points_of, near_airport)
            self.tracker.forget_older_than(now - timedelta(seconds=self.cfg.forget_after_s))
            self.engine.forget_older_than(now - timedelta(seconds=self.cfg.forget_after_s))
            self.positions.forget_older_than(now - timedelta(seconds=self.cfg.forget_after_s))
        return alerts

    def snapshot(self) -> pl.DataFrame:
        """The tracker's per-aircraft state, safe to call from another thread."""
        with self.lock:
            return self.tracker.state()

    def _problem(self, feed: Feed | None, text: str) -> None:
        if feed is not None:
            feed.stats.errors += 1
            feed.stats.last_error = text[:200]
        self.problems.append(f"{feed.url if feed else 'watch'}: {text}")

    def take_max_lag(self) -> float:
        """Worst delay from a message's arrival to the end of its processing since the last call."""
        lag, self.max_lag_s = self.max_lag_s, 0.0
        return lag

    def _merge_points(self, parts: list[tuple[int, pl.DataFrame]], now: float) -> pl.DataFrame:
        if not parts:
            return pl.DataFrame(schema=ARCHIVE_SCHEMA)
        tagged = pl.concat(
            [with_extensions(p).with_columns(pl.lit(i, pl.Int32).alias("_feed")) for i, p in parts if p.height],
            how="vertical_relaxed",
        ) if any(p.height for _, p in parts) else None
        if tagged is None:
            return pl.DataFrame(schema=ARCHIVE_SCHEMA)
        # one feed has no copies to merge (the archive drops exact repeats on write)
        merged = self.positions.merge(tagged, now) if len(self.feeds) > 1 else tagged
        for i, n in merged.group_by("_feed").len().iter_rows():
            self.feeds[i].stats.positions += n
        return merged.drop("_feed").sort("timestamp")
