"""The secret canary for ``imagebot serve``: every secret of a working service is a known value,
and none may appear anywhere the service writes or answers.

``imagebot serve`` runs as a child process with real HTTP on loopback, debug logs (JSON), against
a Basic-auth (htpasswd) and a Bearer-token ``docker-registry``, a smart-HTTP git remote with a
password, two webhook receivers (``generic-hmac`` and ``generic`` with a bearer token) and events
out to a local receiver through a ``generic-hmac`` provider and a provider whose address (with a
token in its path) comes from a secret. It commits at start-up, commits again after a signed
webhook, refuses hooks with a wrong signature or token, and fails to scan one repository whose
secret holds a wrong password. Then every log line, every webhook answer, every event payload
and header, ``/metrics``, ``imagebot status --json``, every commit and every file of the remote
and of imagebot's clone (``.git`` included), and every byte and row of the state file are
searched for each secret — the registry passwords, a wrong password, the git password (also as
the Base64 of ``user:password`` a Basic header or a dockerconfigjson carries), the receivers' and
the provider's tokens, the provider's secret address and every bearer token the token server
issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from testing import fluxyaml
from testing.credentials import Credentials, write_secret
from testing.gitrepos import git, git_env, make_bare
from testing.gitserver import GitHttpServer
from testing.registry import RegistryServer, free_port

pytestmark = pytest.mark.integration

BASIC_PW = "canary-basic-Reg-7Hq2"
TOKEN_PW = "canary-token-Reg-9Zx4"
WRONG_PW = "canary-wrong-Reg-3Kd8"
GIT_PW = "canary-git-Pw-5Lm1"
HMAC_TOKEN = "canary-hook-hmac-2Wp6"
BEARER_TOKEN = "canary-hook-bearer-8Rt3"
PROVIDER_TOKEN = "canary-provider-hmac-4Yn7"
ADDRESS_TOKEN = "canary-address-6Gv0"



class Inbox:
    """Where events go: every request's path, headers and body."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                inbox.received.append((self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition: Callable[[], bool], *, timeout: float = 120.0) -> None:
    """A hang guard for the service, not a measurement."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def hook_url(port: int, token: str, name: str) -> str:
    digest = hashlib.sha256(f"{token}{name}canary".encode()).hexdigest()
    return f"http://127.0.0.1:{port}/hook/{digest}"


def config(directory: Path, *, basic: RegistryServer, token: RegistryServer, git_url: str, inbox: str) -> None:
    directory.mkdir(parents=True)
    documents = [f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: canary}}
spec: {{url: '{git_url}', ref: {{branch: main}}, secretRef: {{name: git}}}}
""", """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {name: apps, namespace: canary}
spec:
  interval: 1h
  sourceRef: {kind: GitRepository, name: gitops}
  git:
    commit:
      author: {name: imagebot, email: bot@example.com}
      messageTemplate: 'update {{range .Changed.Changes}}{{.NewValue}} {{end}}'
    push: {branch: main}
  update: {path: ./apps, strategy: Setters}
""", """\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: signed, namespace: canary}
spec:
  type: generic-hmac
  secretRef: {name: hook-hmac}
  resources: [{kind: ImageRepository, name: '*'}]
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: bearer, namespace: canary}
spec:
  type: generic
  secretRef: {name: hook-bearer}
  resources: [{kind: ImageRepository, name: '*'}]
""", f"""\
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {{name: signed, namespace: canary}}
spec: {{type: generic-hmac, address: '{inbox}/signed', secretRef: {{name: provider-hmac}}}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {{name: secret-address, namespace: canary}}
spec: {{type: generic, secretRef: {{name: provider-address}}}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {{name: signed, namespace: canary}}
spec:
  providerRef: {{name: signed}}
  eventSeverity: info
  eventSources: [{{kind: ImageUpdateAutomation, name: '*'}}, {{kind: ImageRepository, name: '*'}}]
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {{name: address, namespace: canary}}
spec:
  providerRef: {{name: secret-address}}
  eventSeverity: info
  eventSources: [{{kind: ImageUpdateAutomation, name: '*'}}, {{kind: ImageRepository, name: '*'}}]
"""]
    for name, registry, secret in (("basic", basic, "regcred-basic"), ("token", token, "regcred-token"),
                                   ("wrong", basic, "regcred-wrong")):
        documents.append(f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: {name}, namespace: canary}}
spec: {{image: {registry.host}/team/{name}, interval: 1h, secretRef: {{name: {secret}}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: {name}, namespace: canary}}
spec:
  imageRepositoryRef: {{name: {name}}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
""")
    (directory / "all.yaml").write_text("---\n".join(documents))


def secrets(directory: Path, *, basic: RegistryServer, token: RegistryServer, git_user: str,
            inbox: str) -> None:
    write_secret(directory, {basic.host: Credentials("alice", BASIC_PW)}, name="regcred-basic")
    write_secret(directory, {token.host: Credentials("alice", TOKEN_PW)}, name="regcred-token")
    write_secret(directory, {basic.host: Credentials("alice", WRONG_PW)}, name="regcred-wrong")
    for name, key, value in (("git", "username", git_user), ("git", "password", GIT_PW),
                             ("hook-hmac", "token", HMAC_TOKEN), ("hook-bearer", "token", BEARER_TOKEN),
                             ("provider-hmac", "token", PROVIDER_TOKEN),
                             ("provider-address", "address", f"{inbox}/events/{ADDRESS_TOKEN}")):
        (directory / name).mkdir(parents=True, exist_ok=True)
        (directory / name / key).write_text(value)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.close()


def test_no_secret_of_a_serving_imagebot_appears_anywhere(tmp_path: Path, inbox: Inbox) -> None:
    genv = git_env(tmp_path / "git-home")
    with (RegistryServer(tmp_path / "basic", "htpasswd", users={"alice": BASIC_PW}, storage="inmemory") as basic,
          RegistryServer(tmp_path / "token", "token", users={"alice": TOKEN_PW}, storage="inmemory") as token,
          GitHttpServer(tmp_path / "srv", username="bot", password=GIT_PW) as remote):
        assert token.token_server is not None
        for registry, name in ((basic, "basic"), (token, "token"), (basic, "wrong")):
            registry.push_tags(f"team/{name}", ["1.0.0", "1.1.0"])
        make_bare(remote.root / "gitops.git", {
            "apps/basic.yaml": fluxyaml.marked_deployment("basic", f"{basic.host}/team/basic", namespace="canary"),
            "apps/token.yaml": fluxyaml.marked_deployment("token", f"{token.host}/team/token", namespace="canary"),
        }, env=genv)
        config(tmp_path / "policies", basic=basic, token=token, git_url=remote.url("gitops.git"),
               inbox=inbox.base)
        secrets(tmp_path / "secrets", basic=basic, token=token, git_user="bot", inbox=inbox.base)
        port = free_port()
        state = tmp_path / "state.db"
        work = tmp_path / "work"
        log = tmp_path / "serve.log"
        answers: list[str] = []
        bare = remote.root / "gitops.git"

        def subjects() -> list[str]:
            return git("log", "--format=%s", "main", cwd=bare, env=genv).splitlines()

        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "imagebot", "--log-format", "json", "-vv", "serve",
                 "--config", str(tmp_path / "policies"), "--secrets-dir", str(tmp_path / "secrets"),
                 "--state", str(state), "--workdir", str(work), "--listen", f"127.0.0.1:{port}",
                 "--watch", "0", "--grace", "20"],
                stdout=stderr, stderr=subprocess.STDOUT, env={**os.environ, **genv},
            )
        try:
            wait_for(lambda: len(subjects()) == 2 or process.poll() is not None)  # the start-up commit
            assert process.poll() is None, log.read_text()

            token.push_tags("team/token", ["1.2.0"])
            body = json.dumps({"image": f"{token.host}/team/token"}).encode()
            signature = "sha256=" + hmac.new(HMAC_TOKEN.encode(), body, hashlib.sha256).hexdigest()
            for url, headers in (
                (hook_url(port, HMAC_TOKEN, "signed"), {"X-Signature": "sha256=" + "0" * 64}),  # bad signature
                (hook_url(port, BEARER_TOKEN, "bearer"), {"Authorization": f"Bearer {HMAC_TOKEN}"}),  # wrong token
                (hook_url(port, HMAC_TOKEN, "signed"), {"X-Signature": signature}),
            ):
                answer = httpx.post(url, content=body, headers=headers)
                answers.append(f"{answer.status_code} {answer.headers} {answer.text}")
            assert [a.split()[0] for a in answers] == ["401", "401", "202"], answers
            wait_for(lambda: len(subjects()) == 3 or process.poll() is not None)
            basic.push_tags("team/basic", ["1.2.0"])
            body = json.dumps({"image": f"{basic.host}/team/basic"}).encode()
            answer = httpx.post(hook_url(port, BEARER_TOKEN, "bearer"), content=body,
                                headers={"Authorization": f"Bearer {BEARER_TOKEN}"})
            answers.append(f"{answer.status_code} {answer.headers} {answer.text}")
            assert answer.status_code == 202, answers
            wait_for(lambda: len(subjects()) == 4 or process.poll() is not None)
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz").text
            wait_for(lambda: any(b"Committed" in body for _, _, body in inbox.received))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        status = subprocess.run([sys.executable, "-m", "imagebot", "status", "--json", "--state", str(state)],
                                capture_output=True, text=True, timeout=60, check=False)
        issued = list(token.token_server.issued)
        history = git("log", "--all", "-p", "--format=%H %an %ae %s%n%b", cwd=bare, env=genv)

    text = log.read_text()
    assert process.returncode == 0, text[-3000:]
    assert status.returncode == 1, status.stderr  # canary/wrong failed to scan, as it should
    assert json.loads(status.stdout)["repositories"]
    # the canary is only worth something if the service did everything it is searched for
    assert subjects()[0].startswith("update") and len(subjects()) == 4
    assert "imagebot_commits_total" in metrics and "imagebot_webhooks_total" in metrics
    reasons = {json.loads(body).get("reason") for path, _, body in inbox.received if path == "/signed"}
    assert {"Committed", "ScanFailed"} <= reasons, reasons
    assert any(path.startswith("/events/") for path, _, _ in inbox.received)
    assert "canary/wrong" in status.stdout and issued
    assert '"level": "debug"' in text

    canaries = [BASIC_PW, TOKEN_PW, WRONG_PW, GIT_PW, HMAC_TOKEN, BEARER_TOKEN, PROVIDER_TOKEN, ADDRESS_TOKEN,
                b64("alice", BASIC_PW), b64("alice", TOKEN_PW), b64("alice", WRONG_PW), b64("bot", GIT_PW),
                *issued]
    places: dict[str, str | bytes] = {
        "serve's log": text,
        "webhook answers": "\n".join(answers),
        "/metrics": metrics,
        "/readyz": ready,
        "imagebot status --json": status.stdout + status.stderr,
        "the remote's history": history,
    }
    for n, (path, headers, body) in enumerate(inbox.received):
        # the secret address is where the event goes, not what it says
        headers.pop("Host", None)
        places[f"event {n} ({path.split('/')[1]})"] = json.dumps(headers) + body.decode()
    for root in (bare, work):
        for file in root.rglob("*"):
            if file.is_file():
                places[str(file)] = file.read_bytes()
    for file in tmp_path.glob("state.db*"):
        places[str(file)] = file.read_bytes()
    with sqlite3.connect(state) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        places["state rows"] = "\n".join(repr(row) for table in tables
                                         for row in db.execute(f"SELECT * FROM {table}"))
    assert len(places) > 50
    leaks = [(secret[:12], where) for secret in canaries for where, content in places.items()
             if (secret.encode() if isinstance(content, bytes) else secret) in content]
    assert leaks == []
