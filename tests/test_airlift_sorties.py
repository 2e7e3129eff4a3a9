"""Cargo sets and the sortie planner."""

from __future__ import annotations

import csv
from importlib.resources import files

import pytest

from tailwatch.airlift.cargo import known_sets, load_cargo, merge_masses, read_cargo_file
from tailwatch.airlift.payload import leg_payload
from tailwatch.airlift.report import airlift_report
from tailwatch.airlift.sorties import CargoDoesNotFit, Hold, plan_sorties
from tailwatch.airlift.types import aircraft_type
from tailwatch.ingest.base import BadInput

IL76 = Hold.of(aircraft_type("IL76"))


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_sixty_shaheds_fly_in_one_il76_sortie_on_any_leg_up_to_5500_km():
    drones = load_cargo("shahed-136").scaled(60)
    assert drones.known_mass_t == pytest.approx(12.0)
    for km in range(250, 5501, 250):
        plan = plan_sorties(drones, leg_payload("IL76", km).max_payload_t, IL76)
        assert plan.count == 1, km
        assert plan.sorties[0].items == {"Shahed-136 one-way attack drone": 60}
        assert plan.sorties[0].mass_t == pytest.approx(12.0)


def test_sixty_generic_200_kg_drones_from_a_user_file(tmp_path):
    f = write_csv(tmp_path / "drones.csv", ["item", "quantity", "mass_kg", "source"], [["drone", 60, 200, "test"]])
    cargo = read_cargo_file(f)
    report = airlift_report("IL76", [951, 3000, 5500], cargo=cargo)
    assert [leg["sorties"]["sorties"] for leg in report["legs"]] == [1, 1, 1]


def test_an_item_longer_than_the_hold_is_refused_with_a_clear_message(tmp_path):
    f = write_csv(tmp_path / "rail.csv", ["item", "mass_kg", "length_m"], [["rail section", 1000, 30]])
    with pytest.raises(CargoDoesNotFit, match=r"refused: 'rail section' is 30 m long: longer than the IL76TD hold floor \(20 m\)"):
        plan_sorties(read_cargo_file(f), 50.0, IL76)
    assert plan_sorties(read_cargo_file(f), 120.0, Hold.of(aircraft_type("A124"))).count == 1  # 36.5 m hold


def test_wide_items_turn_but_vehicles_do_not(tmp_path):
    f = write_csv(tmp_path / "c.csv", ["item", "kind", "mass_kg", "length_m", "width_m"],
                  [["crate", "item", 500, 3.0, 4.0]])
    assert plan_sorties(read_cargo_file(f), 50.0, IL76).count == 1  # 4 m wide crate turned: 3 m across
    g = write_csv(tmp_path / "v.csv", ["item", "kind", "mass_kg", "length_m", "width_m"],
                  [["truck", "vehicle", 5000, 3.0, 4.0]])
    with pytest.raises(CargoDoesNotFit, match="wider than the IL76TD hold"):
        plan_sorties(read_cargo_file(g), 50.0, IL76)


def test_vehicles_fill_the_floor_before_the_mass_limit(tmp_path):
    f = write_csv(tmp_path / "v.csv", ["item", "kind", "quantity", "mass_kg", "length_m", "width_m"],
                  [["truck", "vehicle", 2, 10000, 12, 2.5]])
    cargo = read_cargo_file(f)
    il76 = plan_sorties(cargo, 50.0, IL76)
    assert il76.count == 2 and il76.sorties[0].floor_m == pytest.approx(12.0)  # 20 m floor, one lane
    c17 = plan_sorties(cargo, 77.5, Hold.of(aircraft_type("C17")))
    assert c17.count == 1  # 5.49 m wide: two lanes side by side


def test_exact_search_beats_first_fit_decreasing_on_small_counts(tmp_path):
    f = write_csv(tmp_path / "m.csv", ["item", "mass_kg"],
                  [["a", 4500], ["b", 4500], ["c", 3500], ["d", 3500], ["e", 2000], ["f", 2000]])
    plan = plan_sorties(read_cargo_file(f), 10.0, IL76)
    assert plan.count == 2 and plan.method.startswith("exact")
    assert sorted(round(s.mass_t, 3) for s in plan.sorties) == [10.0, 10.0]


def test_a_unit_heavier_than_the_leg_allows_is_reported_not_packed(tmp_path):
    f = write_csv(tmp_path / "h.csv", ["item", "mass_kg"], [["transformer", 45000]])
    cargo = read_cargo_file(f)
    assert plan_sorties(cargo, 50.0, IL76).count == 1
    plan = plan_sorties(cargo, leg_payload("IL76", 5550).max_payload_t, IL76)
    assert plan.count is None and plan.too_heavy == ["transformer"]


def test_s400_battery_lists_its_vehicles_with_unknowns_and_the_reported_airlift():
    s400 = load_cargo("s400-battery")
    names = " ".join(i.name for i in s400.items)
    for part in ("5P85", "92N6", "96L6", "55K6", "loading vehicle", "48N6"):
        assert part in names
    assert all(i.mass_kg is None for i in s400.items)  # no source gave a mass: none invented
    report = airlift_report("A124", [2200], cargo=s400)
    leg = report["legs"][0]["sorties"]
    assert leg["sorties"] is None and leg["status"] == "unknown — supply it"
    assert len(leg["unknown_supply_it"]) == len(s400.items)
    (cmp,) = report["comparison"]
    assert cmp["reported_sorties"] == 30 and "Xinhua" in cmp["source"]
    assert cmp["planned_sorties"] is None and "supply" in cmp["why"]
    assert cmp["most_those_sorties_could_lift_t"] == pytest.approx(30 * 120.0)


def test_supplied_figures_complete_a_named_set(tmp_path):
    # test input standing in for an investigator's own figures (not shipped data)
    f = write_csv(tmp_path / "s400.csv", ["item", "quantity", "mass_kg"],
                  [["92N6E multi-function radar (MAZ-543M chassis)", 1, 30000]])
    merged = merge_masses(load_cargo("s400-battery"), read_cargo_file(f))
    plan = plan_sorties(merged, 120.0, Hold.of(aircraft_type("A124")))
    assert plan.count == 1 and plan.to_json()["at_least"] is True
    assert plan.to_json()["status"] == "at least (some items unknown)"


def test_cargo_table_rows_are_sourced():
    text = files("tailwatch").joinpath("data", "cargo_items.csv").read_text(encoding="utf-8")
    for n, r in enumerate(csv.DictReader(text.splitlines()), start=2):
        assert r["source"].strip() and r["as_of"].strip(), f"line {n}"
    assert {"shahed-136", "kornet", "s400-battery"} <= set(known_sets())
    assert load_cargo("kornet").items[0].mass_kg == pytest.approx(63.7)


def test_bad_cargo_files_name_file_and_line(tmp_path):
    f = write_csv(tmp_path / "bad.csv", ["item", "mass_kg"], [["ok", 10], ["broken", "heavy"]])
    with pytest.raises(BadInput, match=r"bad\.csv:3: mass_kg 'heavy' is not a number"):
        read_cargo_file(f)
    g = write_csv(tmp_path / "nocols.csv", ["name", "weight"], [["x", 1]])
    with pytest.raises(BadInput, match=r"nocols\.csv:1: a cargo CSV needs 'item' and 'mass_kg'"):
        read_cargo_file(g)
    with pytest.raises(BadInput, match="unknown cargo 'nonsense'"):
        load_cargo("nonsense")


def test_s400_launcher_count_is_sourced_and_the_band_stays_unknown_without_masses(tmp_path):
    """The shipped set now gives the launchers' quantity (8 per battalion, sourced) but no mass: the
    planner gives no sortie count and no band for an Il-76TD or an An-124 at 5,000 km, and names what to
    supply; supplying every mass then gives the Il-76TD a count with a band from the leg's payload band."""
    s400 = load_cargo("s400-battery")
    launcher = next(i for i in s400.items if i.name.startswith("5P85"))
    assert launcher.quantity == 8 and "56 S-400 battalions of 8 launchers" in launcher.source
    assert launcher.mass_kg is None and launcher.missing == ["mass"]
    for code in ("IL76TD", "A124"):
        leg = airlift_report(code, [5000], cargo=s400)["legs"][0]
        assert leg["sorties"]["sorties"] is None and leg["sorties_band"] == [None, None]
        assert any(u.startswith("5P85") and "mass unknown" in u for u in leg["sorties"]["unknown_supply_it"])
    # test input standing in for an investigator's own figures (not shipped data): every item 20 t
    rows = [[i.name, i.quantity or 1, 20000] for i in s400.items]
    merged = merge_masses(s400, read_cargo_file(write_csv(tmp_path / "s400-masses.csv", ["item", "quantity", "mass_kg"], rows)))
    leg = airlift_report("IL76TD", [5000], cargo=merged)["legs"][0]
    lo, hi = leg["sorties_band"]  # fewest at the payload band's high end, most at its low end
    assert leg["sorties"]["sorties"] is not None and lo <= leg["sorties"]["sorties"] <= hi
    # the An-124's payload at 5,000 km has no sourced payload-range point: no count even with every mass
    assert airlift_report("A124", [5000], cargo=merged)["legs"][0]["sorties"]["sorties"] is None

