"""The fleet every fault test runs: three image repositories on two real registries, one
automation, one real git remote over smart HTTP — and ``imagebot run`` as a real child process.

Registry A (``docker-registry``, htpasswd) holds ``team/a1`` and ``team/a2`` and is reached
through a :class:`~testing.faultproxy.FaultProxy` (or directly, for TLS and token-server faults);
registry B (anonymous) holds ``team/b1``. Each repository has ``1.0.0`` and ``1.1.0``; the
manifests under ``apps/`` hold ``1.0.0``, so a complete run makes one commit with three changes.
The checks after a fault: :meth:`Fleet.assert_intact` (nothing half-written: the state file, the
clone and the remote are consistent) and :meth:`Fleet.introduced` (which change each commit on
the remote brought in, to prove every change landed exactly once).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from imagebot.model.status import RepositoryStatus
from imagebot.state import StateStore
from testing import fluxyaml
from testing.credentials import Credentials, write_secret
from testing.faultproxy import FaultProxy
from testing.gitrepos import git, make_bare
from testing.gitserver import GitHttpServer
from testing.registry import RegistryServer

GIT_PASSWORD = "faults-git-Pw-4k2q"
REPOSITORIES = ("a1", "a2", "b1")
RUN_HANG_GUARD = 180.0  # seconds; a run never takes this long unless it hangs


@dataclasses.dataclass
class Fleet:
    root: Path
    a: RegistryServer
    b: RegistryServer
    proxy: FaultProxy
    remote: GitHttpServer
    genv: dict[str, str]
    a_host: str
    """Where the configuration says registry A is: the proxy, or A itself."""
    a_extra: str = ""
    """Extra ``spec`` lines for a1 and a2 (``certSecretRef``)."""

    @property
    def bare(self) -> Path:
        return self.remote.root / "gitops.git"

    @property
    def config(self) -> Path:
        return self.root / "policies"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def state(self) -> Path:
        return self.root / "state.db"

    @property
    def workdir(self) -> Path:
        return self.root / "work"

    def image(self, name: str) -> str:
        host = self.b.host if name.startswith("b") else self.a_host
        return f"{host}/team/{name}"

    # -- set-up -----------------------------------------------------------------------------

    def seed(self) -> None:
        for name in REPOSITORIES:
            registry = self.b if name.startswith("b") else self.a
            registry.push_tags(f"team/{name}", ["1.0.0", "1.1.0"])
        files = {f"apps/{n}.yaml": fluxyaml.marked_deployment(n, self.image(n), namespace="faults") for n in REPOSITORIES}
        make_bare(self.bare, files | {"README.md": "fleet\n"}, env=self.genv)
        self.write_config()

    def write_config(self) -> None:
        self.config.mkdir(parents=True, exist_ok=True)
        (self.secrets / "git").mkdir(parents=True, exist_ok=True)
        (self.secrets / "git" / "username").write_text(self.remote.username)
        (self.secrets / "git" / "password").write_text(GIT_PASSWORD)
        assert self.a.admin is not None
        write_secret(self.secrets, {self.a_host: Credentials(*self.a.admin)}, name="regcred")
        documents = ["""\
apiVersion: imagebot.dev/v1alpha1
kind: RegistrySettings
metadata: {name: registries}
spec: {requestDeadline: 10s}  # generous: a loaded CI machine must not time out a healthy request
""", f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: faults}}
spec:
  url: {self.remote.url("gitops.git")}
  ref: {{branch: main}}
  secretRef: {{name: git}}
  timeout: 10s
""", """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {name: apps, namespace: faults}
spec:
  sourceRef: {kind: GitRepository, name: gitops}
  git:
    commit:
      author: {name: imagebot, email: bot@example.com}
      messageTemplate: 'imagebot: update images'
    push: {branch: main}
  update: {path: ./apps, strategy: Setters}
"""]
        for name in REPOSITORIES:
            extra = "" if name.startswith("b") else f"  secretRef: {{name: regcred}}\n{self.a_extra}"
            documents.append(f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: {name}, namespace: faults}}
spec:
  image: {self.image(name)}
  interval: 5m
{extra}---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: {name}, namespace: faults}}
spec:
  imageRepositoryRef: {{name: {name}}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
""")
        (self.config / "fleet.yaml").write_text("---\n".join(documents))

    # -- running ----------------------------------------------------------------------------

    def argv(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "imagebot", "--log-format", "text", "run", "--config", str(self.config),
                "--secrets-dir", str(self.secrets), "--state", str(self.state), "--workdir", str(self.workdir),
                *extra]

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEBOT_")}
        return keep | self.genv

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*extra), env=self.env(), capture_output=True, text=True,
                              timeout=RUN_HANG_GUARD, check=False)

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(), env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    # -- checks -----------------------------------------------------------------------------

    def scanned(self) -> dict[str, RepositoryStatus]:
        """The last scan of each repository, as the state store recorded it."""
        with StateStore(self.state) as store:
            return {s.key.name: s for s in store.status().repositories}

    def introduced(self) -> list[tuple[str, str]]:
        """``(repository, tag)`` for every change brought in by a commit after the initial one,
        in history order (oldest first), one entry per changed line."""
        found: list[tuple[str, str]] = []
        shas = git("rev-list", "--reverse", "main", cwd=self.bare, env=self.genv).split()
        for sha in shas[1:]:
            shown = git("show", "--format=", "--unified=0", sha, cwd=self.bare, env=self.genv)
            for match in re.finditer(r"^\+\s+image: \S+/team/(\w+):(\S+) #", shown, re.M):
                found.append((match.group(1), match.group(2)))
        return found

    def commits(self) -> list[str]:
        """Subjects on the remote's main, newest first."""
        return git("log", "--format=%s", "main", cwd=self.bare, env=self.genv).splitlines()

    def assert_intact(self) -> None:
        """Nothing half-written: the state file passes SQLite's integrity check, imagebot's clone
        has a clean work tree and a consistent object store, the remote too, and every file on
        the remote's main is a whole manifest."""
        if self.state.exists():
            with sqlite3.connect(self.state) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        clones = [d for d in self.workdir.iterdir() if (d / ".git").is_dir()] if self.workdir.is_dir() else []
        for clone in clones:
            assert git("status", "--porcelain", cwd=clone, env=self.genv) == ""
            git("fsck", "--no-progress", "--no-dangling", cwd=clone, env=self.genv)
        git("fsck", "--no-progress", "--no-dangling", cwd=self.bare, env=self.genv)
        for name in REPOSITORIES:
            text = git("show", f"main:apps/{name}.yaml", cwd=self.bare, env=self.genv)
            assert re.fullmatch(
                re.escape(fluxyaml.marked_deployment(name, self.image(name), namespace="faults")).replace(r"1\.0\.0", r"1\.\d+\.0"),
                text,
            ), text

    def assert_converged(self, *, commits: int) -> None:
        """After the fault and the runs that followed: every change landed exactly once, in
        ``commits`` imagebot commits, and nothing else was written."""
        self.assert_intact()
        introduced = self.introduced()
        assert sorted(introduced) == [(name, "1.1.0") for name in REPOSITORIES], introduced
        assert self.commits() == ["imagebot: update images"] * commits + ["initial"]
