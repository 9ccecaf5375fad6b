"""Argo CD ``Application`` and ``ApplicationSet`` (parsed now, used by the sync stage).

Aspects under test:
* Application defaults (path, targetRevision, destination, project, sync policy);
* ``spec.sources`` (multi-source Applications) uses the first source;
* ``syncPolicy.automated`` present but empty still means automated;
* ApplicationSet list generators are expanded in order; other generators are accepted, not expanded;
* the template keeps ``{{placeholders}}`` verbatim;
* invalid objects name file, document and key path.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import config
from imagebot.errors import ConfigError
from imagebot.model import argo
from imagebot.model.ids import ObjectKey
from tests.config.documents import WriteFile

Load = Callable[[str], config.Config]


def _application(spec: str) -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: web\n  namespace: argocd\nspec:\n{textwrap.indent(spec, '  ')}\n"
    )


def _application_set(spec: str) -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n"
        f"metadata:\n  name: web\n  namespace: argocd\nspec:\n{textwrap.indent(spec, '  ')}\n"
    )


_TEMPLATE = """\
template:
  metadata: {name: '{{cluster}}-web'}
  spec:
    source: {repoURL: 'https://github.com/org/deploy', path: 'envs/{{cluster}}'}
    destination: {server: '{{url}}'}
"""


def test_application_defaults(load_yaml: Load) -> None:
    [app] = load_yaml(_application("source: {repoURL: https://github.com/org/deploy}")).applications.values()
    assert app == argo.Application(
        key=ObjectKey("argocd", "web"),
        source=argo.ApplicationSource(repo_url="https://github.com/org/deploy", path=".", target_revision="HEAD"),
        destination_server="https://kubernetes.default.svc",
        destination_namespace=None,
        project="default",
        sync_policy=argo.SyncPolicy(),
        source_file=app.source_file,
    )


def test_multi_source_application_uses_the_first_source(load_yaml: Load) -> None:
    spec = (
        "sources:\n"
        "  - {repoURL: https://github.com/org/deploy, path: apps/web, targetRevision: main}\n"
        "  - {repoURL: https://charts.example.com, chart: web, targetRevision: 1.2.3}\n"
    )
    [app] = load_yaml(_application(spec)).applications.values()
    assert app.source == argo.ApplicationSource("https://github.com/org/deploy", "apps/web", "main")


@pytest.mark.parametrize(
    ("sync_policy", "expected"),
    [
        pytest.param("syncPolicy: {automated: {}}", argo.SyncPolicy(automated=True), id="automated-empty-mapping"),
        pytest.param("syncPolicy: {automated: }", argo.SyncPolicy(automated=True), id="automated-null"),
        pytest.param(
            "syncPolicy: {automated: {prune: true}, syncOptions: [ServerSideApply=true]}",
            argo.SyncPolicy(automated=True, prune=True, options=("ServerSideApply=true",)), id="prune-and-options",
        ),
        pytest.param("syncPolicy: {syncOptions: [CreateNamespace=true]}",
                     argo.SyncPolicy(options=("CreateNamespace=true",)), id="manual-with-options"),
        pytest.param("", argo.SyncPolicy(), id="no-sync-policy"),
    ],
)
def test_application_sync_policy(load_yaml: Load, sync_policy: str, expected: argo.SyncPolicy) -> None:
    spec = f"source: {{repoURL: https://github.com/org/deploy}}\n{sync_policy}"
    [app] = load_yaml(_application(spec)).applications.values()
    assert app.sync_policy == expected


def test_application_set_expands_list_generators_in_order_and_skips_others(load_yaml: Load) -> None:
    spec = (
        "generators:\n"
        "  - list:\n      elements: [{cluster: dev, url: 'https://dev'}]\n"
        "  - clusters: {selector: {matchLabels: {env: prod}}}\n"
        "  - list:\n      elements: [{cluster: prod, url: 'https://prod'}]\n"
        + _TEMPLATE
    )
    [app_set] = load_yaml(_application_set(spec)).application_sets.values()
    assert app_set.elements == ({"cluster": "dev", "url": "https://dev"}, {"cluster": "prod", "url": "https://prod"})
    assert app_set.template_name == "{{cluster}}-web"
    assert app_set.template.key == ObjectKey("argocd", "{{cluster}}-web")
    assert app_set.template.source == argo.ApplicationSource("https://github.com/org/deploy", "envs/{{cluster}}")
    assert app_set.template.destination_server == "{{url}}"


def test_application_set_with_only_git_generator_has_no_elements(load_yaml: Load) -> None:
    spec = "generators:\n  - git: {repoURL: https://github.com/org/deploy, directories: [{path: 'apps/*'}]}\n"
    [app_set] = load_yaml(_application_set(spec + _TEMPLATE)).application_sets.values()
    assert app_set.elements == ()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(_application("project: default"), "spec.source: is required", id="no-source"),
        pytest.param(_application("sources: []"), "spec.source: is required", id="empty-sources"),
        pytest.param(_application("source: {path: apps}"), "spec.source.repoURL: is required", id="no-repo-url"),
        pytest.param(_application("sources: [{path: apps}]"), "spec.sources[0].repoURL: is required",
                     id="first-source-without-repo-url"),
        pytest.param(_application("source: {repoURL: x}\nsyncPolicy: {syncOptions: Prune=false}"),
                     "spec.syncPolicy.syncOptions: expected a list of strings", id="sync-options-string"),
        pytest.param(_application("source: {repoURL: x}\nsyncPolicy: {automated: {prune: 'yes'}}"),
                     "spec.syncPolicy.automated.prune: expected true or false", id="prune-not-boolean"),
        pytest.param(_application_set(_TEMPLATE), "spec.generators: expected a list", id="no-generators"),
        pytest.param(_application_set("generators: [{list: {elements: {a: b}}}]\n" + _TEMPLATE),
                     "spec.generators[0].list.elements: expected a list", id="elements-not-a-list"),
        pytest.param(_application_set("generators: [{list: {elements: [{a: [1]}]}}]\n" + _TEMPLATE),
                     "spec.generators[0].list.elements[0].a: expected a string, got a list",
                     id="element-value-not-a-string"),
        pytest.param(_application_set("generators: [list]\n" + _TEMPLATE),
                     "spec.generators[0]: expected a mapping, got a string", id="generator-not-a-mapping"),
        pytest.param(_application_set("generators: []"), "spec.template: is required", id="no-template"),
        pytest.param(_application_set("generators: []\ntemplate: {spec: {source: {repoURL: x}}}"),
                     "spec.template.metadata.name: is required", id="template-without-name"),
        pytest.param(_application_set("generators: []\ntemplate: {metadata: {name: x}, spec: {}}"),
                     "spec.template.spec.source: is required", id="template-without-source"),
    ],
)
def test_invalid_argo_objects(write: WriteFile, policies: Path, document: str, message: str) -> None:
    path = write("argo.yaml", "kind: Note\n---\n" + document)
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value).startswith(f"{path} (document 2): ")
    assert message in str(exc.value)
