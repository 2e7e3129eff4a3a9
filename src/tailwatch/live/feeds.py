"""Live feed clients: Beast, SBS (BaseStation), raw AVR and polled aircraft.json.

    beast://host:30005   sbs://host:30003   raw://host:30002   http(s)://host/…/aircraft.json

Each client runs as an asyncio task that only moves bytes: it connects,
reads, stamps each chunk with the wall-clock time it arrived, and reconnects
after a failure with exponential backoff and random jitter (so a restarted
receiver is not hit by every client at once). Turning the bytes into frames
happens later, in the watcher's worker thread, through `take()` + `frames()`
or `points()`, so reading never waits for decoding. The read side stops while
a feed's unprocessed bytes exceed `max_backlog`: TCP flow control then slows
the sender instead of memory growing without bound.

The clients: `modes_feeds` (Beast, AVR), `decoded_feeds` (SBS, aircraft.json), on the base of `feed`.

Message times are receive times (UTC): a receiver's own Beast clock is a free
running 12 MHz counter with no epoch, and BaseStation lines carry local time.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tailwatch.errors import BadInput
from tailwatch.live.decoded_feeds import HttpJsonFeed, SbsFeed
from tailwatch.live.feed import Feed, FeedStats, ModeSFrames  # noqa: F401 - feed clients are imported from here
from tailwatch.live.modes_feeds import BeastFeed, RawFeed


SCHEMES = ("beast", "sbs", "raw", "http", "https")


def make_feed(url: str, **kw) -> Feed:
    """A feed client for `url` (see the module docstring for the schemes)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return HttpJsonFeed(url, **kw)
    if scheme not in SCHEMES:
        raise BadInput(f"--feed {url!r}: unknown scheme (use beast://, sbs://, raw://, http(s)://…/aircraft.json)")
    try:
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"--feed {url!r}: bad port") from exc
    if not parts.hostname:
        raise BadInput(f"--feed {url!r}: missing host")
    default = {"beast": 30005, "sbs": 30003, "raw": 30002}[scheme]
    if port is None:
        url = f"{scheme}://{parts.hostname}:{default}"
    cls = {"beast": BeastFeed, "sbs": SbsFeed, "raw": RawFeed}[scheme]
    return cls(url, **kw)
