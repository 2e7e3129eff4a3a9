"""Payload–range model: sourced figures in, per-leg payload with band out."""

from __future__ import annotations

import csv
from importlib.resources import files

import numpy as np
import pytest

from tailwatch.airlift.payload import (
    UnknownType,
    leg_payload,
    max_payload_t,
    range_km,
    required_range_km,
)
from tailwatch.airlift.types import aircraft_type, known_types
from tailwatch.geo.geodesy import haversine_km
from tailwatch.ingest.base import BadInput


def test_il76_nouakchott_caracas_well_under_50_t():
    from tailwatch.geo.airports import airport

    a, b = airport("GQNO"), airport("SVMI")
    gc = float(haversine_km(a["latitude"], a["longitude"], b["latitude"], b["longitude"]))
    assert 5500 < gc < 5600
    for km in (gc, 5550.0):
        value, (lo, hi) = max_payload_t("IL76", km)
        assert value < 40.0, "well under the 50 t quoted for short legs"
        assert lo < value < hi < 50.0
    lp = leg_payload("IL76TD", 5550)
    assert lp.limited_by == "fuel"
    assert lp.required_range_km == pytest.approx(5550 * 1.05 + 370 + 0.5 * 785)


def test_il76_short_leg_carries_the_full_50_t():
    value, (lo, hi) = max_payload_t("IL76", 951)
    assert value == pytest.approx(50.0)
    assert lo == pytest.approx(50.0) and hi == pytest.approx(52.0)
    assert leg_payload("IL76", 951).limited_by == "structure"


@pytest.mark.parametrize("code", known_types())
def test_payload_never_rises_with_distance(code):
    d = np.linspace(0, 15000, 61)
    values = [leg_payload(code, x).max_payload_t for x in d]
    known = [v for v in values if v is not None]
    assert all(a >= b - 1e-9 for a, b in zip(known, known[1:]))
    for x in d:
        lp = leg_payload(code, x)
        if lp.max_payload_t is not None:
            assert lp.band_t[0] <= lp.max_payload_t <= lp.band_t[1]
            assert lp.max_payload_t >= 0


def test_md90a_reproduces_its_sourced_points_without_reserves():
    # the high bound reads the diagram at the flown distance: the sourced points come back
    assert leg_payload("IL76MD90A", 8500).band_t[1] == pytest.approx(20.0)
    assert leg_payload("IL76MD90A", 4000).band_t[1] == pytest.approx(60.0)
    assert leg_payload("IL76MD90A", 4000).max_payload_t < 60.0  # reserves cost payload


def test_range_is_the_inverse_of_payload():
    for code in ("IL76", "IL76MD90A", "A400", "C17"):
        for d in (4200.0, 5000.0, 6000.0):
            value, _ = max_payload_t(code, d)
            if 0 < value < aircraft_type(code).max_payload_t:
                assert range_km(code, value) == pytest.approx(d, rel=1e-6)
    assert range_km("IL76", 55.0) == 0.0  # above the structural maximum
    assert range_km("IL76", 50.0) == pytest.approx((3900 - 370 - 0.5 * 785) / 1.05)


def test_type_codes_and_aliases():
    expect = {"IL76": "IL76TD", "il-76td": "IL76TD", "IL76MD": "IL76MD", "IL76MD-90A": "IL76MD90A",
              "A124": "A124", "C17": "C17", "C30J": "C130J", "C130J": "C130J", "B744": "B744F", "B74F": "B744F",
              "B77L": "B77L", "B77F": "B77L", "AN12": "AN12", "IL62": "IL62", "T204": "T204", "A400M": "A400"}
    for code, resolved in expect.items():
        assert aircraft_type(code).code == resolved
    assert aircraft_type("XX99") is None and aircraft_type(None) is None
    with pytest.raises(UnknownType, match="unknown aircraft type 'XX99'"):
        max_payload_t("XX99", 100)
    with pytest.raises(BadInput):
        max_payload_t("IL76", -5)


def test_cruise_speed_and_sources_for_the_itinerary_helper():
    spec = aircraft_type("IL76")
    assert spec.cruise_kt == pytest.approx(785 / 1.852)
    assert spec.mtow_t == 190 and spec.max_payload_t == 50
    assert "ru.wikipedia" in spec.source_of("cruise_kmh")
    assert aircraft_type("C17").min_runway_ft == 7740


def test_every_row_has_source_and_as_of_and_a_consistent_band():
    text = files("tailwatch").joinpath("data", "aircraft_types.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) > 100
    for n, r in enumerate(rows, start=2):
        assert r["source"].strip() and r["as_of"].strip(), f"line {n}"
        if r["field"] in ("name", "alias") or r["value"] == "unknown":
            continue
        v = float(r["value"])
        lo = float(r["low"]) if r["low"] else v
        hi = float(r["high"]) if r["high"] else v
        assert lo <= v <= hi, f"line {n}: {lo} <= {v} <= {hi}"


def test_unknown_beyond_a_lone_point_is_none_not_invented():
    lp = leg_payload("A124", 9000)
    assert lp.max_payload_t is None and lp.limited_by == "unknown"
    assert leg_payload("IL62", 1000).max_payload_t is None  # no sourced payload at all
    with pytest.raises(UnknownType, match="no sourced payload–range figures for IL62"):
        range_km("IL62", 10)


def test_beyond_ferry_range_nothing_can_be_carried():
    lp = leg_payload("AN12", 6000)
    assert lp.max_payload_t == 0.0 and lp.limited_by == "range"
    assert required_range_km(aircraft_type("AN12"), 6000) > 5700
