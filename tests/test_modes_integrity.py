"""Navigation integrity (NIC, NUCp, NACp, SIL, version) against pyModeS and rs1090 on real captures.

pyModeS 3 decodes the raw fields (operational status: version, NIC supplement A, NACp, SIL; target
state: NACp, SIL; positions: NIC supplement B, NUCp) and ships the NIC tables by version
(`pyModeS._uncertainty.TC_NICv1_lookup`, `TC_NICv2_lookup`); its 2.x functions `nic_v1`/`nic_v2` were
those tables applied to the supplements last announced by the aircraft. We apply them the same way,
in plain Python over pyModeS's own decoding, and compare every frame that carries a figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pyModeS
import pytest
import rs1090
from pyModeS import _uncertainty as unc

from tailwatch.archive import scan
from tailwatch.ingest.beast import parse_beast
from tailwatch.ingest.modes.decoder import ModeSDecoder
from tailwatch.ingest.pipeline import ingest_files, read_file

from modes_frames import CDG, frames_of


def _pymodes_nic(tc: int, version: int | None, nic_a: int, nic_bc: int) -> int | None:
    """pyModeS 2's nic_v1 / nic_v2 over pyModeS 3's tables (None where undefined or version 0/unknown)."""
    if version == 1:
        value = unc.TC_NICv1_lookup.get(tc)
        return value.get(nic_a) if isinstance(value, dict) else value
    if version == 2:
        value = unc.TC_NICv2_lookup.get(tc)
        key = 0 if 20 <= tc <= 22 else nic_a * 2 + nic_bc
        return value.get(key) if isinstance(value, dict) else value
    return None


def _check_against_pymodes(hexes: list[str], mine: pl.DataFrame) -> dict[str, int]:
    """Walk the frames in order as pyModeS decodes them; every figure we give must be pyModeS's."""
    status: dict[str, dict] = {}  # last operational status per aircraft (pyModeS's decoding)
    checked = {"status": 0, "target": 0, "position": 0, "nic": 0}
    for row in mine.iter_rows(named=True):
        h = hexes[row["row"]]
        if row["df"] not in (17, 18):
            assert row["nac_p"] is None and row["nic"] is None and row["nuc_p"] is None
            continue
        pm = pyModeS.decode(h)
        tc = pm["typecode"]
        if tc == 31:
            assert (row["adsb_version"], row["nic_a"], row["nac_p"], row["sil"]) == (
                pm["version"], pm["nic_supplement_a"], pm["nac_p"], pm["sil"]), h
            if pm["subtype"] == 1:  # NIC supplement C: bit 20 of the ME, inside the raw capability class
                assert row["nic_c"] == (pm["capability_class"] >> 4) & 1, h
            status[row["icao24"]] = pm
            checked["status"] += 1
        elif tc == 29:
            if pm["subtype"] == 1:
                assert (row["nac_p"], row["sil"]) == (pm["nac_p"], pm["sil"]), h
                checked["target"] += 1
            else:
                assert row["nac_p"] is None
        elif 5 <= tc <= 22 and tc != 19:
            assert row["nuc_p"] == unc.TC_NUCp_lookup[tc], h
            if "nuc_p" in pm:
                assert row["nuc_p"] == pm["nuc_p"], h
            if 9 <= tc <= 22:
                assert row["nic_b"] == pm["nic_b"], h
            last = status.get(row["icao24"])
            if last is None:
                assert row["nic"] is None  # no version announced yet: NIC unknown
            else:
                bc = (last["capability_class"] >> 4) & 1 if tc <= 8 else pm["nic_b"]
                assert row["nic"] == _pymodes_nic(tc, last["version"], last["nic_supplement_a"], bc), h
                checked["nic"] += row["nic"] is not None
            checked["position"] += 1
        else:
            assert row["nac_p"] is None and row["nic"] is None
    return checked


@pytest.fixture(scope="module")
def beast_sample(traffic_samples: Path):
    batch = parse_beast((traffic_samples / "dump1090" / "sample_dump1090.bin").read_bytes(), final=True).modes()
    t = batch.ticks.astype(np.float64) / 12e6
    hexes = [bytes(m[:n]).hex() for m, n in zip(batch.msg, batch.length)]
    return batch, t, hexes


def test_dump1090_integrity_matches_pymodes(beast_sample) -> None:
    batch, t, hexes = beast_sample
    mine = ModeSDecoder().messages(batch.msg, batch.length, t)
    checked = _check_against_pymodes(hexes, mine)
    assert checked["status"] == 4 and checked["target"] == 4 and checked["position"] == 4
    assert checked["nic"] >= 3  # positions after the first operational status
    # rs1090 agrees on the operational status fields
    for row in mine.filter(pl.col("tc") == 31).iter_rows(named=True):
        rs = rs1090.decode(hexes[row["row"]])
        assert (rs["version"], rs["NICa"], rs["NACp"], rs["SIL"]) == (
            row["adsb_version"], row["nic_a"], row["nac_p"], row["sil"])


def test_rs1090_flight_positions_match_pymodes(traffic_samples: Path) -> None:
    """8,324 positions (airborne and surface): NUCp and NIC-B for each; no TC 31 in the capture, so no NIC."""
    ref = pl.read_ndjson(traffic_samples / "rs1090" / "full_flight_short.jsonl", infer_schema_length=None)
    hexes = [f if int(d) >= 16 else f[:14] for f, d in zip(ref["frame"], ref["df"])]
    msg, length = frames_of(ref["frame"].to_list())
    mine = ModeSDecoder(reference=CDG).messages(msg, length, ref["timestamp"].to_numpy())
    es = mine.filter(pl.col("df") == 17)
    checked = _check_against_pymodes(hexes, es)
    assert checked["position"] == 8324 and checked["status"] == 0
    assert mine["nic"].null_count() == mine.height


def test_points_carry_integrity_in_force(beast_sample) -> None:
    """`decode` gives each position the NIC of its type code and the NACp/SIL last announced."""
    batch, t, hexes = beast_sample
    points = ModeSDecoder().decode(batch.msg, batch.length, t)
    assert points.height == 3
    assert points["nic"].to_list() == [8, 8, 8]  # TC 11, version 2, supplements A = B = 0
    assert points["nac_p"].to_list() == [9, 9, 9] and points["sil"].to_list() == [3, 3, 3]
    assert points["nuc_p"].to_list() == [7, 7, 7] and points["adsb_version"].to_list() == [2, 2, 2]
    assert points["rc_m"].to_list() == pytest.approx([185.2] * 3)


def test_integrity_survives_batches(beast_sample) -> None:
    """Split message by message, the carried integrity is the same as in one batch."""
    batch, t, hexes = beast_sample
    whole = ModeSDecoder().decode(batch.msg, batch.length, t)
    decoder = ModeSDecoder()
    parts = [decoder.decode(batch.msg[i:i + 1], batch.length[i:i + 1], t[i:i + 1]) for i in range(len(t))]
    assert pl.concat(parts).equals(whole)


def test_readsb_trace_integrity_is_the_files(traffic_samples: Path) -> None:
    path = traffic_samples / "readsb" / "trace_full_ac671b.json"
    frame, _ = read_file(path)
    rows = json.loads(path.read_text())["trace"]
    last: dict = {}
    expected = []
    for r in rows:  # each carried forward from the last details object holding it, as readsb holds them
        if isinstance(r[8], dict):
            last = last | {k: r[8][k] for k in ("nic", "nac_p", "sil", "rc", "version") if k in r[8]}
        expected.append(dict(last))
    got = frame.select("nic", "nac_p", "sil", "rc_m", "adsb_version").rows()
    assert len(got) == len(expected) == 2500
    assert got == [(e.get("nic"), e.get("nac_p"), e.get("sil"), e.get("rc"), e.get("version")) for e in expected]
    assert frame["nac_p"].drop_nulls().unique().sort().to_list() == [8, 10]


def test_archive_keeps_integrity(traffic_samples: Path, tmp_path: Path) -> None:
    ingest_files([traffic_samples / "readsb" / "trace_full_ac671b.json",
                  traffic_samples / "dump1090" / "sample_dump1090.bin"], tmp_path / "a")
    stored = scan(tmp_path / "a").collect()
    by_source = stored.group_by("source").agg(pl.col("nic").drop_nulls().unique(), pl.col("nac_p").max())
    assert dict(by_source.select("source", "nac_p").iter_rows()) == {"readsb-trace": 10, "beast": 9}
    assert stored.schema["rc_m"] == pl.Float32 and stored.schema["nic"] == pl.UInt8


def test_aircraft_json_integrity(tmp_path: Path) -> None:
    snap = {"now": 1738703622.0, "messages": 10, "aircraft": [
        {"hex": "ac671b", "lat": 16.8, "lon": -88.0, "alt_baro": 32000, "seen_pos": 0.5,
         "nic": 8, "rc": 186, "version": 2, "nac_p": 10, "sil": 3},
        {"hex": "4ca123", "lat": 53.4, "lon": -6.2, "alt_baro": 3000, "seen_pos": 1.0}]}
    path = tmp_path / "aircraft.json"
    path.write_text(json.dumps(snap))
    frame, _ = read_file(path)
    assert sorted(frame.select("icao24", "nic", "nac_p", "sil", "rc_m", "adsb_version").rows()) == [
        ("4ca123", None, None, None, None, None), ("ac671b", 8, 10, 3, 186.0, 2)]
