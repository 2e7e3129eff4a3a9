"""Runs a web app with uvicorn in a background thread: the live page inside the watcher
(`WebServer`) and the investigator's app of `tailwatch serve` (`AppServer`).

The socket is bound here, in the caller's thread, so a port already in use is a
clear error at start-up (BadInput, exit 2) rather than a dying thread. uvicorn
installs no signal handlers outside the main thread: SIGINT/SIGTERM stay with
the watcher, which stops the server through `stop()` when it has finished.
"""

from __future__ import annotations

import socket
import threading
import time

from tailwatch.errors import BadInput


def parse_bind(value: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`[HOST:]PORT` → (host, port); the host defaults to loopback."""
    host, _, port = value.strip().rpartition(":")
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise BadInput(f"--web: expected [HOST:]PORT, got {value!r}") from None
    if not 0 <= number <= 65535:
        raise BadInput(f"--web: port {number} is out of range")
    return host, number


class AppServer:
    """`AppServer(app, host, port).start()` … `.stop()`; `port` 0 picks a free port (see `.url`)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 8080, warm=None, flag: str = "--port") -> None:
        self.app = app
        self.flag = flag  # the option named in start-up errors
        self.host = host
        self.port = port
        self.warm = warm  # slow set-up to run in the background before the first page asks for it
        self._server = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def make_app(self):
        return self.app

    def start(self, timeout: float = 10.0):
        import uvicorn

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted sockets inherit it: without it, keep-alive replies wait ~40 ms on delayed ACKs
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise BadInput(f"{self.flag}: cannot listen on {self.host}:{self.port} ({exc.strerror or exc})") from None
        sock.listen(256)
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.make_app(), log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2, server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="tailwatch-web", daemon=True)
        self._thread.start()
        if self.warm is not None:
            threading.Thread(target=self.warm, name="tailwatch-web-warm", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            self.stop()
            raise BadInput(f"{self.flag}: the web server did not start on {self.host}:{self.port}")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class WebServer(AppServer):
    """The live page of one running watcher: `WebServer(watcher, host, port).start()` … `.stop()`."""

    def __init__(self, watcher, host: str = "127.0.0.1", port: int = 8080, token: str | None = None) -> None:
        from tailwatch.web.countries import countries_geojson
        from tailwatch.web.security import needs_token

        if needs_token(host) and token is None:  # the rule of serve: any bind but 127.0.0.1 needs the token
            raise BadInput(f"--web {host}: a bind other than 127.0.0.1 needs the access token")
        # the outlines take ~0.5 s to simplify: do it before the first page asks for them
        super().__init__(None, host, port, warm=countries_geojson, flag="--web")
        self.watcher = watcher
        self.token = token

    def make_app(self):
        from tailwatch.web.app import create_app

        return create_app(self.watcher, token=self.token)
