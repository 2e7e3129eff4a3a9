"""The application layer: resolve the aircraft, pick the engine, run the analysis, render.

The faces (`cli`, `web`, `live`, `demo`) call these functions and nothing below them directly
for a whole request, so the command line, the web page and the demo take one path.
"""
