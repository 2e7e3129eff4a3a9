"""Publishable pages, in headless Chromium (Debian's, driven by Playwright) at a desk (1440×900) and on a
phone (390×844): the demo's static HTML report and `tailwatch serve`'s itinerary page over the demo archive.

Each must say the story on its first screen (the lede), draw the barred airspace and the legal paths it
speaks of (SVG / Leaflet elements counted against the itinerary JSON), show no console error, reach nothing
but itself, and never scroll sideways at 390 px (a wide table scrolls inside its own box). The served page
is used as a reader would: legs and stops reached with Tab and opened with Enter, a permalink that brings
back the selected leg and the map's view, the map saved as an SVG file. The static report is printed to an
A4 PDF (Chromium's print-to-PDF through the DevTools protocol), read back with poppler's pdftotext and
pdftoppm: the lede on page 1, the whole map on one page, every leg in the tables, the SIMULATED banner
printed in a colour that needs no background. Screenshots and the PDF go to `test-artifacts/`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from browser import browser_page
from test_report_html import ARTIFACTS, CHROMIUM, LAUNCH_ARGS
from test_web_serve import RA, Served

DESK, PHONE = (1440, 900), (390, 844)
A4_CONTENT_PX = round((210 - 2 * 12) / 25.4 * 96)  # the print stylesheet's A4 page less its 12 mm margins


def _pdf_tools() -> None:
    for tool in ("pdfinfo", "pdftotext", "pdftoppm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} (Debian poppler-utils) is not installed (scripts/dev.py installs it)")


def _pages_text(pdf: Path) -> list[str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    n = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert re.search(r"^Page size:.*\(A4\)", info, re.M), info
    return [subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), "-layout", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout for i in range(1, n + 1)]


def test_static_report_at_desk_and_phone_and_on_paper(demo_archive, tmp_path):
    import playwright.sync_api as sync_api  # in the test extra: missing is a failure, not a skip
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/dev.py installs it)")
    _pdf_tools()
    report = demo_archive.parents[1] / "itinerary.html"
    itin = json.loads((demo_archive.parents[1] / "itinerary.json").read_text())
    legs = itin["legs"]
    barred = set(itin["route"]["direct_barred"]) | set(itin["route"]["crossed_barred"])
    going_around = [i for i, leg in enumerate(legs) if leg.get("direct_barred") or leg.get("crossed_barred")]
    errors: list[str] = []
    outside: list[str] = []
    seen: dict = {}
    pdf = ARTIFACTS / "report-print.pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            for size in (DESK, PHONE):
                page = browser.new_page(viewport={"width": size[0], "height": size[1]})
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
                           else (outside.append(r.request.url), r.abort()))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(report.as_uri(), wait_until="load")
                page.screenshot(path=str(ARTIFACTS / f"report-{size[0]}.png"))
                seen[size] = page.evaluate("""() => ({
                    lede: document.querySelector('p.lede').innerText,
                    ledeTop: document.querySelector('p.lede').getBoundingClientRect().top,
                    banned: new Set([...document.querySelectorAll('svg.map path.banned')].map(p => p.dataset.country)).size,
                    legal: new Set([...document.querySelectorAll('svg.map polyline.legal')].map(p => p.dataset.leg)).size,
                    legalLines: document.querySelectorAll('svg.map polyline.legal').length,
                    arrows: document.querySelectorAll('svg.map path.arrow').length,
                    scrollWidth: document.documentElement.scrollWidth,
                    mapWidth: document.querySelector('svg.map').getBoundingClientRect().width,
                    legsTable: (t => [t.scrollWidth, t.clientWidth])(document.querySelector('table.legs')),
                })""")
                if size == DESK:  # on paper: print media at the A4 page's width
                    page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1100})
                    page.emulate_media(media="print")
                    seen["print"] = page.evaluate("""() => ({
                        notice: getComputedStyle(document.querySelector('.notice')).color,
                        tables: [...document.querySelectorAll('table')].map(t => Math.round(t.getBoundingClientRect().right)),
                        scrollWidth: document.documentElement.scrollWidth,
                        graticule: (m => [...m.querySelectorAll('text.gl')].filter(t => {  // the labels inside the view
                            const r = t.getBoundingClientRect(), v = m.getBoundingClientRect();
                            return r.top >= v.top && r.bottom <= v.bottom && r.left >= v.left && r.right <= v.right;
                        }).map(t => t.textContent))(document.querySelector('svg.map')),
                        rows: [...document.querySelectorAll('table.legs tr.leg')].map(tr => tr.cells[0].innerText.trim()),
                    })""")
                    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
                    page.emulate_media(media="screen")
                page.close()
        finally:
            browser.close()
    assert errors == [] and outside == []
    for size in (DESK, PHONE):
        info = seen[size]
        assert "RA-78765 is an Ilyushin Il-76TD" in info["lede"] and "went around airspace barred to it" in info["lede"]
        assert info["ledeTop"] < size[1] / 2, "the lede is on the first screen"
        # the barred airspace the itinerary names is shaded; the legs that went around it have their legal path
        assert info["banned"] == len(barred) == 8
        assert info["legal"] == len(going_around) == 5 and info["legalLines"] >= 5
        assert len(legs) - 1 <= info["arrows"] <= len(legs)  # leg 5 (421 km) is too short on this map for one
        assert info["scrollWidth"] <= size[0], f"the page scrolls sideways at {size[0]} px"
    assert seen[PHONE]["mapWidth"] <= PHONE[0] and seen[PHONE]["legsTable"][0] > seen[PHONE]["legsTable"][1], \
        "on a phone the legs table scrolls inside its own box"
    # printing: nothing wider than the A4 page, every leg's row, a banner legible without its background
    printed = seen["print"]
    assert printed["scrollWidth"] <= A4_CONTENT_PX and max(printed["tables"]) <= A4_CONTENT_PX, printed
    assert printed["rows"] == [str(i) for i in range(1, len(legs) + 1)]
    assert printed["notice"] not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), "white on red needs its background"
    pages = _pages_text(pdf)
    assert "SIMULATED DATA" in pages[0] and "is an Ilyushin Il-76TD" in pages[0]
    assert "went around airspace barred to it" in re.sub(r"\s+", " ", pages[0])
    # the whole map on one page: every graticule label (its left and bottom edges) and the legend on the same page
    labels = set(printed["graticule"])
    assert len(labels) >= 4
    on = [i for i, text in enumerate(pages) if labels <= set(re.findall(r"\d+°[NSEW]?", text))]
    assert len(on) == 1, ("the map is split across pages", labels, [re.findall(r"\d+°[NSEW]?", t) for t in pages])
    assert "direction of flight" in pages[on[0]] and "airspace barred to this aircraft" in pages[on[0]]
    assert not any(labels & set(re.findall(r"\d+°[NSEW]?", t)) for i, t in enumerate(pages) if i != on[0])
    # the legs table complete: the last leg's row is printed, every leg's number before its airports
    text = "\n".join(pages)
    for leg in legs:
        assert (leg.get("origin") or {}).get("icao", "unknown") in text
    subprocess.run(["pdftoppm", "-f", str(on[0] + 1), "-l", str(on[0] + 1), "-r", "60", "-png", str(pdf),
                    str(ARTIFACTS / "report-print-map")], check=True)
    rendered = sorted(ARTIFACTS.glob("report-print-map*.png"))
    assert rendered and rendered[-1].stat().st_size > 20_000, "the map page renders with its drawing"


def _served_facts(page) -> dict:
    return page.evaluate("""() => ({
        lede: (document.querySelector('#lede') || {}).innerText || '',
        ledeTop: document.querySelector('#lede') ? document.querySelector('#lede').getBoundingClientRect().top : 1e9,
        banned: document.querySelectorAll('#map path.banned').length,
        legal: document.querySelectorAll('#map path.legal').length,
        legs: new Set([...document.querySelectorAll('#map path.leg')].map(p => [...p.classList].find(c => /^leg-\\d+$/.test(c)))).size,
        arrows: document.querySelectorAll('#map .leaflet-marker-icon.arrow').length,
        labels: [...document.querySelectorAll('#map .ap-label')].map(l => [...l.querySelectorAll('b, .city')].map(e => e.textContent).join(' ')),
        cityShown: getComputedStyle(document.querySelector('#map .ap-label .city')).display !== 'none',
        labelHeight: document.querySelector('#map .ap-label .label').getBoundingClientRect().height,
        links: document.querySelectorAll('#map path.unknown-link').length,
        legend: [...document.querySelectorAll('#map-legend [data-item]')].map(s => s.dataset.item),
        stops: [...document.querySelectorAll('#map path.stop')].map(p => ['observed', 'inferred', 'unknown'].find(c => p.classList.contains(c))),
        inferred: document.querySelectorAll('#map path.leg.inferred').length,
        barred: [...document.querySelectorAll('table.legs tbody tr')].map(tr => tr.querySelector('td.barred').innerText),
        tabbable: [...document.querySelectorAll('table.legs tbody tr, table.stops tbody tr')].every(tr => tr.tabIndex === 0),
        scrollWidth: document.documentElement.scrollWidth,
        text: document.body.innerText,
        job: document.querySelector('.downloads a[download]').getAttribute('href').split('/')[3],
    })""")


def test_served_itinerary_at_desk_and_phone(demo_archive, tmp_path):
    server = Served(demo_archive)
    errors: list[str] = []
    outside: list[str] = []
    seen: dict = {}
    url = f"{server.base}aircraft/{RA}"
    ready = ("() => document.querySelectorAll('table.legs tbody tr').length > 0 && document.querySelector('#lede')"
             " && document.querySelectorAll('#map path.land').length > 100")
    try:
        with browser_page(server.base, tmp_path, errors, outside, viewport=DESK) as page:
            for size in (DESK, PHONE):
                page.set_viewport_size({"width": size[0], "height": size[1]})
                page.goto(url, wait_until="load")
                page.wait_for_function(ready, timeout=120_000)
                page.wait_for_timeout(300)
                page.screenshot(path=str(ARTIFACTS / f"serve-first-screen-{size[0]}.png"))
                seen[size] = _served_facts(page)
            result = page.evaluate(f"fetch('/api/jobs/{seen[DESK]['job']}/result').then(r => r.json())")
            page.set_viewport_size({"width": DESK[0], "height": DESK[1]})
            # labels keep their size when the map zooms
            page.wait_for_timeout(200)
            before = page.evaluate("document.querySelector('#map .ap-label .label').getBoundingClientRect().height")
            page.locator("#map .leaflet-control-zoom-in").click()
            page.wait_for_timeout(400)
            after = page.evaluate("document.querySelector('#map .ap-label .label').getBoundingClientRect().height")
            # a leg's tooltip gives the landing time the table gives
            page.locator("#map path.leg.leg-1").first.dispatch_event("mouseover")
            page.wait_for_selector("#map .leaflet-tooltip")
            tooltip = page.locator("#map .leaflet-tooltip").last.inner_text()
            landing = page.locator("table.legs tbody tr:nth-child(2) td:nth-child(5)").inner_text()
            page.locator("#map path.leg.leg-1").first.dispatch_event("mouseout")
            # keyboard: Tab from leg 1 reaches leg 2, Enter opens its evidence; a stop the same way
            page.focus("table.legs tbody tr:nth-child(1)")
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.dataset.leg")
            page.keyboard.press("Enter")
            page.wait_for_function("() => document.querySelector('#evidence h2').innerText.startsWith('Leg 2')")
            leg_evidence = page.locator("#evidence").inner_text()
            page.wait_for_function("() => location.hash.includes('leg=2') && location.hash.includes('map=')")
            page.wait_for_timeout(800)  # the map zooms to the leg; the hash follows
            permalink = page.url
            zoom = page.evaluate("document.querySelector('#map').dataset.zoom")
            page.focus("table.stops tbody tr:nth-child(11)")
            page.keyboard.press("Enter")
            page.wait_for_function("() => document.querySelector('#evidence h2').innerText.startsWith('Stop')")
            stop_evidence = page.locator("#evidence h2").inner_text()
            # the map as an SVG file
            with page.expect_download() as download:
                page.click("#map-svg")
            svg_path = tmp_path / "map.svg"
            download.value.save_as(svg_path)
            # the permalink, opened afresh, brings back leg 2 and the view
            again = page.context.new_page()
            again.goto(permalink, wait_until="load")
            again.wait_for_function("() => document.querySelector('#evidence h2') && document.querySelector('#evidence h2').innerText.startsWith('Leg 2')", timeout=60_000)
            again.wait_for_timeout(500)
            restored = again.evaluate("[document.querySelector('#map').dataset.zoom, document.querySelectorAll('table.legs tr.selected').length]")
            again.close()
            # on paper: no navigation, forms or zoom buttons; the lede, the map within a page, the tables
            # the reader's view once the map is still (a stop's pan is animated: its hash moves until it ends)
            view_before_print = None
            for _ in range(50):
                page.wait_for_timeout(300)
                view = (page.evaluate("document.querySelector('#map').dataset.zoom"), page.evaluate("location.hash"))
                if view == view_before_print:
                    break
                view_before_print = view
            page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1100})  # Chrome prints at the page's width
            page.emulate_media(media="print")
            page.wait_for_timeout(300)
            printed = page.evaluate("""() => ({
                hidden: ['header nav', '#search', 'form.window', '.leaflet-control-zoom', '.downloads'].map(
                    s => [...document.querySelectorAll(s)].every(e => e.getBoundingClientRect().height === 0)),
                mapHeight: document.querySelector('#map').getBoundingClientRect().height,
                notice: getComputedStyle(document.querySelector('.notice')).color,
                stopsInside: (m => [...document.querySelectorAll('#map path.stop')].every(p => {
                    const b = p.getBoundingClientRect();
                    return b.left >= m.left && b.right <= m.right && b.top >= m.top && b.bottom <= m.bottom;
                }))(document.querySelector('#map').getBoundingClientRect()),
            })""")
            pdf = ARTIFACTS / "serve-print.pdf"
            page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
            # undone in reverse, as a browser ends printing: its window never changed size, only the
            # media flips back. The resize's moveend can come after the restore and round the centre
            # half a pixel off: the permalink must not move for that (it once did, intermittently)
            page.set_viewport_size({"width": DESK[0], "height": DESK[1]})
            page.wait_for_timeout(300)
            page.emulate_media(media="screen")
            page.wait_for_timeout(300)
            after_print = page.evaluate("document.querySelector('#map').dataset.zoom")
            hash_after_print = page.evaluate("location.hash")
    finally:
        assert server.stop() == 0
    assert errors == [], errors
    assert outside == [], outside
    it = result["itinerary"]
    legs = it["legs"]
    barred = set(it["route"]["direct_barred"]) | set(it["route"]["crossed_barred"])
    going_around = [i for i, leg in enumerate(legs) if leg.get("direct_barred")]
    for size in (DESK, PHONE):
        info = seen[size]
        assert "RA-78765 is an Ilyushin Il-76TD" in info["lede"] and "went around airspace barred to it" in info["lede"]
        assert info["ledeTop"] < size[1] * 0.6, "the lede is on the first screen"
        assert info["banned"] == len(barred) == 8
        assert info["legal"] == len(going_around) == 5
        assert info["legs"] == len(legs) == 13 and info["arrows"] == 13
        assert info["scrollWidth"] <= size[0], f"the page scrolls sideways at {size[0]} px"
        assert "UDYZ Yerevan" in info["labels"] and "DAAG Algiers" in info["labels"]
        assert info["cityShown"] == (size == DESK), "on a phone the map shows codes only (the cities crowd 350 px)"
        assert len(info["labels"]) == len(set(info["labels"])), "an airport is labelled once"
        # distinct observed, inferred and unknown; the unknown stop joined to the pieces either side
        assert {"observed", "inferred", "unknown"} <= set(info["stops"]) and info["inferred"] > 0
        assert info["links"] == 1
        # the legend names what is drawn, nothing else
        assert set(info["legend"]) == {"observed", "inferred", "arrow", "legal", "banned", "stop-observed",
                                       "stop-inferred", "stop-unknown", "candidate", "unknown-link"}, info["legend"]
        text = info["text"]
        limiting = it["airlift"]["limiting_leg"]
        assert f"limited by leg {limiting + 1} " in text and f"limited by leg {limiting} " not in text
        assert "→ →" not in text and "SVMI → unknown (candidates GQNO/GOBD/GOSS) → DAAG" in text
        assert info["barred"][1] == "went around GR, AL, IT" and info["barred"][0] == "none on the direct line"
        assert "—" not in info["barred"]
        assert "Whose airspace it went around" in text and "Leg 2, Yerevan → Algiers: the direct line crosses Greece" in text
        assert "leg great circles" not in text and "on the 11 legs with both ends known" in text
        assert info["tabbable"]
    assert after == pytest.approx(before, rel=0.1), "labels keep their size on zoom"
    assert tooltip.startswith("leg 2 UDYZ → DAAG") and f"landing {landing}" in tooltip and landing.startswith("2025-10-04")
    assert focused == "1" and "went around" in leg_evidence and "GR, AL, IT" in leg_evidence
    assert "the direct line crosses Greece" in leg_evidence and "landing" in leg_evidence
    assert stop_evidence.startswith("Stop: unknown (candidates")
    assert re.search(r"#leg=2&map=\d+%2F-?[\d.]+%2F-?[\d.]+$", permalink), permalink
    assert restored == [zoom, 1], (restored, zoom)
    assert all(printed["hidden"]), printed
    assert printed["stopsInside"], "on paper the map shows the whole itinerary"
    assert (after_print, hash_after_print) == view_before_print, "after printing, the reader's view and permalink are back"
    assert 200 < printed["mapHeight"] < (297 - 24) / 25.4 * 96 and printed["notice"] != "rgb(255, 255, 255)"
    if shutil.which("pdftotext"):
        pages = _pages_text(pdf)
        assert "is an Ilyushin Il-76TD" in pages[0] and "SIMULATED DATA" in pages[0]
        assert "Legs (13)" in "\n".join(pages) and "rebuild" not in "\n".join(pages)
    svg = ET.parse(svg_path).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    classes = [p.get("class") or "" for p in svg.iterfind(".//s:path", ns)]
    assert sum("banned" in c for c in classes) == 8 and sum("legal" in c for c in classes) == 5
    assert sum(c == "arrow" for c in classes) == 13 and sum(c.startswith("land") for c in classes) > 100
    assert "Yerevan" in [t.text for t in svg.iterfind(".//s:text", ns)]
