"""Air bridges: every flagged flight into a place over a window, what it could carry, how unusual it is.

Why a folder of its own: one Il-76 in Caracas is a photograph; a campaign is a count across a fleet
(the UN panel's 24 landings at Amdjarass, Reuters' 86 flights into one airport). The bridge reads the
itinerary documents an engine already built (the same for DuckDB and Spark) and never looks at points
again: an arrival is what the itinerary says it is (observed or inferred), an unknown stop never counts.
Pure functions of plain values; the application gathers the documents and the watchlists.
"""

from tailwatch.bridge.criteria import HEAVY_FREIGHTERS, Criteria
from tailwatch.bridge.flights import bridge_flights
from tailwatch.bridge.place import Destination, parse_into
from tailwatch.bridge.totals import bridge_document, colocations, totals

__all__ = ["Criteria", "Destination", "HEAVY_FREIGHTERS", "bridge_document", "bridge_flights", "colocations",
           "parse_into", "totals"]
