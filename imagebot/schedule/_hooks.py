"""Registry webhooks: authenticate a delivery, read which images it names, refuse replays.

One function per concern, no I/O: :func:`hook_path` (Flux's ``/hook/<sha256(token+name+namespace)>``
URL), :func:`authenticate` (the check each receiver type allows, all in constant time),
:func:`images_of` (the image names in a GitHub, Docker Hub, Harbor, Quay or generic payload) and
:class:`ReplayGuard` (each delivery once, within a time window). Called by
:mod:`imagebot.schedule._http`, which turns :class:`Rejected` into the HTTP status it carries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from imagebot.model import notification
from imagebot.model.images import parse_image_repo

__all__ = ["GITHUB_EVENTS", "GIT_KINDS", "Push", "Rejected", "ReplayGuard", "authenticate", "hook_path",
           "images_of", "push_of"]

GITHUB_EVENTS = ("package", "registry_package")
"""The GitHub events that mean "an image was published" (``ping`` is answered, nothing more)."""

GIT_KINDS = ("GitRepository", "Application", "Kustomization")
"""Receiver resources that make a delivery a Git push for the sync loop."""

_GITHUB_COMMITS_LISTED = 20
"""GitHub lists at most this many commits in a push payload; with more, the paths are unknown."""


@dataclasses.dataclass(frozen=True, slots=True)
class Push:
    """A Git push a webhook reported: the branch (None: unknown, or a tag) and the changed
    repository paths (None: unknown — every listed unit is checked)."""

    branch: str | None = None
    paths: tuple[str, ...] | None = None


class Rejected(Exception):
    """A delivery refused with ``status`` (401 unauthenticated, 409 replayed, 400 malformed)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def hook_path(receiver: notification.Receiver, token: str) -> str:
    """The receiver's URL path, computed as Flux's notification-controller does."""
    digest = hashlib.sha256(f"{token}{receiver.key.name}{receiver.key.namespace}".encode()).hexdigest()
    return f"/hook/{digest}"


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def _signature_ok(header: str, token: str, body: bytes) -> bool:
    algorithm, _, given = header.partition("=")
    digests = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
    if algorithm not in digests or not given:
        return False
    expected = hmac.new(token.encode(), body, digests[algorithm]).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def _token_ok(header: str, token: str) -> bool:
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else header.strip()
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def authenticate(
    receiver: notification.Receiver, token: str, headers: Mapping[str, str], body: bytes,
) -> None:
    """Raise :class:`Rejected` (401) unless the delivery proves it knows the receiver's token.

    ``github`` and ``generic-hmac`` sign the body (``X-Hub-Signature-256`` / ``X-Signature``,
    ``sha256=<hex>``); ``generic`` and ``harbor`` send the token in ``Authorization`` (``Bearer``
    or as is). Docker Hub and Quay cannot sign or send headers: for them the secret URL path —
    a SHA-256 of the token — is the credential, as in Flux.
    """
    kind = receiver.type
    if kind == "github":
        if not _signature_ok(_header(headers, "X-Hub-Signature-256"), token, body):
            raise Rejected(401, "missing or wrong X-Hub-Signature-256")
    elif kind == "generic-hmac":
        if not _signature_ok(_header(headers, "X-Signature"), token, body):
            raise Rejected(401, "missing or wrong X-Signature")
    elif kind in ("generic", "harbor") and not _token_ok(_header(headers, "Authorization"), token):
        raise Rejected(401, "missing or wrong Authorization token")


def _load(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "the body is not JSON") from None


def _get(document: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _canonical(reference: str) -> str | None:
    name = reference.strip()
    if "@" in name:
        name = name.split("@", 1)[0]
    head, sep, tail = name.rpartition(":")
    if sep and "/" not in tail:
        name = head
    try:
        return parse_image_repo(name.lower()).canonical
    except ValueError:
        return None


def images_of(
    receiver: notification.Receiver, headers: Mapping[str, str], body: bytes,
) -> tuple[str, ...] | None:
    """The canonical image names a delivery is about; ``None`` when it names none (then every
    ImageRepository the receiver lists is scanned). A GitHub event type not accepted → 202-style
    no-op, signalled as an empty tuple."""
    document = _load(body)
    found: list[str | None] = []
    kind = receiver.type
    if kind == "github":
        event = _header(headers, "X-GitHub-Event")
        if event not in (receiver.events or GITHUB_EVENTS):
            return ()
        package = _get(document, event)
        url = _get(package, "package_version", "package_url")
        if isinstance(url, str) and url:
            found.append(_canonical(url))
        else:
            owner = _get(package, "namespace") or _get(package, "owner", "login")
            name = _get(package, "name")
            if isinstance(owner, str) and isinstance(name, str):
                found.append(_canonical(f"ghcr.io/{owner}/{name}"))
    elif kind == "dockerhub":
        name = _get(document, "repository", "repo_name")
        if isinstance(name, str):
            found.append(_canonical(name if "/" in name else f"library/{name}"))
    elif kind == "harbor":
        resources = _get(document, "event_data", "resources")
        for resource in resources if isinstance(resources, list) else ():
            url = _get(resource, "resource_url")
            if isinstance(url, str):
                found.append(_canonical(url))
    elif kind == "quay":
        url = _get(document, "docker_url")
        if isinstance(url, str):
            found.append(_canonical(url))
    else:
        names = _get(document, "images")
        single = _get(document, "image")
        for name in ([*names] if isinstance(names, list) else []) + ([single] if single else []):
            if isinstance(name, str):
                found.append(_canonical(name))
        if not found:
            return None
    images = tuple(sorted({f for f in found if f}))
    if not images:
        raise Rejected(400, "the payload names no image")
    return images


def _changed_paths(document: Any) -> tuple[str, ...] | None:
    commits = _get(document, "commits")
    if isinstance(commits, list) and commits and len(commits) < _GITHUB_COMMITS_LISTED:
        paths = {p for c in commits if isinstance(c, dict) for key in ("added", "modified", "removed")
                 for p in (c.get(key) or ()) if isinstance(p, str)}
        return tuple(sorted(paths))
    listed = _get(document, "paths")
    if isinstance(listed, list) and all(isinstance(p, str) for p in listed):
        return tuple(sorted(listed))
    return None


def push_of(
    receiver: notification.Receiver, headers: Mapping[str, str], body: bytes,
) -> Push | None:
    """The Git push a delivery reports, or None when it is none (a GitHub ``ping`` or another
    event; a registry's payload). GitHub's ``push`` payload and the generic types share a shape:
    ``ref`` (``refs/heads/<branch>``) or ``branch``, and the changed files from ``commits[]``
    (``added``/``modified``/``removed``) or a ``paths`` list."""
    if receiver.type in ("dockerhub", "harbor", "quay"):
        return None
    if receiver.type == "github":
        event = _header(headers, "X-GitHub-Event")
        if event != "push" or (receiver.events and "push" not in receiver.events):
            return None
    document = _load(body)
    ref, branch = _get(document, "ref"), _get(document, "branch")
    found = None
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        found = ref.removeprefix("refs/heads/")
    elif isinstance(branch, str) and branch:
        found = branch
    return Push(found, _changed_paths(document))


def _timestamp(receiver: notification.Receiver, body: bytes) -> float | None:
    document = _load(body)
    value = None
    if receiver.type == "dockerhub":
        value = _get(document, "push_data", "pushed_at")
    elif receiver.type == "harbor":
        value = _get(document, "occur_at")
    elif receiver.type in ("generic", "generic-hmac"):
        value = _get(document, "timestamp")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class ReplayGuard:
    """Each delivery is accepted once within ``window`` seconds, and a payload whose own timestamp
    (Docker Hub ``pushed_at``, Harbor ``occur_at``, generic ``timestamp``) is older than the window
    is refused. A delivery is known by its ``X-GitHub-Delivery`` id, else by its body's SHA-256."""

    def __init__(self, window: float = 300.0, *, clock: Callable[[], float] = time.time) -> None:
        self._window = window
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, receiver: notification.Receiver, headers: Mapping[str, str], body: bytes) -> None:
        now = self._clock()
        stamp = _timestamp(receiver, body)
        if stamp is not None and abs(now - stamp) > self._window:
            raise Rejected(409, f"the payload's timestamp is outside the {self._window:g}s replay window")
        delivery = _header(headers, "X-GitHub-Delivery") or hashlib.sha256(body).hexdigest()
        key = f"{receiver.key}\0{delivery}"
        with self._lock:
            for old, when in list(self._seen.items()):
                if now - when > self._window:
                    del self._seen[old]
            if key in self._seen:
                raise Rejected(409, "this delivery was already received (replay)")
            self._seen[key] = now
