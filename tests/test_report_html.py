"""The HTML report in headless Chromium (Debian's, driven by Playwright): complete, error-free, offline.

Every request the page makes is recorded and aborted unless it is file: or data:;
the test asserts there are none beyond the page itself. The screenshot is kept in
`test-artifacts/` for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tailwatch.report.tracks import country_layer
from test_report_writers import ICAO24, sample

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def open_in_chromium(path: Path, screenshot: Path, tmp_path: Path) -> dict:
    """Load `path` and return what the page showed: counts, console errors, outside requests."""
    import playwright.sync_api as sync_api  # in the test extra: missing is a failure, not a skip
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/dev.py installs it)")
    outside: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS,
            viewport={"width": 1280, "height": 900}, offline=True)
        try:
            def route(r):
                url = r.request.url
                if url.startswith(("file:", "data:")):
                    r.continue_()
                else:
                    outside.append(url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else outside.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_timeout(200)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            # the map reacts to zoom (its script ran) and restores on double-click
            box = page.locator("svg.map").first.bounding_box()
            before = page.locator("svg.map").first.get_attribute("viewBox")
            label = page.locator("svg.map g.stop text").first
            label_before = label.bounding_box()["height"]
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.wheel(0, -200)
            page.wait_for_timeout(100)
            zoomed = page.locator("svg.map").first.get_attribute("viewBox")
            label_after = label.bounding_box()["height"]
            # keyboard: Tab reaches a leg's row and lights its line on the map (the mouse out of the way)
            page.mouse.move(0, 0)
            page.focus("table.legs tr.leg[data-leg='0']")
            page.keyboard.press("Tab")
            lit = page.evaluate("[document.activeElement.dataset.leg, [...document.querySelectorAll('svg.map polyline.seg.hl')].map(e => e.dataset.leg)]")
            info = page.evaluate("""() => ({
                maps: document.querySelectorAll('svg.map').length,
                lands: document.querySelectorAll('svg.map path.land').length,
                banned: document.querySelectorAll('svg.map path.banned').length,
                segLegs: [...document.querySelectorAll('svg.map polyline.seg')].map(e => [+e.dataset.leg, e.classList.contains('inferred') ? 'inferred' : 'observed']),
                segDash: [...document.querySelectorAll('svg.map polyline.seg')].map(e => getComputedStyle(e).strokeDasharray),
                stops: [...document.querySelectorAll('svg.map g.stop')].map(e => [e.querySelector('text').textContent, e.classList.contains('observed') ? 'observed' : 'inferred']),
                rows: [...document.querySelectorAll('table.legs tr.leg')].map(e => e.innerText + ' ' + e.nextElementSibling.innerText),
                panels: document.querySelectorAll('svg.profile g.panel').length,
                legal: document.querySelectorAll('svg.map polyline.legal').length,
                arrows: [...document.querySelectorAll('svg.map path.arrow')].map(e => +e.dataset.leg),
                cities: [...document.querySelectorAll('svg.map g.stop text.city')].map(e => e.textContent),
                legend: (document.querySelector('div.legend') || {}).innerText || '',
                gaps: document.querySelectorAll('svg.profile rect.gap').length,
                mapWidth: document.querySelector('svg.map').getBoundingClientRect().width,
                text: document.body.innerText,
            })""")
            info["viewBox"] = (before, zoomed)
            info["label"] = (label_before, label_after)
            info["lit"] = lit
        finally:
            context.close()
    info["errors"], info["outside"] = errors, outside
    return info


def test_html_report_in_headless_chromium(tmp_path):
    from tailwatch.report.html import write_html

    itin, points = sample()
    (path,) = write_html([itin], {ICAO24: points}, tmp_path / "report.html")
    page = path.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "the page must not reference the network"
    info = open_in_chromium(path, ARTIFACTS / "report-html.png", tmp_path)
    assert info["errors"] == []
    assert info["outside"] == []
    assert info["maps"] == 1 and info["mapWidth"] > 600
    if country_layer() is not None:  # coastlines and borders from the packaged shapes; GR and IT shaded
        assert info["lands"] > 20 and info["banned"] == 2
    assert len(page) < 1_500_000
    # every leg is on the map; the gap of leg 2 and the stub of leg 3 are dashed
    assert sorted(set(map(tuple, info["segLegs"]))) == [(0, "observed"), (1, "inferred"), (1, "observed"), (2, "inferred"), (2, "observed")]
    dashed = [d for (leg, ev), d in zip(info["segLegs"], info["segDash"]) if ev == "inferred"]
    assert dashed and all(d not in ("none", "") for d in dashed)
    assert info["stops"] == [["UUWW", "observed"], ["UDYZ", "observed"], ["DAAG", "observed"], ["GOBD", "inferred"]]
    # the table: one row per leg, with times, airports, evidence, points, banned countries
    assert len(info["rows"]) == 3
    assert "GR, IT" in info["rows"][1] and "1 gap(s)" in info["rows"][1]
    assert "inferred" in info["rows"][2] and "unknown" in info["rows"][2]  # max payload not given for leg 3
    assert str(points.filter(points["leg"] == 0).height) in info["rows"][0]
    assert info["panels"] == 3 and info["gaps"] >= 2
    assert info["legal"] == 2  # the legal shortest route, one thin line per hop
    assert info["arrows"] == [0, 1, 2]  # one direction arrow per leg
    assert info["cities"][:3] == ["Moscow", "Yerevan", "Algiers"]
    # the legend lists what is drawn: barred airspace and the legal route here, no unknown stop
    assert "airspace barred to this aircraft" in info["legend"] and "legal shortest path" in info["legend"]
    assert "direction of flight" in info["legend"] and "stop, unknown" not in info["legend"]
    assert info["viewBox"][0] != info["viewBox"][1], "wheel zoom changes the view (the page script ran)"
    assert info["label"][1] == pytest.approx(info["label"][0], rel=0.1), "airport labels keep their size on zoom"
    for words in ("Method and caveats", "RA-78765", "test-list", "hand-made fixture"):
        assert words in info["text"]
    assert info["lit"][0] == "1" and set(info["lit"][1]) == {"1"}, info["lit"]
    assert (ARTIFACTS / "report-html.png").stat().st_size > 10_000


def test_html_map_survives_the_antimeridian():
    from tailwatch.report.html import fit_view

    # positions east of 170E and west of 170W: the view is centred on 180, not across the whole world
    import numpy as np

    view = fit_view(np.array([165.0, 175.0, -175.0, -165.0]), np.array([50.0, 52.0, 54.0, 56.0]))
    assert view.east - view.west < 60
    x, _ = view.xy(np.array([175.0, -175.0]), np.array([52.0, 54.0]))
    assert 0 < x[0] < x[1] < view.width


def test_html_antimeridian_track_is_continuous_and_several_aircraft_get_sections():
    import numpy as np
    import polars as pl

    from tailwatch.geo.geodesy import great_circle_points
    from tailwatch.report.html import render_html
    from tailwatch.schema import conform

    from datetime import datetime, timedelta, timezone

    lat, lon = great_circle_points(61.17, -149.99, 53.17, 158.45, 60)
    t = [datetime(2025, 10, 1, tzinfo=timezone.utc) + timedelta(minutes=4 * i) for i in range(60)]
    pts = conform(pl.DataFrame({"timestamp": t, "icao24": "abc123", "latitude": lat, "longitude": lon,
                                "altitude": 30000.0, "source": "test"})).with_columns(pl.lit(0).alias("leg"))
    pacific = {"aircraft": {"icao24": "abc123"}, "legs": [{
        "origin": {"icao": "PANC", "latitude": 61.17, "longitude": -149.99},
        "destination": {"icao": "UHPP", "latitude": 53.17, "longitude": 158.45},
        "takeoff": "2025-10-01T00:00:00Z", "landing": "2025-10-01T03:56:00Z", "gaps": [],
        "origin_evidence": "observed", "destination_evidence": "observed"}]}
    itin, points = sample()
    page = render_html([itin, pacific], {ICAO24: points, "abc123": pts})
    assert page.count('<svg class="map"') == 2 and page.count('<section class="aircraft"') == 2
    # several aircraft: the overview first (totals, one map of all, a row per aircraft), each section behind it
    assert page.index('id="overview"') < page.index('id="aircraft-0"') < page.index('id="aircraft-1"')
    assert page.count('<svg class="map overview"') == 1 and "2 aircraft, 4 legs" in page
    assert page.count('<a href="#aircraft-1">') == 2  # its row and its tracks on the overview map
    assert page.count('<details class="aircraft-detail">') == 2
    assert len(set(re.findall(r'id="([^"]+)"', page))) == len(re.findall(r'id="([^"]+)"', page)), "ids are unique"
    section = page.split('id="aircraft-1"')[1]
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', section).group(1))
    lines = re.findall(r'<polyline class="seg observed"[^>]* points="([^"]+)"', section)
    assert len(lines) == 1, "one unbroken line across the antimeridian"
    xs = np.array([float(p.split(",")[0]) for p in lines[0].split()])
    assert np.all(np.abs(np.diff(xs)) < width / 10) and 0 < xs.min() < xs.max() < width


def test_dense_lines_keep_what_the_map_can_show():
    import numpy as np

    from tailwatch.report.html.projection import MIN_SPACING, spaced

    # a track of 20,000 fixes 0.01 units apart, with one real 300-unit jump in it (a gap)
    x = np.r_[np.linspace(0, 200, 10_000), np.linspace(500, 700, 10_000)]
    y = np.sin(x / 50.0) * 40
    sx, sy = spaced(x, y)
    assert 200 < sx.size < 2_000  # a fraction of the bytes
    assert (sx[0], sy[0], sx[-1], sy[-1]) == (x[0], y[0], x[-1], y[-1])
    steps = np.hypot(np.diff(sx), np.diff(sy))
    assert steps.max() < 300 + MIN_SPACING + 1  # the gap stays a gap; no new jump longer than it
    assert np.sort(steps)[-2] < 2 * MIN_SPACING + 0.1  # elsewhere the line keeps a vertex every unit or so
    # a thinned point lies on the original line: the drawn shape is the same
    assert np.all(np.isin(sx, x))
