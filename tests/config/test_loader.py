"""``config.load``: reading a ``policies/`` tree into a :class:`~imagebot.config.Config`.

Aspects under test:
* a realistic Flux/Argo CD tree (modelled on the Flux and Argo CD docs) loads unchanged, field by field;
* which files are read: ``*.yaml``/``*.yml`` recursively, sorted; hidden files and directories and
  other suffixes skipped; a single file; a missing path or an empty directory is an error;
* multi-document files, empty and comment-only files, a UTF-8 BOM;
* every accepted apiVersion per kind, and unsupported versions rejected with the supported list;
* unknown kinds (and known kinds of foreign groups) ignored with a debug line;
* invalid YAML, non-mapping documents, unreadable files: file, document index and line in the message;
* references: a policy naming a missing ImageRepository, namespaces of references;
* the same object defined twice names both places.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imagebot import config
from imagebot.errors import ConfigError
from imagebot.model import argo, flux
from imagebot.model.ids import ObjectKey
from imagebot.model.images import ImageRepo
from tests.config.documents import REPOSITORY, WriteFile

FLUX_DOCS = Path(__file__).parent / "data" / "flux-docs"

def minutes(n: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=n)


def where(path: Path, document: int) -> str:
    return f"{path} (document {document})"


# --- the realistic tree -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs() -> config.Config:
    return config.load(FLUX_DOCS)


def test_flux_docs_tree_reads_every_yaml_file_in_sorted_order(docs: config.Config) -> None:
    assert [p.relative_to(FLUX_DOCS).as_posix() for p in docs.files] == [
        "apps/image-update-automation.yaml",
        "apps/kustomization.yaml",
        "apps/nginx.yaml",
        "apps/podinfo/image-policies.yaml",
        "apps/podinfo/image-repository.yaml",
        "argo/guestbook.yaml",
        "gotk-sync.yaml",
    ]


def test_flux_docs_tree_object_keys(docs: config.Config) -> None:
    assert set(docs.image_repositories) == {ObjectKey("flux-system", "podinfo"), ObjectKey("apps", "nginx")}
    assert set(docs.image_policies) == {
        ObjectKey("flux-system", "podinfo"),
        ObjectKey("flux-system", "podinfo-main"),
        ObjectKey("flux-system", "podinfo-release"),
    }
    assert set(docs.automations) == {ObjectKey("flux-system", "flux-system")}
    assert set(docs.git_repositories) == {ObjectKey("flux-system", "flux-system")}
    assert set(docs.applications) == {ObjectKey("argocd", "guestbook")}
    assert set(docs.application_sets) == {ObjectKey("argocd", "guestbook")}


def test_flux_docs_image_repository_with_every_field(docs: config.Config) -> None:
    path = FLUX_DOCS / "apps/podinfo/image-repository.yaml"
    assert docs.image_repositories[ObjectKey("flux-system", "podinfo")] == flux.ImageRepository(
        key=ObjectKey("flux-system", "podinfo"),
        image=ImageRepo("ghcr.io", "stefanprodan/podinfo", "ghcr.io/stefanprodan/podinfo"),
        interval=minutes(5),
        timeout=minutes(1),
        exclusion_list=(r"^.*\.sig$", "^sha256-.*"),
        secret_ref="regcred",
        cert_secret_ref="registry-ca",
        insecure=False,
        provider="generic",
        suspend=False,
        source=where(path, 1),
    )


def test_flux_docs_docker_hub_repository_v1beta2(docs: config.Config) -> None:
    nginx = docs.image_repositories[ObjectKey("apps", "nginx")]
    assert nginx.image == ImageRepo("docker.io", "library/nginx", "nginx")
    assert (nginx.interval, nginx.timeout) == (minutes(60), minutes(60))
    assert nginx.exclusion_list == flux.DEFAULT_EXCLUSIONS
    assert (nginx.secret_ref, nginx.cert_secret_ref) == (None, None)


def test_flux_docs_policies_one_per_kind_and_version(docs: config.Config) -> None:
    path = FLUX_DOCS / "apps/podinfo/image-policies.yaml"
    repo = ObjectKey("flux-system", "podinfo")
    assert docs.image_policies[ObjectKey("flux-system", "podinfo")] == flux.ImagePolicy(
        key=ObjectKey("flux-system", "podinfo"),
        repository=repo,
        choice=flux.SemverChoice(range="5.0.x"),
        filter=None,
        digest_reflection="Always",
        interval=minutes(10),
        min_age=datetime.timedelta(hours=24),
        labels={"app.kubernetes.io/part-of": "podinfo"},
        source=where(path, 1),
    )
    assert docs.image_policies[ObjectKey("flux-system", "podinfo-main")] == flux.ImagePolicy(
        key=ObjectKey("flux-system", "podinfo-main"),
        repository=repo,
        choice=flux.NumericalChoice(order="asc"),
        filter=flux.TagFilter(pattern="^main-[a-fA-F0-9]+-(?P<ts>.*)", extract="$ts"),
        source=where(path, 2),
    )
    assert docs.image_policies[ObjectKey("flux-system", "podinfo-release")] == flux.ImagePolicy(
        key=ObjectKey("flux-system", "podinfo-release"),
        repository=repo,
        choice=flux.AlphabeticalChoice(order="desc"),
        filter=flux.TagFilter(pattern=r"^RELEASE\.(?P<timestamp>.*)Z$", extract="$timestamp"),
        digest_reflection="IfNotPresent",
        source=where(path, 3),
    )


def test_flux_docs_image_update_automation(docs: config.Config) -> None:
    path = FLUX_DOCS / "apps/image-update-automation.yaml"
    assert docs.automations[ObjectKey("flux-system", "flux-system")] == flux.ImageUpdateAutomation(
        key=ObjectKey("flux-system", "flux-system"),
        source=ObjectKey("flux-system", "flux-system"),
        commit=flux.CommitSpec(
            author_name="fluxcdbot",
            author_email="fluxcdbot@users.noreply.github.com",
            message_template=(
                "Automated image update\n\nFiles:\n"
                "{{ range $filename, $_ := .Changed.FileChanges -}}\n- {{ $filename }}\n{{ end -}}\n"
            ),
            signing_key_secret="signing-key",
        ),
        checkout=flux.GitRef(branch="main"),
        push=flux.PushSpec(branch="image-updates", options={"merge_request.create": ""}),
        update_path="./clusters/my-cluster",
        policy_selector={"app.kubernetes.io/part-of": "podinfo"},
        interval=minutes(30),
        source_file=where(path, 1),
    )


def test_flux_docs_git_repository(docs: config.Config) -> None:
    assert docs.git_repositories[ObjectKey("flux-system", "flux-system")] == flux.GitRepository(
        key=ObjectKey("flux-system", "flux-system"),
        url="ssh://git@github.com/example/fleet-infra",
        ref=flux.GitRef(branch="main"),
        secret_ref="flux-system",
        interval=minutes(1),
        # document 1: the leading comment and `---` do not open a document of their own
        source=where(FLUX_DOCS / "gotk-sync.yaml", 1),
    )


def test_flux_docs_argo_application_and_list_application_set(docs: config.Config) -> None:
    path = FLUX_DOCS / "argo/guestbook.yaml"
    assert docs.applications[ObjectKey("argocd", "guestbook")] == argo.Application(
        key=ObjectKey("argocd", "guestbook"),
        source=argo.ApplicationSource(
            repo_url="https://github.com/argoproj/argocd-example-apps.git",
            path="guestbook",
            target_revision="HEAD",
        ),
        destination_server="https://kubernetes.default.svc",
        destination_namespace="guestbook",
        project="default",
        sync_policy=argo.SyncPolicy(
            automated=True, prune=True, self_heal=True, options=("CreateNamespace=true",)
        ),
        source_file=where(path, 1),
    )
    app_set = docs.application_sets[ObjectKey("argocd", "guestbook")]
    [generator] = app_set.generators
    assert isinstance(generator, argo.ListGenerator)
    assert generator.elements == (
        {"cluster": "engineering-dev", "url": "https://1.2.3.4"},
        {"cluster": "engineering-prod", "url": "https://2.4.6.8"},
    )
    template: Any = app_set.template
    assert template["metadata"]["name"] == "{{.cluster}}-guestbook"
    assert template["spec"]["source"]["path"] == "applicationset/examples/list-generator/guestbook/{{.cluster}}"
    assert template["spec"]["destination"]["server"] == "{{.url}}"
    assert app_set.source_file == where(path, 2)


def test_flux_docs_unknown_kinds_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="imagebot.config")
    config.load(FLUX_DOCS)
    ignored = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert ignored == [
        f"{where(FLUX_DOCS / 'apps/kustomization.yaml', 1)}: ignoring "
        "kustomize.config.k8s.io/v1beta1 Kustomization",
        f"{where(FLUX_DOCS / 'argo/guestbook.yaml', 3)}: ignoring argoproj.io/v1alpha1 AppProject",
    ]
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG]


# --- which files are read -----------------------------------------------------------------------


def test_subdirectories_and_yml_suffix_are_read(write: WriteFile, policies: Path) -> None:
    write("a/b/c/repo.yml", REPOSITORY)
    loaded = config.load(policies)
    assert list(loaded.image_repositories) == [ObjectKey("default", "app")]
    assert loaded.files == (policies / "a/b/c/repo.yml",)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(".hidden.yaml", id="hidden-file"),
        pytest.param(".git/objects.yaml", id="hidden-directory"),
        pytest.param("apps/.drafts/objects.yaml", id="nested-hidden-directory"),
        pytest.param("objects.yaml.bak", id="backup-suffix"),
        pytest.param("objects.json", id="json"),
        pytest.param("objects.YAML", id="upper-case-suffix"),
        pytest.param("README.md", id="markdown"),
    ],
)
def test_files_that_are_not_read(write: WriteFile, policies: Path, name: str) -> None:
    write("repo.yaml", REPOSITORY)
    write(name, "this: [is not: valid yaml\n")  # would fail the load if it were read
    assert config.load(policies).files == (policies / "repo.yaml",)


def test_a_hidden_parent_of_the_config_directory_does_not_hide_it(tmp_path: Path) -> None:
    directory = tmp_path / ".config" / "policies"
    directory.mkdir(parents=True)
    (directory / "repo.yaml").write_text(REPOSITORY)
    assert list(config.load(directory).image_repositories) == [ObjectKey("default", "app")]


def test_a_single_file_is_loaded_alone(write: WriteFile) -> None:
    chosen = write("one.yaml", REPOSITORY)
    write("other.yaml", "not: [valid\n")
    loaded = config.load(str(chosen))
    assert loaded.files == (chosen,)
    assert list(loaded.image_repositories) == [ObjectKey("default", "app")]


def test_missing_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file or directory \(pass --config DIR\)") as exc:
        config.load(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(exc.value)


def test_directory_without_yaml_files_is_a_config_error(write: WriteFile, policies: Path) -> None:
    write("README.md", "# nothing here\n")
    with pytest.raises(ConfigError, match=r"no \.yaml files found"):
        config.load(policies)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("# only a comment\n", id="comment-only"),
        pytest.param("---\n---\n", id="separators-only"),
    ],
)
def test_files_without_documents_load_as_nothing(write: WriteFile, policies: Path, text: str) -> None:
    write("repo.yaml", REPOSITORY)
    write("empty.yaml", text)
    loaded = config.load(policies)
    assert list(loaded.image_repositories) == [ObjectKey("default", "app")]
    assert policies / "empty.yaml" in loaded.files


def test_utf8_bom_is_accepted(policies: Path) -> None:
    (policies / "repo.yaml").write_bytes(b"\xef\xbb\xbf" + REPOSITORY.encode())
    assert list(config.load(policies).image_repositories) == [ObjectKey("default", "app")]


def test_non_utf8_file_names_the_file(policies: Path) -> None:
    path = policies / "latin1.yaml"
    path.write_bytes("metadata: {name: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"cannot read") as exc:
        config.load(policies)
    assert str(exc.value).startswith(f"{path}: ")


def test_multi_document_file_indexes_documents_from_one(write: WriteFile, policies: Path) -> None:
    path = write(
        "all.yaml",
        REPOSITORY + "---\n" + REPOSITORY.replace("name: app", "name: other")
        + "---\n" + REPOSITORY.replace("name: app", "name: broken").replace("5m", "5 minutes"),
    )
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value).startswith(f"{where(path, 3)}: spec.interval: '5 minutes' is not a duration")


def test_document_index_counts_commented_out_documents(write: WriteFile, policies: Path) -> None:
    path = write(
        "all.yaml",
        REPOSITORY + "---\n# a commented-out object\n---\n"
        + REPOSITORY.replace("name: app", "name: broken").replace("5m", "5 minutes"),
    )
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value).startswith(f"{where(path, 3)}: ")


# --- invalid YAML and documents that are not objects --------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("kind: ImagePolicy\nspec:\n  image: a: b\n", 3, id="colon-in-plain-value"),
        pytest.param("kind: ImagePolicy\nmetadata:\n\tname: x\n", 3, id="tab-indentation"),
        pytest.param("a: 1\n---\nb: [1, 2\nc: 3\n", 4, id="unclosed-flow-sequence"),
        pytest.param("a: 1\na: 2\n", 2, id="duplicate-key"),
        pytest.param("a: &x 1\nb: *y\n", 2, id="unknown-alias"),
    ],
)
def test_invalid_yaml_names_file_and_line(write: WriteFile, policies: Path, text: str, line: int) -> None:
    path = write("bad.yaml", text)
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    message = str(exc.value)
    assert message.startswith(f"{path}: invalid YAML at line {line}: ")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "got"),
    [
        pytest.param("- apiVersion: v1\n- kind: List\n", "a list", id="list"),
        pytest.param("just a string\n", "a string", id="string"),
        pytest.param("42\n", "int", id="number"),
    ],
)
def test_a_document_that_is_not_a_mapping(write: WriteFile, policies: Path, text: str, got: str) -> None:
    path = write("objects.yaml", REPOSITORY + "---\n" + text)
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value) == f"{where(path, 2)}: document: expected a mapping, got {got}"


# --- apiVersion and kind dispatch ---------------------------------------------------------------

_MINIMAL = {
    "ImageRepository": "spec: {image: ghcr.io/org/app, interval: 5m}",
    "ImagePolicy": "spec: {imageRepositoryRef: {name: app}, policy: {semver: {range: '>=1.0.0'}}}",
    "ImageUpdateAutomation": (
        "spec: {sourceRef: {kind: GitRepository, name: repo}, "
        "git: {commit: {author: {name: bot, email: bot@example.com}}}}"
    ),
    "GitRepository": "spec: {url: https://github.com/org/repo, ref: {branch: main}}",
    "Application": "spec: {source: {repoURL: https://github.com/org/repo, path: apps}}",
}
_COLLECTION = {
    "ImageRepository": "image_repositories",
    "ImagePolicy": "image_policies",
    "ImageUpdateAutomation": "automations",
    "GitRepository": "git_repositories",
    "Application": "applications",
}


def _object(api_version: str, kind: str, name: str = "x") -> str:
    return f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: {name}}}\n{_MINIMAL[kind]}\n"


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        pytest.param(f"image.toolkit.fluxcd.io/{version}", kind, id=f"{kind}-{version}")
        for kind in ("ImageRepository", "ImagePolicy", "ImageUpdateAutomation")
        for version in ("v1", "v1beta2", "v1beta1")
    ]
    + [
        pytest.param("source.toolkit.fluxcd.io/v1", "GitRepository", id="GitRepository-v1"),
        pytest.param("source.toolkit.fluxcd.io/v1beta2", "GitRepository", id="GitRepository-v1beta2"),
        pytest.param("argoproj.io/v1alpha1", "Application", id="Application-v1alpha1"),
    ],
)
def test_accepted_api_versions(write: WriteFile, policies: Path, api_version: str, kind: str) -> None:
    write("repo.yaml", REPOSITORY.replace("name: app", "name: app"))
    write("object.yaml", _object(api_version, kind))
    loaded = config.load(policies)
    assert ObjectKey("default", "x") in getattr(loaded, _COLLECTION[kind])


@pytest.mark.parametrize(
    ("api_version", "kind", "supported"),
    [
        pytest.param(
            "image.toolkit.fluxcd.io/v2", "ImagePolicy",
            "image.toolkit.fluxcd.io/v1, image.toolkit.fluxcd.io/v1beta2, image.toolkit.fluxcd.io/v1beta1",
            id="future-image-version",
        ),
        pytest.param(
            "image.toolkit.fluxcd.io/v1alpha1", "ImageUpdateAutomation",
            "image.toolkit.fluxcd.io/v1, image.toolkit.fluxcd.io/v1beta2, image.toolkit.fluxcd.io/v1beta1",
            id="v1alpha1-automation",
        ),
        pytest.param(
            "source.toolkit.fluxcd.io/v2", "GitRepository",
            "source.toolkit.fluxcd.io/v1, source.toolkit.fluxcd.io/v1beta2",
            id="future-source-version",
        ),
        pytest.param("argoproj.io/v1beta1", "Application", "argoproj.io/v1alpha1", id="argo-v1beta1"),
    ],
)
def test_unsupported_api_versions_name_the_supported_ones(
    write: WriteFile, policies: Path, api_version: str, kind: str, supported: str
) -> None:
    path = write("object.yaml", REPOSITORY + "---\n" + _object(api_version, kind))
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    group = api_version.rpartition("/")[0]
    message = str(exc.value)
    assert message.startswith(f"{where(path, 2)}: apiVersion: unsupported {api_version}; supported: ")
    assert message.startswith(f"{where(path, 2)}: apiVersion: unsupported {group}/")
    assert supported in message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\n", id="core-secret"),
        pytest.param(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: a}\n",
            id="other-flux-kind",
        ),
        pytest.param("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageThing\n", id="unknown-image-kind"),
        pytest.param("apiVersion: example.com/v1\nkind: ImagePolicy\nspec: 3\n", id="foreign-group-same-kind"),
        pytest.param("kind: ImagePolicy\nspec: 3\n", id="no-api-version"),
        pytest.param("apiVersion: image.toolkit.fluxcd.io/v1\nspec: 3\n", id="no-kind"),
        pytest.param("replicaCount: 2\nimage: {repository: nginx}\n", id="helm-values"),
    ],
)
def test_unknown_kinds_are_ignored_with_a_debug_line(
    write: WriteFile, policies: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="imagebot.config")
    path = write("other.yaml", text)
    loaded = config.load(policies)
    assert not loaded.image_repositories
    assert not loaded.image_policies
    [record] = caplog.records
    assert record.levelno == logging.DEBUG
    assert record.name == "imagebot.config"
    assert record.getMessage().startswith(f"{where(path, 1)}: ignoring ")


# --- references between objects ----------------------------------------------------------------

_POLICY = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
  namespace: {namespace}
spec:
  imageRepositoryRef:
    {ref}
  policy:
    semver:
      range: ">=1.0.0"
"""


def test_policy_naming_a_missing_repository(write: WriteFile, policies: Path) -> None:
    write("repo.yaml", REPOSITORY)
    path = write("policy.yaml", _POLICY.format(namespace="default", ref="name: missing"))
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value) == (
        f"{where(path, 1)}: ImagePolicy default/app: spec.imageRepositoryRef: "
        f"ImageRepository default/missing not found in {policies}"
    )


@pytest.mark.parametrize(
    ("namespace", "ref", "found"),
    [
        pytest.param("default", "name: app", True, id="same-namespace-implicit"),
        pytest.param("apps", "name: app", False, id="other-namespace-implicit"),
        pytest.param("apps", "{name: app, namespace: default}", True, id="cross-namespace-explicit"),
        pytest.param("default", "{name: app, namespace: apps}", False, id="explicit-wrong-namespace"),
    ],
)
def test_policy_reference_namespace(
    write: WriteFile, policies: Path, namespace: str, ref: str, found: bool
) -> None:
    write("repo.yaml", REPOSITORY)
    write("policy.yaml", _POLICY.format(namespace=namespace, ref=ref))
    if found:
        [policy] = config.load(policies).image_policies.values()
        assert policy.repository == ObjectKey("default", "app")
    else:
        with pytest.raises(ConfigError, match=r"spec\.imageRepositoryRef: ImageRepository \S+ not found"):
            config.load(policies)


def test_same_object_in_two_files_names_both(write: WriteFile, policies: Path) -> None:
    first = write("a.yaml", REPOSITORY)
    second = write("b/c.yaml", "kind: Note\n---\n" + REPOSITORY)
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value) == (
        f"{where(second, 2)}: ImageRepository default/app is also defined in {where(first, 1)}"
    )


def test_same_name_in_other_namespace_or_kind_is_not_a_duplicate(load_yaml: Callable[[str], config.Config]) -> None:
    loaded = load_yaml(
        REPOSITORY + "---\n" + REPOSITORY.replace("name: app", "name: app\n  namespace: prod")
        + "---\n" + _POLICY.format(namespace="default", ref="name: app")
    )
    assert set(loaded.image_repositories) == {ObjectKey("default", "app"), ObjectKey("prod", "app")}
    assert set(loaded.image_policies) == {ObjectKey("default", "app")}
