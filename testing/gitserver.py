"""A smart-HTTP git server: ``git http-backend`` behind a threaded stdlib server with Basic auth.

libgit2 needs HTTP/1.1 answers with ``Content-Length`` and sends credentials only after a 401, so
``http.server --cgi`` will not do (git-forge-tooling §1); this ~100-line server does. It binds
port 0 on 127.0.0.1 (no fixed ports, no races) and serves every bare repository below ``root``.
Used by ``tests/git`` fixtures and ``benchmarks/publish.py``; see ``docs/git.md``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import re
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

from testing.faultproxy import Gate, Outcome

__all__ = ["GitHttpServer", "Request"]


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    status: int
    authorization: str | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # libgit2 fails on close-delimited HTTP/1.0 bodies
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        owner = self.server.owner
        authorization = self.headers.get("Authorization")
        if authorization != owner.expected_authorization:
            self._body()
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            owner.log(Request(self.command, self.path, 401, authorization))
            return
        body = self._body()
        if owner.gate(f"{self.command} {self.path}", after=False) == "drop":
            self._drop()
            return
        path, _, query = self.path.partition("?")
        env = owner.cgi_env | {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": owner.username,
            "REMOTE_ADDR": "127.0.0.1",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run(
            ["git", "http-backend"], input=body, capture_output=True, env=env, check=False
        ).stdout
        head, sep, payload = out.partition(b"\r\n\r\n")
        if not sep:
            head, _, payload = out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        if owner.gate(f"{self.command} {self.path}", after=True) == "drop":
            self._drop()  # git http-backend ran (refs may have moved); the client never hears
            return
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        owner.log(Request(self.command, self.path, status, authorization))

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: GitHttpServer


class GitHttpServer:
    """Serve the bare repos below ``root`` at ``http://127.0.0.1:<port>/<name>``.

    ::

        with GitHttpServer(tmp_path / "srv", username="bot", password="s3cret") as server:
            make_bare(server.root / "fleet.git", {...}, env=env)
            server.url("fleet.git")       # "http://127.0.0.1:40123/fleet.git"
            server.requests               # [Request(method, path, status, authorization), ...]
    """

    def __init__(self, root: Path, *, username: str = "bot", password: str = "bot-Pw-4kq9z") -> None:
        self.root = root
        self.username = username
        self.password = password
        self.expected_authorization = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        home = root.parent / f"{root.name}-home"
        home.mkdir(parents=True, exist_ok=True)
        (home / ".gitconfig").touch()
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
        self.cgi_env = keep | {
            "GIT_PROJECT_ROOT": str(root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "HOME": str(home),
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        self.requests: list[Request] = []
        self._gates: list[tuple[re.Pattern[str], bool, Gate]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def url_with_credentials(self, name: str) -> str:
        """For the git CLI in tests (imagebot itself gets credentials as values)."""
        return f"http://{self.username}:{self.password}@127.0.0.1:{self.port}/{name}"

    def hold(self, pattern: str, *, after: bool = False, times: int = 1) -> Gate:
        """Hold requests matching ``"METHOD /path?query"`` at a :class:`Gate`: before ``git
        http-backend`` runs (the body was received; ``drop`` then discards it), or ``after`` it
        ran (refs may have moved; ``drop`` closes the connection without the answer)."""
        gate = Gate(times)
        self._gates.append((re.compile(pattern), after, gate))
        return gate

    def gate(self, line: str, *, after: bool) -> Outcome:
        for pattern, when, gate in list(self._gates):
            if when == after and pattern.search(line) and gate.take():
                return gate.block()
        return "forward"

    def log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> Self:
        self.root.mkdir(parents=True, exist_ok=True)
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="git-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        for _, _, gate in self._gates:
            gate.release("drop")
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
