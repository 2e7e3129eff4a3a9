"""Notifiers against real loopback HTTP servers: webhook retries and timeouts, apprise, files."""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tailwatch.alerts.notify import (
    AppriseNotifier, Dispatcher, FileNotifier, StreamNotifier, WebhookNotifier, make_notifier,
)
from tailwatch.ingest.base import BadInput

ALERT = {"kind": "landing", "rule": "watchlist-landing", "icao24": "4ca123", "time": "2026-11-25T08:00:00Z",
         "callsign": "TWL123", "airport": "EHAM", "watchlists": [{"list": "test", "id": "e0"}],
         "evidence": {"points": [{"timestamp": "2026-11-25T07:59:50Z", "latitude": 52.3, "longitude": 4.76}]}}


class Recorder:
    """A loopback HTTP server that records POST bodies and answers from a script of statuses."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        self.statuses = list(statuses or [])
        self.delay = delay
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                rec.bodies.append(body)
                rec.paths.append(self.path)
                if rec.delay:
                    time.sleep(rec.delay)
                status = rec.statuses.pop(0) if rec.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_stdout_and_file_are_json_lines(tmp_path: Path):
    buf = io.StringIO()
    StreamNotifier(buf).send(ALERT)
    assert json.loads(buf.getvalue()) == ALERT and buf.getvalue().count("\n") == 1
    path = tmp_path / "alerts" / "out.jsonl"
    f = make_notifier(f"file:{path}")
    assert isinstance(f, FileNotifier)
    f.send(ALERT)
    f.send({**ALERT, "kind": "takeoff"})
    f.close()
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["landing", "takeoff"]
    buf = io.StringIO()
    StreamNotifier(buf).send({**ALERT, "distance_km": float("nan")})  # strict JSON: NaN becomes null
    assert json.loads(buf.getvalue())["distance_km"] is None


def test_webhook_retries_server_errors():
    with Recorder([503, 500, 200]) as srv:
        hook = make_notifier(f"http://127.0.0.1:{srv.port}/hook")
        assert isinstance(hook, WebhookNotifier)
        hook.backoff = 0.01
        hook.send(ALERT)
        hook.close()
    assert len(srv.bodies) == 3
    assert json.loads(srv.bodies[-1]) == ALERT and srv.paths[-1] == "/hook"


def test_webhook_failures_are_counted_not_raised():
    with Recorder(delay=0.5) as slow:
        hook = WebhookNotifier(f"http://127.0.0.1:{slow.port}/", timeout=0.1, retries=1, backoff=0.01)
        buf = io.StringIO()
        d = Dispatcher([hook, StreamNotifier(buf)])
        d.send(ALERT)
        d.close()
    assert d.failures == {hook.name: 1} and "gave up after 2 attempts" in d.last_error
    assert json.loads(buf.getvalue())["icao24"] == "4ca123"  # the other notifier still delivered
    with Recorder([404]) as gone:
        hook = WebhookNotifier(f"http://127.0.0.1:{gone.port}/", retries=3)
        with pytest.raises(RuntimeError, match="HTTP 404"):
            hook.send(ALERT)
        assert len(gone.bodies) == 1  # a client error is not retried


def test_apprise_json_url_delivers_title_and_alert():
    with Recorder() as srv:
        n = make_notifier(f"json://127.0.0.1:{srv.port}/tailwatch")
        assert isinstance(n, AppriseNotifier)
        n.send(ALERT)
    assert len(srv.bodies) == 1 and srv.paths[0] == "/tailwatch"
    payload = json.loads(srv.bodies[0])
    assert payload["title"] == "tailwatch landing: TWL123 EHAM"
    assert json.loads(payload["message"]) == ALERT


def test_bad_targets_are_bad_input():
    with pytest.raises(BadInput, match="apprise"):
        make_notifier("nosuchservice://x")
    with pytest.raises(BadInput, match="expected"):
        make_notifier("carrier-pigeon")
