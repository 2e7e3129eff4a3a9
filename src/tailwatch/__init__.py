"""tailwatch: follow the aircraft you care about in ADS-B data, with evidence."""

__version__ = "0.1.0"
