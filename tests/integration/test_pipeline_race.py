"""Two imagebot automations and a human racing on one branch: every commit survives.

Both bots clone before the human pushes, so each push is first rejected as non-fast-forward;
each then fetches, re-applies its edits on the new head and retries, while the other bot's push
can reject it again. No force-push, no lost commit.
"""

from __future__ import annotations

import datetime
import threading
from pathlib import Path

import pytest

from imagebot import config, git, pipeline
from imagebot.model import images
from imagebot.model.flux import GitRef
from imagebot.model.ids import ObjectKey, Tag
from imagebot.model.scans import ScanResult
from testing.gitrepos import git as git_cli
from testing.gitrepos import git_env, make_bare

pytestmark = pytest.mark.integration

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _policies(path: Path, remote: Path) -> config.Config:
    path.mkdir()
    documents = [f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: gitops, namespace: ns}}
spec: {{url: 'file://{remote}', ref: {{branch: main}}}}
"""]
    for env in ("dev", "staging"):
        documents.append(f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: {env}, namespace: ns}}
spec: {{image: registry.test/{env}, interval: 5m}}
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
    commit: {{author: {{name: bot-{env}, email: {env}@example.com}}}}
    push: {{branch: main}}
  update: {{path: ./{env}}}
""")
    (path / "all.yaml").write_text("---\n".join(documents))
    return config.load(path)


def _scans(cfg: config.Config) -> dict[ObjectKey, ScanResult]:
    results = {}
    for key, repo in cfg.image_repositories.items():
        tags = images.TagList(repo.image, (Tag("1.1.0"), Tag("1.0.0")), NOW)
        results[key] = ScanResult(key, repo.image, tags=tags)
    return results


def test_two_runs_and_a_human_commit_all_land(tmp_path: Path) -> None:
    env = git_env(tmp_path / "home")
    files = {f"{e}/app.yaml": f"image: registry.test/{e}:1.0.0 # {{\"$imagepolicy\": \"ns:{e}\"}}\n"
             for e in ("dev", "staging")} | {"README.md": "fleet\n"}
    remote = make_bare(tmp_path / "gitops.git", files, env=env)
    cfg = _policies(tmp_path / "policies", remote)
    scans = _scans(cfg)
    workspaces = {
        e: git.Workspace.clone(f"file://{remote}", ref=GitRef(branch="main"), workdir=tmp_path / f"bot-{e}")
        for e in ("dev", "staging")
    }
    human = tmp_path / "human"
    git_cli("clone", "-q", str(remote), str(human), cwd=tmp_path, env=env)
    (human / "README.md").write_text("fleet, edited by a human\n")
    git_cli("commit", "-qam", "human edit", cwd=human, env=env)
    git_cli("push", "-q", "origin", "main", cwd=human, env=env)

    reports: dict[str, pipeline.AutomationReport] = {}
    failures: list[BaseException] = []

    def bot(env_name: str) -> None:
        try:
            automation = cfg.automations[ObjectKey("ns", env_name)]
            reports[env_name] = pipeline.run_automation(
                automation, cfg=cfg, scans=scans, workspace=workspaces[env_name],
                options=pipeline.AutomationOptions(sleep=lambda _: None, push_attempts=6), now=NOW,
            )
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=bot, args=(e,)) for e in ("dev", "staging")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert all(reports[e].revision is not None for e in ("dev", "staging"))
    log = git_cli("log", "--format=%an %s", "main", cwd=remote, env=env).splitlines()
    assert sorted(log) == sorted([
        "bot-dev chore(images): update 1 image", "bot-staging chore(images): update 1 image",
        "Human Dev human edit", "Human Dev initial",
    ])
    tree = {path: git_cli("show", f"main:{path}", cwd=remote, env=env) for path in files}
    assert "registry.test/dev:1.1.0" in tree["dev/app.yaml"]
    assert "registry.test/staging:1.1.0" in tree["staging/app.yaml"]
    assert tree["README.md"] == "fleet, edited by a human\n"
