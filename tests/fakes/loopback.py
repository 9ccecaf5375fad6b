"""A registry on a real loopback socket whose answers a test writes: for faults a real
``docker-registry`` cannot produce but that must go through imagebot's whole CLI (and httpx's
real transport: redirects, hostile tags, servers that drop connections).

``LoopbackRegistry(routes)`` answers ``GET|HEAD path`` from ``routes`` (a function of method and
path returning status, headers and body); ``/v2/`` answers 200 unless routed. Every request is
recorded. Stopped by ``close()`` (a context manager).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Self

Answer = tuple[int, Mapping[str, str], bytes]
Routes = Callable[[str, str], Answer | None]
"""``(method, path with query) -> (status, headers, body)``; None for a 404."""


class LoopbackRegistry:
    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._answer("GET")

            def do_HEAD(self) -> None:
                self._answer("HEAD")

            def _answer(self, method: str) -> None:
                owner.requests.append((method, self.path))
                answer = owner.routes(method, self.path)
                if answer is None and self.path == "/v2/":
                    answer = (200, {"Content-Type": "application/json"}, b"{}")
                status, headers, body = answer or (404, {"Content-Type": "text/plain"}, b"404 page not found")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-registry", daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
