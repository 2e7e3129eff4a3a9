"""Sanctions lists and hand lists -> watchlist entries -> resolved addresses with evidence.

Fixtures in tests/data/identity are hand-written in each real format from its
published description (OFAC sdn.xml / SDN_ADVANCED.XML / sdn.csv set, FollowTheMoney
JSON lines, OpenSky / tar1090-db / ADS-B Exchange registries).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from tailwatch.identity.sanctions import parse_aircraft_remarks
from tailwatch.identity.watchlist import (
    detect_list, import_files, load_watchlist, read_entries, resolve, seed_entries, stored_entries,
)
from tailwatch.ingest.base import BadInput

DATA = Path(__file__).parent / "data" / "identity"
REGISTRIES = ["aircraftDatabase.csv", "aircraft-database-complete-2022-01.csv",
              "aircraft-database-complete-2024-06.csv", "aircraft.csv.gz", "basic-ac-db.json.gz"]


@pytest.fixture()
def archive_with_registries(tmp_path):
    archive = tmp_path / "archive"
    import_files([DATA / name for name in REGISTRIES], archive)
    return archive


def _row(frame: pl.DataFrame, entry_id: str) -> dict:
    rows = frame.filter(pl.col("entry_id") == entry_id).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def test_detect_formats():
    assert detect_list(DATA / "sdn.xml") == "ofac-sdn-xml"
    assert detect_list(DATA / "SDN_ADVANCED.XML") == "ofac-advanced"
    assert detect_list(DATA / "sdn.csv") == "ofac-sdn-csv"
    assert detect_list(DATA / "opensanctions.ftm.json") == "ftm"
    assert detect_list(DATA / "handlist.csv") == "plain-csv"
    assert detect_list(DATA / "aircraft.csv.gz") == "registry:tar1090-db"
    assert detect_list(DATA / "basic-ac-db.json.gz") == "registry:adsbx"
    assert detect_list(DATA / "aircraftDatabase.csv") == "registry:opensky"
    assert detect_list(DATA / "aircraft-database-complete-2024-06.csv") == "registry:opensky-complete"


def test_sdn_xml_acceptance():
    """IL76-TD with tail RA-78765 resolves to 1533ad by rule; Iranian tail + MSN only stays listed, unresolved."""
    watch = load_watchlist(DATA / "sdn.xml")
    il76 = _row(watch, "90001")
    assert il76["icao24"] == "1533ad" and il76["country"] == "RU"
    assert il76["model"] == "IL76-TD" and il76["operator"] == "AVIACON ZITOTRANS"
    assert il76["program"] == "RUSSIA-EO14024"
    assert "rule" in il76["evidence"] and il76["confidence"] == pytest.approx(0.85)
    iranian = _row(watch, "90003")
    assert iranian["icao24"] is None and iranian["candidates"] == []
    assert iranian["registrations"] == ["EP-TQA"] and iranian["msn"] == "0093499999"  # curly apostrophe label
    assert iranian["program"] == "SDGT; IRGC"
    assert "unresolved" in iranian["evidence"]
    operator = _row(watch, "90002")
    assert operator["kind"] == "operator" and operator["icao24"] is None
    assert watch.filter(pl.col("name") == "Test PERSON").is_empty()  # individuals are not aircraft


def test_sdn_advanced_resolves_ids_through_reference_sets():
    entries = read_entries(DATA / "SDN_ADVANCED.XML")
    plane = _row(entries, "91001")
    assert plane["registrations"] == ["RA-76950"] and plane["previous_registrations"] == ["UR-76950"]
    assert plane["mode_s"] == "152c96" and plane["msn"] == "0073499999"
    assert plane["model"] == "IL76-TD" and plane["operator"] == "TEST CARGO AIRLINE"
    assert plane["listing_date"] == "2023-01-26" and plane["program"] == "RUSSIA-EO14024"
    airline = _row(entries, "91002")
    assert airline["kind"] == "operator" and airline["reason"] == "operator listed: TEST CARGO AIRLINE"
    resolved = _row(resolve(entries), "91001")
    assert resolved["icao24"] == "152c96"
    assert resolved["confidence"] > 0.95  # the list's Mode S code and the RA- rule agree
    assert "Mode S code 152C96 on the list" in resolved["evidence"]


def test_sdn_csv_set_with_comments_and_aliases():
    entries = read_entries(DATA / "sdn.csv")
    plane = _row(entries, "90101")
    assert plane["registrations"] == ["RA-76951"]
    assert plane["previous_registrations"] == ["4K-AZ999", "UR-76951"]  # Remarks + alt.csv
    assert plane["msn"] == "0073499998" and plane["operator"] == "TEST CARGO AIRLINE"
    iranian = _row(entries, "90103")
    assert iranian["mode_s"] == "73ab12" and iranian["model"] == "IL76-TD"  # model from sdn_comments.csv
    assert iranian["program"] == "SDGT; IRGC"
    assert _row(entries, "90102")["kind"] == "operator"
    assert entries.filter(pl.col("entry_id") == "90104").is_empty()


def test_remarks_parser_both_apostrophes():
    straight = parse_aircraft_remarks("Aircraft Manufacturer's Serial Number (MSN) 123; Aircraft Tail Number EP-ABC")
    curly = parse_aircraft_remarks("Aircraft Manufacturer\u2019s Serial Number (MSN) 123; Aircraft Mode S Transponder "
                                   "Code 7301A2; Previous Aircraft Tail Number EP-XYZ (aircraft) [SDGT].")
    assert straight["msn"] == ["123"] and straight["tail"] == ["EP-ABC"]
    assert curly["msn"] == ["123"] and curly["mode_s"] == ["7301A2"] and curly["previous_tail"] == ["EP-XYZ"]


def test_ftm_airplanes_and_listed_operators(archive_with_registries):
    entries = read_entries(DATA / "opensanctions.ftm.json")
    plane = _row(entries, "t-plane-1")
    assert plane["registrations"] == ["RA-12345"] and plane["mode_s"] == "143039"  # told apart
    assert plane["program"] == "RUSSIA-EO14024" and plane["listing_date"] == "2023-01-26"
    assert plane["operator"] == "Test Avia Cargo LLC"
    kinds = dict(zip(entries["entry_id"], entries["kind"]))
    assert kinds["t-co-avia"] == "operator"  # listed and operates a listed aircraft
    assert kinds["t-co-sub"] == "operator"  # an airline owned by a listed company
    assert "t-co-parent" not in kinds  # a listed holding with no aviation business is not an operator
    watch = resolve(entries, archive_with_registries)
    fleet = _row(watch, "t-co-sub/151171")
    assert fleet["registrations"] == ["RA-70001"] and fleet["reason"] == "operator owned by listed Test Holding Group"
    assert "operator Test Sub Airlines" in fleet["evidence"]
    assert _row(watch, "t-plane-2")["icao24"] == "730abc"  # resolved through the ADS-B Exchange registry
    avia = _row(watch, "t-co-avia/143039")
    assert avia["reason"] == "operator listed: Test Avia Cargo LLC"


def test_registry_evidence_and_history(archive_with_registries):
    watch = resolve(read_entries(DATA / "sdn.csv"), archive_with_registries)
    plane = _row(watch, "90101")
    assert plane["icao24"] == "152c97"
    addresses = {c["icao24"]: c for c in plane["candidates"]}
    assert "508001" in addresses  # the earlier Ukrainian address of the same airframe
    assert addresses["508001"]["confidence"] < addresses["152c97"]["confidence"]
    assert "MSN 0073499998 and model" in addresses["152c97"]["evidence"]
    assert plane["confidence"] > 0.95


def test_plain_csv_and_errors(tmp_path):
    watch = load_watchlist(DATA / "handlist.csv")
    assert watch["icao24"].to_list() == ["1533ad", "4b1805", "a061d9"]
    assert watch["note"][0] == "the Il-76TD in the photo"
    bad = tmp_path / "bad.csv"
    bad.write_text("registration,icao24,note\nRA-78765,,ok\n,xyz123,bad hex\n")
    with pytest.raises(BadInput, match=r"bad.csv:3: icao24 'xyz123'"):
        read_entries(bad)
    empty_row = tmp_path / "empty.csv"
    empty_row.write_text("registration,icao24,note\n,,nothing\n")
    with pytest.raises(BadInput, match=r"empty.csv:2"):
        read_entries(empty_row)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(BadInput, match="not a watchlist"):
        read_entries(other)


def test_entity_expansion_bomb_refused():
    with pytest.raises(BadInput, match=r"bomb.xml: XML refused.*EntitiesForbidden"):
        read_entries(DATA / "bomb.xml")


def test_truncated_xml_names_file(tmp_path):
    broken = tmp_path / "sdn.xml"
    broken.write_bytes((DATA / "sdn.xml").read_bytes()[:700])
    with pytest.raises(BadInput, match=r"sdn.xml: not well-formed XML"):
        read_entries(broken)


def test_import_is_idempotent_and_keeps_entries(tmp_path):
    archive = tmp_path / "a"
    first = import_files([DATA / "sdn.xml", DATA / "handlist.csv"], archive)
    assert [r["new"] for r in first] == [3, 3]
    again = import_files([DATA / "sdn.xml"], archive)
    assert again[0]["new"] == 0
    stored = stored_entries(archive)
    assert stored.height == 6
    # a copy of the same list under another name updates, it does not duplicate
    shutil.copy(DATA / "sdn.xml", tmp_path / "sdn-copy.xml")
    import_files([tmp_path / "sdn-copy.xml"], archive)
    assert stored_entries(archive).height == 6


def test_seed_list_is_sourced():
    seed = seed_entries()
    assert seed.height >= 1
    assert seed["source"].null_count() == 0 and seed["as_of"].null_count() == 0
    resolved = resolve(seed)
    il76 = resolved.filter(pl.col("registrations").list.contains("RA-78765")).to_dicts()[0]
    assert il76["icao24"] == "1533ad" and il76["operator"] == "Aviacon Zitotrans"
    assert il76["mode_s"] is None  # the seed gives no address; the rule does


def test_csv_set_parts_point_to_sdn_csv():
    with pytest.raises(BadInput, match="alt.csv: part of OFAC's CSV set"):
        read_entries(DATA / "alt.csv")
