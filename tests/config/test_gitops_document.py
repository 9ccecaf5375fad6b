"""Every YAML example of the GitOps patterns document imagebot grew from loads unchanged (issue 14).

The files under ``data/gitops-patterns`` are the document's examples verbatim: the Argo CD
Application and ApplicationSet, the Flux GitRepository + Kustomization, and an Argo Rollout
(skipped, not mistaken for a typo). Its ImageUpdateAutomation runs end to end in
``tests/integration/test_gitops_document.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from imagebot import config
from imagebot.model import argo
from imagebot.model.ids import ObjectKey

DOCUMENT = Path(__file__).parent / "data" / "gitops-patterns"


def test_the_documents_examples_load_without_findings(tmp_path: Path) -> None:
    shutil.copytree(DOCUMENT, tmp_path / "policies")
    loaded, findings = config.inspect(tmp_path / "policies")
    assert findings == ()
    application = loaded.applications[ObjectKey("argocd", "myapp")]
    assert application.source.repo_url == "https://github.com/org/manifests"
    assert application.source.path == "apps/myapp"
    assert application.sync_policy.prune and application.sync_policy.self_heal
    application_set = loaded.application_sets[ObjectKey("argocd", "myapp-set")]
    [generator] = application_set.generators
    assert isinstance(generator, argo.ListGenerator)
    assert [e["env"] for e in generator.elements] == ["dev", "staging", "prod"]
    repository = loaded.git_repositories[ObjectKey("flux-system", "myapp")]
    assert (repository.url, repository.ref.branch) == ("https://github.com/org/manifests", "main")
    kustomization = loaded.kustomizations[ObjectKey("flux-system", "myapp")]
    assert (kustomization.path, kustomization.prune, kustomization.source) == (
        "./apps/myapp", True, ObjectKey("flux-system", "myapp"))
    assert [h.name for h in kustomization.health_checks] == ["myapp"]
