"""A real ``docker-registry`` (CNCF distribution 2.8) on a free loopback port, in one auth mode.

:class:`RegistryServer` writes a config into its own temporary root, starts
``docker-registry serve`` with ``Popen``, waits until ``/v2/`` answers, and stops the process
by its PID (terminate, wait, kill). In ``token`` mode it also runs a :class:`TokenServer` in a
thread. Seeding goes through :class:`testing.pusher.Pusher` as the admin user. Used by the
fixtures in ``tests/integration/conftest.py`` and by ``benchmarks/scan.py``; see
``docs/testing.md`` and ``../shared/specs/registry-testbed.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, Self

import bcrypt
import httpx

from testing import processes
from testing.certs import TLSFiles, make_tls
from testing.credentials import Credentials, write_docker_config, write_secret
from testing.images import Format, Image, Index, Platform, build_image, build_index
from testing.pusher import Pusher
from testing.tokenserver import GrantPolicy, TokenServer, default_policy

__all__ = [
    "DEFAULT_USERS",
    "Mode",
    "RegistryServer",
    "RegistryStartError",
    "Storage",
    "find_binary",
    "free_port",
]

Mode = Literal["anonymous", "htpasswd", "token"]
Storage = Literal["filesystem", "inmemory"]

#: Users of the ``htpasswd`` and ``token`` modes. In token mode ``alice`` may push and pull
#: everything, ``bob`` may only pull, anonymous users may pull ``public/*``.
DEFAULT_USERS: Mapping[str, str] = {"alice": "alice-Pw-7rq2k", "bob": "bob-Pw-x93mf"}

_STARTUP_ATTEMPTS = 3  # a freshly chosen free port can be taken before the registry binds it


class RegistryStartError(RuntimeError):
    """The registry did not come up; the message ends with its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (bind to 0, read, close; racy but fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_binary() -> str:
    """Path of ``docker-registry``; raises with a hint when it is not installed."""
    found = shutil.which("docker-registry") or (
        "/usr/bin/docker-registry" if os.access("/usr/bin/docker-registry", os.X_OK) else None
    )
    if found is None:
        raise RegistryStartError(
            "docker-registry is not installed; run scripts/bootstrap "
            "(apt-get install docker-registry)"
        )
    return found


class RegistryServer:
    """One private registry process.

    ::

        with RegistryServer(tmp_path, "htpasswd") as registry:
            digest = registry.push_image("library/app", "1.0.0")
            registry.url        # "http://127.0.0.1:41234"
            registry.host       # "127.0.0.1:41234" (the key in a Docker config's "auths")
            registry.write_secret(tmp_path / "secrets", user="bob")

    ``mode`` is ``anonymous`` (no auth), ``htpasswd`` (Basic, bcrypt users) or ``token``
    (Bearer; ``token_server`` runs in this process). ``users`` defaults to
    :data:`DEFAULT_USERS`; ``admin`` is the user seeding is done as. ``storage="filesystem"``
    (default) keeps data across :meth:`restart`; ``inmemory`` is faster and vanishes.
    ``tls=True`` serves https with a throwaway CA (``tls.ca_cert``; :meth:`ssl_context`), or with
    the given :class:`TLSFiles` (an expired or mismatching certificate: ``testing.certs.make_tls``); in
    ``token`` mode the token server then serves https too, with the same certificate.
    ``headers`` are added to every answer (e.g. fake ``RateLimit-*`` headers).
    """

    def __init__(
        self,
        root: Path,
        mode: Mode = "anonymous",
        *,
        users: Mapping[str, str] | None = None,
        admin: str = "alice",
        storage: Storage = "filesystem",
        tls: bool | TLSFiles = False,
        headers: Mapping[str, Sequence[str]] | None = None,
        realm: str = "basic-realm",
        policy: GrantPolicy | None = None,
        startup_timeout: float = 10.0,
        binary: str | None = None,
    ) -> None:
        self.root = root
        self.mode: Mode = mode
        self.storage: Storage = storage
        self.users: dict[str, str] = {} if mode == "anonymous" else dict(users or DEFAULT_USERS)
        if mode != "anonymous" and admin not in self.users:
            raise ValueError(f"admin user {admin!r} is not in users")
        self.admin_name = admin
        self.headers = {k: list(v) for k, v in (headers or {}).items()}
        self.realm = realm
        self.startup_timeout = startup_timeout
        self.binary = binary
        self.tls: TLSFiles | None = (tls if isinstance(tls, TLSFiles) else make_tls(root / "tls") if tls
                                     else None)
        self.token_server: TokenServer | None = None
        if mode == "token":
            self.token_server = TokenServer(
                users=self.users, policy=policy or default_policy(admins=(admin,)), tls=self.tls
            )
        self.config_path = root / "config.yml"
        self.log_path = root / "registry.log"
        self.data_dir = root / "data"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._pusher: Pusher | None = None
        self._finalizer: weakref.finalize[..., RegistryServer] | None = None

    # -- addresses and credentials --------------------------------------------------------

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, as an image reference and a Docker config ``auths`` key use it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def credentials(self, user: str | None = None) -> Credentials:
        """Credentials of ``user`` (default: the admin). For a wrong password build
        ``Credentials(user, "wrong")`` yourself."""
        name = user or self.admin_name
        if name not in self.users:
            raise KeyError(f"{name!r} is not a user of this {self.mode} registry")
        return Credentials(name, self.users[name])

    @property
    def admin(self) -> Credentials | None:
        return None if self.mode == "anonymous" else self.credentials()

    def ssl_context(self) -> ssl.SSLContext | bool:
        """``verify=`` for httpx: trusts the test CA when TLS is on."""
        return self.tls.ssl_context() if self.tls else True

    def write_secret(
        self,
        secrets_dir: Path,
        user: str | None = None,
        *,
        name: str = "regcred",
        password: str | None = None,
    ) -> Path:
        """``secrets_dir/name/.dockerconfigjson`` for ``user`` (``password`` overrides)."""
        creds = self.credentials(user)
        if password is not None:
            creds = Credentials(creds.username, password)
        return write_secret(secrets_dir, {self.host: creds}, name=name)

    def write_docker_config(
        self, config_dir: Path, user: str | None = None, *, password: str | None = None
    ) -> Path:
        """``config_dir/config.json``; set ``DOCKER_CONFIG=config_dir``."""
        creds = self.credentials(user)
        if password is not None:
            creds = Credentials(creds.username, password)
        return write_docker_config(config_dir, {self.host: creds})

    def add_user(self, name: str, password: str) -> None:
        """Add a user while running (htpasswd is re-read on change; the token server reads
        ``users`` live)."""
        if self.mode == "anonymous":
            raise ValueError("an anonymous registry has no users")
        self.users[name] = password
        if self.mode == "htpasswd":
            self._write_htpasswd()

    # -- process lifecycle ----------------------------------------------------------------

    def start(self) -> Self:
        if self.running:
            return self
        binary = self.binary or find_binary()
        self.root.mkdir(parents=True, exist_ok=True)
        if self.mode == "htpasswd":
            self._write_htpasswd()
        if self.token_server is not None:
            self.token_server.start()
            self.token_server.key.write_bundle(self.root / "bundle.crt")
        keep_port = self.port != 0
        for attempt in range(1, _STARTUP_ATTEMPTS + 1):
            if not keep_port:
                self.port = free_port()
            self._spawn(binary)
            try:
                self._wait_ready()
                break
            except RegistryStartError:
                exited = self._process is not None and self._process.poll() is not None
                self._kill()
                if not (exited and "address already in use" in self.log_text()):
                    raise
                if attempt == _STARTUP_ATTEMPTS or keep_port:
                    raise
        return self

    def stop(self) -> None:
        if self._pusher is not None:
            self._pusher.close()
            self._pusher = None
        self._kill()
        if self.token_server is not None:
            self.token_server.stop()

    def restart(self) -> None:
        """Stop and start on the same port (data survives with ``filesystem`` storage)."""
        self._kill()
        self.start()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _spawn(self, binary: str) -> None:
        self.config_path.write_text(json.dumps(self._config(), indent=2))  # YAML is a JSON superset
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [binary, "serve", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.root,
        )
        # safety net if a caller forgets stop(): kill this PID (only this one) at exit
        self._finalizer = weakref.finalize(self, processes.stop, self._process)

    def _kill(self) -> None:
        if self._process is not None:
            processes.stop(self._process)
            self._process = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer"
        # liveness only: a test may serve an expired or mismatching certificate on purpose
        with httpx.Client(verify=False, timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    code = None if self._process is None else self._process.returncode
                    raise RegistryStartError(
                        f"docker-registry exited with {code} during start-up\n{self.log_text()}"
                    )
                try:
                    status = client.get(f"{self.url}/v2/").status_code
                except httpx.TransportError as exc:
                    last = repr(exc)
                else:
                    if status in (200, 401):
                        return
                    last = f"HTTP {status}"
                time.sleep(0.05)
        raise RegistryStartError(
            f"{self.url}/v2/ not ready after {self.startup_timeout} s ({last})\n{self.log_text()}"
        )

    def _write_htpasswd(self) -> None:
        lines = [
            f"{name}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=4)).decode()}"
            for name, pw in self.users.items()
        ]
        path = self.root / "htpasswd"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(path)

    def _config(self) -> dict[str, object]:
        storage: dict[str, object] = (
            {"inmemory": {}}
            if self.storage == "inmemory"
            else {"filesystem": {"rootdirectory": str(self.data_dir)}}
        )
        storage |= {
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        }
        http: dict[str, object] = {"addr": self.host, "secret": "testbed-not-secret"}
        if self.headers:
            http["headers"] = self.headers
        if self.tls is not None:
            http["tls"] = {"certificate": str(self.tls.cert), "key": str(self.tls.key)}
        config: dict[str, object] = {
            "version": "0.1",
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": storage,
            "http": http,
        }
        if self.mode == "htpasswd":
            config["auth"] = {"htpasswd": {"realm": self.realm, "path": str(self.root / "htpasswd")}}
        elif self.token_server is not None:
            config["auth"] = {
                "token": {
                    "realm": self.token_server.realm,
                    "service": self.token_server.service,
                    "issuer": self.token_server.issuer,
                    "rootcertbundle": str(self.root / "bundle.crt"),
                }
            }
        return config

    # -- seeding --------------------------------------------------------------------------

    def pusher(self, credentials: Credentials | None = None) -> Pusher:
        """A new seeding client as ``credentials`` (caller closes it); see :attr:`seeder`."""
        return Pusher(self.url, credentials, verify=self.ssl_context())

    @property
    def seeder(self) -> Pusher:
        """The shared admin client behind the ``push_*`` helpers."""
        if self._pusher is None:
            self._pusher = self.pusher(self.admin)
        return self._pusher

    def push_image(
        self,
        repo: str,
        tag: str,
        image: Image | None = None,
        *,
        fmt: Format = "oci",
        labels: Mapping[str, str] | None = None,
        created: str = "2024-01-01T00:00:00Z",
    ) -> str:
        """Push one image under ``tag``; returns its manifest digest."""
        if image is None:
            image = build_image(
                fmt=fmt,
                created=created,
                labels={"org.opencontainers.image.version": tag, **(labels or {})},
            )
        return self.seeder.push_image(repo, tag, image)

    def push_index(
        self,
        repo: str,
        tag: str,
        index: Index | None = None,
        *,
        fmt: Format = "oci",
        platforms: Sequence[Platform] = (Platform("linux", "amd64"), Platform("linux", "arm64", "v8")),
        attestation: bool = False,
    ) -> str:
        """Push an OCI index (``fmt="oci"``) or Docker manifest list; returns its digest."""
        if index is None:
            index = build_index(
                platforms, fmt=fmt, attestation=attestation,
                labels={"org.opencontainers.image.version": tag},
            )
        return self.seeder.push_index(repo, tag, index)

    def push_tags(
        self,
        repo: str,
        tags: Iterable[str],
        *,
        fmt: Format = "oci",
        distinct: bool = True,
        workers: int = 8,
    ) -> dict[str, str]:
        """Push many tags in parallel; ``{tag: digest}`` (see :meth:`Pusher.push_tags`)."""
        return self.seeder.push_tags(repo, tags, fmt=fmt, distinct=distinct, workers=workers)

    def delete(self, repo: str, digest: str) -> None:
        """Delete a manifest by digest; every tag pointing at it disappears."""
        self.seeder.delete(repo, digest)

    def make_untagged(self, repo: str) -> None:
        """Leave ``repo`` existing but with ``tags: null`` (push one image, delete it)."""
        self.delete(repo, self.push_image(repo, "doomed"))

    def tags(self, repo: str) -> list[str] | None:
        """Tags in the registry's own (unsorted) order; None for ``tags: null``."""
        return self.seeder.tags(repo)

    def digest(self, repo: str, reference: str) -> str:
        return self.seeder.digest(repo, reference)

