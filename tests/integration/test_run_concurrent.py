"""Two `imagebot run` processes for two automations sharing one --workdir (and state store) never
lose an update (issue 8): the clone is locked per repository, the second process waits for it.

Each round, a human sets both apps back to 1.0.0; then the dev and staging automations run at the
same time as two real processes against a real docker-registry and a real bare repository. Every
round, both processes must exit 0 and both changes must be on the remote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from testing.gitrepos import git, git_env, make_bare
from testing.registry import RegistryServer

pytestmark = pytest.mark.integration

ROUNDS = 20
ENVS = ("dev", "staging")


def config(directory: Path, *, remote: Path, images: dict[str, str]) -> Path:
    directory.mkdir()
    documents = [f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: ns}}
spec: {{url: 'file://{remote}', ref: {{branch: main}}}}
"""]
    for env in ENVS:
        documents.append(f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: {env}, namespace: ns}}
spec: {{image: {images[env]}, interval: 5m}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: {env}, namespace: ns, labels: {{env: {env}}}}}
spec:
  imageRepositoryRef: {{name: {env}}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: {env}, namespace: ns}}
spec:
  sourceRef: {{kind: GitRepository, name: gitops}}
  policySelector: {{matchLabels: {{env: {env}}}}}
  git:
    commit: {{author: {{name: bot-{env}, email: {env}@example.com}}, messageTemplate: 'bot-{env}'}}
    push: {{branch: main}}
  update: {{path: ./{env}}}
""")
    (directory / "all.yaml").write_text("---\n".join(documents))
    return directory


def test_two_processes_sharing_a_workdir_lose_no_update(
    tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
) -> None:
    env = git_env(tmp_path / "home")
    images = {}
    for name in ENVS:
        path = repo(f"org/{name}")
        registry_anonymous.push_tags(path, ["1.0.0", "1.1.0"])
        images[name] = f"{registry_anonymous.host}/{path}"
    old = {f"{e}/app.yaml": f"image: {images[e]}:1.0.0 # {{\"$imagepolicy\": \"ns:{e}\"}}\n" for e in ENVS}
    remote = make_bare(tmp_path / "gitops.git", old, env=env)
    policies = config(tmp_path / "policies", remote=remote, images=images)
    human = tmp_path / "human"
    git("clone", "-q", str(remote), str(human), cwd=tmp_path, env=env)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEBOT_", "GIT_"))}
    child_env |= {"IMAGEBOT_HOME": str(tmp_path / "imagebot-home"), "HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "imagebot", "run", "--config", str(policies), "--digests", "none",
               "--workdir", str(tmp_path / "shared-workdir"), "--state", str(tmp_path / "shared-state.db")]

    for round_ in range(ROUNDS):
        git("pull", "-q", "--ff-only", cwd=human, env=env)
        for path, text in old.items():
            (human / path).write_text(text)
        git("commit", "-q", "--allow-empty", "-am", f"round {round_}: back to 1.0.0", cwd=human, env=env)
        git("push", "-q", "origin", "main", cwd=human, env=env)

        runs = [subprocess.Popen([*command, "--automation", f"ns/{e}"], env=child_env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for e in ENVS]
        outputs = [run.communicate(timeout=300) for run in runs]

        for run, (out, err) in zip(runs, outputs, strict=True):
            assert run.returncode == 0, f"round {round_}: {out}\n{err}"
        for e in ENVS:
            assert f"{images[e]}:1.1.0" in git("show", f"main:{e}/app.yaml", cwd=remote, env=env), (
                f"round {round_}: the {e} update is missing from the remote\n{outputs}")
        subjects = git("log", "--format=%s", "main~2..main", cwd=remote, env=env).split()
        assert sorted(subjects) == ["bot-dev", "bot-staging"], f"round {round_}: {subjects}"
