"""How far the route was flown against the direct distance: like with like, or not at all.

Why: a route whose first origin is unknown used to be summed whole (every leg flown) and set
against the great circle of whatever part had known ends ("flown 8,256 km against 1,092 km
direct", the 1,092 km being the last leg alone). A reader takes that for a 7,000 km detour. So the
route compares only the legs with both ends at a named airport (observed or inferred): the sum of
their flown distances against the sum of their great circles, saying how many legs were left out.
Each leg compares its own flown distance with its own great circle (`detour_km`, `detour_pct`).

`route.direct_km` and `route.flown_km` (DESIGN.md) are these two sums; `flown_km_all_legs` is
every leg's flown distance, which nothing is compared against. Pure functions of the JSON legs,
shared by the itinerary, the airspace step and every writer so they print one sentence.
"""

from __future__ import annotations


def both_ends_known(leg: dict) -> bool:
    """Whether a JSON leg starts and ends at a named airport (observed or inferred)."""
    return bool((leg.get("origin") or {}).get("icao")) and bool((leg.get("destination") or {}).get("icao"))


def leg_detour(great_circle_km: float | None, flown_km: float | None) -> tuple[float | None, float | None]:
    """(detour_km, detour_pct) of one leg: its flown distance against its own great circle."""
    if not great_circle_km or flown_km is None or great_circle_km <= 0:
        return None, None
    return round(flown_km - great_circle_km, 1), round((flown_km / great_circle_km - 1.0) * 100.0, 1)


def route_distances(legs: list[dict]) -> dict:
    """The route's distance fields from its JSON legs: `direct_km` and `flown_km` summed over the
    legs with both ends known (`legs_compared`), the others counted in `legs_left_out`."""
    closed = [leg for leg in legs if both_ends_known(leg)]
    return {
        "direct_km": round(sum(float(leg.get("great_circle_km") or 0.0) for leg in closed), 1),
        "flown_km": round(sum(float(leg.get("flown_km") or 0.0) for leg in closed), 1),
        "legs_compared": len(closed),
        "legs_left_out": len(legs) - len(closed),
        "flown_km_all_legs": round(sum(float(leg.get("flown_km") or 0.0) for leg in legs), 1),
    }


def detour_sentence(route: dict, n_legs: int | None = None) -> str:
    """The route's distance comparison in words (Markdown, HTML, the airspace sentence)."""
    compared = route.get("legs_compared")
    left_out = route.get("legs_left_out") or 0
    flown, direct = route.get("flown_km"), route.get("direct_km")
    if compared is None:  # a document written before these fields: say only what it holds
        return f"flown {flown or 0:,.0f} km" + (f" over {n_legs} legs" if n_legs else "")
    everything = route.get("flown_km_all_legs")
    if compared == 0:
        return (f"no leg has both ends known, so no detour is computed"
                + (f" ({everything:,.0f} km flown in all)" if everything is not None else ""))
    text = (f"flown {flown:,.0f} km against {direct:,.0f} km direct, over the {compared} "
            f"leg{'s' if compared != 1 else ''} with both ends known")
    if left_out:
        text += (f"; {left_out} leg{'s' if left_out != 1 else ''} with an unknown end left out"
                 + (f" ({everything:,.0f} km flown on all legs)" if everything is not None else ""))
    return text


__all__ = ["both_ends_known", "leg_detour", "route_distances", "detour_sentence"]
