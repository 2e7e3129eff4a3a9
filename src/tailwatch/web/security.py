"""Who may talk to the two web faces, `tailwatch serve` and `tailwatch watch --web`: the bind rule,
the access token, cross-site requests, request limits. Both faces take their rules from here
(`token_for_bind` at start-up, `AccessGuard` around the app), so they cannot drift apart.

The rule: a server bound to 127.0.0.1 answers only requests whose Host header names
127.0.0.1 or localhost (a page on another site cannot reach it through DNS rebinding)
and needs no token; a server bound to any other address needs the token on every
request, pages and API alike. The token is generated on the first start that needs it
(`secrets.token_urlsafe`, 256 bits) and kept in a file of mode 0600 outside the archive
(the server never writes into the archive); a token file readable by others is refused.

A browser presents the token once as `?token=…`; the app answers with an HttpOnly,
SameSite=Strict cookie and a redirect to the same URL without it, so the token does not
stay in the address bar or the history. Scripts send `Authorization: Bearer …`. The redirect
goes to a path of this server only (`//evil.example/?token=…` lands on `/evil.example/`,
never on another site).

Requests are GET, except the few paths an app declares as actions (`serve` starts an
itinerary job with a POST). A browser says where a request comes from (`Sec-Fetch-Site`,
`Origin`): the API answers only this site's own pages (or a script, which sends neither), and an
action must come from this very origin. So a page on another site can neither start work on a
token-less loopback server nor read from it, and every page of either face has the same rules.
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
FOREIGN_SITES = {"cross-site", "same-site"}  # Sec-Fetch-Site values of a request another site's page made


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


def token_for_bind(host: str, token_file: Path | None, archive: Path | None, say) -> str | None:
    """The token a server bound to `host` requires (None on 127.0.0.1), created on first use.

    `say(line)` tells the user where it is kept (and the token itself when it was just made);
    a token file inside `archive` is refused (a watcher's or a reader's archive is no place for it)."""
    if not needs_token(host):
        return None
    path = Path(token_file or default_token_file()).expanduser()
    if archive is not None and path.resolve().is_relative_to(Path(archive).resolve()):
        raise BadInput(f"--token-file {path}: must not be inside the archive (an archive is copied and shared; "
                       "the token is not)")
    token, created = load_or_create_token(path)
    if created:
        say(f"generated an access token, stored in {path} (mode 0600): {token}")
    else:
        say(f"access token: from {path}")
    return token


def same_site_location(path: str, query: bytes) -> str:
    """The URL to send a browser to after the token exchange: this server's `path` without the token.

    A path starting with `//` (or `/\\`) would be read by the browser as another host; the leading
    slashes are collapsed so the redirect stays on this site."""
    rest = urlencode([(k, v) for k, v in parse_qsl(query.decode("latin-1")) if k != "token"])
    clean = "/" + path.lstrip("/\\")
    return quote(clean) + (f"?{rest}" if rest else "")


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
    """ASGI middleware: request size limits, methods, cross-site refusal, Host check (loopback mode) or
    token check (any other bind). `actions`: the paths that take a POST (everything else is GET only)."""

    def __init__(self, app, token: str | None, actions: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.token = token
        self.actions = frozenset(actions)

    def _method_refusal(self, scope) -> tuple[int, str, list] | None:
        method, path = scope["method"], scope["path"]
        if method == "GET" or (method == "POST" and path in self.actions):
            return None
        if path in self.actions:
            return 405, f"{path} takes a POST", [(b"allow", b"POST")]
        return 405, "this server is read-only: only GET", [(b"allow", b"GET")]

    def _foreign(self, scope, headers: dict) -> str | None:
        """Why a request made by another site's page is refused (None if it is not one)."""
        site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
        origin = headers.get(b"origin", b"").decode("latin-1").lower()
        host = headers.get(b"host", b"").decode("latin-1").lower()
        own = origin in (f"http://{host}", f"https://{host}")
        if scope["method"] == "POST":
            if site not in ("", "same-origin", "none") or (origin and not own) or (not origin and site):
                return "an action must come from this server's own page (cross-site request refused)"
            return None
        if scope["path"].startswith("/api/") and (site in FOREIGN_SITES or (origin and not own)):
            return "the API answers this server's own pages only (cross-site request refused)"
        return None

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
        refused = self._method_refusal(scope)
        if refused is not None:
            return await _reply(send, refused[0], refused[1], refused[2])
        headers = dict(scope.get("headers") or [])
        why = self._foreign(scope, headers)
        if why is not None:
            return await _reply(send, 403, why)
        if self.token is None:
            host = headers.get(b"host", b"").decode("latin-1").lower()
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
            location = same_site_location(scope["path"], query)
            cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode()
            return await _reply(send, 303, "token accepted", [(b"location", location.encode()),
                                                              (b"set-cookie", cookie)])
        return await self.app(scope, receive, send)
