"""Itineraries as one self-contained HTML page: map, altitude profile, legs, identity, method.

The page opens offline and makes no request: the map is inline SVG drawn here from
the packaged country polygons (`tailwatch.geo.countries`) in an equirectangular
projection fitted to the itinerary (`projection`); a Content-Security-Policy forbids any
fetch. No JS mapping library is bundled: `assets/report.js` (twenty lines, inlined with
`assets/report.css`) gives pan/zoom and leg highlighting. Every figure shown comes from the
itinerary JSON or the points frame, and each leg states its point count and time range.
One module per part of the page: `map`, `profile`, `tables`, `summary`, assembled by `page`.
"""

from tailwatch.report.html.page import render_aircraft, render_html, write_html
from tailwatch.report.html.projection import View, fit_view
from tailwatch.report.html.text import esc

__all__ = ["render_html", "write_html", "render_aircraft", "fit_view", "View", "esc"]
