"""`tailwatch bridge --format html` on the simulated air-bridge scenario (sim/bridge.py): the page holds the
planted flights with their chains, loads nothing from the network, escapes a hostile operator name that came
in through the imported registry, and in headless Chromium (Debian's) at a desk (1440×900) and on a phone
(390×844) shows no console error, draws one group of lines per flight (counted against the JSON's tracks,
observed solid and inferred dashed as the JSON says) and never scrolls sideways."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

START, END = "2025-11-05T00:00:00Z", "2025-11-09T00:00:00Z"
HOSTILE = '<script>alert("op")</script><img src="//evil.example/x.png" onerror="alert(1)"> Heavy & Lift'


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """The scenario as a Parquet feed and a tar1090-db registry (the An-124's operator made hostile), imported."""
    from tailwatch.demo import write_feed
    from tailwatch.identity.registry import import_registry
    from tailwatch.ingest.pipeline import ingest_file
    from tailwatch.sim.bridge import bridge_scenario

    root = tmp_path_factory.mktemp("bridge-html")
    sc = bridge_scenario()
    archive = root / "archive"
    ingest_file(write_feed(sc.points, root / "positions.parquet"), archive)
    lines = sc.registry_lines().replace("Simulated Heavy Lift", HOSTILE)
    assert HOSTILE in lines
    (root / "aircraft.csv").write_text(lines, encoding="utf-8")
    assert import_registry(root / "aircraft.csv", archive)[0] == "tar1090-db"
    return sc, archive


@pytest.fixture(scope="module")
def doc(scenario):
    from tailwatch.app.bridge import run_bridge

    _, archive = scenario
    return run_bridge(archive, "VE", START, END, from_="RU,IR,CN", classes=["heavy-freighter"], tracks=True)


@pytest.fixture(scope="module")
def page(doc, tmp_path_factory) -> Path:
    from tailwatch.app.bridge import render

    path = tmp_path_factory.mktemp("bridge-page") / "bridge.html"
    path.write_text(render(doc, "html"), encoding="utf-8")
    return path


class _Refs(HTMLParser):
    """Every attribute that could make a request, every element, and the text outside scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._skip += tag in ("script", "style")
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data") or name.startswith("on"):
                self.refs.append((tag, name, value or ""))

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _parse(text: str) -> _Refs:
    p = _Refs()
    p.feed(text)
    return p


def test_page_holds_the_planted_flights_with_their_chains(scenario, doc, page):
    sc, _ = scenario
    planted = sc.planted_arrivals("VE")
    text = page.read_text()
    assert {f["icao24"] for f in doc["flights"]} == {p["icao24"] for p in planted}
    parsed = _parse(text)
    words = " ".join("".join(parsed.text).split())
    for f in doc["flights"]:
        assert f'data-icao24="{f["icao24"]}"' in text  # its lines on the map
        assert f["icao24"] in words and f["arrival"]["icao"] in words
    assert text.count('<tr class="flight" data-flight=') == len(doc["flights"]) == 3
    # the An-124's chain with each leg numbered from 1 and the inferred stop marked
    assert "URSS →1 DAAG →2 GVAC (inferred) →3 SVMI" in words
    # the lede: flights, origins, operators, capacity with its band, the baseline ratio
    lede = words[words.index("3 flagged flights into VE"):]
    assert "From: IR (1), RU (1)" in lede and f"at most {doc['totals']['capacity_t']:,.0f} t (band" in lede
    assert "ratio 1.5×" in lede
    # the banner: the itineraries come from the simulator, the document says so and the page shows it
    assert doc["simulated"] is True and text.count('<div class="notice" role="alert">') == 2
    assert "SIMULATED" in text[:600]
    # co-location at Algiers and every excluded candidate with its reason
    assert "DAAG" in words and "Together on the ground" in words
    for e in doc["excluded"]:
        assert e["reason"] in words
    assert "overflight, no landing in VE" in words
    # the timeline: one bar per day with a flight, the baseline line at 1 flight over 2 days held
    assert text.count('<rect class="bar"') == sum(1 for d in doc["totals"]["timeline"] if d["flights"])
    assert '<line class="baseline"' in text and "0.50 per day" in words
    # the baseline's own days beside it (grey): the 747 freighter's landing at Caracas on 3 November
    assert [d["flights"] for d in doc["baseline"]["timeline"]] == [1, 0]
    assert text.count('<rect class="bar before" data-date="2025-11-03"') == 1


def test_page_loads_nothing_and_escapes_the_hostile_operator(doc, page):
    text = page.read_text()
    parsed = _parse(text)
    # no attribute that could fetch anything (the hostile name tried an <img src=//…> and an onerror)
    assert parsed.refs == [], parsed.refs
    assert "img" not in parsed.tags and parsed.tags.count("script") == 1  # the report's own inlined script
    assert "@import" not in text and "url(http" not in text and "url(//" not in text
    for m in __import__("re").finditer(r"https?://[^\s\"'<)]+", text):
        assert m.group(0) == "http://www.w3.org/2000/svg", m.group(0)  # the SVG namespace, never fetched
    assert "default-src 'none'" in text
    # the hostile operator is shown as text, exactly as it was recorded
    an124 = next(f for f in doc["flights"] if f["typecode"] == "A124")
    assert an124["operator"] == HOSTILE
    assert "&lt;script&gt;alert(&quot;op&quot;)&lt;/script&gt;&lt;img src=&quot;//evil.example/x.png&quot;" in text
    assert HOSTILE not in text and "<script>alert" not in text
    assert HOSTILE in " ".join(_parse(text).text)


def test_tracks_are_optional_json_and_follow_the_chain(scenario, doc):
    """`track` is added only when asked; each segment is a leg of the chain, observed where points exist."""
    from tailwatch.app.bridge import render, run_bridge

    _, archive = scenario
    for f in doc["flights"]:
        legs = len(f["chain"]) - 1
        assert f["track"] and {s["leg"] for s in f["track"]} <= set(range(1, legs + 1))
        assert all(s["evidence"] in ("observed", "inferred") and len(s["coordinates"]) >= 1 for s in f["track"])
        assert any(s["evidence"] == "observed" for s in f["track"])
    # the Algiers → Sal leg of the An-124 crossed the unheard Sahara: an inferred piece; it ends at Caracas
    an124 = next(f for f in doc["flights"] if f["typecode"] == "A124")
    assert any(s["evidence"] == "inferred" and s["leg"] == 2 for s in an124["track"])
    lon, lat = an124["track"][-1]["coordinates"][-1]
    assert abs(lat - 10.60) < 0.3 and abs(lon + 66.99) < 0.3
    plain = run_bridge(archive, "VE", START, END, from_="RU,IR,CN", classes=["heavy-freighter"])
    assert all("track" not in f for f in plain["flights"])
    stripped = json.loads(render(doc, "json"))
    for f in stripped["flights"]:
        f.pop("track")
    assert stripped == json.loads(render(plain, "json"))  # the stable fields are the same with or without


def test_cli_writes_the_page_and_a_place_with_no_flight(scenario, tmp_path):
    _, archive = scenario
    out = tmp_path / "bridge.html"
    r = subprocess.run([sys.executable, "-m", "tailwatch.cli", "bridge", "--archive", str(archive), "--into", "VE",
                        "--from", "RU,IR", "--start", START, "--end", END, "--format", "html", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert text.startswith("<!doctype html>") and text.count('<g class="flight"') == 3
    # no flight into Cuba: the page still says what was looked at and why nothing counted; exit 1
    r = subprocess.run([sys.executable, "-m", "tailwatch.cli", "bridge", "--archive", str(archive), "--into", "CU",
                        "--from", "RU", "--start", START, "--end", END, "--format", "html"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "No flagged flight into CU landed between" in r.stdout
    assert 'data-country="CU"' in r.stdout  # the destination outlined on an otherwise empty map
    # a polygon file: its outline is drawn (the document carries it for the views), Caracas inside, Valencia not
    area = tmp_path / "caracas.geojson"
    area.write_text(json.dumps({"type": "Polygon", "coordinates": [[[-67.3, 10.3], [-66.7, 10.3], [-66.7, 10.9],
                                                                    [-67.3, 10.9], [-67.3, 10.3]]]}))
    r = subprocess.run([sys.executable, "-m", "tailwatch.cli", "bridge", "--archive", str(archive), "--into", str(area),
                        "--from", "RU,IR", "--start", START, "--end", END, "--format", "html"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count('data-polygon="caracas.geojson"') == 1
    assert r.stdout.count('<g class="flight"') == 2 and 'data-icao="SVVA"' not in r.stdout  # the Il-76 and the An-124


def test_page_in_chromium_at_desk_and_phone(doc, page, tmp_path):
    import playwright.sync_api as sync_api  # in the test extra: missing is a failure, not a skip

    from test_report_html import ARTIFACTS, CHROMIUM, LAUNCH_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/dev.py installs it)")
    ARTIFACTS.mkdir(exist_ok=True)
    expected = [{"observed": sum(1 for s in f["track"] if s["evidence"] == "observed" and len(s["coordinates"]) >= 2),
                 "inferred": sum(1 for s in f["track"] if s["evidence"] == "inferred" and len(s["coordinates"]) >= 2)}
                for f in doc["flights"]]
    errors: list[str] = []
    outside: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            for width, height in ((1440, 900), (390, 844)):
                tab = browser.new_page(viewport={"width": width, "height": height})
                tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
                          else (outside.append(r.request.url), r.abort()))
                tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                tab.on("pageerror", lambda e: errors.append(str(e)))
                tab.goto(page.as_uri(), wait_until="load")
                tab.screenshot(path=str(ARTIFACTS / f"bridge-{width}.png"), full_page=True)
                seen = tab.evaluate("""() => ({
                    groups: [...document.querySelectorAll('svg.bridge-map g.flight')].map(g => ({
                        flight: +g.dataset.flight,
                        observed: g.querySelectorAll('polyline.seg.observed').length,
                        inferred: g.querySelectorAll('polyline.seg.inferred').length,
                        dashed: [...g.querySelectorAll('polyline.seg.inferred')].every(p => getComputedStyle(p).strokeDasharray !== 'none'),
                        solid: [...g.querySelectorAll('polyline.seg.observed')].every(p => getComputedStyle(p).strokeDasharray === 'none'),
                        drawn: [...g.querySelectorAll('polyline')].every(p => p.getBBox().width + p.getBBox().height > 0)})),
                    outlined: document.querySelectorAll('svg.bridge-map path.destination[data-country="VE"]').length,
                    labels: [...document.querySelectorAll('svg.bridge-map g.stop text')].map(t => t.textContent),
                    ledeTop: document.querySelector('p.lede').getBoundingClientRect().top,
                    scrollWidth: document.documentElement.scrollWidth})""")
                assert [g["flight"] for g in seen["groups"]] == list(range(1, len(doc["flights"]) + 1))
                for g, want in zip(seen["groups"], expected):
                    assert (g["observed"], g["inferred"]) == (want["observed"], want["inferred"]), (g, want)
                    assert g["dashed"] and g["solid"] and g["drawn"], g
                assert seen["outlined"] == 1
                assert {"SVMI", "Caracas", "DAAG", "Algiers"} <= set(seen["labels"])
                assert seen["ledeTop"] < height  # the story on the first screen
                assert seen["scrollWidth"] <= width, (width, seen["scrollWidth"])
                # hovering a flight's row lights its lines
                tab.hover('tr.flight[data-flight="2"]')
                assert tab.evaluate("() => document.querySelector('svg.bridge-map g.flight[data-flight=\"2\"]').classList.contains('hl')")
                tab.close()
        finally:
            browser.close()
    assert errors == [] and outside == [], (errors, outside)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_gives_the_same_tracks(scenario, doc):
    """The map's lines come from the engine's `points_for`: Spark gathers the same points, so the document
    with its tracks is byte for byte the DuckDB one."""
    from test_bridge_spark import _spark_or_skip

    _spark_or_skip()
    from tailwatch.app.bridge import render, run_bridge
    from tailwatch.engines.spark import SparkEngine

    _, archive = scenario
    engine = SparkEngine("local[2]", conf={"spark.sql.shuffle.partitions": "4"})
    try:
        spark = run_bridge(archive, "VE", START, END, from_="RU,IR,CN", classes=["heavy-freighter"], tracks=True,
                           engine=engine)
    finally:
        engine.stop()
    assert all(f["track"] for f in spark["flights"])
    assert render(spark, "json") == render(doc, "json")


def test_page_on_paper(doc, page):
    """Printed to A4 (Chromium's print-to-PDF, read back with poppler): the lede and the banner on page 1, the
    whole map and its legend on one page, every flight's row, nothing wider than the page."""
    import re

    import playwright.sync_api as sync_api  # in the test extra: missing is a failure, not a skip

    from test_report_html import ARTIFACTS, CHROMIUM, LAUNCH_ARGS
    from test_web_publish import A4_CONTENT_PX, _pages_text, _pdf_tools

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/dev.py installs it)")
    _pdf_tools()
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "bridge-print.pdf"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            tab = browser.new_page(viewport={"width": A4_CONTENT_PX, "height": 1100})
            tab.goto(page.as_uri(), wait_until="load")
            tab.emulate_media(media="print")
            printed = tab.evaluate("""() => ({
                notice: getComputedStyle(document.querySelector('.notice')).color,
                widest: Math.max(...[...document.querySelectorAll('table, svg')].map(t => t.getBoundingClientRect().right)),
                scrollWidth: document.documentElement.scrollWidth,
                graticule: (m => [...m.querySelectorAll('text.gl')].filter(t => {
                    const r = t.getBoundingClientRect(), v = m.getBoundingClientRect();
                    return r.top >= v.top && r.bottom <= v.bottom && r.left >= v.left && r.right <= v.right;
                }).map(t => t.textContent))(document.querySelector('svg.bridge-map'))})""")
            tab.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
    assert printed["scrollWidth"] <= A4_CONTENT_PX and printed["widest"] <= A4_CONTENT_PX + 1, printed
    assert printed["notice"] not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), "white on red needs its background"
    pages = _pages_text(pdf)
    first = re.sub(r"\s+", " ", pages[0])
    assert "SIMULATED DATA" in first and "3 flagged flights into VE" in first
    labels = set(printed["graticule"])
    assert len(labels) >= 4
    on = [i for i, text in enumerate(pages) if labels <= set(re.findall(r"\d+°[NSEW]?", text))]
    assert len(on) == 1, ("the map is split across pages", labels)
    assert "colour = country the chain began in" in re.sub(r"\s+", " ", pages[on[0]])
    text = "\n".join(pages)
    for f in doc["flights"]:
        assert f["registration"] in text and f["arrival"]["icao"] in text
