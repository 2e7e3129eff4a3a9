"""What readers of receiver captures (Beast, AVR, raw JSON lines) share: the capture's time
anchor and the receiver position from the user or the environment, the Mode S decoder, and
the notes the receiver clock and the decoder leave in the rejects.

Absolute time. Frames carry 12 MHz receiver stamps without a date (see
`modes.clock`). The reader anchors them, in this order of precedence:
1. an explicit ``anchor`` (unix seconds or datetime) given to `BeastReader`,
   placed on the first frame (``anchor_at="first"``) or the last (``"last"``);
2. the environment variable ``TAILWATCH_CAPTURE_START`` (unix seconds or
   ISO 8601): the time of the first frame;
3. otherwise the file's modification time, taken as the time of the last
   frame (a capture file is last written when its last frame arrives); this
   costs one extra framing pass over the file to find the last frame's
   elapsed time.
   Such times are *assumed*, not read: every point of the file gets the
   extension column ``time_assumed = true`` and the reader's
   `Rejects.time_assumed` says from what (the ingest line and the manifest
   repeat it), so a copied file (modification time: today) cannot pass for
   a recording of today unnoticed. With GPS stamps only the date is assumed,
   and the text says so. An explicit anchor (option or environment) is the
   user's statement of when the capture started: ``time_assumed = false``.
Counter wraps, GPS midnight roll-overs and receiver resets are handled by
`modes.clock.TickClock`. A receiver position (``reference=(lat, lon)`` or
``TAILWATCH_RECEIVER="lat,lon"``) is the first reference for surface positions;
without one they are placed from the aircraft's own fixes or the airport its
surface pairs point at (`modes.surface`).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tailwatch.ingest.base import BadInput, Rejects

_UTC = timezone.utc

CHUNK_BYTES = 8 << 20
ANCHOR_ENV = "TAILWATCH_CAPTURE_START"
RECEIVER_ENV = "TAILWATCH_RECEIVER"
SETTING_ENVS = (ANCHOR_ENV, RECEIVER_ENV)


def apply_settings(settings: dict[str, str | None]) -> dict[str, str | None]:
    """Make the reader settings exactly `settings` (a missing or None entry removes one) and
    return what they were. Exactly, not merged: a Spark worker process or a long-lived program
    reads several ingests, and one run's --capture-start must never date the next run's files."""
    before = {name: os.environ.get(name) for name in SETTING_ENVS}
    for name in SETTING_ENVS:
        value = settings.get(name)
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return before


@contextmanager
def reader_settings(settings: dict[str, str | None]):
    """The reader settings of one ingest, for its duration; what was there before comes back after."""
    before = apply_settings({**{n: os.environ.get(n) for n in SETTING_ENVS}, **settings})
    try:
        yield
    finally:
        apply_settings(before)


def parse_time(value: str | float | datetime) -> float:
    """Unix seconds from unix seconds, an ISO 8601 string (UTC if no zone) or a datetime."""
    if isinstance(value, datetime):
        return value.timestamp() if value.tzinfo else value.replace(tzinfo=_UTC).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_time(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise BadInput(f"cannot read a time from {value!r} (unix seconds or ISO 8601 expected)") from exc


def receiver_from_env() -> tuple[float, float] | None:
    text = os.environ.get(RECEIVER_ENV)
    if not text:
        return None
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise BadInput(f"{RECEIVER_ENV}={text!r}: expected 'lat,lon'") from exc
    return lat, lon


def resolve_anchor(path: Path, anchor: float | datetime | str | None, anchor_at: str) -> tuple[float, str]:
    """(unix seconds, 'first' | 'last') for a capture file, by the precedence in the module docstring."""
    if anchor is not None:
        return parse_time(anchor), anchor_at
    env = os.environ.get(ANCHOR_ENV)
    if env:
        return parse_time(env), "first"
    return path.stat().st_mtime, "last"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, _UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CaptureReader:
    """What readers of receiver captures (Beast, AVR) share: the time anchor, the surface
    reference, the receiver clock, and the notes the clock leaves in the rejects."""

    name = "capture"

    def __init__(
        self,
        anchor: float | datetime | str | None = None,
        anchor_at: str = "first",
        reference: tuple[float, float] | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        clock_mode: str = "auto",
    ) -> None:
        self.clock_mode = clock_mode  # 'auto', 'counter' or 'gps' (see modes.clock)
        if anchor_at not in ("first", "last"):
            raise ValueError("anchor_at must be 'first' or 'last'")
        self.anchor = anchor
        self.anchor_at = anchor_at
        self.reference = reference
        self.chunk_bytes = chunk_bytes

    def dated_by_file(self) -> bool:
        """Whether the times will come from the file's modification time (no anchor given)."""
        return self.anchor is None and not os.environ.get(ANCHOR_ENV)

    @staticmethod
    def assumed_text(anchor: float, gps: bool) -> str:
        """`Rejects.time_assumed` for a capture dated from its file's modification time."""
        if gps:
            return (f"dates assumed from the file's modification time {_iso(anchor)} (the receiver's GPS stamps "
                    "give the time of day only)")
        return f"times assumed from the file's modification time {_iso(anchor)} (taken as the time of the last frame)"

    def decoder(self):
        from tailwatch.ingest.modes.decoder import ModeSDecoder

        return ModeSDecoder(reference=self.reference or receiver_from_env(), source=self.name, record_heard=True)

    @staticmethod
    def note_clock(clock, rejects: Rejects, path: Path) -> None:
        if clock.resets:
            rejects.add("receiver clock reset (time across it unknown, counted as zero)", str(path), clock.resets)
        if clock.untimed:
            rejects.add("frame without receiver time (kept, at the previous frame's time)", str(path), clock.untimed)
        if clock.synthetic:
            rejects.add("frame stamped as synthetic (MLAT result or similar; kept, at the previous frame's time)",
                        str(path), clock.synthetic)


def report_rejects(decoder, rejects: Rejects, where) -> None:
    """Copy the decoder's rejections of its last batch into `rejects`, locating the first of each reason."""
    from tailwatch.ingest.modes.decoder import REJECT_REASONS

    codes = decoder.last_reasons
    if codes.size == 0:
        return
    uniq, first, counts = np.unique(codes, return_index=True, return_counts=True)
    for code, i, count in zip(uniq, first, counts):
        rejects.add(REJECT_REASONS[int(code)], where(int(decoder.last_rejected[i])), int(count))
