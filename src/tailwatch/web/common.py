"""What the live page (`watch --web`) and the investigator's app (`serve`) share: JSON cleaning,
security headers, the country outlines response.

Both apps are read-only and self-contained: every response carries a Content-Security-Policy
that allows nothing but the app itself, so a page can make no third-party request even if a
bug tried to.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

from fastapi import FastAPI, Response

# the live page inlines its CSS and JS into one document; the investigator's app serves files from 'self'
CSP_INLINE = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
              "img-src 'self' data:; base-uri 'none'; form-action 'none'")
CSP_SELF = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def iso(ts: datetime | None) -> str | None:
    """UTC ISO 8601 with a `Z`, to the second (DESIGN.md: times are UTC with a Z)."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def clean(value):
    """JSON-safe: UTC times as ISO strings with Z, dates as ISO, non-finite numbers as null."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def add_security_headers(app: FastAPI, csp: str) -> None:
    """CSP, no sniffing, no referrer, no caching unless a route says otherwise."""

    @app.middleware("http")
    async def headers(request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = response.headers.get("Cache-Control", "no-store")
        return response


def countries_response(gzipped: bool = False) -> Response:
    """The packaged country outlines as GeoJSON (the maps' base layer; nothing comes from the network).

    `gzipped` sends the body compressed once per process (Content-Encoding set, so the
    GZip middleware passes it through) instead of compressing 470 KB on every request.
    """
    from tailwatch.web.countries import countries_geojson, countries_geojson_gzip

    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if gzipped:
        return Response(countries_geojson_gzip(), media_type="application/geo+json",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(countries_geojson(), media_type="application/geo+json", headers=headers)
