"""tailwatch: follow the aircraft you care about in ADS-B data, with evidence."""

import os

__version__ = "0.1.0"

# Polars' allocator (jemalloc, configured from this variable when Polars is imported) hands
# freed pages back to the kernel after half a second. An ingest frees and allocates hundreds
# of MB at every flush, so the kernel zeroed the same pages again and again: system time was
# a third of an ingest's CPU. Keeping freed pages for ten seconds lets the next flush reuse
# them (OpenSky CSV ingest 10 % faster, peak RSS about 100 MB higher). Only in effect when
# tailwatch is imported before Polars, as the CLI does; a user's own setting is kept.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000,muzzy_decay_ms:10000")
