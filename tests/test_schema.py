"""The canonical schema pins dtypes and normalises identifiers."""

from datetime import datetime, timezone

import polars as pl

from tailwatch.schema import COLUMNS, POINT_SCHEMA, conform, positions_only


def test_conform_pins_dtypes_and_normalises():
    raw = pl.DataFrame(
        {
            "timestamp": [datetime(2025, 10, 1, tzinfo=timezone.utc)] * 3,
            "icao24": [" 1533AD", "1533ad", "zzzzzz"],
            "callsign": ["  rfr7001 ", "", None],
            "latitude": [55.6, 91.0, 10.0],
            "longitude": [37.3, 0.0, 10.0],
            "altitude": [1000, 2000, 3000],
            "extra": [1, 2, 3],
        }
    )
    out = conform(raw, source="test")
    assert out.columns == COLUMNS
    assert dict(out.schema) == POINT_SCHEMA
    assert out["icao24"].to_list()[:2] == ["1533ad", "1533ad"]
    assert out["callsign"].to_list() == ["RFR7001", None, None]
    assert set(out["source"]) == {"test"}
    kept = positions_only(out)
    assert kept.height == 1  # latitude 91 and a non-hex address are dropped
