"""Airspace: which countries a track crossed, which of them bar the aircraft, and the
shortest route that respects the bans (crossing.py, bans.py, routing.py, enrich.py)."""
