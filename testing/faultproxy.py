"""An HTTP proxy in front of a real server that injects the faults the real server cannot produce.

``FaultProxy(upstream)`` listens on a free ``127.0.0.1`` port and forwards every request to
``upstream`` (a real ``docker-registry``), unless a rule matching ``"METHOD /path?query"`` says
otherwise: answer with a status of its own (5xx storms, 429 with or without ``Retry-After``), drip
a body one byte at a time, stream a body that never ends, drop the connection, or **hold** the
request at a :class:`Gate` until the test releases it — timing-free synchronisation for "kill
the process while it waits for this answer". :class:`Gate` is also used by
:class:`testing.gitserver.GitHttpServer` to hold git requests. Used by ``tests/faults`` and
``benchmarks/soak.py``.

::

    with FaultProxy(registry.url) as proxy:
        proxy.on("GET /v2/team/a1/tags/list", Answer(429, {"Retry-After": "1"}), times=1)
        gate = proxy.hold("HEAD /v2/team/a2/manifests/")
        ...                      # start the client
        gate.wait_arrived()      # the client is now waiting for that answer
        gate.release("drop")     # or "forward"
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Literal, Self

import httpx

__all__ = ["Answer", "Drip", "Drop", "Endless", "FaultProxy", "Forward", "Gate", "Hold", "Outcome", "wait_until"]

Outcome = Literal["forward", "drop"]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te",
               "trailer", "upgrade", "proxy-connection"}


class Gate:
    """One held request: :attr:`arrived` is set when a request reaches it; it waits until
    :meth:`release` (``forward``: go on as if nothing happened; ``drop``: close the connection
    without an answer). Holds at most ``times`` requests; later ones pass through."""

    def __init__(self, times: int = 1) -> None:
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._outcome: Outcome = "forward"
        self._lock = threading.Lock()
        self._left = times
        self._count = 0
        self._counted = threading.Condition(self._lock)

    def take(self) -> bool:
        """Claim the gate for one request (False: it has held all it may)."""
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    def block(self) -> Outcome:
        with self._counted:
            self._count += 1
            self._counted.notify_all()
        self.arrived.set()
        self._released.wait()
        return self._outcome

    def wait_arrived(self, count: int = 1, timeout: float = 60.0) -> None:
        """Until ``count`` requests are held. A hang guard, not a measurement: fails when they
        did not arrive in ``timeout``."""
        with self._counted:
            if not self._counted.wait_for(lambda: self._count >= count, timeout):
                raise AssertionError(f"{self._count} of {count} requests reached the gate")

    def release(self, outcome: Outcome = "forward") -> None:
        self._outcome = outcome
        self._released.set()


@dataclasses.dataclass(frozen=True, slots=True)
class Forward:
    """Pass the request to the upstream server (the default)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """Answer without asking upstream."""

    status: int
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""


@dataclasses.dataclass(frozen=True, slots=True)
class Drip:
    """200 with a ``Content-Length`` of ``length``, then one byte every ``every`` seconds."""

    every: float = 0.2
    length: int = 1_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class Endless:
    """200, chunked, and a JSON body that never ends (until the client hangs up)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Drop:
    """Close the connection without an answer."""


@dataclasses.dataclass(frozen=True, slots=True)
class Hold:
    """Wait at ``gate`` until released, then forward or drop."""

    gate: Gate


Action = Forward | Answer | Drip | Endless | Drop | Hold


@dataclasses.dataclass(slots=True)
class _Rule:
    pattern: re.Pattern[str]
    action: Action
    left: int | None


class FaultProxy:
    """A fault-injecting reverse proxy; ``requests`` lists every ``"METHOD /path"`` it saw."""

    def __init__(self, upstream: str, *, verify: bool | ssl.SSLContext = True) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: list[str] = []
        self._rules: list[_Rule] = []
        self._gates: list[Gate] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._client = httpx.Client(base_url=self.upstream, verify=verify, trust_env=False,
                                    timeout=30.0, follow_redirects=False)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner._handle(self)

            do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()

    # -- configuration --------------------------------------------------------------------

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def on(self, pattern: str, action: Action, *, times: int | None = None) -> None:
        """Requests whose ``"METHOD /path?query"`` matches the regex ``pattern`` (searched) get
        ``action``, ``times`` times (None: always). Earlier rules win."""
        with self._lock:
            self._rules.append(_Rule(re.compile(pattern), action, times))

    def hold(self, pattern: str, *, times: int = 1) -> Gate:
        gate = Gate(times)
        self._gates.append(gate)
        self.on(pattern, Hold(gate))
        return gate

    def clear(self) -> None:
        """Forward everything from now on (held requests are dropped)."""
        with self._lock:
            self._rules.clear()
        for gate in self._gates:
            gate.release("drop")

    def seen(self, pattern: str) -> int:
        """How many requests matched ``pattern``."""
        compiled = re.compile(pattern)
        return sum(1 for line in list(self.requests) if compiled.search(line))

    # -- serving --------------------------------------------------------------------------

    def _action(self, line: str) -> Action:
        with self._lock:
            for rule in self._rules:
                if rule.pattern.search(line) and rule.left != 0:
                    if isinstance(rule.action, Hold) and not rule.action.gate.take():
                        continue
                    if rule.left is not None:
                        rule.left -= 1
                    return rule.action
        return Forward()

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        line = f"{handler.command} {handler.path}"
        self.requests.append(line)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        action = self._action(line)
        if isinstance(action, Hold):
            action = Forward() if action.gate.block() == "forward" else Drop()
        try:
            if isinstance(action, Answer):
                self._send(handler, action.status, action.headers, action.body)
            elif isinstance(action, Drip):
                self._drip(handler, action)
            elif isinstance(action, Endless):
                self._endless(handler)
            elif isinstance(action, Drop):
                self._drop(handler)
            else:
                self._forward(handler, body)
        except OSError:  # the client hung up (a deadline, a cap): what these faults provoke
            handler.close_connection = True

    def _forward(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        request = self._client.build_request(handler.command, handler.path, headers=headers, content=body)
        try:
            response = self._client.send(request, stream=True)
            try:
                payload = b"".join(response.iter_raw())
            finally:
                response.close()
        except httpx.TransportError:  # upstream is gone (killed): so is the answer
            self._drop(handler)
            return
        out = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        handler.send_response(response.status_code)
        for key, value in out:
            handler.send_header(key, value)
        if handler.command == "HEAD":
            handler.send_header("Content-Length", response.headers.get("Content-Length", "0"))
        else:
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    @staticmethod
    def _send(handler: http.server.BaseHTTPRequestHandler, status: int, headers: Mapping[str, str],
              body: bytes) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def _drip(self, handler: http.server.BaseHTTPRequestHandler, drip: Drip) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(drip.length))
        handler.end_headers()
        for _ in range(drip.length):
            if self._closing.wait(drip.every):
                break
            handler.wfile.write(b" ")
            handler.wfile.flush()
        handler.close_connection = True

    def _endless(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b'"x",' * 16384
        prefix = b'{"name":"x","tags":['
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(prefix), prefix))
        while not self._closing.is_set():
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        handler.close_connection = True

    @staticmethod
    def _drop(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        self._closing.set()
        for gate in self._gates:
            gate.release("drop")
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()



def wait_until(condition: Callable[[], bool], *, timeout: float = 60.0) -> None:
    """Poll ``condition()`` every 50 ms: a hang guard for tests, never a measurement."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
