"""Surface positions (TC 5-8): the hemisphere's own zone count, and placing them without a receiver
(modes.surface): the aircraft's own fixes, else the one candidate of a pair near an airport."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyModeS
import pytest
import rs1090

from tailwatch.geo.geodesy import haversine_km
from tailwatch.ingest.modes import cpr, position
from tailwatch.ingest.modes.decoder import ModeSDecoder

from modes_frames import CDG, frames_of, surface_frame

# a real pair received at São Paulo-Guarulhos (even first, odd newest)
SAO_PAULO = ("8FE48C033A9FA184B934E744C6FD", "8FE48C033A9FA68F7C3D39B1C2F0")
GRU = (-23.4356, -46.4731)
NZCH = (-43.4894, 172.5322)
LFBO = (43.6294, 1.3678)
T0 = 1.7e9


def _decode(hexes: list[str], reference=None, spacing: float = 1.0) -> pl.DataFrame:
    msg, length = frames_of(hexes)
    return ModeSDecoder(reference=reference).decode(msg, length, T0 + spacing * np.arange(len(hexes)))


def test_sao_paulo_pair_takes_the_zone_count_of_the_southern_latitude() -> None:
    truth = pyModeS.decode(list(SAO_PAULO), timestamps=[0, 1], surface_ref=GRU)[1]
    assert truth["longitude"] == pytest.approx(-46.4674, abs=1e-4)
    msg, _ = frames_of(list(SAO_PAULO))
    odd, la, lo = position.cpr_fields(msg)
    assert not odd[0] and odd[1]
    lat, lon = cpr.surface_position(la[:1], lo[:1], la[1:], lo[1:], np.array([True]), np.array([GRU[0]]), np.array([GRU[1]]))
    assert lat[0] == pytest.approx(truth["latitude"], abs=1e-6) and lon[0] == pytest.approx(truth["longitude"], abs=1e-6)
    # the wrong value (the northern candidate's zone count) is among the candidates no longer chosen
    cand_lat, cand_lon = cpr.surface_candidates(la[:1], lo[:1], la[1:], lo[1:], np.array([True]))
    assert cand_lat.shape == (1, 8) and (cand_lat[0, :4] > 0).all() and (cand_lat[0, 4:] < 0).all()
    assert np.isclose(cand_lon[0], -46.4674, atol=1e-4).sum() == 1
    # through the decoder, with the receiver at Guarulhos and without any receiver (airport choice)
    for reference in (GRU, None):
        points = _decode(list(SAO_PAULO), reference)
        last = points.sort("timestamp").row(-1, named=True)
        assert last["latitude"] == pytest.approx(-23.43032, abs=1e-5)
        assert last["longitude"] == pytest.approx(-46.46737, abs=1e-5)


def test_christchurch_pair_matches_pymodes_and_rs1090() -> None:
    lat, lon = -43.4870, 172.5310  # on the apron at NZCH
    hexes = [surface_frame(0xC81234, lat, lon, odd=bool(k % 2)) for k in range(6)]
    by_pymodes = pyModeS.decode(hexes, timestamps=list(range(6)), surface_ref=NZCH)
    by_rs1090 = rs1090.decode(hexes, [float(k) for k in range(6)], reference=NZCH)
    for reference in (NZCH, None):
        ours = _decode(hexes, reference).sort("timestamp")
        assert ours.height >= 5  # all but the first message (no pair yet, no reference)
        for row in ours.iter_rows(named=True):
            k = int(round(row["timestamp"].timestamp() - T0))
            # rs1090 gives each message its own position, as we do; pyModeS the pair's odd one
            assert row["latitude"] == pytest.approx(by_rs1090[k]["latitude"], abs=1e-6)
            assert row["longitude"] == pytest.approx(by_rs1090[k]["longitude"], abs=1e-6)
            assert row["latitude"] == pytest.approx(by_pymodes[k]["latitude"], abs=2e-5)
            assert row["longitude"] == pytest.approx(by_pymodes[k]["longitude"], abs=2e-5)
        assert haversine_km(ours["latitude"].to_numpy(), ours["longitude"].to_numpy(), lat, lon).max() < 0.01


def test_no_airport_near_any_candidate_is_refused() -> None:
    # a surface pair in the North Atlantic: none of its eight candidates is near a suitable airport
    hexes = [surface_frame(0x4CA123, 45.3, -31.2, odd=bool(k % 2)) for k in range(6)]
    assert _decode(hexes).height == 0
    # given a reference, the same frames decode (the choice was the only thing missing)
    placed = _decode(hexes, (45.0, -31.0))
    assert placed.height == 6 and (placed["latitude"] - 45.3).abs().max() < 1e-4


def test_a_pair_farther_than_450_km_from_its_reference_is_refused() -> None:
    points = _decode(list(SAO_PAULO), LFBO)  # a receiver at Toulouse cannot hear Guarulhos
    # the pair (second message) is refused; the lone first message is decoded locally against the
    # receiver as any single message is, so it lands near Toulouse, never in South America
    assert points.filter(pl.col("timestamp").dt.epoch("s") == int(T0 + 1)).height == 0
    assert (points["latitude"] > 0).all()


@pytest.fixture(scope="module")
def sample(traffic_samples: Path):
    ref = pl.read_ndjson(traffic_samples / "rs1090" / "full_flight_short.jsonl", infer_schema_length=None)
    msg, length = frames_of(ref["frame"].to_list())
    return msg, length, ref["timestamp"].to_numpy(), ref


def test_rs1090_sample_without_receiver_places_the_taxi_at_both_airports(sample) -> None:
    msg, length, t, _ = sample
    alone = ModeSDecoder().decode(msg, length, t)
    with_receiver = ModeSDecoder(reference=CDG).decode(msg, length, t)
    assert with_receiver.height == 8324
    assert alone.height >= 8320  # only the messages before the first surface pair stay unplaced
    surface = alone.filter(pl.col("onground"))
    lat, lon = surface["latitude"].to_numpy(), surface["longitude"].to_numpy()
    at_cdg = haversine_km(lat, lon, *CDG) < 8.0
    at_lfbo = haversine_km(lat, lon, *LFBO) < 8.0
    assert (at_cdg | at_lfbo).all()  # nothing placed off the airports
    assert at_cdg.sum() >= 1300 and at_lfbo.sum() >= 500
    cdg = surface.filter(pl.Series(at_cdg))
    assert abs(cdg["latitude"].mean() - 49.0) < 0.03 and abs(cdg["longitude"].mean() - 2.55) < 0.05
    assert alone.join(with_receiver, on=alone.columns, how="anti", nulls_equal=True).height == 0  # same positions


def test_single_surface_messages_before_take_off_use_the_next_airborne_fix(sample) -> None:
    msg, length, t, ref = sample
    bds = ref["bds"].to_numpy()
    odd = ref["frame"].map_elements(lambda h: (int(h[13], 16) >> 2) & 1, return_dtype=pl.Int64).to_numpy()
    first_air = np.flatnonzero(bds == "05")[0]
    # lone odd surface messages (never a pair) in the 250 s before take-off, then the airborne ones
    lone = np.flatnonzero((bds == "06") & (odd == 1) & (t >= t[first_air] - 250) & (np.arange(t.size) < first_air))
    air = np.flatnonzero(bds == "05")[:200]
    rows = np.concatenate((lone, air))
    alone = ModeSDecoder().decode(msg[rows], length[rows], t[rows]).filter(pl.col("onground"))
    with_receiver = ModeSDecoder(reference=CDG).decode(msg[rows], length[rows], t[rows]).filter(pl.col("onground"))
    assert lone.size > 20 and alone.height == lone.size
    assert alone.equals(with_receiver)


@pytest.mark.parametrize(("spacing", "placed"), [(600.0, 39), (660.0, 20)])
def test_an_aircraft_parked_for_hours_stays_placed(spacing: float, placed: int) -> None:
    """Pairs every 10 (11) min over 3 h 20 (40) min, never airborne, no receiver: a few airport
    lookups per hour anchor it, every other message decodes against the fixes they give (a lone
    even message 11 min after the last fix is too far from it in time: only the pairs then)."""
    lat, lon = -43.4870, 172.5310
    hexes, t = [], []
    for k in range(20):
        hexes += [surface_frame(0xC81234, lat, lon, odd=False), surface_frame(0xC81234, lat, lon, odd=True)]
        t += [T0 + spacing * k, T0 + spacing * k + 1.0]
    msg, length = frames_of(hexes)
    points = ModeSDecoder().decode(msg, length, np.array(t))
    assert points.height == placed  # with 10 min: all but the very first message (no partner, no reference)
    assert haversine_km(points["latitude"].to_numpy(), points["longitude"].to_numpy(), lat, lon).max() < 0.01
