"""Times given by a user (CLI flags, web queries): ISO 8601, UTC when no zone is given."""

from __future__ import annotations

from datetime import datetime, timezone

from tailwatch.errors import BadInput


def parse_time(value: str | None, name: str = "time") -> datetime | None:
    """`value` as an aware datetime (None for empty); BadInput names the flag when it is not ISO 8601."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput(f"{name}: not an ISO 8601 time: {value!r}") from exc
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def json_default(value):
    """How itinerary JSON writes values JSON has no type for: times as ISO 8601 with `Z`, the rest as text."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)
