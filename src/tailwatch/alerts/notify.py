"""Alert notifiers: JSON lines to stdout or a file, webhook POST, apprise URLs.

A notifier target is a string: `-` or `stdout` (JSON lines on stdout, always on
for `tailwatch watch`), `file:PATH` or a path ending in `.jsonl` (appended, one
line per alert, flushed), `webhook:https://…` or a plain `http(s)://` URL (POST
of the alert JSON with a timeout and retries with backoff), and anything else
apprise understands (`tgram://`, `slack://`, `mailto://`, `json://`, …), sent
through apprise with a one-line title and the alert as the body. A failing
notifier is counted and reported, never allowed to stop the watcher.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from tailwatch.errors import BadInput


def _finite(value):
    """JSON has no NaN: non-finite numbers become null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def alert_json(alert: dict) -> str:
    """One line of strict JSON (no NaN), times and other objects as strings."""
    try:
        return json.dumps(alert, separators=(",", ":"), default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(alert), separators=(",", ":"), default=str, allow_nan=False)


def alert_title(alert: dict) -> str:
    who = alert.get("callsign") or alert.get("icao24")
    where = alert.get("airport") or alert.get("country") or alert.get("squawk") or ""
    return f"tailwatch {alert.get('kind')}: {who} {where}".strip()


class Notifier(Protocol):
    name: str

    def send(self, alert: dict) -> None: ...

    def close(self) -> None: ...


@dataclass
class StreamNotifier:
    """JSON lines on a text stream (stdout by default), flushed per alert."""

    stream: IO[str] = field(default_factory=lambda: sys.stdout)
    name: str = "stdout"

    def send(self, alert: dict) -> None:
        self.stream.write(alert_json(alert) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class FileNotifier:
    """JSON lines appended to a file."""

    def __init__(self, path: Path) -> None:
        self.name = f"file:{path}"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(path, "a", encoding="utf-8")

    def send(self, alert: dict) -> None:
        self._f.write(alert_json(alert) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


class WebhookNotifier:
    """POST the alert JSON; retry on connection errors and 5xx/429 with exponential backoff."""

    def __init__(self, url: str, timeout: float = 5.0, retries: int = 3, backoff: float = 0.5) -> None:
        import httpx

        self.name = f"webhook:{url}"
        self.url = url
        self.retries = retries
        self.backoff = backoff
        self._client = httpx.Client(timeout=timeout)

    def send(self, alert: dict) -> None:
        import httpx

        body = alert_json(alert).encode()
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                r = self._client.post(self.url, content=body, headers={"content-type": "application/json"})
                if r.status_code < 500 and r.status_code != 429:
                    if r.status_code >= 400:
                        raise RuntimeError(f"{self.url}: HTTP {r.status_code}")
                    return
                last = RuntimeError(f"{self.url}: HTTP {r.status_code}")
            except httpx.HTTPError as exc:
                last = exc
            if attempt < self.retries:
                time.sleep(self.backoff * (2**attempt))
        raise RuntimeError(f"{self.url}: gave up after {self.retries + 1} attempts: {last}")

    def close(self) -> None:
        self._client.close()


class AppriseNotifier:
    """Any apprise URL (Telegram, Slack, e-mail, …)."""

    def __init__(self, url: str) -> None:
        import apprise

        self.name = f"apprise:{url.split('://', 1)[0]}"
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise BadInput(f"--notify {url!r}: not a URL apprise understands")

    def send(self, alert: dict) -> None:
        ok = self._apprise.notify(title=alert_title(alert), body=json.dumps(_finite(alert), indent=1, default=str))
        if not ok:
            raise RuntimeError(f"{self.name}: delivery failed")

    def close(self) -> None:
        pass


def make_notifier(target: str, timeout: float = 5.0, retries: int = 3) -> Notifier:
    """A notifier from a target string (see the module docstring)."""
    if target in ("-", "stdout"):
        return StreamNotifier()
    if target.startswith("file:"):
        return FileNotifier(Path(target[5:]))
    if target.startswith("webhook:"):
        return WebhookNotifier(target[8:], timeout=timeout, retries=retries)
    if target.startswith(("http://", "https://")):
        return WebhookNotifier(target, timeout=timeout, retries=retries)
    if "://" in target:
        return AppriseNotifier(target)
    if target.endswith((".jsonl", ".json", ".log")) or "/" in target:
        return FileNotifier(Path(target))
    raise BadInput(f"--notify {target!r}: expected -, file:PATH, an http(s) URL or an apprise URL")


class Dispatcher:
    """Sends each alert to every notifier; failures are counted, not raised."""

    def __init__(self, notifiers: list[Notifier]) -> None:
        self.notifiers = notifiers
        self.sent = 0
        self.failures: dict[str, int] = {}
        self.last_error: str | None = None

    def send(self, alert: dict) -> None:
        self.sent += 1
        for n in self.notifiers:
            try:
                n.send(alert)
            except Exception as exc:  # noqa: BLE001 - one bad notifier must not stop the others
                self.failures[n.name] = self.failures.get(n.name, 0) + 1
                self.last_error = f"{n.name}: {exc}"

    def close(self) -> None:
        for n in self.notifiers:
            try:
                n.close()
            except Exception:  # noqa: BLE001
                pass
