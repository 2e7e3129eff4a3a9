"""The investigator's app (`tailwatch serve`, a real uvicorn subprocess on 127.0.0.1) in headless Chromium
(Debian's, driven by Playwright) over the demo archive: search RA-78765, open the aircraft, 13 legs on
the map and in the table, click a stop and read its evidence, pan and zoom the map, the watchlist and
live pages. No console error, no request to anything but the server. Screenshots go to `test-artifacts/`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from browser import browser_page
from tailwatch.live.watch import AlertLog
from test_report_html import ARTIFACTS
from test_web_serve import RA, Served


def test_investigator_pages_in_headless_chromium(demo_archive, tmp_path: Path):
    server = Served(demo_archive)
    base = server.base
    outside: list[str] = []
    errors: list[str] = []
    try:
        with browser_page(base, tmp_path, errors, outside) as page:
            page.goto(base, wait_until="load")
            page.fill("#q", "RA-78765")
            page.press("#q", "Enter")
            page.wait_for_selector("#results a.hit", timeout=30_000)
            hits = page.locator("#results li").all_inner_texts()
            page.screenshot(path=str(ARTIFACTS / "serve-search.png"))
            page.click(f"#results li[data-icao24='{RA}'] a.hit")
            page.wait_for_url(f"**/aircraft/{RA}*")
            # progress is shown while the job runs, then the map and the tables
            page.wait_for_selector("#progress", timeout=30_000)
            page.wait_for_function("() => document.querySelectorAll('table.legs tbody tr').length > 0"
                                   " && document.querySelectorAll('#map path.land').length > 100", timeout=120_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "serve-aircraft.png"), full_page=True)
            info = page.evaluate("""() => ({
                heading: document.querySelector('#identity h1').innerText,
                lists: document.querySelectorAll('table.lists tbody tr').length,
                days: document.querySelectorAll('table.days tbody tr').length,
                rows: document.querySelectorAll('table.legs tbody tr').length,
                mapLegs: new Set([...document.querySelectorAll('#map path.leg')].map(
                    p => [...p.classList].find(c => /^leg-\\d+$/.test(c)))).size,
                inferredDashed: [...document.querySelectorAll('#map path.leg.inferred')].map(
                    p => getComputedStyle(p).strokeDasharray),
                stops: [...document.querySelectorAll('#map path.stop')].map(p => [...p.classList].filter(c => c !== 'stop' && !c.startsWith('leaflet'))),
                progress: document.querySelector('#progress').value,
                stage: document.querySelector('#stage').innerText,
                downloads: [...document.querySelectorAll('.downloads a[download]')].map(a => a.getAttribute('href')),
                text: document.body.innerText,
            })""")
            # click an inferred stop on the map: its evidence shows beside the map
            page.locator("#map path.stop.inferred").first.click(force=True)
            page.wait_for_function("() => document.querySelector('#evidence h2')"
                                   " && document.querySelector('#evidence h2').innerText.startsWith('Stop')")
            evidence = page.locator("#evidence").inner_text()
            selected_stop = page.locator("table.stops tr.selected").count()
            page.screenshot(path=str(ARTIFACTS / "serve-stop-evidence.png"))
            # an unknown stop (no airport clearly beats the runner-up) is drawn at its candidates; its evidence lists them
            unknown = None
            if page.locator("#map path.stop.unknown").count():
                page.locator("#map path.stop.unknown").first.click(force=True)
                page.wait_for_function("() => document.querySelector('#evidence h2').innerText.toLowerCase()"
                                       ".includes('unknown')")
                unknown = page.locator("#evidence").inner_text()
                page.screenshot(path=str(ARTIFACTS / "serve-unknown-stop.png"))
            # a leg in the table highlights and zooms the map to it; wheel zoom works
            view = "() => [document.querySelector('#map').dataset.zoom, document.querySelector('#map').dataset.center]"
            page.locator("table.legs tbody tr").nth(4).click()
            page.wait_for_function("() => document.querySelectorAll('#map path.leg.selected').length > 0")
            leg_evidence = page.locator("#evidence").inner_text()
            page.wait_for_timeout(600)
            views = [page.evaluate(view)]
            page.locator("#map").scroll_into_view_if_needed()
            box = page.locator("#map").bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.wheel(0, -150)
            page.wait_for_timeout(800)
            views.append(page.evaluate(view))
            page.mouse.move(box["x"] + 200, box["y"] + 200)  # drag the map
            page.mouse.down()
            for step in range(1, 11):
                page.mouse.move(box["x"] + 200 + 20 * step, box["y"] + 200 + 15 * step)
                page.wait_for_timeout(20)
            page.mouse.up()
            page.wait_for_timeout(400)
            views.append(page.evaluate(view))
            page.screenshot(path=str(ARTIFACTS / "serve-leg.png"))
            # the watchlist page: the seed entry, resolved, last seen
            page.click("nav a[href='/watchlist']")
            page.wait_for_selector("table.watchlist tbody tr")
            watch = page.locator("table.watchlist tbody tr").first.inner_text()
            page.screenshot(path=str(ARTIFACTS / "serve-watchlist.png"))
            # the live page: no watcher on this archive, said plainly
            page.click("nav a[href='/live']")
            page.wait_for_function("() => document.querySelector('#livestatus').innerText.includes('watcher ') || document.querySelector('#livestatus').innerText.includes('aircraft in')")
            live = page.locator("#livestatus").inner_text()
    finally:
        assert server.stop() == 0
    assert errors == [], errors
    assert outside == [], outside
    assert any("RA-78765" in h and RA in h and "16,892 positions" in h for h in hits), hits
    assert info["heading"].startswith("RA-78765") and info["lists"] == 1 and info["days"] >= 10
    assert info["rows"] == 13 and info["mapLegs"] == 13
    assert info["inferredDashed"] and all(d not in ("none", "") for d in info["inferredDashed"])
    evidence_kinds = [next(c for c in classes if c in ("observed", "inferred", "unknown")) for classes in info["stops"]]
    assert len(evidence_kinds) == 14 and {"observed", "inferred"} <= set(evidence_kinds), info["stops"]
    if unknown is not None:  # the candidates the itinerary JSON names, with their scores
        assert "Runners-up" in unknown or "Candidates" in unknown, unknown
        assert "score" in unknown and "gap of" in unknown
    assert info["progress"] == 1 and info["stage"].startswith("done")
    assert sorted(d.rsplit("/", 1)[1] for d in info["downloads"]) == ["csv", "geojson", "html", "json", "kml", "md"]
    for words in ("SIMULATED DATA", "UUWW → UDYZ → DAAG", "Aviacon Zitotrans", "Il-76TD", "round trip"):
        assert words in info["text"], words
    assert evidence.startswith("Stop:") and "INFERRED" in evidence.upper() and "gap of" in evidence and selected_stop == 1
    assert leg_evidence.startswith("Leg 5") and "Reasons" in leg_evidence
    assert int(views[1][0]) > int(views[0][0]), ("the wheel zooms the map", views)
    assert views[2][0] == views[1][0] and views[2][1] != views[1][1], ("a drag pans the map", views)
    assert "seed-ra-78765" in watch and RA in watch
    assert "no watcher" in live
    for name in ("serve-search.png", "serve-aircraft.png", "serve-stop-evidence.png", "serve-watchlist.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000


def test_live_page_shows_what_a_watcher_journals(demo_archive, tmp_path: Path):
    import polars as pl

    from tailwatch.live.journal import Journal
    from tailwatch.schema import conform

    archive = tmp_path / "archive"
    shutil.copytree(demo_archive, archive)
    journal = Journal(archive, fsync="always")  # the writer of `tailwatch watch --archive`
    try:
        times = pl.datetime_range(pl.datetime(2026, 1, 1, 12), pl.datetime(2026, 1, 1, 12, 0, 9), "1s",
                                  time_zone="UTC", eager=True)
        journal.append(conform(pl.DataFrame({
            "timestamp": list(times) * 2, "icao24": [RA] * 10 + ["abcdef"] * 10,
            "callsign": ["RA78765"] * 10 + ["TEST1"] * 10, "latitude": [55.5 + i * 0.01 for i in range(20)],
            "longitude": [37.3] * 10 + [30.0] * 10, "altitude": [10_000.0] * 20, "source": "beast"})))
        journal.sync()
        log = AlertLog(archive)  # what `tailwatch watch --archive` logs beside its journal
        log.add({"kind": "seen", "rule": "watchlist-seen", "icao24": RA, "time": "2026-01-01T12:00:00Z",
                 "callsign": "RA78765", "watchlists": [{"list": "seed", "id": "seed-ra-78765"}], "evidence": {"points": []}})
        log.add({"kind": "landing", "rule": "watchlist-landing", "icao24": RA, "time": "2026-01-01T12:00:09Z",
                 "callsign": "<b>RA78765</b>", "airport": "UUEE", "airport_name": "Sheremetyevo", "evidence": {"points": []}})
        server = Served(archive)
        errors: list[str] = []
        outside: list[str] = []
        try:
            with browser_page(server.base, tmp_path, errors, outside) as page:
                page.goto(server.base + "live", wait_until="load")
                page.wait_for_function("() => document.querySelectorAll('table.live tbody tr').length === 2"
                                       " && document.querySelectorAll('#livemap path.plane').length === 2"
                                       " && document.querySelectorAll('#livemap path.land').length > 100")
                page.wait_for_function("() => document.querySelectorAll('#livealerts li[data-seq]').length === 2"
                                       " && document.querySelectorAll('#livemap path.trail').length === 2")
                rows = page.locator("table.live tbody tr").all_inner_texts()
                listed = page.locator("#livemap path.plane.listed").count()
                alerts = page.locator("#livealerts li[data-seq]").all_inner_texts()
                bold = page.locator("#livealerts b").count()
                trails = page.evaluate("[...document.querySelectorAll('#livemap path.trail')].map(p => p.classList.contains('listed'))")
                api = page.evaluate("fetch('/api/live').then(r => r.json())")
                page.screenshot(path=str(ARTIFACTS / "serve-live.png"))
        finally:
            assert server.stop() == 0
    finally:
        journal.close()
    assert errors == [] and outside == []
    assert rows[0].startswith(RA) and "seed seed-ra-78765" in rows[0] and "TEST1" in rows[1]
    assert listed == 1
    # the watcher's alerts, newest first, as `watch --web` shows them; a callsign stays text
    assert alerts[0].upper().startswith("LANDING") and "UUEE Sheremetyevo" in alerts[0] and "<b>RA78765</b>" in alerts[0]
    assert alerts[1].upper().startswith("SEEN") and "watchlist-seen" in alerts[1] and "seed" in alerts[1]
    assert bold == 0
    # a trail per aircraft (its ten positions, in time order), the listed one marked
    assert sorted(trails) == [False, True]
    assert {a["icao24"]: a["trail"] for a in api["aircraft"]} == {
        RA: [[round(55.5 + i * 0.01, 4), 37.3] for i in range(10)], "abcdef": [[round(55.6 + i * 0.01, 4), 30.0] for i in range(10)]}
    assert [a["seq"] for a in api["alerts"]] == [2, 1]
