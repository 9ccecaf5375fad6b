"""Argo CD ``Application`` and ``ApplicationSet`` (parsed now, used by the sync stage).

Aspects under test:
* Application defaults (path, targetRevision, destination, project, sync policy);
* ``spec.sources`` (multi-source Applications) uses the first source;
* ``syncPolicy.automated`` present but empty still means automated;
* ApplicationSet generators (list, git, matrix, merge; others kept as unsupported) are parsed in
  order, the template kept raw; goTemplate, options, templatePatch and syncPolicy are read;
* invalid objects (generator shapes, Go template syntax, policies) name file, document and key path.
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


def test_application_set_generators_are_parsed_in_order(load_yaml: Load) -> None:
    spec = (
        "generators:\n"
        "  - list:\n      elements: [{cluster: dev, url: 'https://dev'}]\n"
        "  - clusters: {selector: {matchLabels: {env: prod}}}\n"
        "  - git: {repoURL: https://github.com/org/deploy, revision: main,\n"
        "          directories: [{path: 'apps/*'}, {path: apps/old, exclude: true}], values: {a: b}}\n"
        "  - matrix:\n      generators:\n"
        "        - git: {repoURL: x, files: [{path: 'c/*.json'}], pathParamPrefix: c}\n"
        "        - list: {elements: [{k: v}]}\n"
        "  - merge:\n      mergeKeys: [server]\n      generators: [{list: {elements: []}}, {list: {elements: []}}]\n"
        + _TEMPLATE
    )
    [app_set] = load_yaml(_application_set(spec)).application_sets.values()
    listed, clusters, git, matrix, merge = app_set.generators
    assert listed == argo.ListGenerator(elements=({"cluster": "dev", "url": "https://dev"},),
                                        path="spec.generators[0].list")
    assert clusters == argo.UnsupportedGenerator(name="clusters", path="spec.generators[1].clusters")
    assert git == argo.GitGenerator(
        repo_url="https://github.com/org/deploy", revision="main", path="spec.generators[2].git",
        directories=(argo.GitPathRule("apps/*"), argo.GitPathRule("apps/old", exclude=True)), values={"a": "b"})
    assert isinstance(matrix, argo.MatrixGenerator)
    assert [type(g).__name__ for g in matrix.generators] == ["GitGenerator", "ListGenerator"]
    assert matrix.generators[0].path == "spec.generators[3].matrix.generators[0].git"
    assert isinstance(merge, argo.MergeGenerator) and merge.merge_keys == ("server",)
    assert app_set.template["metadata"] == {"name": "{{cluster}}-web"}
    assert (app_set.go_template, app_set.missing_key_error, app_set.applications_sync) == (False, False, "sync")


def test_application_set_options(load_yaml: Load) -> None:
    spec = (
        "goTemplate: true\ngoTemplateOptions: [missingkey=error]\n"
        "syncPolicy: {preserveResourcesOnDeletion: true, applicationsSync: create-only}\n"
        "templatePatch: |\n  spec: {project: x}\n"
        "generators: [{list: {elements: [{cluster: a}]}}]\n"
        + _TEMPLATE.replace("{{cluster}}", "{{.cluster}}").replace("{{url}}", "{{.url}}")
    )
    [app_set] = load_yaml(_application_set(spec)).application_sets.values()
    assert (app_set.go_template, app_set.missing_key_error) == (True, True)
    assert (app_set.preserve_resources_on_deletion, app_set.applications_sync) == (True, "create-only")
    assert app_set.template_patch == "spec: {project: x}\n"


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
        pytest.param(_application_set("generators: [{list: {elements: [a]}}]\n" + _TEMPLATE),
                     "spec.generators[0].list.elements[0]: expected a mapping, got a string",
                     id="element-not-a-mapping"),
        pytest.param(_application_set("generators: [{list: {}, git: {}}]\n" + _TEMPLATE),
                     "spec.generators[0]: expected exactly one generator (list, git, matrix, merge), found list, git",
                     id="two-generators-in-one-entry"),
        pytest.param(_application_set("generators: [{git: {repoURL: x}}]\n" + _TEMPLATE),
                     "spec.generators[0].git.directories: a git generator needs directories or files",
                     id="git-without-paths"),
        pytest.param(_application_set("generators: [{matrix: {generators: [{list: {}}]}}]\n" + _TEMPLATE),
                     "spec.generators[0].matrix.generators: a matrix combines exactly two generators, found 1",
                     id="matrix-of-one"),
        pytest.param(_application_set("generators: [{merge: {generators: [{list: {}}, {list: {}}]}}]\n"
                                      + _TEMPLATE),
                     "spec.generators[0].merge.mergeKeys: a merge needs at least one merge key",
                     id="merge-without-keys"),
        pytest.param(_application_set(
            "generators: [{matrix: {generators: [{matrix: {generators: [{matrix: {generators: []}}, "
            "{list: {}}]}}, {list: {}}]}}]\n" + _TEMPLATE),
            "matrix and merge generators nest at most one level", id="matrix-nested-twice"),
        pytest.param(_application_set("goTemplate: true\ngenerators: []\n"
                                      + _TEMPLATE.replace("'{{cluster}}-web'", "'{{.cluster'")),
                     "spec.template.metadata.name: Go template, line 1:", id="go-template-syntax"),
        pytest.param(_application_set("goTemplate: true\ngenerators: []\n"
                                      + _TEMPLATE.replace("'{{cluster}}-web'", "'{{ env \"HOME\" }}'")),
                     "function 'env' is not supported", id="go-template-env-function"),
        pytest.param(_application_set("syncPolicy: {applicationsSync: create}\ngenerators: []\n" + _TEMPLATE),
                     "spec.syncPolicy.applicationsSync: must be one of create-only, create-update, "
                     "create-delete, sync, got 'create'", id="applications-sync-policy"),
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
