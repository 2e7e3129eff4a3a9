"""What every part of the HTML page shares: the packaged assets, escaping, small value formats."""

from __future__ import annotations

import html
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=4)
def asset(name: str) -> str:
    """A file of report/assets, inlined into the page (the page loads nothing)."""
    return (resources.files("tailwatch.report") / "assets" / name).read_text(encoding="utf-8")


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


def km(v) -> str:
    return "unknown" if v is None else f"{float(v):,.0f} km"


def badge(evidence: str | None) -> str:
    ev = evidence or "unknown"
    return f'<span class="ev {esc(ev)}">{esc(ev)}</span>'


def airport(ref: dict | None) -> str:
    if not ref:
        return "unknown"
    return (f'<b>{esc(ref.get("icao") or ref.get("iata") or "?")}</b> {esc(ref.get("name") or "")}'
            f' <span class="cc">{esc(ref.get("country") or "")}</span>')


def cell(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, str) and v.startswith(("http://", "https://")):
        return f'<span class="url">{esc(v)}</span>'  # shown, not linked: the page makes no request
    if isinstance(v, (list, tuple)):
        return esc(", ".join(map(str, v)))
    return esc(v)
