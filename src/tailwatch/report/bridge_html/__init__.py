"""Air bridges as one self-contained HTML page: the lede, one map of every inbound flight, the timeline
chart beside the baseline, the flights, totals, co-locations and the candidates left out with reasons.

Built on the itinerary report's parts (`report.html`: projection, country layer, escaping, the inlined
`assets/report.css` and `report.js`) plus `assets/bridge.css` and `bridge.js` (a flight's row and its lines
lit together). One module per part: `map`, `timeline`, `tracks` (each flight's drawn chain), `page`.
"""

from tailwatch.report.bridge_html.page import lede_text, render_bridge_body, render_bridge_html, title_of

__all__ = ["lede_text", "render_bridge_body", "render_bridge_html", "title_of"]
