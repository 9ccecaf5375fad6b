"""The service's one HTTP server: ``/healthz``, ``/readyz``, ``/metrics`` and ``/hook/<digest>``.

The standard library's ``ThreadingHTTPServer``, not an ASGI stack: four routes, small bodies,
a handful of requests a minute, and jobs that already run on threads — an event loop and a
server dependency (uvicorn, starlette) would add weight and a second concurrency model for
nothing. Every request is bounded: a 10 s socket timeout, a body limit checked against
``Content-Length`` before reading, no keep-alive. Webhook receivers are Flux ``Receiver`` objects
from the configuration (re-read on reload); a delivery that passes :mod:`~._hooks`' checks
triggers a scan of the matching ImageRepositories (:meth:`Service.trigger_scan`, which coalesces
bursts). Started and stopped by the ``serve`` command.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from imagebot import config
from imagebot.model import notification
from imagebot.model.ids import ObjectKey
from imagebot.schedule._hooks import (
    GIT_KINDS,
    Rejected,
    ReplayGuard,
    authenticate,
    hook_path,
    images_of,
    push_of,
)
from imagebot.schedule._metrics import CONTENT_TYPE, Metrics
from imagebot.schedule._service import Service

__all__ = ["MAX_BODY", "HTTPServer"]

logger = logging.getLogger("imagebot.schedule")

MAX_BODY = 1024 * 1024
"""Largest webhook body accepted (GitHub's own limit is 25 MB; registry payloads are a few KB)."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers
    timeout = 10.0

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("http: %s", format % args)

    def _answer(self, status: int, body: bytes | dict[str, object],
                content_type: str = "application/json") -> None:
        data = json.dumps(body).encode() + b"\n" if isinstance(body, dict) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        owner = self.server.owner
        if self.path == "/healthz":
            alive = owner.service.alive
            self._answer(200 if alive else 503, {"status": "ok" if alive else "scheduler not running"})
        elif self.path == "/readyz":
            ready = owner.service.ready
            problem = owner.service.state_error or ("stopping" if owner.service.book.stopping
                                                    else "configuration not loaded")
            self._answer(200 if ready else 503, {"status": "ready" if ready else problem,
                                                 "configError": owner.service.config_error})
        elif self.path == "/metrics":
            self._answer(200, owner.metrics.render(), CONTENT_TYPE)
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        owner = self.server.owner
        receiver_token = owner.receiver_for(self.path)
        if receiver_token is None:
            self._answer(404, {"error": "no such receiver"})
            return
        receiver, token = receiver_token
        label = str(receiver.key)
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            owner.metrics.webhooks.labels(label, "411").inc()
            self._answer(411, {"error": "Content-Length required"})
            return
        if int(length) > owner.max_body:
            owner.metrics.webhooks.labels(label, "413").inc()
            self._answer(413, {"error": f"body over {owner.max_body} bytes"})
            return
        body = self.rfile.read(int(length))
        headers = dict(self.headers.items())
        try:
            authenticate(receiver, token, headers, body)
            owner.replays.check(receiver, headers, body)
            push = push_of(receiver, headers, body) if _lists_git(receiver) else None
            images = images_of(receiver, headers, body) if push is None else None
        except Rejected as exc:
            owner.metrics.webhooks.labels(label, str(exc.status)).inc()
            logger.warning("webhook %s refused (%d): %s", receiver.key, exc.status, exc.reason)
            self._answer(exc.status, {"error": exc.reason})
            return
        if push is not None:
            app_sets = owner.service.appsets_for_receiver(receiver, push)
            generating = owner.service.trigger_appsets(app_sets, reason="webhook")
            jobs = owner.service.units_for_receiver(receiver, push)
            started = owner.service.trigger_units(jobs, reason="webhook")
            owner.metrics.webhooks.labels(label, "accepted").inc()
            logger.info("webhook %s: a push to %s; %d Applications/Kustomizations to check, %d "
                        "ApplicationSets to generate", receiver.key, push.branch or "?", len(jobs),
                        len(app_sets))
            self._answer(202, {"applications": jobs, "queued": started, "applicationSets": app_sets,
                               "generating": generating})
            return
        matched = owner.matching(receiver, images)
        queued = owner.service.trigger_scan(matched)
        owner.metrics.webhooks.labels(label, "accepted").inc()
        logger.info("webhook %s: %d repositories to scan (%d newly queued)", receiver.key, len(matched),
                    len(queued))
        self._answer(202, {"repositories": [str(k) for k in matched], "queued": [str(k) for k in queued]})


def _lists_git(receiver: notification.Receiver) -> bool:
    return any(ref.kind in GIT_KINDS for ref in receiver.resources)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HTTPServer


class HTTPServer:
    """``HTTPServer(("0.0.0.0", 8080), service=..., metrics=...).start()`` … ``.stop()``."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        service: Service,
        metrics: Metrics,
        secrets: config.SecretStore,
        max_body: int = MAX_BODY,
        replays: ReplayGuard | None = None,
    ) -> None:
        self.service = service
        self.metrics = metrics
        self.max_body = max_body
        self.replays = replays or ReplayGuard()
        self._secrets = secrets
        self._routes: dict[str, tuple[notification.Receiver, str]] = {}
        self._routes_for: object = None
        self._lock = threading.Lock()
        self._server = _Server(address, _Handler)
        self._server.owner = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HTTPServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="imagebot-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def paths(self) -> dict[ObjectKey, str]:
        """Each Receiver's URL path (for the log at start-up and for tests)."""
        self._refresh()
        return {receiver.key: path for path, (receiver, _) in self._routes.items()}

    def _refresh(self) -> None:
        cfg = self.service.cfg
        with self._lock:
            if self._routes_for is cfg:
                return
            routes: dict[str, tuple[notification.Receiver, str]] = {}
            for receiver in cfg.receivers.values():
                token = self._secrets.get(receiver.secret_ref, "token")
                if receiver.suspend:
                    continue
                if not token:
                    logger.error("Receiver %s: secret %s has no 'token'; its hook is disabled",
                                 receiver.key, receiver.secret_ref)
                    continue
                routes[hook_path(receiver, token)] = (receiver, token)
            self._routes, self._routes_for = routes, cfg

    def receiver_for(self, path: str) -> tuple[notification.Receiver, str] | None:
        self._refresh()
        found = None
        for known, entry in self._routes.items():  # compare every path: no early exit to time
            if hmac.compare_digest(known.encode(), path.encode()):
                found = entry
        return found

    def matching(self, receiver: notification.Receiver, images: tuple[str, ...] | None) -> list[ObjectKey]:
        """The ImageRepositories the receiver lists that the delivery's images name (suspended
        ones and, when sharded, other shards' ones never)."""
        cfg = self.service.cfg
        listed = [r for r in self.service.repositories(cfg)  # not suspended, this shard's
                  if any(ref.matches("ImageRepository", r.key) for ref in receiver.resources)]
        if images is None:
            return [r.key for r in listed]
        wanted = set(images)
        return [r.key for r in listed if r.image.canonical in wanted]


def hook_urls(server: HTTPServer, base: str) -> dict[str, str]:
    """``{receiver: URL}`` for the start-up log."""
    return {str(key): f"{base}{path}" for key, path in server.paths().items()}

