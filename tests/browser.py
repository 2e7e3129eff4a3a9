"""Headless Chromium (Debian's, driven by Playwright) for the page tests: one way to open a page
that may reach only the server under test, recording console errors and outside requests."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from test_report_html import ARTIFACTS, CHROMIUM, LAUNCH_ARGS


@contextlib.contextmanager
def browser_page(base: str, tmp_path: Path, errors: list[str], outside: list[str], viewport: tuple[int, int] = (1280, 900)):
    """A headless Chromium page that may only reach `base`; console errors and outside requests are recorded."""
    import playwright.sync_api as sync_api  # in the test extra: missing is a failure, not a skip
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/dev.py installs it)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]})
        try:
            inside = (base, "blob:" + base)  # a blob: of the page's own origin is a file the page made (a map download)

            def route(r):
                if r.request.url.startswith(inside):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(inside) else outside.append(r.url))
            yield page
        finally:
            context.close()
