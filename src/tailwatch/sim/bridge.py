"""A small air-bridge scenario, SIMULATED: freighters into Venezuela among decoys, a few days long.

Why: `tailwatch bridge` must be shown to count the right flights and to refuse the wrong ones, on data
where the truth is known. Planted (flagged: Russian or Iranian heavy freighters):
- P1, Il-76TD (RU): Moscow-Vnukovo → Algiers → Nouakchott → Caracas, unheard over the Sahara and the
  Atlantic; on the ground at Algiers while P3 is there (co-location);
- P2, Boeing 747 freighter (IR): Tehran → Algiers → Dakar → Valencia (VE);
- P3, An-124 (RU): Sochi → Algiers → Sal → Caracas.
P0, another Iranian 747 freighter, lands at Caracas before the window: the baseline.
Decoys: D1 the same type (Il-76TD, RU) flying Moscow → Tehran (never near: not listed); D2 an airliner
(A330, Spain) Madrid → Caracas (not flagged); D3 an Il-76TD (RU) Panama → Trinidad over Venezuela's
coast (overflight, no landing in VE). A few other flights give the receivers other traffic.
Identities (registration, type, operator) come as a registry file in tar1090-db's format
(`registry_lines`), the way an investigator imports one; nothing here is a recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import polars as pl

from tailwatch.geo.airports import airport
from tailwatch.sim.coverage import Coverage, Receiver
from tailwatch.identity.icao_blocks import country_of
from tailwatch.sim.trips import Performance, flight_time_s, simulate_traffic, simulate_trip

START = datetime(2025, 11, 3, 0, 0, tzinfo=timezone.utc)
WINDOW = (datetime(2025, 11, 5, tzinfo=timezone.utc), datetime(2025, 11, 9, tzinfo=timezone.utc))
NOTICE = "SIMULATED air-bridge scenario: positions, times, receivers and identities are generated, not recorded"
IL76 = Performance()
A124 = Performance(cruise_kt=430.0, cruise_ft=33_000.0)
B744 = Performance(cruise_kt=490.0, cruise_ft=35_000.0, climb_kt=300.0)
A332 = Performance(cruise_kt=470.0, cruise_ft=37_000.0)

# (key, icao24, registration, typecode, model, operator, route, first take-off, hours on the ground, performance);
# the operator's country (the address block's) decides the airspace each leg flies around
AIRCRAFT = [
    ("P1", "154a01", "RA-78830", "IL76", "Ilyushin Il-76TD", "Simulated Cargo Airlines",
     ["UUWW", "DAAG", "GQNO", "SVMI"], START + timedelta(hours=20), [30.0, 3.0], IL76),
    ("P2", "730a01", "EP-SIM", "B744", "Boeing 747-200F freighter", "Simulated Fars Air Cargo",
     ["OIIE", "DAAG", "GOBD", "SVVA"], START + timedelta(hours=34), [6.0, 4.0], B744),
    ("P0", "730a02", "EP-SIN", "B744", "Boeing 747-200F freighter", "Simulated Fars Air Cargo",
     ["GOBD", "SVMI"], START + timedelta(hours=2), [], B744),
    ("P3", "1541aa", "RA-82099", "A124", "Antonov An-124-100", "Simulated Heavy Lift",
     ["URSS", "DAAG", "GVAC", "SVMI"], START + timedelta(hours=32), [14.0, 3.0], A124),
    ("D1", "154a02", "RA-78831", "IL76", "Ilyushin Il-76TD", "Simulated Cargo Airlines",
     ["UUWW", "OIIE"], WINDOW[0] + timedelta(hours=30), [], IL76),
    ("D2", "344a01", "EC-SIM", "A332", "Airbus A330-200", "Simulated Iberian Airways",
     ["LEMD", "SVMI"], WINDOW[0] + timedelta(hours=12), [], A332),
    ("D3", "154a03", "RA-78832", "IL76", "Ilyushin Il-76TD", "Simulated Cargo Airlines",
     ["MPTO", "TTPP"], WINDOW[0] + timedelta(hours=40), [], IL76),
]
PLANTED = ("P1", "P2", "P3")
# None: never heard near Venezuela, so outside the bridge's population and not listed (docs/bridge.md)
EXPECTED_REASONS = {"D1": None, "D2": "not flagged", "D3": "overflight, no landing in VE"}

# simulated receiver sites: Russia, the Caucasus and Iran, the Mediterranean, the Caribbean; none over
# the Sahara, Mauritania, Cape Verde or the Atlantic (the gaps); one at Dakar
_SITES = [
    ("Moscow", 55.6, 37.3), ("Tula", 54.2, 37.6), ("Voronezh", 51.7, 39.2), ("Rostov", 47.2, 39.7),
    ("Krasnodar", 45.0, 39.0), ("Sochi", 43.45, 39.95), ("Makhachkala", 43.0, 47.5), ("Baku", 40.4, 49.9),
    ("Tehran", 35.7, 51.4), ("Tabriz", 38.1, 46.3), ("Yerevan", 40.15, 44.4), ("Trabzon", 41.0, 39.7),
    ("Ankara", 39.9, 32.9), ("Antalya", 36.9, 30.7), ("Adana", 37.0, 35.3), ("Volgograd", 48.7, 44.5),
    ("Heraklion", 35.3, 25.1), ("Malta", 35.9, 14.5), ("Tunis", 36.8, 10.2), ("Algiers", 36.7, 3.2),
    ("Oran", 35.7, -0.6), ("Madrid", 40.4, -3.7), ("Caracas", 10.6, -66.95), ("Valencia-VE", 10.16, -68.0),
    ("Barcelona-VE", 10.13, -64.69), ("Maracaibo", 10.65, -71.61), ("Curacao", 12.12, -68.93),
    ("Port of Spain", 10.6, -61.3), ("Panama", 8.98, -79.52), ("Cartagena", 10.39, -75.48),
    ("Dakar", 14.7, -17.4), ("Baghdad", 33.3, 44.4), ("Erbil", 36.2, 44.0), ("Damascus", 33.5, 36.3), ("Cairo", 30.1, 31.4),
    ("Benghazi", 32.1, 20.1), ("Tripoli", 32.9, 13.2), ("Isfahan", 32.6, 51.7), ("Ahvaz", 31.3, 48.7),
]


@dataclass
class BridgeScenario:
    points: pl.DataFrame
    truth: dict[str, list[dict]]  # key → legs flown (origin, destination, takeoff, landing)
    aircraft: dict[str, dict] = field(default_factory=dict)  # key → icao24, registration, typecode, operator
    notice: str = NOTICE

    def registry_lines(self) -> str:
        """The identities as a tar1090-db `aircraft.csv` (icao;registration;typecode;dbFlags;typeLong;year;ownOp)."""
        return "".join(f"{a['icao24']};{a['registration']};{a['typecode']};0;{a['model']};;{a['operator']}\n"
                       for a in self.aircraft.values())

    def planted_arrivals(self, into: str = "VE") -> list[dict]:
        """Each planted landing in `into` inside the window: key, icao24, airport, time."""
        out = []
        for key in PLANTED:
            for leg in self.truth[key]:
                ap = airport(leg["destination"])
                if ap["country"] == into and WINDOW[0] <= leg["landing"] < WINDOW[1]:
                    out.append({"key": key, "icao24": self.aircraft[key]["icao24"], "airport": leg["destination"],
                                "time": leg["landing"]})
        return out


def _legal_vias(airports: list[dict], takeoff: datetime, ground: list[float], perf: Performance,
                operator_country: str) -> list:
    """Each leg's turning points around the airspace barred to the operator on its date (as the demo)."""
    from tailwatch.sim.scenario import legal_waypoints

    vias, t = [], takeoff
    for i, (a, b) in enumerate(zip(airports[:-1], airports[1:])):
        via, _ = legal_waypoints(a, b, t, operator_country)
        vias.append(via)
        t = t + timedelta(seconds=flight_time_s(a, b, perf, via)) + timedelta(hours=ground[i] if i < len(ground) else 0)
    return vias


def bridge_scenario(other_flights: int = 8, seed: int = 11, step_s: float = 10.0) -> BridgeScenario:
    """The scenario as the receivers heard it (a few days, about a dozen aircraft)."""
    frames, truth, who = [], {}, {}
    for n, (key, icao24, reg, code, model, operator, route, takeoff, ground, perf) in enumerate(AIRCRAFT):
        airports = [airport(c) for c in route]
        vias = _legal_vias(airports, takeoff, ground, perf, country_of(icao24) or "")
        pts, legs = simulate_trip(airports, takeoff, ground, icao24, reg.replace("-", ""), perf, step_s, seed + n,
                                  via=vias)
        frames.append(pts)
        truth[key] = legs
        who[key] = {"icao24": icao24, "registration": reg, "typecode": code, "model": model, "operator": operator}
    busy = [airport(c) for c in ("UUWW", "UUEE", "URSS", "OIIE", "LTAC", "DAAG", "DTTA", "LEMD", "SVMI", "MPTO",
                                  "TTPP", "HECA")]
    frames.append(simulate_traffic(busy, other_flights, START, hours=24 * 5, seed=seed + 50, step_s=step_s * 2))
    coverage = Coverage([Receiver(n, la, lo) for n, la, lo in _SITES], p_detect=0.9)
    heard = coverage.observe(pl.concat(frames), seed=seed)
    return BridgeScenario(points=heard.sort(["icao24", "timestamp"]), truth=truth, aircraft=who)
