"""`tailwatch serve`'s air-bridge page over real HTTP on loopback (a uvicorn subprocess) on the simulated
air-bridge scenario: the form's inputs checked as the CLI checks them (one line, HTTP 400, shown in the
page), a POST-only job from this server's own page with a bounded table, the same JSON as the CLI, the
view rendered by the server with nothing inline, the hostile operator escaped; in headless Chromium at a desk
and on a phone, one group of lines per flight of the JSON, no console error, no sideways scroll."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import httpx
import pytest

from browser import browser_page
from test_bridge_html import END, HOSTILE, START, scenario  # noqa: F401 - the scenario fixture, shared
from test_web_serve import Served, archive_state

QUERY = {"into": "VE", "from": "RU,IR,CN", "class": "heavy-freighter", "start": START, "end": END}


@pytest.fixture(scope="module")
def served(scenario):  # noqa: F811
    _, archive = scenario
    before = archive_state(archive)
    server = Served(archive)
    try:
        yield server, archive
    finally:
        assert server.stop() == 0
    assert archive_state(archive) == before  # read-only over the archive


def wait_bridge(client: httpx.Client, params: dict) -> dict:
    p = client.post("/api/bridge", params=params).raise_for_status().json()
    deadline = time.monotonic() + 180
    while p["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
        p = client.get(f"/api/bridge/jobs/{p['job']}").raise_for_status().json()
    return p


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "style" or "style" in attrs or (tag == "script" and not attrs.get("src")):
            self.inline.append(tag)
        self.inline += [name for name in attrs if name.startswith("on")]
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            if value.startswith(("http:", "https:", "//")):
                self.inline.append(f"{name}={value}")


def test_bad_input_is_one_line_and_jobs_are_post_only(served):
    server, _ = served
    with httpx.Client(base_url=server.base, timeout=30) as c:
        for params, says in [({**QUERY, "into": "XX"}, "unknown country code XX"),
                             ({**QUERY, "from": "RU,QQ"}, "unknown country code QQ"),
                             ({**QUERY, "start": END, "end": START}, "is before --start"),
                             ({**QUERY, "end": START}, "empty window"),
                             ({**QUERY, "into": "ZZZZ"}, "unknown airport ZZZZ"),
                             ({**QUERY, "into": "../../etc/passwd"}, "give a country (VE) or ICAO airports"),
                             ({**QUERY, "class": "airliner"}, "class 'airliner'"),
                             ({**QUERY, "start": "2020-01-01", "end": "2025-11-09"}, "longer than the limit")]:
            r = c.post("/api/bridge", params=params)
            assert r.status_code == 400, (params, r.text)
            message = r.json()["error"]
            assert says in message and "\n" not in message, message
        # a window the archive holds nothing of: known only once the job looks; the job fails with the CLI's line
        p = wait_bridge(c, {**QUERY, "start": "2024-01-01", "end": "2024-01-05"})
        assert p["state"] == "failed" and p["error"].startswith("empty window: the archive holds no positions"), p
        assert c.get(f"/api/bridge/jobs/{p['job']}/result").status_code == 400
        view = c.get(f"/bridge/view/{p['job']}").text
        assert '<p class="error" role="alert">empty window: the archive holds no positions' in view
        assert c.get("/api/bridge", params=QUERY).status_code == 405  # starting work takes a POST
        r = c.post("/api/bridge", params=QUERY, headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403 and "cross-site" in r.json()["error"]
        assert c.get("/api/bridge/jobs/0123456789abcdef0123").status_code == 404
        assert c.get("/api/bridge/jobs/..%2F..%2Fetc").status_code in (400, 404)
        assert c.get("/bridge/assets/..%2Finvestigate.py").status_code == 404
        assert c.get("/bridge", headers={"Host": "evil.example"}).status_code == 421  # the serve's Host rule holds


def test_job_gives_the_cli_json_and_a_server_rendered_view(served):
    from tailwatch.app.bridge import render, run_bridge

    server, archive = served
    with httpx.Client(base_url=server.base, timeout=60) as c:
        p = wait_bridge(c, QUERY)
        assert p["state"] == "done", p
        assert c.post("/api/bridge", params=QUERY).json()["job"] == p["job"]  # the same inputs join the kept job
        body = c.get(f"/api/bridge/jobs/{p['job']}/result").raise_for_status().text
        local = run_bridge(archive, "VE", START, END, from_="RU,IR,CN", classes=["heavy-freighter"], tracks=True)
        assert body == render(local, "json")  # the CLI's document, tracks included
        page = c.get(f"/bridge/view/{p['job']}")
        assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
        html = page.text
        checker = _Inline()
        checker.feed(html)
        assert checker.inline == []  # no inline script or style, no handler, nothing from outside
        assert html.count('<g class="flight"') == len(local["flights"]) == 3
        assert "&lt;script&gt;alert(&quot;op&quot;)" in html and HOSTILE not in html
        assert 'value="VE"' in html and '<option value="heavy-freighter" selected>' in html
        for fmt, kind in (("json", "application/json"), ("md", "text/markdown"), ("csv", "text/csv"), ("html", "text/html")):
            r = c.get(f"/api/bridge/jobs/{p['job']}/download/{fmt}")
            assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
            assert r.headers["content-disposition"] == f'attachment; filename="bridge-VE.{fmt}"'
        assert c.get(f"/api/bridge/jobs/{p['job']}/download/kml").status_code == 400


def test_the_job_table_is_bounded(served):
    server, _ = served
    with httpx.Client(base_url=server.base, timeout=30) as c:
        answers = [c.post("/api/bridge", params={**QUERY, "end": end}) for end in ("2025-11-08", "2025-11-07", "2025-11-06")]
        assert [a.status_code for a in answers[:2]] == [202, 202]
        assert answers[2].status_code == 429 and answers[2].headers["retry-after"] == "5"
        assert "bridges are already queued or running" in answers[2].json()["error"]
        for a in answers[:2]:  # let them finish, so the page test finds an idle table
            job = a.json()["job"]
            deadline = time.monotonic() + 180
            while c.get(f"/api/bridge/jobs/{job}").json()["state"] in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.3)
        health = c.get("/api/health").json()
        assert health["status"] == "ok"


def test_page_in_chromium_at_desk_and_phone(served, tmp_path):
    server, _ = served
    base = server.base.rstrip("/")
    errors: list[str] = []
    outside: list[str] = []
    with httpx.Client(base_url=server.base, timeout=60) as c:
        expected = None
        with browser_page(base, tmp_path / "desk", errors, outside, viewport=(1440, 900)) as page:
            page.goto(f"{base}/bridge", wait_until="load")
            page.fill('input[name="into"]', "XX")
            page.fill('input[name="start"]', START)
            page.fill('input[name="end"]', END)
            page.click('button[type="submit"]')
            page.wait_for_selector("#bridge-status.error")
            assert "unknown country code XX" in page.inner_text("#bridge-status")
            # the refused POST is the only thing the browser logged (its own "Failed to load resource: … 400")
            assert [e for e in errors if "status of 400" not in e] == [] and len(errors) == 1, errors
            errors.clear()
            page.fill('input[name="into"]', "VE")
            page.fill('input[name="from"]', "RU,IR,CN")
            page.select_option('select[name="class"]', "heavy-freighter")
            page.click('button[type="submit"]')
            page.wait_for_url("**/bridge/view/*", timeout=120_000)
            job = page.url.rsplit("/", 1)[-1]
            expected = c.get(f"/api/bridge/jobs/{job}/result").raise_for_status().json()
            seen = page.evaluate("""() => ({
                groups: [...document.querySelectorAll('svg.bridge-map g.flight')].map(g => ({
                    icao24: g.dataset.icao24, lines: g.querySelectorAll('polyline.seg').length})),
                lede: document.querySelector('p.lede').innerText,
                rows: document.querySelectorAll('tr.flight').length})""")
            assert [g["icao24"] for g in seen["groups"]] == [f["icao24"] for f in expected["flights"]]
            for g, f in zip(seen["groups"], expected["flights"]):
                assert g["lines"] == sum(1 for s in f["track"] if len(s["coordinates"]) >= 2), (g, f["icao24"])
            assert seen["rows"] == len(expected["flights"]) and "3 flagged flights into VE" in seen["lede"]
            # the report's script runs from this server's file: the map zooms with the wheel
            before = page.get_attribute("svg.bridge-map", "viewBox")
            page.hover("svg.bridge-map")
            page.mouse.wheel(0, -200)
            assert page.get_attribute("svg.bridge-map", "viewBox") != before
        with browser_page(base, tmp_path / "phone", errors, outside, viewport=(390, 844)) as page:
            page.goto(f"{base}/bridge/view/{job}", wait_until="load")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, width
            assert page.locator("svg.bridge-map g.flight").count() == len(expected["flights"])
    assert errors == [] and outside == [], (errors, outside)
