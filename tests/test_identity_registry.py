"""Registries (OpenSky, OpenSky monthly, tar1090-db, ADS-B Exchange): import, lookups both ways, history."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tailwatch.identity.lookup import aircraft_identity
from tailwatch.identity.registry import (
    by_icao24, by_operator, by_registration, by_serial, import_registry, read_registry, registry,
)
from tailwatch.identity.store import registry_dir
from tailwatch.ingest.base import BadInput

DATA = Path(__file__).parent / "data" / "identity"


def test_opensky_csv():
    frame = read_registry(DATA / "aircraftDatabase.csv")
    rows = {r["icao24"]: r for r in frame.to_dicts()}
    assert rows["143039"]["registration"] == "RA-12345" and rows["143039"]["typecode"] == "IL76"
    assert rows["143039"]["owner"] == "Test Avia Cargo LLC" and rows["143039"]["serialnumber"] == "0093400001"
    assert rows["a061d9"]["model"] == '172S, "Skyhawk"'  # quoted comma and doubled quotes
    assert all(r["source"] == "opensky" for r in rows.values())


def test_opensky_monthly_single_quoted():
    frame = read_registry(DATA / "aircraft-database-complete-2024-06.csv")
    row = frame.filter(frame["icao24"] == "152c97").to_dicts()[0]
    assert row["registration"] == "RA-76951" and row["prev_reg"] == "UR-76951"
    assert row["model"] == "Il-76TD, freighter" and row["snapshot"] == "2024-06"
    assert row["operator"] == "Test Cargo Airline"


def test_tar1090_db_and_adsbx_gzip():
    tar = read_registry(DATA / "aircraft.csv.gz")
    mil = tar.filter(tar["icao24"] == "ae1234").to_dicts()[0]
    assert mil["military"] is True and mil["operator"] == "United States Air Force" and mil["registration"] is None
    assert tar.filter(tar["icao24"] == "151171")["registration"].item() == "RA-70001"
    adsbx = read_registry(DATA / "basic-ac-db.json.gz")
    row = adsbx.filter(adsbx["icao24"] == "730abc").to_dicts()[0]
    assert row["registration"] == "EP-TQC" and row["operator"] == "Test Iran Cargo" and row["built"] == "1991"
    assert adsbx.filter(adsbx["icao24"] == "ae1234")["military"].item() is True


def test_not_a_registry(tmp_path):
    other = tmp_path / "x.csv"
    other.write_text("hello,world\n")
    with pytest.raises(BadInput, match="x.csv: not a known aircraft registry"):
        read_registry(other)


def test_import_twice_and_lookups_both_ways(tmp_path):
    archive = tmp_path / "a"
    for name in ("aircraft-database-complete-2022-01.csv", "aircraft-database-complete-2024-06.csv"):
        kind, rows, fresh = import_registry(DATA / name, archive)
        assert kind == "opensky-complete" and fresh
    assert import_registry(DATA / "aircraft-database-complete-2024-06.csv", archive)[2] is False
    assert len(list(registry_dir(archive).glob("*.parquet"))) == 2
    rows = registry(archive)
    assert by_icao24(rows, "152C97")["registration"].to_list() == ["RA-76951"]
    # the registration changed hands: UR-76951 was 508001, then became RA-76951 on 152c97
    hist = by_registration(rows, "ur76951")
    assert hist["icao24"].to_list() == ["508001", "152c97"]
    assert hist["snapshot"].to_list() == ["2022-01", "2024-06"]
    assert by_serial(rows, "0073-499998")["icao24"].to_list() == ["508001", "152c97"]
    assert by_operator(rows, ["TEST CARGO AIRLINE LLC"])["icao24"].to_list() == ["152c97"]


def test_whois_history_with_archive(tmp_path):
    archive = tmp_path / "a"
    for name in ("aircraft-database-complete-2022-01.csv", "aircraft-database-complete-2024-06.csv"):
        import_registry(DATA / name, archive)
    ident = aircraft_identity("RA-76951", archive)
    assert ident["icao24"] == "152c97" and ident["found_by"]["icao24"] == "opensky-complete registry 2024-06"
    assert ident["typecode"] == "IL76" and ident["operator"] == "Test Cargo Airline"
    assert [(h["snapshot"], h["icao24"], h["registration"]) for h in ident["history"]] == [
        ("2022-01", "508001", "UR-76951"), ("2024-06", "152c97", "RA-76951")]
    old = aircraft_identity("508001", archive)
    assert old["registration"] == "UR-76951" and old["country"] == "UA"


def test_registry_and_rule_disagree(tmp_path):
    """A registry record wins over the allocation rule, and whois says that the two differ."""
    header = (DATA / "aircraft-database-complete-2024-06.csv").read_text().splitlines()[0]
    row = ("'1533ae','2024-06-01 00:00:00',0,0,,'',Russia,'',,,L4J,'',ILYUSHIN,'Ilyushin',Il-76TD,0,'','',"
           "'Test Operator','','','','',,,,RA-78765,'','','',IL76,0")
    path = tmp_path / "aircraft-database-complete-2024-07.csv"
    path.write_text(header + "\n" + row + "\n")
    archive = tmp_path / "a"
    import_registry(path, archive)
    ident = aircraft_identity("RA-78765", archive)
    assert ident["icao24"] == "1533ae"
    assert "1533ad" in ident["found_by"]["rule"]


def test_identities_of_a_batch_are_each_aircraft_alone(tmp_path, traffic_samples):
    """A batch of addresses gets, for each, exactly the object a lookup of that address alone
    gives (key order included: documents are compared byte for byte), with every registry, list
    and recording of the archive read once for all of them (real FR24 claims, the test lists)."""
    import json

    from tailwatch.identity.lookup import identities_of
    from tailwatch.identity.resolve import identities, identity_or_none
    from tailwatch.identity.watchlist import archive_watchlist, import_files
    from tailwatch.ingest.pipeline import ingest_files
    from tailwatch.seen_store import read_seen

    archive = tmp_path / "a"
    import_files([DATA / name for name in (
        "aircraftDatabase.csv", "aircraft-database-complete-2022-01.csv", "aircraft-database-complete-2024-06.csv",
        "aircraft.csv.gz", "basic-ac-db.json.gz", "sdn.xml", "sdn.csv", "handlist.csv", "opensanctions.ftm.json")],
        archive)
    ingest_files(sorted((traffic_samples / "fr24").glob("*.json")), archive)
    watch = archive_watchlist(archive)
    addresses = (set(registry(archive).collect()["icao24"].to_list()) | set(read_seen(archive)["icao24"].to_list())
                 | set(watch["icao24"].drop_nulls().to_list())
                 | {c["icao24"] for cs in watch["candidates"].to_list() if cs for c in cs})
    assert len(addresses) >= 15
    addresses = sorted(addresses | {"000000", "ffffff"})  # unallocated, and an address nothing names
    batch = identities_of(addresses, archive)
    alone = {a: identities_of([a], archive)[a] for a in addresses}
    assert json.dumps(batch) == json.dumps(alone)
    # what the batch found, from each source
    assert [e["id"] for e in batch["1533ad"]["watchlists"]][:3] == ["seed-ra-78765", "90001", "handlist.csv:2"]
    assert [(h["snapshot"], h["icao24"]) for h in batch["152c97"]["history"]] == [("2022-01", "508001"),
                                                                                  ("2024-06", "152c97")]
    assert batch["4b1901"]["recorded"]["registration"] == "HB-JMF"  # the FR24 file's own claim
    assert batch["ffffff"] is None
    # the engines' batch resolves each as `identity_or_none` resolves it alone
    assert json.dumps(identities(archive, addresses, {})) == json.dumps(
        {a: identity_or_none(a, archive) for a in addresses})


def test_fleets_of_a_batch_read_the_registries_once(tmp_path):
    """Every aircraft's operator fleet from one read of the registries: the addresses `by_operator`
    finds for its operator alone (operator or owner, compared by name key), itself left out."""
    from tailwatch.identity.fleets import fleets

    archive = tmp_path / "a"
    for name in ("aircraftDatabase.csv", "aircraft-database-complete-2022-01.csv",
                 "aircraft-database-complete-2024-06.csv", "aircraft.csv.gz", "basic-ac-db.json.gz"):
        import_registry(DATA / name, archive)
    rows = registry(archive)
    known = rows.collect().filter(pl.col("operator").is_not_null() | pl.col("owner").is_not_null())
    aircraft = [{"icao24": h, "operator": op} for h, op in known.select("icao24", "operator").iter_rows()]
    aircraft += [{"icao24": "abcdef", "operator": "test avia cargo"},  # a spelling of an owner only
                 {"icao24": "fedcba", "operator": "LLC"}, {"icao24": "000001"}]  # a legal form alone; none
    got = fleets(archive, aircraft)
    for a in aircraft:
        alone = by_operator(rows, [a["operator"]]) if a.get("operator") else None
        want = [] if alone is None else sorted({h for h in alone["icao24"].drop_nulls().to_list() if h != a["icao24"]})
        assert got[a["icao24"]] == want, a
    assert "143039" in got["abcdef"] and got["fedcba"] == got["000001"] == []
    assert any(len(f) > 0 for f in got.values())
