"""The live tracker on the itinerary module's detector: inferred landings wait for the
silence that makes them landings; a trimmed window does not invent take-offs."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from test_alerts_rules import T0, track
from tailwatch.live.tracker import Tracker

EHRD = (51.9569, 4.43722)


def approach_into_silence() -> pl.DataFrame:
    """Descend towards Rotterdam and vanish below the radar horizon at 900 ft, 4 km out."""
    rows = []
    for i in range(30):
        f = i / 29
        rows.append((i * 10, EHRD[0] + 0.25 * (1 - f) + 0.036, EHRD[1], 6000 - f * 5100))
    return track("4ca123", rows, vertical_rate=-1000.0, groundspeed=160.0, onground=False)


def test_low_descent_landing_waits_for_the_silence():
    tr = Tracker(detect_every_s=0.0, hold_s=600)
    tr.update(approach_into_silence())
    last = T0 + timedelta(seconds=290)
    assert tr.detect(last + timedelta(minutes=1), force=True).is_empty()  # may still be heard
    assert tr.state().row(0, named=True)["phase"] == "airborne"
    events = tr.detect(last + timedelta(minutes=11), force=True)
    assert events.height == 1
    ev = events.row(0, named=True)
    assert ev["kind"] == "landing" and ev["airport"] == "EHRD" and ev["evidence"] == "low-descent"
    assert tr.state().row(0, named=True)["phase"] == "ground"
    assert tr.detect(last + timedelta(minutes=30), force=True).is_empty()  # reported once


def test_window_trim_does_not_invent_a_takeoff():
    tr = Tracker(detect_every_s=0.0, window_s=600, hold_s=600)
    # circling low near Rotterdam for 30 minutes, climbing gently: never on the ground
    rows = [(i * 20, EHRD[0] + 0.02, EHRD[1] + 0.02 * ((i % 6) - 3) / 3, 1500 + i * 2) for i in range(90)]
    pts = track("4ca123", rows, vertical_rate=150.0, groundspeed=90.0, onground=False)
    reported = []
    for chunk in pts.iter_slices(10):
        tr.update(chunk)
        ev = tr.detect(T0 + timedelta(hours=2), force=True)
        reported += ev.select("kind", "timestamp").rows()
    # at most the first sighting can be a take-off inferred from a low climb, never a later window start
    assert all(t == T0 for _, t in reported), reported
