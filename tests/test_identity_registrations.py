"""Registration <-> address rules (tar1090 registrations.js facts), with property tests."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailwatch.identity.icao_blocks import country_of
from tailwatch.identity.registrations import (
    FULL, LIMITED, N_COUNT, N_FIRST, NUMERIC_RULES, STRIDE_RULES, icao_from_registration, icao_to_n_number,
    n_number_to_icao, normalize_registration, registration_country, registration_from_icao,
)


@pytest.mark.parametrize(
    ("text", "norm"),
    [("RA78765", "RA-78765"), ("ra-78765", "RA-78765"), ("RA 78765", "RA-78765"), ("N-12345", "N12345"),
     ("n12345", "N12345"), ("JA-8089", "JA8089"), ("EPGOL", "EP-GOL"), ("ep-gol", "EP-GOL"),
     ("VPBAB", "VP-BAB"), ("4KAZ01", "4K-AZ01"), ("9XRABC", "9XR-ABC"), ("DAIAB", "D-AIAB"), ("", None),
     (None, None)],
)
def test_normalize(text, norm):
    assert normalize_registration(text) == norm


def test_registration_country():
    assert registration_country("RA-78765") == "RU"
    assert registration_country("N12345") == "US"
    assert registration_country("VP-BAB") == "BM"
    assert registration_country("EP-GOL") == "IR"


@pytest.mark.parametrize(
    ("registration", "icao24"),
    [("RA-78765", "1533ad"), ("N12345", "a061d9"), ("N1", "a00001"), ("N99999", "adf7c7"), ("N1A", "a00002"),
     ("RA-00000", "140000"), ("RA-99999", "15869f"), ("CU-T1000", "0b03e8")],
)
def test_known_pairs(registration, icao24):
    assert icao_from_registration(registration).icao24 == icao24
    assert registration_from_icao(icao24).registration == registration


def test_no_rule():
    assert icao_from_registration("EP-GOL") is None  # Iran publishes no rule
    assert registration_from_icao("730abc") is None
    assert registration_from_icao("adf7c8") is None  # above the N-number space
    assert icao_from_registration("N0123") is None and icao_from_registration("N123456") is None
    assert icao_from_registration("N1234AB") is None and icao_from_registration("N1I") is None


def _n_numbers():
    """Every N-number by the FAA's grammar, independently of the rule module."""
    for n_digits in range(1, 6):
        for first in "123456789":
            for rest in itertools.product("0123456789", repeat=n_digits - 1):
                base = "N" + first + "".join(rest)
                yield base
                if n_digits <= 4:
                    for a in LIMITED:
                        yield base + a
                        if n_digits <= 3:
                            for b in LIMITED:
                                yield base + a + b


def test_n_number_round_trip_whole_space():
    """Exhaustive: N1 = a00001 ... N99999 = adf7c7, every address one N-number and back, in FAA order."""
    by_address = [icao_to_n_number(a) for a in range(N_FIRST, N_FIRST + N_COUNT)]
    assert by_address[0] == "N1" and by_address[-1] == "N99999"
    assert all(n_number_to_icao(r) == N_FIRST + i for i, r in enumerate(by_address))
    grammar = list(_n_numbers())
    assert len(grammar) == N_COUNT == len(set(by_address))
    # the allocation order: end of string < letters < digits, position by position
    rank = {c: i + 1 for i, c in enumerate(LIMITED + "0123456789")}
    assert sorted(grammar, key=lambda r: [rank[c] for c in r[1:]] + [0]) == by_address
    assert icao_to_n_number(N_FIRST - 1) is None and icao_to_n_number(N_FIRST + N_COUNT) is None


@settings(max_examples=300, deadline=None)
@given(st.integers(0, N_COUNT - 1))
def test_n_number_property(offset):
    address = N_FIRST + offset
    match = registration_from_icao(f"{address:06x}")
    assert match.rule == "US N-number"
    assert icao_from_registration(match.registration.lower()).icao24 == f"{address:06x}"
    assert country_of(match.icao24) == "US"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NUMERIC_RULES), st.data())
def test_numbered_blocks_round_trip(rule, data):
    number = data.draw(st.integers(rule.first, rule.first + rule.count - 1))
    reg = f"{rule.prefix}{number:0{rule.digits}d}"
    match = icao_from_registration(reg.replace("-", ""))
    assert int(match.icao24, 16) == rule.start + number - rule.first
    assert registration_from_icao(match.icao24).registration == reg
    assert country_of(match.icao24) == registration_country(reg)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(STRIDE_RULES), st.data())
def test_stride_blocks_round_trip(rule, data):
    suffix = data.draw(st.text(alphabet=FULL, min_size=3, max_size=3).filter(lambda s: rule.first <= s <= rule.last))
    match = icao_from_registration(rule.prefix + suffix)
    assert match is not None and rule.start <= int(match.icao24, 16) <= rule.end
    assert registration_from_icao(match.icao24).registration == rule.prefix + suffix
    assert country_of(match.icao24) == registration_country(rule.prefix + suffix)


@settings(max_examples=300, deadline=None)
@given(st.integers(0x840000, 0x840000 + 229839))
def test_japan_round_trip(address):
    match = registration_from_icao(f"{address:06x}")
    if (address - 0x840000) % 22984 >= 9160:  # second digit would be 10+: no JA registration
        assert match is None
        return
    assert match.registration.startswith("JA") and len(match.registration) == 6
    assert icao_from_registration(match.registration).icao24 == f"{address:06x}"


@pytest.mark.parametrize("address", [0x71BA00, 0x71BF99, 0x71C000, 0x71C099, 0x71C200, 0x71C299])
def test_korea_round_trip(address):
    match = registration_from_icao(f"{address:06x}")
    assert match.registration.startswith("HL")
    assert icao_from_registration(match.registration).icao24 == f"{address:06x}"
