"""ModeSDecoder state: batches, confirmed addresses, CPR windows, references, carried values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailwatch.ingest.base import Rejects
from tailwatch.ingest.beast import BeastReader, parse_beast
from tailwatch.ingest.modes.crc import with_address
from tailwatch.ingest.modes.decoder import ModeSDecoder
from tailwatch.ingest.modes.decoder import DECODED_SCHEMA

from modes_frames import CDG, frames_of


@pytest.fixture(scope="module")
def flight(traffic_samples: Path):
    ref = pl.read_ndjson(traffic_samples / "rs1090" / "full_flight_short.jsonl", infer_schema_length=None)
    msg, length = frames_of(ref["frame"].to_list())
    return msg, length, ref["timestamp"].to_numpy(), ref


@pytest.fixture(scope="module")
def whole(flight) -> pl.DataFrame:
    msg, length, t, _ = flight
    return ModeSDecoder(reference=CDG, source="test").decode(msg, length, t)


def test_points_are_canonical_and_carry_identity(whole: pl.DataFrame, flight) -> None:
    assert whole.schema == pl.Schema(DECODED_SCHEMA)
    assert whole.height == 8324
    assert whole["timestamp"].is_sorted()
    assert whole["callsign"].drop_nulls().unique().to_list() == ["AFR34ZG"]
    assert whole["callsign"].null_count() <= 2  # only the very first positions precede the first identification
    assert set(whole["squawk"].drop_nulls().unique()) >= {"1000"}
    airborne = whole.filter(~pl.col("onground"))
    surface = whole.filter(pl.col("onground"))
    assert airborne["altitude"].null_count() == 0 and surface["altitude"].null_count() == surface.height
    assert airborne["groundspeed"].drop_nulls().is_between(100, 600).all()
    assert airborne["vertical_rate"].null_count() < airborne.height * 0.01
    assert surface["groundspeed"].drop_nulls().max() < 200


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, 9000), min_size=1, max_size=12))
def test_any_batching_gives_the_same_points(flight, whole: pl.DataFrame, sizes: list[int]) -> None:
    msg, length, t, _ = flight
    dec = ModeSDecoder(reference=CDG, source="test")
    cuts = np.cumsum(sizes)
    cuts = [0] + [int(c) for c in cuts if c < len(t)] + [len(t)]
    parts = [dec.decode(msg[a:b], length[a:b], t[a:b]) for a, b in zip(cuts, cuts[1:])]
    assert pl.concat(parts).sort("timestamp", "icao24").equals(whole)


def test_surface_positions_without_a_receiver_are_placed_at_the_airport(flight) -> None:
    msg, length, t, _ = flight
    n = 2000  # taxi at CDG only: never seen airborne
    without = ModeSDecoder().decode(msg[:n], length[:n], t[:n])
    with_ref = ModeSDecoder(reference=CDG).decode(msg[:n], length[:n], t[:n])
    per_call = ModeSDecoder().decode(msg[:n], length[:n], t[:n], reference=CDG)
    assert with_ref.height > 100 and with_ref.equals(per_call)
    assert with_ref["onground"].all()
    # without a receiver: the global pairs choose the candidate at CDG; only the messages before
    # the first even/odd pair stay unplaced, every other position is the one the receiver gives
    assert with_ref.height - 5 <= without.height < with_ref.height
    assert without.join(with_ref, on=without.columns, how="anti", nulls_equal=True).height == 0


def test_pairs_further_apart_than_the_window_do_not_decode(flight) -> None:
    msg, length, t, ref = flight
    airborne = np.flatnonzero((ref["bds"] == "05").to_numpy())[:40]
    spread = np.arange(airborne.size) * 11.0  # 11 s between consecutive position messages
    out = ModeSDecoder().decode(msg[airborne], length[airborne], 1.7e9 + spread)
    assert out.height == 0
    close = ModeSDecoder().decode(msg[airborne], length[airborne], 1.7e9 + spread / 11.0)
    assert close.height >= 30  # all but the messages before the first even/odd pair


def test_address_parity_replies_need_a_confirmed_address(flight) -> None:
    msg, length, t, ref = flight
    df = ref["df"].to_numpy()
    df4 = np.flatnonzero(df == "4")[:5]
    df17 = np.flatnonzero(df == "17")[:1]
    dec = ModeSDecoder()
    m = dec.messages(msg[df4], length[df4], t[df4])
    assert m.height == 0 and dec.rejects["unconfirmed address"] == 5
    order = np.concatenate((df17, df4))
    m = ModeSDecoder().messages(msg[order], length[order], np.sort(t[order]))
    assert m.height == 6 and set(m["icao24"]) == {"393322"}
    # confirmation carries over to the next batch
    dec = ModeSDecoder()
    dec.messages(msg[df17], length[df17], t[df17])
    assert dec.messages(msg[df4], length[df4], t[df4]).height == 5


def test_corrupted_extended_squitter_is_rejected(flight) -> None:
    msg, length, t, ref = flight
    idx = np.flatnonzero((ref["df"] == "17").to_numpy())[:50]
    bad = msg[idx].copy()
    bad[:, 6] ^= 0x10  # one bit flipped in the ME field
    dec = ModeSDecoder(reference=CDG)
    m = dec.messages(bad, length[idx], t[idx])
    assert m.height == 0
    assert dec.rejects["bad parity (CRC)"] == 50
    assert sorted(dec.last_rejected.tolist()) == list(range(50))


def test_wrong_length_is_rejected() -> None:
    msg = np.zeros((1, 14), np.uint8)
    msg[0, :14] = np.frombuffer(bytes.fromhex("8d4840d6202cc371c32ce0576098"), np.uint8)
    dec = ModeSDecoder()
    assert dec.messages(msg, np.array([7]), np.array([0.0])).height == 0
    assert dec.rejects["length does not match downlink format"] == 1


def test_live_style_feeding_matches_the_file_reader(traffic_samples: Path) -> None:
    """Socket-sized chunks through parse_beast and one decoder give the reader's points."""
    path = traffic_samples / "dump1090" / "sample_dump1090.bin"
    data = path.read_bytes()
    dec = ModeSDecoder(source="beast")
    t0 = 1.6e9
    first_tick = None
    carry, offset, out = b"", 0, []
    rng = np.random.default_rng(7)
    pos = 0
    while pos < len(data):
        step = int(rng.integers(1, 300))
        buf = carry + data[pos : pos + step]
        pos += step
        batch = parse_beast(buf, offset0=offset).modes()
        carry, offset = buf[batch.consumed :], offset + batch.consumed
        if len(batch):
            first_tick = int(batch.ticks[0]) if first_tick is None else first_tick
            t = t0 + (batch.ticks.astype(np.int64) - first_tick) / 12e6
            out.append(dec.decode(batch.msg, batch.length, t))
    live = pl.concat(out)
    ref = pl.concat(list(BeastReader(anchor=t0).read(path, Rejects())))
    assert live.equals(ref.drop("time_assumed"))  # the reader adds whether times were assumed (not here: anchored)
    assert not ref["time_assumed"].any()


def test_empty_batches_are_fine() -> None:
    dec = ModeSDecoder()
    out = dec.decode(np.zeros((0, 14), np.uint8), np.zeros(0, np.uint8), np.zeros(0))
    assert out.height == 0 and out.schema == pl.Schema(DECODED_SCHEMA)


def test_messages_without_time_are_rejected(flight) -> None:
    msg, length, t, _ = flight
    t = t[:200].copy()
    t[::2] = np.nan
    dec = ModeSDecoder(reference=CDG)
    out = dec.decode(msg[:200], length[:200], t)
    assert dec.rejects["no valid time"] >= 90
    assert out["timestamp"].is_not_null().all() and out.height > 0


def test_a_fix_jumping_away_is_dropped(flight) -> None:
    """A position message with valid parity but a wrong CPR (as an undetected corruption) is not kept."""
    from tailwatch.ingest.modes.crc import syndrome

    msg, length, t, ref = flight
    idx = np.flatnonzero((ref["bds"] == "05").to_numpy())[1000:1200]
    base = ModeSDecoder().decode(msg[idx], length[idx], t[idx])
    bad = msg[idx].copy()
    k = 100
    bad[k, 7] ^= 0x40  # flip a high latitude CPR bit: ~1/4 zone away
    bad[k, 11:14] = 0
    crc = syndrome(bad[k : k + 1], length[idx][k : k + 1])[0]
    bad[k, 11:14] = [(crc >> 16) & 0xFF, (crc >> 8) & 0xFF, crc & 0xFF]
    dec = ModeSDecoder()
    out = dec.decode(bad, length[idx], t[idx])
    assert dec.rejects["position inconsistent with its neighbours (speed)"] >= 1
    from tailwatch.ingest.beast import report_rejects

    rejects = Rejects()
    report_rejects(dec, rejects, lambda i: f"capture:{i}")
    assert rejects.counts["position inconsistent with its neighbours (speed)"] >= 1
    assert f"capture:{k}: position inconsistent with its neighbours (speed)" in rejects.examples
    assert out.height >= base.height - 2
    # every kept point is one of the clean decoding's points
    assert out.join(base, on=["timestamp", "latitude", "longitude"], how="anti").height == 0


def test_interleaved_aircraft_decode_as_if_alone(flight) -> None:
    """Five copies of the flight under other addresses, interleaved in time, each decode like the original."""
    msg, length, t, _ = flight
    n = 12000
    alone = ModeSDecoder(reference=CDG).decode(msg[:n], length[:n], t[:n])
    addresses = [0x4CA1F0, 0x000001, 0xABCDEF, 0x3C6544, 0xFFFFFE]
    parts = [(with_address(msg[:n], length[:n], a), t[:n] + 3.1 * i) for i, a in enumerate(addresses)]
    all_msg = np.concatenate([p[0] for p in parts])
    all_len = np.tile(length[:n], len(parts))
    all_t = np.concatenate([p[1] for p in parts])
    order = np.argsort(all_t, kind="stable")
    dec = ModeSDecoder(reference=CDG)
    mixed = pl.concat(
        [dec.decode(all_msg[order][i : i + 7000], all_len[order][i : i + 7000], all_t[order][i : i + 7000])
         for i in range(0, order.size, 7000)]
    )
    assert dec.rejects == {} or set(dec.rejects) == {"unconfirmed address"}
    for i, a in enumerate(addresses):
        mine = mixed.filter(pl.col("icao24") == f"{a:06x}")
        assert mine.height == alone.height
        assert ((mine["latitude"] - alone["latitude"]).abs().max() or 0.0) < 1e-9
        assert mine["callsign"].to_list() == alone["callsign"].to_list()
        shift = (mine["timestamp"] - alone["timestamp"]).dt.total_microseconds()
        assert (shift - round(3.1 * i * 1e6)).abs().max() <= 1



@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=14, max_size=14 * 300), st.integers(0, 2**32 - 1))
def test_random_messages_never_crash(data: bytes, seed: int) -> None:
    """Noise through the decoder, batch after batch: rejections and possibly points, never an exception."""
    rng = np.random.default_rng(seed)
    msg = np.frombuffer(data[: len(data) // 14 * 14], np.uint8).reshape(-1, 14)
    length = rng.choice(np.array([2, 7, 14], np.uint8), size=msg.shape[0])
    t = np.sort(rng.uniform(1.7e9, 1.7e9 + 60, size=msg.shape[0]))
    dec = ModeSDecoder(reference=CDG)
    half = msg.shape[0] // 2
    for sl in (slice(0, half), slice(half, None)):
        out = dec.decode(msg[sl], length[sl], t[sl])
        assert out.schema == pl.Schema(DECODED_SCHEMA)
    assert dec.messages_seen == msg.shape[0]
