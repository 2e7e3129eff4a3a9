"""A simulated month of traffic with air bridges planted in it, SIMULATED: the data `bench/bridge.py` and
`tests/test_bridge_month.py` score `tailwatch bridge` on.

Why: the small scenario (`sim/bridge.py`) shows each rule once; a campaign is a count, and a count is
only as good as its precision and recall among thousands of aircraft that are not part of it. So:
- background traffic over seven regions (Europe, Russia, the Middle East, North and West Africa,
  China, the Americas): short-haul airliners inside a region, long-haul airliners, freighters and
  business jets between regions, each aircraft a few legs over the period; aircraft of Russia, Iran
  and China never fly to the Americas (a flight of theirs into Venezuela would be a bridge flight);
- planted bridges: Russian, Iranian and Chinese freighters (Il-76TD, An-124, 747 and 777 freighters)
  flying round trips to Venezuela via North and West Africa around the airspace barred to them,
  fewer of them in the baseline weeks before the window than in it;
- decoys: the same types flying elsewhere (never near Venezuela: not listed), a flagged Il-76TD landing
  next door at Curaçao (landed elsewhere), airliners into Venezuela (not flagged), a flagged Il-76TD
  flying Panama → Trinidad along Venezuela's coast without landing (overflight), and two planted
  freighters on the ground at Algiers at once (the co-location).

Coverage follows the sparse model of `sim/sparse.py`: nothing over open ocean beyond a coastal
receiver's reach and nothing over the Sahara, the Sahel and central Africa (`sparse.audible`), a
position every 30–120 s where heard, nothing below 3,000 ft, except at the airports with a receiver
near the field (`FEEDERS`), where taxiing, take-off and landing are heard. Landings at the other
airports (Nouakchott, Sal, Dakar, Valencia, Barcelona and Maracaibo in Venezuela) are never seen:
the itinerary infers them or says unknown.

The background is generated for all legs at once as NumPy arrays (no per-point loop); the few
planted aircraft fly `sim/trips.py`'s profiles along legal routes and are thinned by the same model.
Everything is seeded. The truth (each planted flight with its chain, the decoys' expected reasons,
the co-locations, the baseline) comes back beside the points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import numpy as np
import polars as pl

from tailwatch.geo.airports import airport
from tailwatch.geo.geodesy import EARTH_RADIUS_KM, from_unit_vectors, haversine_km, initial_bearing, to_unit_vectors
from tailwatch.schema import POINT_SCHEMA
from tailwatch.sim.sparse import _sample_times, audible
from tailwatch.sim.trips import KT_KMS, SOURCE, Performance, _profile, flight_time_s, simulate_trip

DATA_START = datetime(2025, 10, 20, tzinfo=timezone.utc)
WINDOW = (datetime(2025, 11, 3, tzinfo=timezone.utc), datetime(2025, 12, 1, tzinfo=timezone.utc))
DATA_END = WINDOW[1]
INTO = "VE"
FROM = ("RU", "IR", "CN")
NOTICE = ("SIMULATED air-bridge month: positions, times, coverage and identities are generated, not recorded; "
          "operators are named 'Simulated …'")
INTERVAL_S = (30.0, 120.0)  # one position every U(lo, hi) seconds where heard
CUT_BELOW_FT = 3_000.0  # below this, heard only near a feeder airport
FEEDER_KM = 40.0
TAXI_OUT_S, TAXI_IN_S = 600.0, 480.0

REGIONS: dict[str, list[str]] = {
    "europe": ["EGLL", "LFPG", "EDDF", "EHAM", "LEMD", "LIRF", "LSZH", "LOWW", "EPWA", "LEBL", "LPPT", "LTFM"],
    "russia": ["UUEE", "UUDD", "UUWW", "ULLI", "URSS", "USSS", "UWWW", "UDYZ", "UBBB"],
    "middle_east": ["OIIE", "OIMM", "OISS", "OMDB", "OTHH", "OERK", "OJAI"],
    "north_africa": ["DAAG", "DTTA", "GMMN", "HECA", "DAOO"],
    "west_africa": ["GOBD", "DNMM", "DGAA", "DIAP"],
    "china": ["ZBAA", "ZSPD", "ZGGG", "ZUUU", "VHHH"],
    "americas": ["SVMI", "SVVA", "SVMC", "SVBC", "SKBO", "MPTO", "TTPP", "TNCC", "MDSD", "MUHA", "SBGR", "SPJC",
                 "SEQM", "KMIA"],
}
# airports with a receiver near the field: ground and low positions are heard there
FEEDERS = frozenset(REGIONS["europe"] + REGIONS["russia"] + REGIONS["middle_east"] + REGIONS["china"]
                    + ["DAAG", "DTTA", "GMMN", "HECA", "SVMI", "SKBO", "MPTO", "TTPP", "TNCC", "MDSD", "KMIA"])
# home region → (operator countries with weights); long-haul partners of each region
HOMES: dict[str, list[tuple[str, float]]] = {
    "europe": [("GB", 3), ("FR", 3), ("DE", 3), ("ES", 3), ("NL", 2), ("IT", 2), ("PT", 1), ("CH", 1), ("TR", 2)],
    "russia": [("RU", 6), ("AM", 1)],
    "middle_east": [("AE", 3), ("QA", 2), ("IR", 2)],
    "north_africa": [("DZ", 2), ("EG", 2)],
    "west_africa": [("SN", 1)],
    "china": [("CN", 1)],
    "americas": [("VE", 3), ("PA", 2), ("CO", 2), ("BR", 1), ("TT", 1)],
}
REGION_WEIGHTS = {"europe": 0.30, "russia": 0.11, "middle_east": 0.14, "north_africa": 0.08, "west_africa": 0.05,
                  "china": 0.11, "americas": 0.21}
PARTNERS = {
    "europe": ["americas", "middle_east", "north_africa", "west_africa", "russia"],
    "russia": ["middle_east", "china", "europe"],
    "middle_east": ["europe", "china", "russia", "north_africa"],
    "north_africa": ["europe", "west_africa", "middle_east"],
    "west_africa": ["europe", "north_africa"],
    "china": ["middle_east", "russia", "europe"],
    "americas": ["europe"],
}
FLAGGED_NEVER = frozenset({"americas"})  # regions the background aircraft of FROM never fly to
# role → (weight, [(typecode, description)], cruise kt, cruise ft)
ROLES: dict[str, tuple[float, list[tuple[str, str]], float, float]] = {
    "short": (0.55, [("A320", "Airbus A320-200"), ("B738", "Boeing 737-800"), ("A321", "Airbus A321-200"),
                     ("E190", "Embraer E190")], 450.0, 36_000.0),
    "long": (0.15, [("A332", "Airbus A330-200"), ("A359", "Airbus A350-900"), ("B77W", "Boeing 777-300ER"),
                    ("B789", "Boeing 787-9")], 485.0, 38_000.0),
    "freighter": (0.12, [("B744", "Boeing 747-400F freighter"), ("B77L", "Boeing 777-F freighter"),
                         ("A332", "Airbus A330-200F freighter"), ("B763", "Boeing 767-300F freighter")], 480.0, 35_000.0),
    "bizjet": (0.18, [("GLF5", "Gulfstream G550"), ("GLF6", "Gulfstream G650"), ("CL60", "Bombardier Challenger 650"),
                      ("FA7X", "Dassault Falcon 7X")], 470.0, 41_000.0),
}
# the flagged countries' freighters of the background also fly Il-76s: the same types, elsewhere
FLAGGED_FREIGHTER = ("IL76", "Ilyushin Il-76TD")

IL76 = Performance()
A124 = Performance(cruise_kt=430.0, cruise_ft=33_000.0)
B744 = Performance(cruise_kt=490.0, cruise_ft=35_000.0, climb_kt=300.0)
B77L = Performance(cruise_kt=490.0, cruise_ft=37_000.0, climb_kt=300.0)
_PERF = {"IL76": IL76, "A124": A124, "B744": B744, "B77L": B77L}

# the planted fleet: key, icao24, registration, typecode, model, operator
PLANTED_FLEET = [
    ("RU1", "154b01", "RA-76501", "IL76", "Ilyushin Il-76TD", "Simulated Cargo Airlines"),
    ("RU2", "154b02", "RA-76502", "IL76", "Ilyushin Il-76TD", "Simulated Cargo Airlines"),
    ("RU3", "154b03", "RA-76503", "IL76", "Ilyushin Il-76TD", "Simulated Cargo Airlines"),
    ("RU4", "154b04", "RA-76504", "IL76", "Ilyushin Il-76TD", "Simulated Sky Freight"),
    ("RU5", "154c01", "RA-82091", "A124", "Antonov An-124-100", "Simulated Heavy Lift"),
    ("RU6", "154c02", "RA-82092", "A124", "Antonov An-124-100", "Simulated Heavy Lift"),
    ("IR1", "730b01", "EP-FSA", "B744", "Boeing 747-200F freighter", "Simulated Fars Air Cargo"),
    ("IR2", "730b02", "EP-FSB", "B744", "Boeing 747-200F freighter", "Simulated Fars Air Cargo"),
    ("IR3", "730b03", "EP-QSC", "IL76", "Ilyushin Il-76TD", "Simulated Qeshm Cargo"),
    ("CN1", "780b01", "B-2271", "B77L", "Boeing 777-F freighter", "Simulated Dragon Cargo"),
    ("CN2", "780b02", "B-2272", "B77L", "Boeing 777-F freighter", "Simulated Dragon Cargo"),
]
ROUTES = {
    "RU": [["UUWW", "DAAG", "GQNO", "SVMI"], ["URSS", "DAAG", "GVAC", "SVMI"], ["UUWW", "DTTA", "GOBD", "SVVA"],
           ["URSS", "HECA", "GMMN", "GVAC", "SVBC"]],
    "IR": [["OIIE", "DAAG", "GOBD", "SVVA"], ["OIIE", "HECA", "GVAC", "SVMI"]],
    "CN": [["ZBAA", "OIIE", "DAAG", "GVAC", "SVMI"], ["ZUUU", "OIIE", "GMMN", "GOBD", "SVVA"]],
}
# decoys: key, icao24, registration, typecode, model, operator, route, take-off, expected reason (None: never
# near Venezuela, so outside the bridge's population and not listed at all)
DECOYS = [
    ("OVF", "154b09", "RA-76509", "IL76", "Ilyushin Il-76TD", "Simulated Cargo Airlines", ["MPTO", "TTPP"],
     WINDOW[0] + timedelta(days=9, hours=7), "overflight, no landing in VE"),
    ("NBR", "154b0b", "RA-76511", "IL76", "Ilyushin Il-76TD", "Simulated Cargo Airlines", ["MDSD", "TNCC"],
     WINDOW[0] + timedelta(days=15, hours=2), "landed elsewhere"),
    ("ELS1", "154b0a", "RA-76510", "IL76", "Ilyushin Il-76TD", "Simulated Cargo Airlines", ["UUWW", "OIIE", "UUWW"],
     WINDOW[0] + timedelta(days=4, hours=3), None),
    ("ELS2", "780b0a", "B-2279", "B77L", "Boeing 777-F freighter", "Simulated Dragon Cargo", ["ZBAA", "UUEE"],
     WINDOW[0] + timedelta(days=12, hours=15), None),
]
BASELINE_TRIPS = ("RU2", "IR1", "CN2")  # one trip each before the window


@dataclass
class BridgeMonth:
    points: pl.DataFrame
    aircraft: pl.DataFrame  # icao24, registration, typecode, model, operator, role, country, key
    planted: list[dict]  # every planted landing in VE (window and baseline): key, icao24, airport, time, chain, ...
    legs: dict[str, list[dict]]  # key → legs flown (planted and decoys)
    decoys: dict[str, dict]  # key → icao24, expected reason
    colocations: list[dict]  # flagged aircraft on the ground at one feeder airport at once (truth)
    notice: str = NOTICE
    window: tuple[datetime, datetime] = WINDOW
    data_start: datetime = DATA_START
    not_flagged_into: list[str] = field(default_factory=list)  # background aircraft that landed in VE in the window

    def registry_lines(self) -> str:
        """Identities as a tar1090-db `aircraft.csv` (icao;registration;typecode;dbFlags;typeLong;year;ownOp)."""
        return "".join(f"{h};{r};{t};0;{m};;{o}\n" for h, r, t, m, o in self.aircraft.select(
            "icao24", "registration", "typecode", "model", "operator").iter_rows())

    def planted_in_window(self) -> list[dict]:
        return [p for p in self.planted if self.window[0] <= p["time"] <= self.window[1]]

    def planted_in_baseline(self) -> list[dict]:
        return [p for p in self.planted if p["time"] < self.window[0]]


# ---------------------------------------------------------------- identities

def _block(iso: str) -> tuple[int, int]:
    from tailwatch.identity.icao_blocks import blocks

    row = blocks().filter((pl.col("kind") == "country") & (pl.col("iso2") == iso)).row(0, named=True)
    return int(row["start"]), int(row["end"])


def _background_identities(n: int, rng: np.random.Generator) -> pl.DataFrame:
    from tailwatch.identity.icao_blocks import is_military
    from tailwatch.identity.registrations import registration_from_icao

    regions = np.array(list(REGION_WEIGHTS))
    region = rng.choice(regions, n, p=np.array(list(REGION_WEIGHTS.values())) / sum(REGION_WEIGHTS.values()))
    roles = np.array(list(ROLES))
    role = rng.choice(roles, n, p=np.array([r[0] for r in ROLES.values()]) / sum(r[0] for r in ROLES.values()))
    rows, used = [], set()
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    for i in range(n):  # one identity per aircraft (a few thousand): no point is made here
        homes = HOMES[str(region[i])]
        iso = homes[int(rng.choice(len(homes), p=np.array([w for _, w in homes]) / sum(w for _, w in homes)))][0]
        lo, hi = _block(iso)
        while True:
            address = int(rng.integers(lo + 0x100, min(hi, lo + 0x7FFF)))
            hex_ = f"{address:06x}"
            if hex_ not in used and not is_military(hex_) and not hex_.startswith(("154b", "154c", "730b", "780b")):
                break
        used.add(hex_)
        rule = registration_from_icao(hex_)
        mark = _MARKS[iso]
        reg = rule.registration if rule is not None else None
        while reg is None or reg in used:
            reg = _made_up_registration(iso, mark, rng, letters)
        used.add(reg)
        r = str(role[i])
        kinds = ROLES[r][1]
        if r == "freighter" and iso in FROM and rng.random() < 0.5:
            code, model = FLAGGED_FREIGHTER
        else:
            code, model = kinds[int(rng.integers(0, len(kinds)))]
        kind = {"short": "Airways", "long": "Airways", "freighter": "Cargo", "bizjet": "Jet Charter"}[r]
        rows.append({"icao24": hex_, "registration": reg, "typecode": code, "model": model,
                     "operator": f"Simulated {iso} {kind}", "role": r, "country": iso, "home": str(region[i]),
                     "key": f"BG{i:05d}"})
    return pl.DataFrame(rows)


_MARKS = {"GB": "G-", "FR": "F-", "DE": "D-", "ES": "EC-", "NL": "PH-", "IT": "I-", "PT": "CS-", "CH": "HB-",
          "TR": "TC-", "RU": "RA-", "AM": "EK-", "AE": "A6-", "QA": "A7-", "IR": "EP-", "DZ": "7T-", "EG": "SU-",
          "SN": "6V-", "CN": "B-", "VE": "YV", "PA": "HP-", "CO": "HK-", "BR": "PR-", "TT": "9Y-"}


def _made_up_registration(iso: str, mark: str, rng: np.random.Generator, letters: np.ndarray) -> str:
    """The nationality mark and a suffix: digits where the state numbers its aircraft, else letters
    (four after a one-letter mark, G-ABCD; three after a longer one, EC-ABC)."""
    if iso in ("RU", "CN", "VE", "AM"):
        return f"{mark}{int(rng.integers(10000, 99999)) if iso == 'RU' else int(rng.integers(1000, 9999))}"
    return mark + "".join(rng.choice(letters, 4 if len(mark) == 2 else 3))


# ---------------------------------------------------------------- background schedules and points

def _background_legs(fleet: pl.DataFrame, rng: np.random.Generator, start: datetime, end: datetime) -> pl.DataFrame:
    """A few legs per aircraft over [start, end]: short-haul inside the home region, the other roles out
    to a partner region and back; aircraft of FROM never to the Americas."""
    rows = []
    t0, span = start.timestamp(), (end - start).total_seconds()
    for icao24, role, home, country in fleet.select("icao24", "role", "home", "country").iter_rows():
        here = REGIONS[home][int(rng.integers(0, len(REGIONS[home])))]
        t = t0 + float(rng.uniform(0, span - 86_400))
        partners = [r for r in PARTNERS[home] if not (country in FROM and r in FLAGGED_NEVER)]
        ground = {"short": (1.0, 20.0), "long": (3.0, 48.0)}.get(role, (2.0, 72.0))
        for _ in range(int(rng.integers(3, 13))):
            if role == "short" or not partners:
                region = home
            elif here in REGIONS[home]:
                region = partners[int(rng.integers(0, len(partners)))] if rng.random() < 0.8 else home
            else:
                region = home
            choices = [c for c in REGIONS[region] if c != here]
            there = choices[int(rng.integers(0, len(choices)))]
            rows.append((icao24, role, here, there, t))
            t += _airborne_s(here, there, role) + 3600.0 * float(rng.uniform(*ground))
            here = there
            if t > t0 + span - 3 * 3600:
                break
    return pl.DataFrame(rows, schema={"icao24": pl.String, "role": pl.String, "origin": pl.String,
                                      "destination": pl.String, "takeoff_s": pl.Float64}, orient="row")


@lru_cache(maxsize=None)
def _airborne_s(a: str, b: str, role: str) -> float:
    _, _, kt, ft = ROLES[role]
    return flight_time_s(airport(a), airport(b), Performance(cruise_kt=kt, cruise_ft=ft))


@lru_cache(maxsize=None)
def _feeder_vectors() -> np.ndarray:
    rows = [airport(c) for c in sorted(FEEDERS)]
    return to_unit_vectors(np.array([r["latitude"] for r in rows]), np.array([r["longitude"] for r in rows]))


def near_feeder(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Whether each position lies within FEEDER_KM of an airport with a receiver near the field."""
    if lat.size == 0:
        return np.zeros(0, bool)
    cos_max = np.cos(FEEDER_KM / EARTH_RADIUS_KM)
    return (to_unit_vectors(lat, lon) @ _feeder_vectors().T >= cos_max).any(axis=1)


def heard(lat: np.ndarray, lon: np.ndarray, altitude_ft: np.ndarray) -> np.ndarray:
    """The coverage model: audible (`sparse.audible`) at or above CUT_BELOW_FT, or near a feeder airport."""
    out = (altitude_ft >= CUT_BELOW_FT) & audible(lat, lon)
    low = np.flatnonzero(altitude_ft < CUT_BELOW_FT)
    out[low] = near_feeder(lat[low], lon[low])
    return out


def legs_points(legs: pl.DataFrame, seed: int, interval_s: tuple[float, float] = INTERVAL_S,
                chunk_legs: int = 4000) -> pl.DataFrame:
    """Heard positions of single great-circle legs (origin, destination, takeoff_s, role, icao24,
    callsign), all legs at once: the sample times are drawn at U(lo, hi) intervals from taxi-out to
    taxi-in, each mapped onto the leg's climb / cruise / descent profile, then kept by `heard`."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(0, legs.height, chunk_legs):
        frames.append(_chunk_points(legs.slice(k, chunk_legs), rng, interval_s))
    return pl.concat(frames) if frames else pl.DataFrame(schema=POINT_SCHEMA)


def _chunk_points(legs: pl.DataFrame, rng: np.random.Generator, interval_s: tuple[float, float]) -> pl.DataFrame:
    n_legs = legs.height
    o = [airport(c) for c in legs["origin"].to_list()]
    d = [airport(c) for c in legs["destination"].to_list()]
    olat, olon = np.array([a["latitude"] for a in o]), np.array([a["longitude"] for a in o])
    dlat, dlon = np.array([a["latitude"] for a in d]), np.array([a["longitude"] for a in d])
    e0 = np.array([float(a.get("elevation_ft") or 0.0) for a in o])
    e1 = np.array([float(a.get("elevation_ft") or 0.0) for a in d])
    dist = np.asarray(haversine_km(olat, olon, dlat, dlon), float)
    perf = [Performance(cruise_kt=ROLES[r][2], cruise_ft=ROLES[r][3]) for r in legs["role"].to_list()]
    knots = [_profile(dist[i], perf[i], e0[i], e1[i]) for i in range(n_legs)]  # a few numbers per leg
    S = np.array([k[0] for k in knots])  # (legs, 5) km along
    T = np.array([k[1] for k in knots])  # (legs, 5) s since take-off
    A = np.array([k[2] for k in knots])  # (legs, 5) ft
    V = np.array([[p.climb_kt, p.cruise_kt, p.descent_kt, p.approach_kt] for p in perf])
    lo, hi = interval_s
    span = T[:, -1] + TAXI_OUT_S + TAXI_IN_S
    count = (span / lo).astype(np.int64) + 2
    leg = np.repeat(np.arange(n_legs), count)
    step = rng.uniform(lo, hi, leg.size)
    csum = np.cumsum(step)
    first = np.r_[0, np.cumsum(count)[:-1]]
    rel = csum - np.repeat(csum[first] - step[first] * rng.uniform(0, 1, n_legs), count) - TAXI_OUT_S
    keep = rel <= T[leg, -1] + TAXI_IN_S
    leg, rel = leg[keep], rel[keep]
    air = (rel >= 0) & (rel < T[leg, -1])
    seg = np.clip((rel >= T[leg, 1]).astype(int) + (rel >= T[leg, 2]) + (rel >= T[leg, 3]), 0, 3)
    t_lo, t_hi = T[leg, seg], T[leg, seg + 1]
    frac = np.clip(np.divide(rel - t_lo, t_hi - t_lo, out=np.zeros_like(rel), where=t_hi > t_lo), 0, 1)
    along = S[leg, seg] + frac * (S[leg, seg + 1] - S[leg, seg])
    alt = np.where(air, A[leg, seg] + frac * (A[leg, seg + 1] - A[leg, seg]), np.where(rel < 0, e0[leg], e1[leg]))
    va, vb = to_unit_vectors(olat, olon), to_unit_vectors(dlat, dlon)
    omega = np.arccos(np.clip(np.einsum("ij,ij->i", va, vb), -1, 1))
    f = np.clip(np.divide(along, dist[leg], out=np.zeros_like(along), where=dist[leg] > 0), 0, 1)
    sin_o = np.where(omega[leg] < 1e-12, 1.0, np.sin(omega[leg]))
    wa = np.where(omega[leg] < 1e-12, 1 - f, np.sin((1 - f) * omega[leg]) / sin_o)
    wb = np.where(omega[leg] < 1e-12, f, np.sin(f * omega[leg]) / sin_o)
    v = wa[:, None] * va[leg] + wb[:, None] * vb[leg]
    lat, lon = from_unit_vectors(v / np.linalg.norm(v, axis=1)[:, None])
    jitter = rng.normal(0.0, 0.004, (2, leg.size))  # ~400 m around the field while taxiing
    lat = np.where(air, lat, np.where(rel < 0, olat[leg], dlat[leg]) + jitter[0])
    lon = np.where(air, lon, np.where(rel < 0, olon[leg], dlon[leg]) + jitter[1])
    ok = heard(lat, lon, np.where(air, alt, -1.0))  # on the ground: heard near a feeder only
    leg, rel, air, seg, lat, lon, alt, frac = (x[ok] for x in (leg, rel, air, seg, lat, lon, alt, frac))
    t_lo, t_hi = T[leg, seg], T[leg, seg + 1]
    gs = np.where(air, V[leg, seg], 12.0)
    vr = np.where(air, np.divide(A[leg, seg + 1] - A[leg, seg], t_hi - t_lo, out=np.zeros_like(rel),
                                 where=t_hi > t_lo) * 60.0, 0.0)
    track = np.where(air, initial_bearing(lat, lon, dlat[leg], dlon[leg]), rng.uniform(0, 360, leg.size))
    stamp = (legs["takeoff_s"].to_numpy()[leg] + rel) * 1e6
    out = pl.DataFrame({
        "timestamp": pl.Series(stamp.astype(np.int64)).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "icao24": legs["icao24"].to_numpy()[leg], "callsign": legs["callsign"].to_numpy()[leg],
        "latitude": lat, "longitude": lon, "altitude": np.round(alt, -1), "geoaltitude": None,
        "groundspeed": gs, "track": track, "vertical_rate": np.round(vr, -1), "onground": ~air,
        "squawk": None, "source": SOURCE,
    })
    return out.select([pl.col(c).cast(t) for c, t in POINT_SCHEMA.items()])


# ---------------------------------------------------------------- planted bridges and decoys

@lru_cache(maxsize=None)
def _vias(a: str, b: str, country: str) -> tuple:
    """Turning points of the leg around the airspace barred to an operator of `country` (as the demo)."""
    from tailwatch.sim.scenario import legal_waypoints

    via, _ = legal_waypoints(airport(a), airport(b), WINDOW[0], country)
    return tuple(via)


def _trip_plan(route: list[str], takeoff: datetime, ground_h: list[float], code: str, country: str) -> list[dict]:
    """Take-off and landing of each leg of a trip (the route's turning points decide the flight time)."""
    legs, t = [], takeoff
    for i, (a, b) in enumerate(zip(route[:-1], route[1:])):
        landing = t + timedelta(seconds=flight_time_s(airport(a), airport(b), _PERF[code], _vias(a, b, country)))
        legs.append({"origin": a, "destination": b, "takeoff": t, "landing": landing})
        t = landing + timedelta(hours=ground_h[i] if i < len(ground_h) else 0.0)
    return legs


def _planted_trips(rng: np.random.Generator) -> dict[str, list[tuple[list[str], datetime, list[float]]]]:
    """Per planted aircraft its trips (route, first take-off, hours on the ground at each stop): one before
    the window for BASELINE_TRIPS, then round trips through the window, 2.5–6 days at home between them."""
    out: dict[str, list] = {}
    for n, (key, _, _, code, _, _) in enumerate(PLANTED_FLEET):
        country = key[:2]
        routes = ROUTES[country]
        trips = []
        if key in BASELINE_TRIPS:
            route = routes[n % len(routes)]
            start = DATA_START + timedelta(days=1 + 3 * BASELINE_TRIPS.index(key), hours=float(rng.uniform(0, 12)))
            trips.append(_round_trip(route, start, rng))
        t = WINDOW[0] + timedelta(hours=float(rng.uniform(0, 96)) - 20)
        k = n
        while t < DATA_END - timedelta(days=2):
            route, start, ground = _round_trip(routes[k % len(routes)], t, rng)
            trips.append((route, start, ground))
            legs = _trip_plan(route, start, ground, code, country)
            t = legs[-1]["landing"] + timedelta(hours=float(rng.uniform(60, 144)))
            k += 1
        out[key] = trips
    # two of them on the ground at Algiers at once: RU1 stays 20 h, RU5 lands there 5 h after it
    ru1 = [tr for tr in out["RU1"] if tr[1] >= WINDOW[0] - timedelta(days=1)][0]
    ground = list(ru1[2])
    ground[0] = 20.0
    out["RU1"][out["RU1"].index(ru1)] = (ru1[0], ru1[1], ground)
    at_algiers = _trip_plan(ru1[0], ru1[1], ground, "IL76", "RU")[0]["landing"]
    route5 = ["URSS", "DAAG", "GVAC", "SVMI"]
    first_leg = timedelta(seconds=flight_time_s(airport("URSS"), airport("DAAG"), A124, _vias("URSS", "DAAG", "RU")))
    ru5 = out["RU5"]
    ru5_first = (route5 + route5[-2::-1], at_algiers + timedelta(hours=5) - first_leg, [10.0, 4.0, 20.0, 4.0, 6.0])
    later = [tr for tr in ru5 if tr[1] > ru5_first[1] + timedelta(days=9)]
    out["RU5"] = [ru5_first, *later]
    return out


def _round_trip(route: list[str], start: datetime, rng: np.random.Generator) -> tuple[list[str], datetime, list[float]]:
    """Out along `route` to Venezuela and back the same way: 3–14 h at each stop, 14–36 h in Venezuela."""
    full = route + route[-2::-1]
    stops = len(full) - 2
    ground = [float(rng.uniform(3, 14)) for _ in range(stops)]
    ground[len(route) - 2] = float(rng.uniform(14, 36))
    return full, start, ground


def _thin(points: pl.DataFrame, rng: np.random.Generator, interval_s: tuple[float, float]) -> pl.DataFrame:
    """One aircraft's dense points as the coverage model hears them (`sparse._sample_times`, then `heard`)."""
    pts = points.sort("timestamp")
    t = pts["timestamp"].dt.epoch("us").to_numpy() / 1e6
    keep = np.zeros(t.size, dtype=bool)
    keep[_sample_times(t, *interval_s, rng)] = True
    alt = np.where(pts["onground"].to_numpy(), -1.0, pts["altitude"].cast(pl.Float64).fill_null(0.0).to_numpy())
    keep &= heard(pts["latitude"].to_numpy(), pts["longitude"].to_numpy(), alt)
    return pts.filter(pl.Series(keep))


def bridge_month(background: int = 2400, seed: int = 27, interval_s: tuple[float, float] = INTERVAL_S,
                 step_s: float = 10.0) -> BridgeMonth:
    """The month as the receivers heard it: `background` aircraft plus the planted fleet and the decoys."""
    rng = np.random.default_rng(seed)
    fleet = _background_identities(background, rng)
    legs = _background_legs(fleet, rng, DATA_START, DATA_END)
    legs = legs.join(fleet.select("icao24", pl.col("registration").str.replace_all("-", "").alias("callsign")),
                     on="icao24")
    frames = [legs_points(legs, seed + 1, interval_s)]
    truth_legs: dict[str, list[dict]] = {}
    who = []
    planted: list[dict] = []
    stays: list[tuple[str, str, datetime, datetime]] = []  # icao24, airport, landing, take-off
    for n, (key, hex_, reg, code, model, operator) in enumerate(PLANTED_FLEET):
        who.append({"icao24": hex_, "registration": reg, "typecode": code, "model": model, "operator": operator,
                    "role": "planted", "country": key[:2], "home": key[:2], "key": key})
        flown = []
        for m, (route, start, ground) in enumerate(_planted_trips_cached(seed)[key]):
            vias = [_vias(a, b, key[:2]) for a, b in zip(route[:-1], route[1:])]
            pts, trip = simulate_trip([airport(c) for c in route], start, ground, hex_, reg.replace("-", ""),
                                      _PERF[code], step_s, seed + 100 * n + m, via=vias)
            frames.append(_thin(pts, rng, interval_s))
            out_legs = len(route) // 2
            for i, leg in enumerate(trip):
                leg = {**leg, "trip": m}
                flown.append(leg)
                if i + 1 < len(trip):
                    stays.append((hex_, leg["destination"], leg["landing"], trip[i + 1]["takeoff"]))
                if i == out_legs - 1 and airport(leg["destination"])["country"] == INTO:
                    planted.append({"key": key, "icao24": hex_, "registration": reg, "airport": leg["destination"],
                                    "time": leg["landing"], "chain": route[:out_legs + 1],
                                    "from_country": airport(route[0])["country"],
                                    "evidence": "observed" if leg["destination"] in FEEDERS else "inferred"})
        truth_legs[key] = flown
    decoys = {}
    for n, (key, hex_, reg, code, model, operator, route, takeoff, reason) in enumerate(DECOYS):
        who.append({"icao24": hex_, "registration": reg, "typecode": code, "model": model, "operator": operator,
                    "role": "decoy", "country": airport(route[0])["country"] if False else {"154": "RU", "780": "CN"}[hex_[:3]],
                    "home": "decoy", "key": key})
        country = {"154": "RU", "780": "CN"}[hex_[:3]]
        vias = [_vias(a, b, country) for a, b in zip(route[:-1], route[1:])]
        ground = [8.0] * (len(route) - 2)
        pts, trip = simulate_trip([airport(c) for c in route], takeoff, ground, hex_, reg.replace("-", ""),
                                  _PERF[code], step_s, seed + 7000 + n, via=vias)
        frames.append(_thin(pts, rng, interval_s))
        truth_legs[key] = trip
        decoys[key] = {"icao24": hex_, "registration": reg, "reason": reason}
        for i in range(len(trip) - 1):
            stays.append((hex_, trip[i]["destination"], trip[i]["landing"], trip[i + 1]["takeoff"]))
    aircraft = pl.concat([fleet, pl.DataFrame(who)], how="vertical_relaxed")
    points = (pl.concat(frames)
              .filter(pl.col("timestamp").is_between(DATA_START, DATA_END))
              .unique(["icao24", "timestamp"], keep="first")
              .sort(["icao24", "timestamp"]))
    landed = legs.with_columns(
        pl.struct("origin", "destination", "role").map_elements(
            lambda r: _airborne_s(r["origin"], r["destination"], r["role"]), return_dtype=pl.Float64).alias("air_s"))
    ve = {c for c in REGIONS["americas"] if airport(c)["country"] == INTO}
    into = landed.filter(pl.col("destination").is_in(list(ve))
                         & ((pl.col("takeoff_s") + pl.col("air_s")).is_between(WINDOW[0].timestamp(), WINDOW[1].timestamp())))
    return BridgeMonth(points=points, aircraft=aircraft, planted=sorted(planted, key=lambda p: p["time"]),
                       legs=truth_legs, decoys=decoys, colocations=_colocations(stays),
                       not_flagged_into=sorted(set(into["icao24"].to_list())))


@lru_cache(maxsize=4)
def _planted_trips_cached(seed: int) -> dict:
    return _planted_trips(np.random.default_rng(seed + 99))


def _colocations(stays: list[tuple[str, str, datetime, datetime]]) -> list[dict]:
    """Pairs of flagged aircraft on the ground at one feeder airport at once (the truth; overlap > 0)."""
    out = []
    for i, (h1, ap1, a1, b1) in enumerate(stays):
        for h2, ap2, a2, b2 in stays[i + 1:]:
            if h1 != h2 and ap1 == ap2 and ap1 in FEEDERS and min(b1, b2) > max(a1, a2):
                out.append({"airport": ap1, "icao24": sorted([h1, h2]), "from": max(a1, a2), "to": min(b1, b2)})
    return sorted(out, key=lambda c: c["from"])


# ---------------------------------------------------------------- scoring

def score(doc: dict, truth: list[dict], tolerance_min: float = 30.0) -> dict:
    """Precision and recall of the document's flights against `truth`, the planted flights in the window
    (`BridgeMonth.planted_in_window()`, or the same read back from JSON).

    A found flight matches a planted one by aircraft, arrival airport and time: an observed landing
    within `tolerance_min` of the truth, an inferred one whose window (last position before, first
    after) holds the truth within the tolerance. Each planted flight is matched once."""
    from tailwatch.times import parse_time

    tol = timedelta(minutes=tolerance_min)
    truth = [{**p, "time": parse_time(p["time"]) if isinstance(p["time"], str) else p["time"]} for p in truth]
    free = list(range(len(truth)))
    matched, unmatched_found = [], []
    for f in doc["flights"]:
        a = f["arrival"]
        lo = parse_time(a.get("time") or (a.get("window") or [None, None])[0])
        hi = parse_time(a.get("time") or (a.get("window") or [None, None])[1]) or lo
        hit = None
        for k in free:
            p = truth[k]
            if p["icao24"] == f["icao24"] and p["airport"] == a["icao"] and lo is not None \
                    and lo - tol <= p["time"] <= (hi or lo) + tol:
                hit = k
                break
        if hit is None:
            unmatched_found.append({"icao24": f["icao24"], "airport": a["icao"], "time": a.get("time"),
                                    "window": a.get("window"), "evidence": a["evidence"]})
        else:
            free.remove(hit)
            matched.append((truth[hit], f))
    found = len(doc["flights"])
    return {"planted": len(truth), "found": found, "matched": len(matched),
            "precision": round(len(matched) / found, 4) if found else None,
            "recall": round(len(matched) / len(truth), 4) if truth else None,
            "missed": [{k: (v.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else v)
                        for k, v in truth[k].items()} for k in free],
            "false": unmatched_found}
