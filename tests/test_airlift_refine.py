"""openap fuel-burn refinement: only where openap models the type."""

from __future__ import annotations

import pytest

import openap  # noqa: E402,F401 - in the test extra: missing is a failure, not a skip

from tailwatch.airlift.payload import leg_payload  # noqa: E402
from tailwatch.airlift.refine import covered, refined_payload  # noqa: E402


def test_coverage_is_native_models_only():
    assert covered("B744") and covered("B74F")
    for code in ("IL76", "IL76MD90A", "A124", "C17", "A400", "AN12", "B77L", "C130J"):
        assert not covered(code), code
        assert refined_payload(code, 3000) is None


def test_refined_line_passes_through_the_sourced_point_and_falls_beyond():
    short = refined_payload("B744F", 3000).max_payload_t
    assert short == pytest.approx(112.5)
    far = [refined_payload("B744F", d).max_payload_t for d in (8000, 9000, 10000, 11000)]
    assert all(a > b for a, b in zip(far, far[1:]))
    assert 0 < far[-1] < 112.5
    lp = leg_payload("B744F", 9000)  # beyond the sourced points: openap speaks, flagged
    assert lp.limited_by == "fuel (openap)" and lp.max_payload_t == pytest.approx(far[1])
    assert "openap b744" in lp.to_json()["fuel_refined"]["model"]


def test_the_tank_limit_is_a_mass():
    # openap gives the 747-400's tank capacity in litres (203,500 L); as jet fuel that is ~163 t, not 203.5 t
    from tailwatch.airlift.refine import _model

    assert _model("b744")[3] == pytest.approx(203_500 * 0.8025)
