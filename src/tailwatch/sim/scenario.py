"""The demo scenario: the reported October 2025 trip of Il-76TD RA-78765 (address 1533ad), SIMULATED.

Route as reported: Moscow (Vnukovo) → Yerevan → Algiers → Rabat → Dakar → Nouakchott → Caracas
→ Havana → Managua → Caracas → Nouakchott → Algiers → Sochi → Moscow. Times, ground stays,
profiles, receivers and every position are generated here: nothing in this module is a
recording. Each leg flies the shortest path that avoids the airspace barred to a Russian
operator on its date (`tailwatch.airspace.routing`: around the EU, the Balkans and Ukraine —
south of Crete and Malta to Algiers and back, east of Ukraine from Sochi), the great circle
where that is legal; the stops are given, so no fuel stops are planned. Receivers are simulated sites: dense over Russia, the Caucasus, Turkey and the
Mediterranean, a few in the Caribbean, one at Dakar that is offline while the aircraft
arrives, none over the Sahara, Mauritania or the mid-Atlantic. With that coverage:
- Rabat: the descent is heard down to ~9,000 ft, then nothing: landing inferred;
- Dakar: arrival unheard (receiver offline), departure heard climbing out: inferred — the
  Rabat and Dakar landings are two consecutive unobserved stops in one gap;
- Nouakchott (twice): never heard at all: inferred from the tracks either side of each gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import polars as pl

from tailwatch.geo.airports import airport
from tailwatch.sim.coverage import Coverage, Receiver
from tailwatch.sim.trips import Performance, Waypoints, flight_time_s, simulate_traffic, simulate_trip

ICAO24 = "1533ad"
REGISTRATION = "RA-78765"
TYPECODE = "IL76"
CALLSIGN = "RA78765"
ROUTE = ["UUWW", "UDYZ", "DAAG", "GMME", "GOBD", "GQNO", "SVMI", "MUHA", "MNMG", "SVMI", "GQNO", "DAAG",
         "URSS", "UUWW"]
# hours on the ground at ROUTE[1:-1] (simulated schedule)
GROUND_HOURS = [20.0, 18.0, 5.0, 14.0, 4.0, 30.0, 20.0, 16.0, 18.0, 9.0, 22.0, 12.0]
FIRST_TAKEOFF = datetime(2025, 10, 3, 6, 0, tzinfo=timezone.utc)
OPERATOR_COUNTRY = "RU"  # operator and registration country: which bans apply
NOTICE = "SIMULATED scenario: positions, times and receivers are generated, not recorded"

# (name, lat, lon): simulated receiver sites
_SITES = [
    # Russia and the Caucasus
    ("Moscow-Vnukovo", 55.60, 37.30), ("Moscow-N", 55.95, 37.45), ("Tula", 54.19, 37.62), ("Kaluga", 54.51, 36.26),
    ("Ryazan", 54.63, 39.74), ("Oryol", 52.97, 36.07), ("Voronezh", 51.67, 39.20), ("Lipetsk", 52.61, 39.59),
    ("Belgorod", 50.60, 36.59), ("Rostov", 47.24, 39.71), ("Krasnodar", 45.04, 38.98), ("Sochi", 43.45, 39.95),
    ("Volgograd", 48.71, 44.51), ("Stavropol", 45.04, 41.97), ("Elista", 46.31, 44.26), ("Makhachkala", 42.98, 47.50),
    ("Nalchik", 43.49, 43.61), ("Tbilisi", 41.69, 44.80), ("Kutaisi", 42.27, 42.70), ("Yerevan", 40.15, 44.40),
    ("Gyumri", 40.79, 43.85), ("Baku", 40.41, 49.87), ("Tambov", 52.72, 41.45), ("Saratov", 51.53, 46.03),
    # Turkey, Greece, the Balkans
    ("Trabzon", 41.00, 39.72), ("Erzurum", 39.90, 41.27), ("Van", 38.50, 43.38), ("Kayseri", 38.73, 35.48),
    ("Ankara", 39.93, 32.86), ("Adana", 37.00, 35.32), ("Antalya", 36.90, 30.70), ("Izmir", 38.42, 27.14),
    ("Istanbul", 41.01, 28.98), ("Samsun", 41.29, 36.33), ("Malatya", 38.35, 38.31), ("Konya", 37.87, 32.48),
    ("Thessaloniki", 40.64, 22.94), ("Athens", 37.98, 23.73), ("Heraklion", 35.34, 25.14), ("Rhodes", 36.43, 28.22),
    ("Patras", 38.25, 21.73), ("Corfu", 39.62, 19.92), ("Tirana", 41.33, 19.82),
    # central and western Mediterranean
    ("Bari", 41.12, 16.87), ("Naples", 40.85, 14.27), ("Rome", 41.90, 12.50), ("Palermo", 38.12, 13.36),
    ("Catania", 37.50, 15.09), ("Malta", 35.90, 14.51), ("Cagliari", 39.22, 9.12), ("Olbia", 40.92, 9.50),
    ("Tunis", 36.81, 10.18), ("Sfax", 34.74, 10.76), ("Annaba", 36.90, 7.76), ("Constantine", 36.37, 6.61),
    ("Bejaia", 36.75, 5.08), ("Algiers", 36.70, 3.20), ("Chlef", 36.17, 1.33), ("Oran", 35.70, -0.63),
    ("Tlemcen", 34.88, -1.31), ("Nador", 35.17, -2.93), ("Tetouan", 35.58, -5.36), ("Almeria", 36.83, -2.46),
    ("Malaga", 36.72, -4.42), ("Valencia", 39.47, -0.38), ("Palma", 39.57, 2.65), ("Barcelona", 41.39, 2.17),
    ("Marseille", 43.30, 5.37), ("Nice", 43.70, 7.27), ("Genoa", 44.41, 8.93), ("Ajaccio", 41.92, 8.74),
    ("Biskra", 34.85, 5.73), ("Djelfa", 34.67, 3.26), ("Tiaret", 35.37, 1.32),
    # Caribbean and Central America
    ("Caracas", 10.60, -66.95), ("Valencia-VE", 10.16, -68.00), ("Barcelona-VE", 10.13, -64.69),
    ("Maracaibo", 10.65, -71.61), ("Curacao", 12.12, -68.93), ("Havana", 23.00, -82.40), ("Santa Clara", 22.41, -79.96),
    ("Camaguey", 21.38, -77.92), ("Kingston", 17.97, -76.79), ("Managua", 12.14, -86.17), ("San Jose", 9.93, -84.08),
    ("Tegucigalpa", 14.07, -87.19), ("Panama", 8.98, -79.52), ("Cartagena", 10.39, -75.48), ("Santo Domingo", 18.49, -69.93),
]


def _receivers(dakar_outage: tuple[datetime, datetime]) -> list[Receiver]:
    sites = [Receiver(n, la, lo) for n, la, lo in _SITES]
    sites.append(Receiver("Kaolack", 14.15, -16.07, max_range_km=250.0, outages=(dakar_outage,)))
    return sites


@dataclass
class Scenario:
    """A simulated trip among other traffic, as a receiver network would have heard it."""

    points: pl.DataFrame  # every heard position (the trip and other traffic), canonical schema
    truth: list[dict]  # the trip's legs as simulated (origin, destination, takeoff, landing)
    icao24: str = ICAO24
    registration: str = REGISTRATION
    typecode: str = TYPECODE
    country: str = "RU"
    notice: str = NOTICE
    extra: dict = field(default_factory=dict)

    def trip_points(self) -> pl.DataFrame:
        return self.points.filter(pl.col("icao24") == self.icao24)

    def describe(self) -> dict:
        return {
            "simulated": True,
            "notice": self.notice,
            "icao24": self.icao24,
            "registration": self.registration,
            "typecode": self.typecode,
            "country": self.country,
            "route": [leg["origin"] for leg in self.truth] + [self.truth[-1]["destination"]],
            "legs": [{"origin": leg["origin"], "destination": leg["destination"],
                      "takeoff": leg["takeoff"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "landing": leg["landing"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                      **{k: leg[k] for k in ("great_circle_km", "flown_km") if k in leg},
                      "via": [[round(la, 4), round(lo, 4)] for la, lo in leg.get("via", ())]}
                     for leg in self.truth],
            **self.extra,
        }


def legal_waypoints(a: dict, b: dict, when: datetime, operator_country: str = OPERATOR_COUNTRY
                    ) -> tuple[Waypoints, str | None]:
    """Turning points of the shortest path from airport `a` to `b` that avoids the airspace
    barred on `when` to an aircraft of `operator_country` (registered there too), and a note
    when none exists (the leg then flies the great circle and says why)."""
    from tailwatch.airspace.bans import banned_jurisdictions
    from tailwatch.airspace.routing import NoRoute, obstacles_for, shortest_path

    banned = banned_jurisdictions(operator_country=operator_country, registration_country=operator_country,
                                  when=when)
    try:
        path = shortest_path(obstacles_for(tuple(sorted(banned))), a["latitude"], a["longitude"],
                             b["latitude"], b["longitude"])
    except NoRoute as exc:
        return (), f"{a['icao']} → {b['icao']} flies the great circle: {exc}"
    return tuple((float(la), float(lo)) for la, lo in zip(path.lat[1:-1], path.lon[1:-1])), None


def _schedule(airports: list[dict], perf: Performance) -> tuple[list[tuple[datetime, datetime]], list[Waypoints],
                                                                  list[str]]:
    """Take-off/landing times, waypoints and routing notes per leg (the route depends on the
    take-off date, the flight time on the route)."""
    out, vias, notes, t = [], [], [], FIRST_TAKEOFF
    for i, (a, b) in enumerate(zip(airports[:-1], airports[1:])):
        via, note = legal_waypoints(a, b, t)
        vias.append(via)
        if note:
            notes.append(note)
        land = t + timedelta(seconds=flight_time_s(a, b, perf, via))
        out.append((t, land))
        if i < len(GROUND_HOURS):
            t = land + timedelta(hours=GROUND_HOURS[i])
    return out, vias, notes


def demo_scenario(other_flights: int = 60, seed: int = 3, step_s: float = 5.0) -> Scenario:
    """The RA-78765 trip (simulated) with `other_flights` other aircraft, as heard by the receivers."""
    airports = [airport(code) for code in ROUTE]
    perf = Performance()
    times, vias, notes = _schedule(airports, perf)
    dakar_arrival = times[ROUTE.index("GOBD") - 1][1]
    outage = (dakar_arrival - timedelta(hours=2), dakar_arrival + timedelta(hours=3))
    coverage = Coverage(_receivers(outage), p_detect=0.9)
    trip, truth = simulate_trip(airports, FIRST_TAKEOFF, GROUND_HOURS, ICAO24, CALLSIGN, perf, step_s, seed, via=vias)
    for leg, via in zip(truth, vias):
        leg["via"] = [(la, lo) for la, lo in via]  # full precision: re-flying the truth gives the same trip
    busy = [a for a in (airport(c) for c in ("UUWW", "UUEE", "UUDD", "URSS", "URRR", "URKK", "UDYZ", "UGTB",
                                              "LTFM", "LTAC", "LGAV", "LIRF", "LICC", "DTTA", "DAAG", "DAOO",
                                              "LEMG", "LEBL", "LFML", "SVMI", "MUHA", "MNMG", "MKJP", "MPTO"))
            if a is not None]
    others = simulate_traffic(busy, other_flights, FIRST_TAKEOFF, hours=24 * 12, seed=seed + 1, step_s=step_s * 2)
    heard = coverage.observe(pl.concat([trip, others]), seed=seed)
    return Scenario(points=heard.sort(["icao24", "timestamp"]), truth=truth,
                    extra={"receivers": len(coverage.receivers),
                           "routing": f"each leg flies the shortest path avoiding airspace barred to a "
                                      f"{OPERATOR_COUNTRY} operator on its date; the great circle where legal",
                           "routing_notes": notes,
                           "dakar_receiver_offline": [outage[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                      outage[1].strftime("%Y-%m-%dT%H:%M:%SZ")]})
