"""Sync units from configuration, and where they go.

Aspects under test:
* targetRevision to a checkout ref (HEAD, commit, full ref, branch/tag name);
* Applications an ApplicationSet generated become units that name it;
* Flux Kustomizations follow their dependsOn; cycles and missing dependencies are errors;
* tracking names (Argo CD's rule; Kustomizations prefixed);
* destination name/server to a kubeconfig context.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebot import config, sync
from imagebot.errors import ConfigError
from imagebot.model import argo, flux
from imagebot.model.flux import GitRef
from imagebot.model.ids import ObjectKey
from imagebot.sync._units import git_ref


@pytest.mark.parametrize(("revision", "ref"), [
    pytest.param("HEAD", GitRef(), id="head"),
    pytest.param("", GitRef(), id="empty"),
    pytest.param("a" * 40, GitRef(commit="a" * 40), id="sha"),
    pytest.param("refs/tags/v1", GitRef(name="refs/tags/v1"), id="full-ref"),
    pytest.param("release-1", GitRef(branch="release-1"), id="name"),
])
def test_target_revision(revision: str, ref: GitRef) -> None:
    assert git_ref(revision) == ref


def _app(name: str, namespace: str = "argocd", path: str = "apps/x") -> argo.Application:
    return argo.Application(key=ObjectKey(namespace, name),
                            source=argo.ApplicationSource(repo_url="https://git.example/fleet", path=path))


def test_generated_applications_become_units_that_name_their_application_set() -> None:
    app_set = argo.ApplicationSet(
        key=ObjectKey("argocd", "web"),
        generators=(argo.ListGenerator(elements=({"env": "dev"}, {"env": "prod"}), path="spec.generators[0].list"),),
        template={"metadata": {"name": "web-{{env}}"},
                  "spec": {"source": {"repoURL": "https://git.example/fleet", "path": "envs/{{ env }}"},
                           "destination": {"namespace": "web-{{env}}"}}},
    )
    generated = sync.generate([app_set], sync.Sources(local=Path(".")), config.parse_generated_application)
    units = sync.units(list(generated.applications))
    assert [(u.name, u.path, u.namespace, u.application_set) for u in units] == [
        ("argocd/web-dev", "envs/dev", "web-dev", app_set.key), ("argocd/web-prod", "envs/prod", "web-prod", app_set.key)]


def _ks(name: str, *depends: str) -> flux.Kustomization:
    return flux.Kustomization(key=ObjectKey("flux-system", name), source=ObjectKey("flux-system", "fleet"),
                              depends_on=tuple(ObjectKey("flux-system", d) for d in depends))


REPOS = {ObjectKey("flux-system", "fleet"): flux.GitRepository(ObjectKey("flux-system", "fleet"),
                                                              url="https://git.example/fleet")}


def test_kustomizations_follow_depends_on() -> None:
    units = sync.units([_app("web")], [_ks("apps", "infra"), _ks("infra", "crds"), _ks("crds")], REPOS)
    assert [u.name for u in units] == ["argocd/web", "Kustomization flux-system/crds",
                                       "Kustomization flux-system/infra", "Kustomization flux-system/apps"]
    assert units[1].tracking_name == "kustomization.flux-system_crds"
    assert units[0].tracking_name == "web"
    assert sync.units([_app("web", namespace="team")])[0].tracking_name == "team_web"


def test_depends_on_cycles_and_missing_dependencies() -> None:
    with pytest.raises(ConfigError, match=r"dependsOn cycle: flux-system/a -> flux-system/b -> flux-system/a"):
        sync.units([], [_ks("a", "b"), _ks("b", "a")], REPOS)
    with pytest.raises(ConfigError, match=r"spec\.dependsOn: flux-system/nope not found"):
        sync.units([], [_ks("a", "nope")], REPOS)
    with pytest.raises(ConfigError, match=r"GitRepository flux-system/fleet not found"):
        sync.units([], [_ks("a")], {})


KUBECONFIG = {
    "current-context": "dev",
    "clusters": [{"name": "dev-cluster", "cluster": {"server": "https://10.0.0.1:6443"}},
                 {"name": "prod-cluster", "cluster": {"server": "https://prod.example:6443/"}}],
    "contexts": [{"name": "dev", "context": {"cluster": "dev-cluster"}},
                 {"name": "prod", "context": {"cluster": "prod-cluster"}}],
}


def test_destination_to_kubeconfig_context() -> None:
    def context(server: str = "", name: str | None = None) -> str | None:
        return sync.context_for(KUBECONFIG, server=server, name=name, unit="argocd/web")

    assert context("https://kubernetes.default.svc") is None  # the current context
    assert context(name="prod") == "prod"
    assert context("https://prod.example:6443") == "prod"
    with pytest.raises(ConfigError, match=r"destination name 'qa' is not a kubeconfig context \(known: dev, prod\)"):
        context(name="qa")
    with pytest.raises(ConfigError, match=r"no kubeconfig context for destination server https://other:6443"):
        context("https://other:6443")
