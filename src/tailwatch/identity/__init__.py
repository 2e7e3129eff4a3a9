"""Identity: ICAO 24-bit address <-> country, registration, registries and watchlists."""
