"""A Docker token server (the ``realm`` of a Bearer challenge) running in a thread.

:class:`TokenServer` signs ES256 JWTs that registry 2.8 accepts (registry-testbed.md §5.4):
``kid`` is the libtrust key ID of the signing key, ``aud`` a plain string. The grant policy is
a plain function; the default is the spec's (admins everything, other users pull, anonymous
pull on ``public/*`` only). Used by :class:`testing.registry.RegistryServer` in ``token`` mode.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.server
import json
import secrets
import ssl
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from testing.certs import TLSFiles

__all__ = [
    "Access",
    "GrantPolicy",
    "SigningKey",
    "TokenRequest",
    "TokenServer",
    "default_policy",
    "libtrust_kid",
]


@dataclass(frozen=True, slots=True)
class Access:
    """One entry of a token's ``access`` claim (also what a ``scope`` asks for)."""

    type: str
    name: str
    actions: tuple[str, ...]

    @classmethod
    def parse_scope(cls, scope: str) -> list[Access]:
        # "repository:library/app:pull,push"; a name may hold a port ("host:5000/x"), so the
        # actions are after the *last* colon and the type before the first.
        out = []
        for item in scope.split():
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            out.append(cls(kind, name, tuple(a for a in actions.split(",") if a)))
        return out

    def as_claim(self) -> dict[str, object]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What the token server was asked, kept for assertions (``server.requests``)."""

    method: str
    account: str | None
    scopes: tuple[str, ...]
    service: str | None
    status: int


#: ``policy(account, requested) -> granted``; ``account`` is None for anonymous requests.
GrantPolicy = Callable[[str | None, Access], tuple[str, ...]]


def default_policy(admins: Collection[str] = ("alice",)) -> GrantPolicy:
    """Admins get everything asked; other users pull; anonymous pull on ``public/*`` only."""

    def policy(account: str | None, access: Access) -> tuple[str, ...]:
        if account in admins:
            return access.actions
        if access.type != "repository":
            return ()
        if account is not None or access.name.startswith("public/"):
            return tuple(a for a in access.actions if a == "pull")
        return ()

    return policy


def libtrust_kid(public_key: ec.EllipticCurvePublicKey) -> str:
    """Key ID as docker/libtrust computes it: base32(sha256(SPKI DER)[:30]) in groups of 4."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


@dataclass(frozen=True)
class SigningKey:
    """An ES256 key and the self-signed certificate the registry trusts it by."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def generate(cls, common_name: str = "testbed-token-signer") -> SigningKey:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @property
    def kid(self) -> str:
        return libtrust_kid(self.private_key.public_key())

    def write_bundle(self, path: Path) -> Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path


@dataclass
class TokenServer:
    """Threaded token endpoint on ``http://127.0.0.1:<port>/token`` (``https://`` with ``tls``).

    ::

        with TokenServer(users={"alice": "pw"}, service="svc", issuer="iss") as ts:
            ts.realm   # "http://127.0.0.1:41234/token"

    ``users`` may be changed while running; ``requests`` records every call; ``policy`` is
    consulted per requested scope and the token carries the intersection (never an error).
    """

    users: dict[str, str]
    service: str = "testbed-registry"
    issuer: str = "testbed-issuer"
    key: SigningKey = field(default_factory=SigningKey.generate)
    policy: GrantPolicy = field(default_factory=default_policy)
    expires_in: int = 300
    host: str = "127.0.0.1"
    tls: TLSFiles | None = None
    """Serve https with this certificate (the registry's own, so the same private CA)."""
    requests: list[TokenRequest] = field(default_factory=list, init=False)
    issued: list[str] = field(default_factory=list, init=False, repr=False)
    """Every token signed, for secret-canary tests (a bearer token is a secret)."""
    _server: http.server.ThreadingHTTPServer | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _refresh: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _last_port: int = field(default=0, init=False, repr=False)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("token server is not running")
        return int(self._server.server_address[1])

    @property
    def realm(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/token"

    def start(self) -> Self:
        if self._server is not None:
            return self
        handler = type("Handler", (_Handler,), {"token_server": self})
        # started again after stop(): the same port, so the registry's realm still points here
        self._server = http.server.ThreadingHTTPServer((self.host, self._last_port), handler)
        self._last_port = int(self._server.server_address[1])
        self._server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert, self.tls.key)
            # a client refusing the certificate fails the accept; socketserver ignores that
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="token-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def issue(self, account: str | None, scopes: Collection[str]) -> str:
        """Sign a token for ``account`` with what the policy grants of ``scopes``."""
        access = []
        for scope in scopes:
            for asked in Access.parse_scope(scope):
                granted = self.policy(account, asked)
                access.append(Access(asked.type, asked.name, granted).as_claim())
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims = {
            "iss": self.issuer,
            "sub": account or "",
            "aud": self.service,  # must stay a string: 2.8 refuses a list as malformed
            "exp": now + self.expires_in,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = jwt.encode(claims, self.key.private_key, algorithm="ES256", headers={"kid": self.key.kid})
        with self._lock:
            self.issued.append(token)
        return token

    def check(self, user: str, password: str) -> str | None:
        """The account name when ``user``/``password`` are right, else None."""
        known = self.users.get(user)
        if known is not None and secrets.compare_digest(known.encode(), password.encode()):
            return user
        return None

    def refresh_token_for(self, account: str) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._refresh[token] = account
        return token

    def account_for(self, refresh_token: str) -> str | None:
        with self._lock:
            return self._refresh.get(refresh_token)

    def record(self, request: TokenRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _Handler(http.server.BaseHTTPRequestHandler):
    token_server: TokenServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean; TokenServer.requests holds the record

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        scopes = query.get("scope", [])
        account: str | None = None
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                user, password = "", ""
            account = self.token_server.check(user, password)
            if account is None:
                self._deny("GET", query, scopes)
                return
        self._answer("GET", query, scopes, account, offline="offline_token" in query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        scopes = " ".join(form.get("scope", [])).split()
        grant = (form.get("grant_type") or [""])[0]
        account: str | None
        if grant == "password":
            user, password = (form.get("username") or [""])[0], (form.get("password") or [""])[0]
            account = self.token_server.check(user, password)
        elif grant == "refresh_token":
            account = self.token_server.account_for((form.get("refresh_token") or [""])[0])
        else:
            self._send(400, {"details": f"unsupported grant_type {grant!r}"})
            return
        if account is None:
            self._deny("POST", form, scopes)
            return
        self._answer("POST", form, scopes, account, offline=True)

    def _answer(
        self,
        method: str,
        query: Mapping[str, list[str]],
        scopes: list[str],
        account: str | None,
        *,
        offline: bool,
    ) -> None:
        server = self.token_server
        service = next(iter(query.get("service", [])), None)
        if urlsplit(self.path).path != "/token":
            self._send(404, {"details": "not found"})
            return
        if service is not None and service != server.service:
            server.record(TokenRequest(method, account, tuple(scopes), service, 400))
            self._send(400, {"details": f"unknown service {service!r}"})
            return
        token = server.issue(account, scopes)
        body: dict[str, object] = {
            "token": token,
            "access_token": token,
            "expires_in": server.expires_in,
            "issued_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        if method == "POST":
            body["scope"] = " ".join(scopes)
        if offline and account is not None:
            body["refresh_token"] = server.refresh_token_for(account)
        server.record(TokenRequest(method, account, tuple(scopes), service, 200))
        self._send(200, body)

    def _deny(self, method: str, query: Mapping[str, list[str]], scopes: list[str]) -> None:
        service = next(iter(query.get("service", [])), None)
        self.token_server.record(TokenRequest(method, None, tuple(scopes), service, 401))
        self._send(
            401,
            {"details": "incorrect username or password"},
            {"WWW-Authenticate": 'Basic realm="testbed-token"'},
        )

    def _send(self, status: int, body: object, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
