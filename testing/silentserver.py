"""A loopback TCP server that accepts every connection and never answers.

No real git server can be made to stall like this, so the deadline tests (a remote that accepts
the connection and then says nothing) use it. Binds port 0 on 127.0.0.1; used by
``tests/git/test_deadlines.py`` and the ``run`` integration tests.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Self

__all__ = ["SilentServer"]


class SilentServer:
    """``with SilentServer() as server: server.url("http", "fleet.git")``."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def url(self, scheme: str, name: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{name}"

    def _accept(self) -> None:
        self._socket.settimeout(0.2)
        while not self._stop.is_set():
            try:
                self._accepted.append(self._socket.accept()[0])
            except OSError:
                continue

    def __enter__(self) -> Self:
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._accepted:
            conn.close()
        self._socket.close()
