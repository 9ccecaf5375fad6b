"""One run reads and parses each marked file once (issue 9): the current tags, the plan, the
commit and every pull-request group are served by the same parse; after a lost push race only
the file whose bytes changed on the new head is parsed again.

The setters' only YAML parse is ``yamldoc.locate_scalars``; a counting wrapper records the text of
every call during a whole ``pipeline.run`` against a real registry and a real git remote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import config, pipeline, state, yamldoc
from imagebot.yamldoc import Scalar
from testing import fluxyaml
from testing.gitrepos import git, git_env, make_bare
from testing.registry import RegistryServer
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration


def _config(directory: Path, host: str, app: str, api: str, url: str, extra: str = "") -> config.Config:
    directory.mkdir(parents=True)
    documents = [fluxyaml.image_policy(name, f"{host}/{image}") for name, image in (("app", app), ("api", api))]
    documents.append(fluxyaml.git_repository("gitops", url) + f"""\
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: apps, namespace: flux-system}}
spec:
  sourceRef: {{kind: GitRepository, name: gitops}}
  git: {{commit: {{author: {{name: imagebot, email: bot@example.com}}}}, push: {{branch: main}}}}
  update: {{path: ./apps, strategy: Setters}}
{extra}""")
    (directory / "all.yaml").write_text("---\n".join(documents))
    return config.load(directory)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every text the setters parse during the test, counted."""
    seen: Counter[str] = Counter()
    real = yamldoc.locate_scalars

    def counting(text: str) -> list[Scalar]:
        seen[text] += 1
        return real(text)

    monkeypatch.setattr(yamldoc, "locate_scalars", counting)
    return seen


@pytest.mark.parametrize("mode", ["commit", "per-image pull requests"])
def test_each_marked_file_is_parsed_once_per_run(
    mode: str, tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
    parses: Counter[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, api = repo("org/app"), repo("org/api")
    registry_anonymous.push_tags(app, ["1.0.0", "1.1.0"])
    registry_anonymous.push_tags(api, ["1.0.0", "1.3.0"])
    host = registry_anonymous.host
    files = {
        "apps/both.yaml": (f'a: {host}/{app}:1.0.0 # {{"$imagepolicy": "flux-system:app"}}\n'
                           f'b: {host}/{api}:1.0.0 # {{"$imagepolicy": "flux-system:api"}}\n'),
        "apps/app.yaml": f'image: {host}/{app}:1.0.0 # {{"$imagepolicy": "flux-system:app"}}\n',
        "apps/same.yaml": "tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:api:tag\"}\n",
        "apps/plain.yaml": "kind: ConfigMap\n",
    }
    genv = git_env(tmp_path / "git-home")
    bare = make_bare(tmp_path / "gitops.git", files, env=genv)
    github = FakeGitHub().start()
    try:
        extra = ""
        if mode != "commit":
            extra = f"""---
apiVersion: imagebot.dev/v1alpha1
kind: PullRequest
metadata: {{name: apps, namespace: flux-system}}
spec:
  group: per-image
  forge: {{apiURL: '{github.base_url}', repository: org/gitops}}
"""
            monkeypatch.setenv("GITHUB_TOKEN", "ghp_valid")
        cfg = _config(tmp_path / "policies", host, app, api, f"file://{bare}", extra)
        parses.clear()

        with state.StateStore(tmp_path / "s.db") as store:
            report = pipeline.run(cfg, secrets=config.SecretStore(tmp_path / "no-secrets"), state=store,
                                  automations=list(cfg.automations.values()),
                                  options=pipeline.RunOptions(workdir=tmp_path / "work"))
    finally:
        github.stop()

    assert report.ok, report.failures
    if mode == "commit":
        assert report.automations[0].revision is not None
        assert "1.1.0" in git("show", "main:apps/app.yaml", cwd=bare, env=genv)
    else:
        assert len(report.automations[0].pull_requests) == 2
        assert sorted(p.head for p in github.pulls.values()) == ["imagebot/apps/api", "imagebot/apps/app"]
    marked = {path: text for path, text in files.items() if "$imagepolicy" in text}
    assert {path: parses[text] for path, text in marked.items()} == dict.fromkeys(marked, 1)
    assert sum(parses.values()) == len(marked)  # nothing else parsed: no other file, no second look


def test_after_a_lost_push_race_only_the_changed_file_is_parsed_again(
    tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str], parses: Counter[str],
) -> None:
    app, api = repo("org/app"), repo("org/api")
    registry_anonymous.push_tags(app, ["1.0.0", "1.1.0"])
    registry_anonymous.push_tags(api, ["1.0.0", "1.3.0"])
    host = registry_anonymous.host
    files = {
        "apps/app.yaml": f'image: {host}/{app}:1.0.0 # {{"$imagepolicy": "flux-system:app"}}\n',
        "apps/same.yaml": "tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:api:tag\"}\n",
    }
    genv = git_env(tmp_path / "git-home")
    bare = make_bare(tmp_path / "gitops.git", files, env=genv)
    human = tmp_path / "human"
    git("clone", "-q", str(bare), str(human), cwd=tmp_path, env=genv)
    reviewed = files["apps/same.yaml"] + "# reviewed\n"

    def human_pushes_first() -> None:  # once, right before the bot's first push
        if (human / "apps" / "same.yaml").read_text() != reviewed:
            (human / "apps" / "same.yaml").write_text(reviewed)
            git("commit", "-qam", "human review", cwd=human, env=genv)
            git("push", "-q", "origin", "main", cwd=human, env=genv)

    cfg = _config(tmp_path / "policies", host, app, api, f"file://{bare}")
    parses.clear()
    with state.StateStore(tmp_path / "s.db") as store:
        report = pipeline.run(cfg, secrets=config.SecretStore(tmp_path / "no-secrets"), state=store,
                              automations=list(cfg.automations.values()),
                              options=pipeline.RunOptions(workdir=tmp_path / "work", sleep=lambda _: None,
                                                          before_push=human_pushes_first))

    assert report.ok, report.failures
    assert git("log", "--format=%s", "main", cwd=bare, env=genv).split("\n")[:2] == [
        "chore(images): update 2 images", "human review"]
    assert git("show", "main:apps/same.yaml", cwd=bare, env=genv) == reviewed.replace("1.0.0", "1.3.0")
    assert parses == Counter({files["apps/app.yaml"]: 1, files["apps/same.yaml"]: 1, reviewed: 1})
