"""ApplicationSets beyond the documented examples: revisions, errors, the CLI without a cluster.

Aspects under test:
* the git generator reads its repository at the ApplicationSet's ``revision`` through the sync
  source layer (a real clone of a real repository over file://);
* a broken ApplicationSet (missingkey=error, a bad glob, an unsupported generator, duplicate
  names, a non-string element in {{param}} mode) fails alone, with its file:line and key path, and
  every other Application is still listed (``imagebot apps --json`` exits 1);
* ``imagebot apps --config DIR --json`` without a kubeconfig lists every Application, generated
  ones with their ApplicationSet, source and destination, sync and health Unknown;
* ``imagebot sync --dry-run`` renders the generated Applications;
* ``imagebot validate`` reports a mistyped generator key as a near miss.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from imagebot import cli, config, sync
from tests.sync.units import configmap, write_tree


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(repo.parent), "PATH": "/usr/bin:/bin"})


def _commit(repo: Path, files: dict[str, str], message: str) -> None:
    write_tree(repo, files)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _messages(err: str) -> list[str]:
    """stderr as lines (imagebot logs JSON lines when stderr is not a terminal)."""
    return [json.loads(line)["message"] if line.startswith("{") else line for line in err.splitlines()]


APPSET = """\
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {{name: {name}, namespace: argocd}}
    spec:
      goTemplate: true
      goTemplateOptions: ["missingkey=error"]
      generators:
      - git:
          repoURL: {url}
          revision: {revision}
          directories:
          - path: 'apps/*'
      template:
        metadata:
          name: '{{{{.path.basename}}}}-{name}'
        spec:
          project: default
          source: {{repoURL: '{url}', targetRevision: {revision}, path: '{{{{.path.path}}}}'}}
          destination: {{server: https://kubernetes.default.svc, namespace: '{{{{.path.basename}}}}'}}
    """


def test_the_git_generator_reads_the_revision_it_names(tmp_path: Path) -> None:
    repo = tmp_path / "fleet"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, {"apps/web/a.yaml": configmap("web")}, "web")
    _git(repo, "checkout", "-q", "-b", "release")
    _commit(repo, {"apps/api/a.yaml": configmap("api")}, "api on release")
    _git(repo, "checkout", "-q", "main")
    policies = write_tree(tmp_path / "policies", {
        "main.yaml": APPSET.format(name="main", url=f"file://{repo}", revision="main"),
        "release.yaml": APPSET.format(name="release", url=f"file://{repo}", revision="release"),
    })
    loaded = config.load(policies)
    sources = sync.Sources(workdir=tmp_path / "work")
    generated = sync.generate(loaded.application_sets.values(), sources, config.parse_generated_application)
    assert generated.failures == ()
    assert [(a.key.name, a.source.path, str(a.application_set)) for a in generated.applications] == [
        ("web-main", "apps/web", "argocd/main"),
        ("api-release", "apps/api", "argocd/release"),
        ("web-release", "apps/web", "argocd/release"),
    ]


GOOD = """\
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: shop, namespace: argocd}
    spec:
      goTemplate: true
      goTemplateOptions: ["missingkey=error"]
      generators:
      - list:
          elements:
          - {env: dev, server: https://kubernetes.default.svc}
          - {env: prod, server: https://prod.example:6443}
      template:
        metadata: {name: 'shop-{{.env}}'}
        spec:
          project: default
          source: {repoURL: https://git.example/fleet, targetRevision: main, path: 'shop/{{.env}}'}
          destination: {server: '{{.server}}', namespace: 'shop-{{.env}}'}
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata: {name: hand-made, namespace: argocd}
    spec:
      source: {repoURL: https://git.example/fleet, path: infra}
      destination: {name: prod, namespace: infra}
    """

BROKEN = """\
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {{name: {name}, namespace: argocd}}
    spec:
      goTemplate: {go}
      goTemplateOptions: ["missingkey=error"]
      generators:
      {generator}
      template:
        metadata: {{name: '{app}'}}
        spec:
          source: {{repoURL: https://git.example/fleet, path: x}}
          destination: {{namespace: x}}
    """


@pytest.mark.parametrize(("generator", "app", "go", "line", "message"), [
    pytest.param("- list: {elements: [{env: dev}]}", "x-{{.nope}}", "true", 10,
                 'spec.template.metadata.name: map has no entry for key "nope" (parameter set 1)',
                 id="missingkey-error"),
    pytest.param("- git: {repoURL: https://git.example/fleet, directories: [{path: 'apps/[a-'}]}", "x", "true", 8,
                 "spec.generators[0].git.directories[0].path: bad glob: 'apps/[a-': a range in [] has no end",
                 id="bad-glob"),
    pytest.param("- clusters: {}", "x", "true", 8,
                 "spec.generators[0].clusters: the clusters generator is not supported by imagebot",
                 id="unsupported-generator"),
    pytest.param("- list: {elements: [{env: dev}, {env: prod}]}", "same", "true", 10,
                 "spec.template.metadata.name: the generated Applications have duplicate names: same",
                 id="duplicate-names"),
    pytest.param("- list: {elements: [{replicas: 3}]}", "x", "false", 8,
                 "spec.generators[0].list.elements[0].replicas: {{param}} templates take string values only",
                 id="non-string-element"),
])
def test_a_broken_application_set_fails_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str], generator: str,
                                              app: str, go: str, line: int, message: str) -> None:
    (tmp_path / "repo" / "apps").mkdir(parents=True)
    policies = write_tree(tmp_path / "policies", {
        "good.yaml": GOOD,
        "broken.yaml": BROKEN.format(name="broken", generator=generator, app=app, go=go),
    })
    code = cli.main(["apps", "--json", "--config", str(policies), "--repo", str(tmp_path / "repo")])
    captured = capsys.readouterr()
    assert code == 1
    assert [row["app"] for row in json.loads(captured.out)] == ["argocd/hand-made", "argocd/shop-dev",
                                                                "argocd/shop-prod"]
    expected = f"imagebot: {policies / 'broken.yaml'}:{line}: ApplicationSet argocd/broken: {message}"
    assert any(m.startswith(expected) for m in _messages(captured.err)), captured.err


def test_apps_json_without_a_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    policies = write_tree(tmp_path / "policies", {"good.yaml": GOOD})
    code = cli.main(["apps", "--config", str(policies), "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[1] == {
        "app": "argocd/shop-dev", "kind": "Application", "applicationSet": "argocd/shop",
        "source": {"repoURL": "https://git.example/fleet", "path": "shop/dev", "targetRevision": "main"},
        "destination": {"server": "https://kubernetes.default.svc", "name": None, "namespace": "shop-dev"},
        "revision": None, "syncedRevision": None, "sync": "Unknown", "health": "Unknown",
        "why": ["no kubeconfig: sync status and health are not known"],
    }
    assert rows[0]["applicationSet"] is None and rows[0]["destination"]["name"] == "prod"
    assert rows[2]["destination"]["server"] == "https://prod.example:6443"
    code = cli.main(["apps", "--config", str(policies)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["APP", "APPSET", "REVISION", "SYNC", "HEALTH", "WHY"]
    assert lines[2].split()[:5] == ["argocd/shop-dev", "argocd/shop", "-", "Unknown", "Unknown"]


def test_sync_dry_run_renders_generated_applications(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = write_tree(tmp_path / "repo", {"apps/web/c.yaml": configmap("web"), "apps/api/c.yaml": configmap("api")})
    policies = write_tree(tmp_path / "policies", {
        "set.yaml": APPSET.format(name="local", url="https://git.example/fleet", revision="HEAD"),
    })
    code = cli.main(["sync", "--dry-run", "--config", str(policies), "--repo", str(repo), "web-local"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].split()[0] == "argocd/web-local" and out[0].endswith("apps/web  1 object")
    assert out[1].split() == ["ConfigMap", "web/web"]


def test_validate_reports_a_mistyped_generator_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policies = write_tree(tmp_path / "policies", {"set.yaml": textwrap.dedent(GOOD).replace(
        "  - list:\n", "  - lists:\n", 1)})
    code = cli.main(["validate", "--config", str(policies)])
    out = capsys.readouterr()
    assert code == 2
    assert "spec.generators[0].lists" in out.out + out.err
    assert "did you mean 'list'?" in out.out + out.err
