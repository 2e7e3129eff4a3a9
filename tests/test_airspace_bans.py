"""The bans table: sourced rows, jurisdictions in force on a date, and bad files."""

from __future__ import annotations

import polars as pl
import pytest

from tailwatch.airspace.bans import banned_jurisdictions, banning_rules, load_bans
from tailwatch.ingest.base import BadInput

EU27 = set("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())


def test_every_row_is_sourced():
    bans = load_bans()
    assert bans["source"].null_count() == 0 and bans["as_of"].null_count() == 0
    assert bans["from"].null_count() == 0


def test_russian_operator_in_2024():
    banned = set(banned_jurisdictions(operator_country="RU", when="2024-06-01"))
    assert EU27 <= banned
    assert {"GB", "CA", "US", "NO", "IS", "CH", "AL", "MK", "ME"} <= banned
    assert not banned & {"TR", "RS", "GE", "AM", "AZ", "RU", "BY", "KZ", "AE", "EG", "DZ"}
    assert "UA" in banned  # closed to all civil flights


def test_dates_matter():
    assert banned_jurisdictions(operator_country="RU", when="2022-02-20") == []
    assert "CA" in banned_jurisdictions(operator_country="RU", when="2022-02-27")
    assert "US" not in banned_jurisdictions(operator_country="RU", when="2022-03-01")
    assert "US" in banned_jurisdictions(operator_country="RU", when="2022-03-02")
    assert "ME" not in banned_jurisdictions(operator_country="RU", when="2022-03-03")


def test_registration_country_alone_triggers_and_others_do_not():
    assert "DE" in banned_jurisdictions(registration_country="RU", when="2023-01-01")
    # only closures to all civil traffic (Ukraine since 24 Feb 2022) apply to everyone
    assert banned_jurisdictions(operator_country="KZ", registration_country="KZ", when="2023-01-01") == ["UA"]
    assert banned_jurisdictions(when="2022-02-23") == []
    rows = banning_rules(operator_country="RU", when="2023-01-01").filter(pl.col("jurisdiction") == "FR")
    assert "2022/334" in rows["source"][0]


def test_bad_file_names_the_line(tmp_path):
    path = tmp_path / "bans.csv"
    path.write_text("jurisdiction,applies_to,match,from,to,source,as_of\n"
                    "FR,operator_country,RU,2022-02-28,,x,2026-01-01\n"
                    "FR,airline_colour,RU,2022-02-28,,x,2026-01-01\n")
    with pytest.raises(BadInput, match=r"bans.csv:3"):
        load_bans(path)


def test_packaged_answers_are_the_tables_filter_on_every_rule_boundary():
    """The packaged table's two-level cache (rules matching the aircraft, then those in force on
    the day) gives the rows one filter of the whole table gives, on each rule's first and last
    day and the days either side, for every country the table names and an operator; days with
    the same rules in force share one frame."""
    from datetime import timedelta

    from tailwatch.airspace.bans import _rules

    bans = load_bans()
    days = {None}
    for d in bans["from"].to_list() + bans["to"].to_list():
        if d is not None:
            days |= {d - timedelta(days=1), d, d + timedelta(days=1)}
    countries = sorted({m.upper() for m in bans.filter(pl.col("applies_to") != "operator")["match"].to_list()}
                       - {"*"})
    asked = [(c, c, None) for c in countries] + [("RU", "BY", None), ("", "", None), ("RU", "RU", "Aeroflot")]
    for oc, rc, op in asked:
        by_rules: dict[tuple, pl.DataFrame] = {}
        for day in sorted(days, key=lambda d: (d is not None, d)):
            got = banning_rules(operator_country=oc, registration_country=rc, operator=op, when=day)
            want = _rules(bans, oc, rc, op, day)
            assert got.equals(want), (oc, rc, op, day)
            key = tuple(got.rows())
            if day is not None:
                assert by_rules.setdefault(key, got) is got
    assert banning_rules(operator_country="RU", when="2024-06-01").height > 27
