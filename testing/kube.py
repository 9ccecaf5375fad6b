"""A real Kubernetes control plane for tests: the ``kube_cluster`` and ``kubeconfig`` fixtures.

Loaded as a pytest plugin by ``tests/conftest.py``. The first test that asks for a cluster runs
``scripts/kube-up`` (etcd, kube-apiserver, kube-controller-manager 1.20 and the test kubelet);
every xdist worker of the session shares that one cluster through a file lock and a
reference count, and the last worker to finish runs ``scripts/kube-down``. Tests share the
cluster, so each works in its own namespace (``kube_namespace``). The binaries are built by
``scripts/kube-build``, which ``scripts/test`` runs before pytest.

    def test_x(kube_cluster: KubeCluster, kube_namespace: str) -> None:
        kube_cluster.kubectl("apply", "-n", kube_namespace, "-f", "-", input=manifest)
        deployment = kube_cluster.get(f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/web")
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["KubeCluster", "KubeError", "kube_cluster", "kube_namespace", "kubeconfig", "script_env"]

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
# read at import, before tests/conftest.py's clean_environ points HOME at a temporary directory:
# the binaries are cached under the real one
CACHE_HOME = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")


def script_env() -> dict[str, str]:
    """The environment for scripts/kube-*: this one, with the real cache directory."""
    return {**os.environ, "XDG_CACHE_HOME": CACHE_HOME}


class KubeError(Exception):
    """The apiserver answered an error status; ``status`` and the Status ``body`` are kept."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('message', body)}")
        self.status = status
        self.body = body


@dataclasses.dataclass(frozen=True)
class KubeCluster:
    """A running control plane started by ``scripts/kube-up`` (see ``DIR/cluster.json``)."""

    dir: Path
    kubeconfig: Path
    server: str
    token: str
    ca_file: Path
    bin: Path

    @classmethod
    def load(cls, state: Path) -> KubeCluster:
        info = json.loads((state / "cluster.json").read_text())
        return cls(dir=state, kubeconfig=Path(info["kubeconfig"]), server=info["server"],
                   token=info["token"], ca_file=Path(info["ca_file"]), bin=Path(info["bin"]))

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        """Run the built kubectl 1.20 against this cluster; returns stdout, raises on failure."""
        done = subprocess.run(
            [str(self.bin / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input, capture_output=True, text=True, timeout=60, check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def request(self, method: str, path: str, body: object = None, *,
                content_type: str = "application/json") -> dict[str, Any]:
        """One API call with the admin token; JSON in and out; ``KubeError`` on an error status."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type,
                   "Accept": "application/json"}
        request = urllib.request.Request(self.server + path, data, headers, method=method)
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read()
            raise KubeError(exc.code, json.loads(text) if text.startswith(b"{") else {}) from None
        return json.loads(payload) if payload else {}

    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    def wait_for(self, path: str, predicate: Callable[[dict[str, Any]], bool], *,
                 timeout: float = 90.0) -> dict[str, Any]:
        """Poll ``path`` until ``predicate(object)`` holds; fail with the last object otherwise.

        Controllers need a moment (and the machine is shared), so the bound is generous; a test
        never asserts how long it took.
        """
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(KubeError):
                last = self.get(path)
                if predicate(last):
                    return last
            time.sleep(0.2)
        raise AssertionError(f"{path}: condition not reached in {timeout} s; last: "
                             f"{json.dumps(last.get('status', last))[:2000]}")


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    # xdist workers get basetemp .../pytest-N/popen-gwK: their common parent is the session's
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _running(state: Path) -> bool:
    return (state / "pids" / "kube-apiserver.pid").exists() and (state / "cluster.json").exists()


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """The session's control plane, shared by all xdist workers; stopped by the last one."""
    root = _shared_root(tmp_path_factory)
    state, users = root / "kube", root / "kube-users"
    users.mkdir(exist_ok=True)
    me = users / os.environ.get("PYTEST_XDIST_WORKER", "main")
    # the session's controller process: with xdist the workers' parent, else this process
    watch = os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()
    with _locked(root / "kube.lock"):
        if not _running(state):
            done = subprocess.run(
                [str(SCRIPTS / "kube-up"), str(state), "--watch-pid", str(watch)],
                capture_output=True, text=True, check=False, env=script_env(),
            )
            if done.returncode != 0:
                pytest.fail(f"scripts/kube-up failed ({done.returncode}):\n{done.stderr}", pytrace=False)
        me.touch()
    try:
        yield KubeCluster.load(state)
    finally:
        with _locked(root / "kube.lock"):
            me.unlink(missing_ok=True)
            if not any(users.iterdir()):
                subprocess.run([str(SCRIPTS / "kube-down"), str(state)], check=False, env=script_env())


@pytest.fixture(scope="session")
def kubeconfig(kube_cluster: KubeCluster) -> Path:
    """Path of a kubeconfig (admin token, test CA) for the session's control plane."""
    return kube_cluster.kubeconfig


@pytest.fixture
def kube_namespace(kube_cluster: KubeCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted (without waiting) afterwards."""
    name = f"t-{request.node.name[:40].lower().strip('_')}-{uuid.uuid4().hex[:6]}"
    name = "".join(c if c.isalnum() or c == "-" else "-" for c in name)
    kube_cluster.request("POST", "/api/v1/namespaces",
                         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    with contextlib.suppress(KubeError):
        kube_cluster.request("DELETE", f"/api/v1/namespaces/{name}")
