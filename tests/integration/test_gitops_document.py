"""The GitOps patterns document's "Image Update Automation" example works unchanged (issue 14).

A v1beta1 ImageUpdateAutomation whose messageTemplate ranges over Flux v1beta1's
``.Updated.Images``: run against a real registry and a real git repository, it commits
``Update image to <ref>`` lines, with one deprecation warning; ``imagebot validate`` reports the
same deprecation (a warning: ``--strict`` fails on it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import cli
from testing.gitrepos import git, git_env, make_bare
from testing.registry import RegistryServer

pytestmark = pytest.mark.integration

DOCUMENT = Path(__file__).parent / "data" / "gitops-patterns-image-update-automation.yaml"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: myapp, namespace: myapp}}
spec:
  template:
    spec:
      containers:
        - name: myapp
          image: {image}:1.0.0 # {{"$imagepolicy": "flux-system:myapp"}}
        - name: worker
          image: {worker}:2.0.0 # {{"$imagepolicy": "flux-system:worker"}}
"""
POLICIES = """\
apiVersion: image.toolkit.fluxcd.io/v1beta1
kind: ImageRepository
metadata: {{name: {name}, namespace: flux-system}}
spec: {{image: {image}, interval: 1m}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta1
kind: ImagePolicy
metadata: {{name: {name}, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: {name}}}
  policy: {{semver: {{range: '>=1.0.0'}}}}
"""


def test_the_documents_example_commits_update_image_lines(
    tmp_path: Path, registry_anonymous: RegistryServer, repo: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = git_env(tmp_path / "home")
    app, worker = repo("org/myapp"), repo("org/worker")
    registry_anonymous.push_tags(app, ["1.0.0", "1.1.0"])
    registry_anonymous.push_tags(worker, ["2.0.0", "2.3.0"])
    image, worker_image = f"{registry_anonymous.host}/{app}", f"{registry_anonymous.host}/{worker}"
    bare = make_bare(tmp_path / "manifests.git", {
        "apps/myapp/deployment.yaml": DEPLOYMENT.format(image=image, worker=worker_image),
    }, env=env)
    policies = tmp_path / "policies"
    policies.mkdir()
    text = DOCUMENT.read_text()
    assert text.count("REPOSITORY_URL") == 1
    (policies / "flux.yaml").write_text(text.replace("REPOSITORY_URL", f"file://{bare}"))
    (policies / "images.yaml").write_text(
        POLICIES.format(name="myapp", image=image) + "---\n" + POLICIES.format(name="worker", image=worker_image)
    )

    code = cli.main(["run", "--config", str(policies), "--state", str(tmp_path / "state.db"),
                     "--workdir", str(tmp_path / "work"), "--log-format", "text"])

    _, err = capsys.readouterr()
    assert code == 0, err
    message = git("log", "-1", "--format=%B", "main", cwd=bare, env=env)
    assert message == f"Update image to {image}:1.1.0\n{worker_image}:2.3.0\n\n"
    assert git("log", "-1", "--format=%an <%ae>", "main", cwd=bare, env=env) == "Flux <flux@example.com>\n"
    assert err.count("deprecated") == 1 and "'.Updated'" in err, err

    # validate: the deprecation is a warning (exit 0), and --strict fails on it
    manifests = tmp_path / "check"
    git("clone", "-q", str(bare), str(manifests), cwd=tmp_path, env=env)
    assert cli.main(["validate", "--config", str(policies), "--json", str(manifests)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("deprecated", "warning")]
    assert cli.main(["validate", "--config", str(policies), "--strict", str(manifests)]) == 2
