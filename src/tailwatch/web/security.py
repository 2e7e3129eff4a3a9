"""Who may talk to `tailwatch serve`: the bind rule, the access token, request limits.

The rule: a server bound to 127.0.0.1 answers only requests whose Host header names
127.0.0.1 or localhost (a page on another site cannot reach it through DNS rebinding)
and needs no token; a server bound to any other address needs the token on every
request, pages and API alike. The token is generated on the first start that needs it
(`secrets.token_urlsafe`, 256 bits) and kept in a file of mode 0600 outside the archive
(the server never writes into the archive); a token file readable by others is refused.

A browser presents the token once as `?token=…`; the app answers with an HttpOnly,
SameSite=Strict cookie and a redirect to the same URL without it, so the token does not
stay in the address bar or the history. Scripts send `Authorization: Bearer …`.
Written as a plain ASGI middleware so it runs before routing, for every path.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import stat
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode

from tailwatch.errors import BadInput

LOOPBACK_HOST = "127.0.0.1"
LOOPBACK_NAMES = {"127.0.0.1", "localhost"}  # Host header names a token-less server answers to
COOKIE = "tailwatch_token"
MAX_URL_BYTES = 2048  # path + query; every legitimate URL of the app is far shorter
MAX_HEADER_BYTES = 16_384


def needs_token(host: str) -> bool:
    """Every bind except 127.0.0.1 needs the token (0.0.0.0, a LAN address, even 127.0.0.2 or ::1)."""
    return host != LOOPBACK_HOST


def default_token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tailwatch" / "serve-token"


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """(token, created): reads the token file, or creates it with mode 0600 on first use."""
    path = Path(path)
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise BadInput(f"{path}: token file is readable by others (mode {mode:04o}); chmod 600 it")
        token = path.read_text(encoding="utf-8").strip()
        if len(token) < 32:
            raise BadInput(f"{path}: token file holds no usable token (under 32 characters); delete it to get a new one")
        return token, False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return token, True


def _reply(send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None):
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"),
               (b"content-security-policy", b"default-src 'none'"), *(extra or [])]

    async def go():
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    return go()


class AccessGuard:
    """ASGI middleware: request size limits, Host check (loopback mode) or token check (any other bind)."""

    def __init__(self, app, token: str | None) -> None:
        self.app = app
        self.token = token

    def _presented(self, scope) -> tuple[str | None, bool]:
        """(token presented, came in the query string)."""
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value, False
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
            if name == "token":
                return value, True
        return None, False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        if len(raw_path) + len(query) > MAX_URL_BYTES:
            return await _reply(send, 414, f"URL longer than {MAX_URL_BYTES} bytes")
        if sum(len(k) + len(v) for k, v in scope.get("headers") or []) > MAX_HEADER_BYTES:
            return await _reply(send, 431, f"request headers longer than {MAX_HEADER_BYTES} bytes")
        if scope["method"] != "GET":
            return await _reply(send, 405, "this server is read-only: only GET", [(b"allow", b"GET")])
        if self.token is None:
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in LOOPBACK_NAMES:
                return await _reply(send, 421, f"Host {host!r} is not this machine: open http://127.0.0.1:PORT/ "
                                    "(a server without a token answers only to 127.0.0.1 and localhost)")
            return await self.app(scope, receive, send)
        presented, in_query = self._presented(scope)
        if presented is None or not hmac.compare_digest(presented.encode(), self.token.encode()):
            return await _reply(send, 401, "a valid token is required (Authorization: Bearer TOKEN, or ?token=TOKEN "
                                "once in the browser); it was printed when the server first started",
                                [(b"www-authenticate", b'Bearer realm="tailwatch"')])
        if in_query and scope["method"] == "GET":  # trade the token in the URL for a cookie, then drop it
            rest = urlencode([(k, v) for k, v in parse_qsl(query.decode("latin-1")) if k != "token"])
            location = quote(scope["path"]) + (f"?{rest}" if rest else "")
            cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode()
            return await _reply(send, 303, "token accepted", [(b"location", location.encode()),
                                                              (b"set-cookie", cookie)])
        return await self.app(scope, receive, send)
