"""The airlift answer for a type over a set of legs: payload per leg, the limiting
leg, the most that could go end to end, a claimed load checked, and sorties.

Pure functions from plain values to the `tailwatch.airlift/1` JSON dict (and its
Markdown rendering); the CLI and the itinerary enricher both build on them.
"""

from __future__ import annotations

from tailwatch.airlift.cargo import Cargo
from tailwatch.airlift.payload import LegPayload, leg_payload, spec_or_raise
from tailwatch.airlift.reserves import ALTERNATE_KM, CONTINGENCY_FRACTION, HOLD_MIN
from tailwatch.airlift.sorties import Hold, plan_sorties

SCHEMA = "tailwatch.airlift/1"


def reserve_policy() -> dict:
    return {"contingency_fraction": CONTINGENCY_FRACTION, "alternate_km": ALTERNATE_KM, "hold_min": HOLD_MIN,
            "text": (f"flown distance × {1 + CONTINGENCY_FRACTION:g} + {ALTERNATE_KM:g} km alternate + "
                     f"{HOLD_MIN:g} min hold at cruise; the high bound uses the flown distance alone")}


def end_to_end(payloads: list[LegPayload]) -> dict:
    """Limiting leg and the most that could be carried over every leg without unloading."""
    known = [(i, p) for i, p in enumerate(payloads) if p.max_payload_t is not None]
    if not payloads:
        return {"limiting_leg": None, "end_to_end_max_t": None, "end_to_end_band_t": [None, None]}
    if len(known) < len(payloads):
        unknown = [i for i, p in enumerate(payloads) if p.max_payload_t is None]
        return {"limiting_leg": None, "end_to_end_max_t": None, "end_to_end_band_t": [None, None],
                "note": f"payload unknown on leg(s) {', '.join(map(str, unknown))}: end-to-end figure not given"}
    i, worst = min(known, key=lambda ip: ip[1].max_payload_t)
    lo = min(p.band_t[0] for _, p in known if p.band_t[0] is not None) if known else None
    his = [p.band_t[1] for _, p in known]
    hi = None if any(h is None for h in his) else min(his)
    r = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {"limiting_leg": i, "end_to_end_max_t": r(worst.max_payload_t), "end_to_end_band_t": [r(lo), r(hi)]}


def check_claim(payloads: list[LegPayload], claimed_t: float) -> dict:
    """Compare a claimed load carried over every leg with what each leg allowed."""
    rank = {"consistent": 0, "optimistic": 1, "cannot be checked": 2, "exceeds": 3}
    legs = []
    for i, p in enumerate(payloads):
        lo, hi = p.band_t
        if p.max_payload_t is None:
            verdict = "cannot be checked"
        elif claimed_t <= p.max_payload_t + 1e-9:
            verdict = "consistent"
        elif hi is not None and claimed_t <= hi + 1e-9:
            verdict = "optimistic"
        else:
            verdict = "exceeds"
        legs.append({"leg": i, "verdict": verdict, "max_payload_t": None if p.max_payload_t is None
                     else round(p.max_payload_t, 1)})
    worst = max((leg["verdict"] for leg in legs), key=rank.__getitem__, default="cannot be checked")
    text = {"consistent": "within what the type could carry on every leg",
            "optimistic": "possible only at the optimistic end of the band on some leg",
            "exceeds": "more than the type could carry on at least one leg, even at the high bound",
            "cannot be checked": "no sourced payload figure covers at least one leg"}[worst]
    return {"claimed_t": claimed_t, "verdict": worst, "text": f"{claimed_t:g} t: {text}", "legs": legs}


def airlift_report(code: str, distances_km: list[float], cargo: Cargo | None = None,
                   claim_t: float | None = None, leg_labels: list[dict] | None = None) -> dict:
    """The full airlift answer for one type over the given legs (flown km each)."""
    spec = spec_or_raise(code)
    payloads = [leg_payload(spec.code, d) for d in distances_km]
    hold = Hold.of(spec)
    legs = []
    for i, p in enumerate(payloads):
        leg = p.to_json()
        if leg_labels and i < len(leg_labels):
            leg = {**leg_labels[i], **leg}
        if cargo is not None:
            plan = plan_sorties(cargo, p.max_payload_t, hold)
            leg["sorties"] = plan.to_json()
            lo, hi = p.band_t
            leg["sorties_band"] = [plan_sorties(cargo, hi, hold).count if hi is not None else None,
                                   plan_sorties(cargo, lo, hold).count if lo is not None else None]
        legs.append(leg)
    out = {"schema": SCHEMA, "type": spec.code, "requested_type": code, "type_name": spec.name,
           "cruise_kt": None if spec.cruise_kt is None else round(spec.cruise_kt, 1),
           "reserve_policy": reserve_policy(), "legs": legs, **end_to_end(payloads),
           "evidence": "inferred", "payload_range": spec.to_json()["payload_range"],
           "sources": {k: spec.source_of(k) for k in ("max_payload_t", "mtow_t", "ferry_range_km", "cruise_kmh",
                                                     "hold_length_m") if k in spec.figures}}
    if claim_t is not None:
        out["claim"] = check_claim(payloads, claim_t)
    if cargo is not None:
        out["cargo"] = cargo.to_json()
        out["comparison"] = compare_reported(cargo, legs)
    return out


def compare_reported(cargo: Cargo, legs: list[dict]) -> list[dict]:
    """Planner's sortie count next to any reported count for the cargo set, and why they differ."""
    out = []
    for rep in cargo.reported:
        counts = [leg["sorties"]["sorties"] for leg in legs if "sorties" in leg]
        planned = max((c for c in counts if c is not None), default=None)
        if cargo.incomplete:
            why = (f"the planner cannot count this set from sourced figures: {len(cargo.incomplete)} of "
                   f"{len(cargo.items)} items lack a sourced quantity or mass (unknown — supply them with a "
                   f"cargo CSV); flights also carried crews, spares and missiles not itemised here")
        elif planned is None:
            why = "the legs' payload is unknown or an item is too heavy for them"
        else:
            why = ("the planner packs by mass and floor length only; real loads are also limited by axle and "
                   "floor loading, dangerous-goods segregation, per-flight load planning and a mixed fleet")
        caps = [leg["max_payload_t"] for leg in legs]
        lift = None if not caps or any(c is None for c in caps) else round(rep.sorties * min(caps), 1)
        out.append({"reported": rep.description, "reported_sorties": rep.sorties,
                    "most_those_sorties_could_lift_t": lift,
                    "reported_note": rep.note, "source": rep.source, "as_of": rep.as_of,
                    "planned_sorties": None if cargo.incomplete else planned, "why": why})
    return out


def _fmt(v, unit: str = "") -> str:
    return "unknown" if v is None else f"{v:,.1f}{unit}"


def render_markdown(report: dict) -> str:
    """A short Markdown table of the airlift answer."""
    lines = [f"# Airlift: {report['type_name']} ({report['type']})", "",
             f"Reserves: {report['reserve_policy']['text']}. Payload figures are *inferred* from sourced "
             "payload–range points, not observed.", "",
             "| leg | distance km | max payload t | band t | limited by | sorties |", "|---|---:|---:|---|---|---:|"]
    for i, leg in enumerate(report["legs"], start=1):  # prose numbers legs from 1; JSON indices stay 0-based
        name = f"{i}"
        if leg.get("origin") or leg.get("destination"):
            name += f" {leg.get('origin') or '?'}→{leg.get('destination') or '?'}"
        lo, hi = leg["band_t"]
        s = leg.get("sorties", {}).get("sorties") if "sorties" in leg else None
        extra = " (extrapolated)" if leg["extrapolated"] else ""
        lines.append(f"| {name} | {leg['distance_km']:,.0f} | {_fmt(leg['max_payload_t'])} | "
                     f"{_fmt(lo)}–{_fmt(hi)} | {leg['limited_by']}{extra} | "
                     f"{'' if 'sorties' not in leg else ('unknown' if s is None else s)} |")
    lines.append("")
    if report.get("end_to_end_max_t") is not None:
        lo, hi = report["end_to_end_band_t"]
        lines.append(f"Most that could go end to end without unloading: **{_fmt(report['end_to_end_max_t'], ' t')}** "
                     f"(band {_fmt(lo)}–{_fmt(hi)} t), limited by leg {report['limiting_leg'] + 1}.")  # legs are numbered from 1 in prose
    elif report.get("note"):
        lines.append(report["note"])
    if "claim" in report:
        lines += ["", f"Claim check: {report['claim']['text']}."]
    if "cargo" in report:
        lines += ["", f"Cargo: {report['cargo']['name']} (known mass {report['cargo']['known_mass_t']:g} t)."]
        for leg in report["legs"][:1]:
            for note in leg["sorties"]["unknown_supply_it"] + leg["sorties"]["notes"]:
                lines.append(f"- {note}")
        for c in report.get("comparison", []):
            lines.append(f"- Reported: {c['reported']} ({c['source']}); "
                         f"planner: {c['planned_sorties'] if c['planned_sorties'] is not None else 'not computable'}"
                         f" — {c['why']}.")
            if c.get("most_those_sorties_could_lift_t") is not None:
                lines.append(f"- {c['reported_sorties']} sorties of this type on these legs could lift at most "
                             f"{c['most_those_sorties_could_lift_t']:,.0f} t in all (nominal payload).")
    lines += ["", "Sources: " + "; ".join(f"{k}: {v}" for k, v in report["sources"].items())]
    return "\n".join(lines) + "\n"
