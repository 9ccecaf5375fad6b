"""Flux objects field by field: ImageRepository, ImagePolicy, ImageUpdateAutomation, GitRepository.

Aspects under test:
* defaults (namespace, interval/timeout, exclusionList, policy order, digest reflection, git refs);
* exclusionList replaces Flux's default ``^.*\\.sig$`` instead of merging with it;
* policy precedence semver > alphabetical > numerical, and ``order`` spellings;
* the cooldown: ``spec.minAge`` and the ``imagebot.dev/min-age`` annotation;
* ``interval`` on an ImagePolicy only with ``digestReflectionPolicy: Always``;
* many invalid objects, each failing with file, ``document N`` and the key path.
"""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot import config
from imagebot.errors import ConfigError
from imagebot.model import flux
from imagebot.model.ids import ObjectKey
from tests.config.documents import REPOSITORY, WriteFile

Load = Callable[[str], config.Config]


def _repository(spec: str, metadata: str = "name: app") -> str:
    return (
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        f"metadata:\n{textwrap.indent(metadata, '  ')}\nspec:\n{textwrap.indent(spec, '  ')}\n"
    )


def _policy(spec: str, metadata: str = "name: app") -> str:
    return (
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\n"
        f"metadata:\n{textwrap.indent(metadata, '  ')}\nspec:\n{textwrap.indent(spec, '  ')}\n"
    )


def _automation(spec: str) -> str:
    return (
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\n"
        f"metadata:\n  name: bot\n  namespace: flux-system\nspec:\n{textwrap.indent(spec, '  ')}\n"
    )


def _git_repository(spec: str) -> str:
    return (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        f"metadata:\n  name: repo\nspec:\n{textwrap.indent(spec, '  ')}\n"
    )


def _one_repository(load: Load, spec: str) -> flux.ImageRepository:
    [repo] = load(_repository(spec)).image_repositories.values()
    return repo


def _one_policy(load: Load, spec: str, metadata: str = "name: app") -> flux.ImagePolicy:
    [policy] = load(REPOSITORY + "---\n" + _policy(spec, metadata)).image_policies.values()
    return policy


_AUTOMATION = """\
sourceRef: {kind: GitRepository, name: repo}
git:
  commit:
    author: {name: bot, email: bot@example.com}
"""


def _one_automation(load: Load, spec: str) -> flux.ImageUpdateAutomation:
    [automation] = load(_automation(spec)).automations.values()
    return automation


# --- ImageRepository ----------------------------------------------------------------------------


def test_repository_defaults(load_yaml: Load) -> None:
    repo = _one_repository(load_yaml, "image: ghcr.io/org/app")
    assert repo.key == ObjectKey("default", "app")
    # interval is required by Flux's CRD; imagebot is lenient and scans every 5 minutes
    assert repo.interval == datetime.timedelta(minutes=5)
    assert repo.timeout == repo.interval
    assert repo.exclusion_list == (r"^.*\.sig$",)
    assert (repo.secret_ref, repo.cert_secret_ref, repo.insecure, repo.suspend) == (None, None, False, False)
    assert repo.provider == "generic"


@pytest.mark.parametrize(
    ("spec", "timeout"),
    [
        pytest.param("interval: 10m", datetime.timedelta(minutes=10), id="defaults-to-interval"),
        pytest.param("interval: 10m\ntimeout: 30s", datetime.timedelta(seconds=30), id="explicit"),
        pytest.param("interval: 10m\ntimeout: 200ms", datetime.timedelta(seconds=1), id="at-least-1s"),
        pytest.param("interval: 500ms", datetime.timedelta(seconds=1), id="short-interval-at-least-1s"),
    ],
)
def test_repository_timeout(load_yaml: Load, spec: str, timeout: datetime.timedelta) -> None:
    assert _one_repository(load_yaml, f"image: ghcr.io/org/app\n{spec}").timeout == timeout


@pytest.mark.parametrize(
    ("exclusions", "expected"),
    [
        pytest.param("", (r"^.*\.sig$",), id="absent-means-flux-default"),
        pytest.param("exclusionList: []", (r"^.*\.sig$",), id="empty-list-means-flux-default"),
        pytest.param("exclusionList: ['^v0\\.']", (r"^v0\.",), id="user-list-replaces-default"),
        pytest.param(
            "exclusionList: ['^.*\\.sig$', '^.*\\.att$']", (r"^.*\.sig$", r"^.*\.att$"),
            id="repeat-default-to-keep-it",
        ),
    ],
)
def test_exclusion_list_replaces_the_default_never_merges(
    load_yaml: Load, exclusions: str, expected: tuple[str, ...]
) -> None:
    repo = _one_repository(load_yaml, f"image: ghcr.io/org/app\n{exclusions}")
    assert repo.exclusion_list == expected


@pytest.mark.parametrize(
    ("image", "registry", "path"),
    [
        pytest.param("nginx", "docker.io", "library/nginx", id="official-image"),
        pytest.param("docker.io/fluxcd/flux", "docker.io", "fluxcd/flux", id="hub-user-image"),
        pytest.param("localhost:5000/team/app", "localhost:5000", "team/app", id="local-registry"),
        pytest.param(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "app", id="ecr",
        ),
    ],
)
def test_repository_image_is_parsed(load_yaml: Load, image: str, registry: str, path: str) -> None:
    repo = _one_repository(load_yaml, f"image: {image}")
    assert (repo.image.registry, repo.image.path, repo.image.name) == (registry, path, image)


def test_repository_credentials_tls_insecure_provider_suspend(load_yaml: Load) -> None:
    repo = _one_repository(
        load_yaml,
        "image: registry.internal:8443/app\nsecretRef: {name: regcred}\ncertSecretRef: {name: ca}\n"
        "insecure: true\nprovider: aws\nsuspend: true",
    )
    assert (repo.secret_ref, repo.cert_secret_ref) == ("regcred", "ca")
    assert (repo.insecure, repo.provider, repo.suspend) == (True, "aws", True)


# --- ImagePolicy --------------------------------------------------------------------------------

_REF = "imageRepositoryRef: {name: app}\n"


@pytest.mark.parametrize(
    ("policy", "choice"),
    [
        pytest.param(
            "semver: {range: '>=1.0.0'}\nalphabetical: {order: desc}\nnumerical: {order: desc}",
            flux.SemverChoice(">=1.0.0"), id="semver-beats-both",
        ),
        pytest.param(
            "numerical: {order: desc}\nalphabetical: {order: desc}",
            flux.AlphabeticalChoice("desc"), id="alphabetical-beats-numerical-whatever-the-key-order",
        ),
        pytest.param("numerical: {order: desc}", flux.NumericalChoice("desc"), id="numerical-alone"),
        pytest.param(
            "semver:\nnumerical: {order: desc}", flux.NumericalChoice("desc"), id="null-semver-is-unset",
        ),
        pytest.param("alphabetical: {}", flux.AlphabeticalChoice("asc"), id="empty-rule-defaults-asc"),
        pytest.param("alphabetical:", flux.AlphabeticalChoice("asc"), id="bare-key-defaults-asc"),
        pytest.param("numerical: {order: DESC}", flux.NumericalChoice("desc"), id="order-upper-case"),
        pytest.param("alphabetical: {order: Asc}", flux.AlphabeticalChoice("asc"), id="order-mixed-case"),
    ],
)
def test_policy_choice_precedence_and_order(load_yaml: Load, policy: str, choice: flux.PolicyChoice) -> None:
    spec = _REF + "policy:\n" + textwrap.indent(policy, "  ")
    assert _one_policy(load_yaml, spec).choice == choice


def test_policy_defaults(load_yaml: Load) -> None:
    policy = _one_policy(load_yaml, _REF + "policy: {semver: {range: 1.x}}")
    assert policy.key == ObjectKey("default", "app")
    assert policy.repository == ObjectKey("default", "app")
    assert (policy.filter, policy.digest_reflection, policy.interval, policy.min_age) == (None, "Never", None, None)
    assert policy.labels == {}


@pytest.mark.parametrize(
    ("filter_tags", "expected"),
    [
        pytest.param("{pattern: '^v(?P<v>.*)', extract: '$v'}", flux.TagFilter("^v(?P<v>.*)", "$v"), id="both"),
        pytest.param("{pattern: '^main-'}", flux.TagFilter("^main-", ""), id="pattern-only"),
        pytest.param("{extract: '$0'}", flux.TagFilter(".*", "$0"), id="extract-only"),
        pytest.param("{pattern: ''}", flux.TagFilter(".*", ""), id="empty-pattern-matches-all"),
    ],
)
def test_policy_filter_tags(load_yaml: Load, filter_tags: str, expected: flux.TagFilter) -> None:
    spec = _REF + f"filterTags: {filter_tags}\npolicy: {{numerical: {{}}}}"
    assert _one_policy(load_yaml, spec).filter == expected


@pytest.mark.parametrize(
    ("extra", "reflection", "interval"),
    [
        pytest.param("digestReflectionPolicy: Always\ninterval: 1h", "Always", datetime.timedelta(hours=1),
                     id="always-with-interval"),
        pytest.param("digestReflectionPolicy: Always", "Always", None, id="always-without-interval"),
        pytest.param("digestReflectionPolicy: IfNotPresent", "IfNotPresent", None, id="if-not-present"),
        pytest.param("digestReflectionPolicy: Never", "Never", None, id="never"),
    ],
)
def test_policy_digest_reflection(
    load_yaml: Load, extra: str, reflection: str, interval: datetime.timedelta | None
) -> None:
    policy = _one_policy(load_yaml, _REF + f"policy: {{numerical: {{}}}}\n{extra}")
    assert (policy.digest_reflection, policy.interval) == (reflection, interval)


@pytest.mark.parametrize(
    ("metadata", "spec", "min_age"),
    [
        pytest.param("name: app", "minAge: 2h", datetime.timedelta(hours=2), id="spec-min-age"),
        pytest.param(
            "name: app\nannotations: {imagebot.dev/min-age: 72h}", "", datetime.timedelta(hours=72),
            id="annotation",
        ),
        # asserted as implemented: the annotation (what a Flux-only file can carry) overrides spec.minAge
        pytest.param(
            "name: app\nannotations: {imagebot.dev/min-age: 30m}", "minAge: 2h", datetime.timedelta(minutes=30),
            id="annotation-overrides-spec",
        ),
        pytest.param(
            "name: app\nannotations: {other.io/min-age: 30m}", "", None, id="other-annotation-ignored",
        ),
    ],
)
def test_policy_min_age(load_yaml: Load, metadata: str, spec: str, min_age: datetime.timedelta | None) -> None:
    policy = _one_policy(load_yaml, _REF + f"policy: {{numerical: {{}}}}\n{spec}", metadata)
    assert policy.min_age == min_age


def test_policy_labels_keep_their_values(load_yaml: Load) -> None:
    policy = _one_policy(
        load_yaml, _REF + "policy: {numerical: {}}",
        "name: app\nlabels: {team: payments, tier: '1', canary: 'true'}",
    )
    assert policy.labels == {"team": "payments", "tier": "1", "canary": "true"}


# --- ImageUpdateAutomation and GitRepository ----------------------------------------------------


def test_automation_defaults(load_yaml: Load) -> None:
    automation = _one_automation(load_yaml, _AUTOMATION)
    assert automation.key == ObjectKey("flux-system", "bot")
    assert automation.source == ObjectKey("flux-system", "repo")
    assert automation.commit == flux.CommitSpec(author_name="bot", author_email="bot@example.com")
    assert (automation.checkout, automation.push, automation.interval) == (None, None, None)
    assert (automation.update_path, automation.policy_selector, automation.suspend) == (".", {}, False)


def test_automation_without_author_name_loads(load_yaml: Load) -> None:
    # flux-semantics §6.1: commit.author.name is optional, only the e-mail is required
    spec = "sourceRef: {name: repo}\ngit:\n  commit:\n    author: {email: bot@example.com}"
    assert _one_automation(load_yaml, spec).commit == flux.CommitSpec(author_name="", author_email="bot@example.com")


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        pytest.param("{branch: main}", flux.GitRef(branch="main"), id="branch"),
        pytest.param("{tag: v1.0.0}", flux.GitRef(tag="v1.0.0"), id="tag"),
        pytest.param("{semver: '>=1.0'}", flux.GitRef(semver=">=1.0"), id="semver"),
        pytest.param("{name: refs/heads/main}", flux.GitRef(name="refs/heads/main"), id="name"),
        pytest.param("{branch: main, commit: 1a2b3c}", flux.GitRef(branch="main", commit="1a2b3c"),
                     id="branch-and-commit"),
    ],
)
def test_checkout_and_git_repository_refs(load_yaml: Load, ref: str, expected: flux.GitRef) -> None:
    loaded = load_yaml(
        _automation(_AUTOMATION + f"  checkout:\n    ref: {ref}")
        + "---\n" + _git_repository(f"url: https://github.com/org/repo\nref: {ref}")
    )
    [automation] = loaded.automations.values()
    [repository] = loaded.git_repositories.values()
    assert automation.checkout == expected
    assert repository.ref == expected


def test_automation_cross_namespace_source_push_refspec_and_suspend(load_yaml: Load) -> None:
    automation = _one_automation(
        load_yaml,
        "sourceRef: {kind: GitRepository, name: fleet, namespace: flux-system}\n"
        "suspend: true\ninterval: 1h\n"
        "git:\n  commit:\n    author: {name: bot, email: bot@example.com}\n"
        "  push:\n    refspec: refs/heads/auto:refs/heads/main\n",
    )
    assert automation.source == ObjectKey("flux-system", "fleet")
    assert automation.push == flux.PushSpec(refspec="refs/heads/auto:refs/heads/main")
    assert (automation.suspend, automation.interval) == (True, datetime.timedelta(hours=1))


def test_git_repository_defaults_to_master_like_flux(load_yaml: Load) -> None:
    [repository] = load_yaml(_git_repository("url: https://github.com/org/repo")).git_repositories.values()
    assert repository.ref == flux.GitRef(branch="master")
    assert (repository.secret_ref, repository.interval) == (None, None)


# --- invalid objects: file, document and key path -----------------------------------------------

_BAD = [
    # metadata
    pytest.param(_repository("image: a", metadata="namespace: x"), "metadata.name: is required", id="no-name"),
    pytest.param(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: a}\n",
        "metadata: is required", id="no-metadata",
    ),
    pytest.param(_repository("image: a", metadata="name: [a]"), "metadata.name: expected a string, got a list",
                 id="name-not-a-string"),
    pytest.param(_repository("image: a", metadata="name: a\nlabels: {team: [x]}"),
                 "metadata.labels.team: expected a string, got a list", id="label-not-a-string"),
    # ImageRepository
    pytest.param(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {name: a}\n",
        "spec: is required", id="repository-no-spec",
    ),
    pytest.param(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {name: a}\nspec: [image]\n",
        "spec: expected a mapping, got a list", id="repository-spec-not-a-mapping",
    ),
    pytest.param(_repository("interval: 5m"), "spec.image: is required", id="no-image"),
    pytest.param(_repository("image: ghcr.io/org/app:v1.0"),
                 "spec.image: invalid image 'ghcr.io/org/app:v1.0': a repository takes no tag", id="image-with-tag"),
    pytest.param(_repository("image: nginx:latest"),
                 "spec.image: invalid image 'nginx:latest': a repository takes no tag", id="hub-image-with-tag"),
    pytest.param(_repository("image: https://ghcr.io/org/app"),
                 "spec.image: invalid image 'https://ghcr.io/org/app': remove the URL scheme", id="image-with-scheme"),
    pytest.param(_repository("image: ghcr.io/Org/App"),
                 "spec.image: invalid image 'ghcr.io/Org/App': repository path 'Org/App' must be lowercase",
                 id="image-upper-case-path"),
    pytest.param(_repository("image: 'ghcr.io/org/app@sha256:" + "a" * 64 + "'"),
                 "a repository takes no digest", id="image-with-digest"),
    pytest.param(_repository("image: [ghcr.io/org/app]"), "spec.image: expected a string, got a list",
                 id="image-not-a-string"),
    pytest.param(_repository("image: a\ninterval: 5 minutes"),
                 "spec.interval: '5 minutes' is not a duration", id="interval-words"),
    pytest.param(_repository("image: a\ninterval: 300"), "spec.interval: '300' is not a duration",
                 id="interval-without-unit"),
    pytest.param(_repository("image: a\ninterval: 1d"), "spec.interval: '1d' is not a duration", id="interval-days"),
    pytest.param(_repository("image: a\ntimeout: -1m"), "spec.timeout: '-1m' is not a duration",
                 id="negative-timeout"),
    pytest.param(_repository("image: a\nexclusionList: '^.*\\.sig$'"),
                 "spec.exclusionList: expected a list of strings", id="exclusions-not-a-list"),
    pytest.param(_repository("image: a\nexclusionList: [1, 2]"),
                 "spec.exclusionList: expected a list of strings", id="exclusions-not-strings"),
    pytest.param(_repository("image: a\ninsecure: 'true'"), "spec.insecure: expected true or false, got 'true'",
                 id="quoted-boolean"),
    pytest.param(_repository("image: a\nprovider: ibm"),
                 "spec.provider: must be one of generic, aws, azure, gcp, got 'ibm'", id="bad-provider"),
    pytest.param(_repository("image: a\nsecretRef: regcred"), "spec.secretRef: expected a mapping, got a string",
                 id="secret-ref-not-a-mapping"),
    pytest.param(_repository("image: a\nsecretRef: {namespace: x}"), "spec.secretRef.name: is required",
                 id="secret-ref-without-name"),
    pytest.param(_repository("image: a\ncertSecretRef: {}"), "spec.certSecretRef.name: is required",
                 id="cert-secret-ref-without-name"),
    # ImagePolicy
    pytest.param(_policy("policy: {numerical: {}}"), "spec.imageRepositoryRef: is required", id="no-repository-ref"),
    pytest.param(_policy("imageRepositoryRef: {namespace: x}\npolicy: {numerical: {}}"),
                 "spec.imageRepositoryRef.name: is required", id="repository-ref-without-name"),
    pytest.param(_policy(_REF), "spec.policy: is required", id="no-policy"),
    pytest.param(_policy(_REF + "policy: {}"),
                 "spec.policy: needs one of semver, alphabetical or numerical", id="no-policy-kind"),
    pytest.param(_policy(_REF + "policy: {latest: {}}"),
                 "spec.policy: needs one of semver, alphabetical or numerical", id="unknown-policy-kind"),
    pytest.param(_policy(_REF + "policy: {semver: {}}"), "spec.policy.semver.range: is required",
                 id="semver-without-range"),
    pytest.param(_policy(_REF + "policy: {semver: '>=1.0'}"), "spec.policy.semver: expected a mapping, got a string",
                 id="semver-not-a-mapping"),
    pytest.param(_policy(_REF + "policy: {alphabetical: {order: newest}}"),
                 "spec.policy.alphabetical.order: must be asc or desc, got 'newest'", id="bad-alphabetical-order"),
    pytest.param(_policy(_REF + "policy: {numerical: {order: descending}}"),
                 "spec.policy.numerical.order: must be asc or desc, got 'descending'", id="bad-numerical-order"),
    pytest.param(_policy(_REF + "policy: {numerical: asc}"),
                 "spec.policy.numerical: expected a mapping, got a string", id="order-without-mapping"),
    pytest.param(_policy(_REF + "policy: {numerical: {}}\ninterval: 10m"),
                 "spec.interval: is only allowed with digestReflectionPolicy: Always", id="interval-without-always"),
    pytest.param(_policy(_REF + "policy: {numerical: {}}\ninterval: 10m\ndigestReflectionPolicy: IfNotPresent"),
                 "spec.interval: is only allowed with digestReflectionPolicy: Always",
                 id="interval-with-if-not-present"),
    pytest.param(_policy(_REF + "policy: {numerical: {}}\ndigestReflectionPolicy: always"),
                 "spec.digestReflectionPolicy: must be one of Never, IfNotPresent, Always, got 'always'",
                 id="reflection-wrong-case"),
    pytest.param(_policy(_REF + "policy: {numerical: {}}\nfilterTags: '^v'"),
                 "spec.filterTags: expected a mapping, got a string", id="filter-tags-not-a-mapping"),
    pytest.param(_policy(_REF + "policy: {numerical: {}}\nminAge: 3 days"), "spec.minAge: '3 days' is not a duration",
                 id="bad-min-age"),
    pytest.param(_policy(_REF + "policy: {numerical: {}}", metadata="name: a\nannotations: {imagebot.dev/min-age: 1w}"),
                 "metadata.annotations.imagebot.dev/min-age: '1w' is not a duration", id="bad-min-age-annotation"),
    # ImageUpdateAutomation
    pytest.param(_automation("git: {commit: {author: {email: a@b.c}}}"), "spec.sourceRef: is required",
                 id="no-source-ref"),
    pytest.param(_automation("sourceRef: {kind: Bucket, name: b}\ngit: {commit: {author: {email: a@b.c}}}"),
                 "spec.sourceRef.kind: only GitRepository is supported, got 'Bucket'", id="bucket-source"),
    pytest.param(_automation("sourceRef: {kind: GitRepository}\ngit: {commit: {author: {email: a@b.c}}}"),
                 "spec.sourceRef.name: is required", id="source-ref-without-name"),
    pytest.param(_automation("sourceRef: {name: repo}"), "spec.git.commit: is required", id="no-git"),
    pytest.param(_automation("sourceRef: {name: repo}\ngit: {commit: {}}"), "spec.git.commit.author: is required",
                 id="no-author"),
    pytest.param(_automation("sourceRef: {name: repo}\ngit: {commit: {author: {name: bot}}}"),
                 "spec.git.commit.author.email: is required", id="author-without-email"),
    pytest.param(_automation(_AUTOMATION + "update: {strategy: Kustomize}"),
                 "spec.update.strategy: only Setters is supported, got 'Kustomize'", id="update-strategy"),
    pytest.param(_automation(_AUTOMATION + "  push: main"), "spec.git.push: expected a mapping, got a string",
                 id="push-not-a-mapping"),
    pytest.param(_automation(_AUTOMATION + "  push: {options: [a]}"),
                 "spec.git.push.options: expected a mapping, got a list", id="push-options-list"),
    pytest.param(_automation(_AUTOMATION + "policySelector: {matchLabels: [a]}"),
                 "spec.policySelector.matchLabels: expected a mapping, got a list", id="match-labels-list"),
    # GitRepository
    pytest.param(_git_repository("ref: {branch: main}"), "spec.url: is required", id="git-repository-no-url"),
    pytest.param(_git_repository("url: https://x/y\nref: main"), "spec.ref: expected a mapping, got a string",
                 id="git-ref-not-a-mapping"),
    pytest.param(_git_repository("url: https://x/y\ninterval: soon"), "spec.interval: 'soon' is not a duration",
                 id="git-repository-interval"),
]


@pytest.mark.parametrize(("document", "message"), _BAD)
def test_invalid_object_names_file_document_and_key_path(
    write: WriteFile, policies: Path, document: str, message: str
) -> None:
    # the bad object is the second document, after a valid ImageRepository
    path = write("apps/objects.yaml", REPOSITORY + "---\n" + document)
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    text = str(exc.value)
    assert text.startswith(f"{path} (document 2): ")
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize(("annotation", "expected"), [
    pytest.param("", False, id="default-off"),
    pytest.param("  annotations: {imagebot.dev/include-artifacts: 'true'}\n", True, id="opted-in"),
    pytest.param("  annotations: {imagebot.dev/include-artifacts: 'false'}\n", False, id="opted-out"),
])
def test_include_artifacts_annotation(load_yaml: Load, annotation: str, expected: bool) -> None:
    loaded = load_yaml(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        f"metadata:\n  name: app\n{annotation}spec:\n  image: ghcr.io/org/app\n"
    )
    [repo] = loaded.image_repositories.values()
    assert repo.include_artifacts is expected


def test_include_artifacts_annotation_must_be_a_boolean(write: WriteFile, policies: Path) -> None:
    path = write("repo.yaml", "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
                 "metadata:\n  name: app\n  annotations: {imagebot.dev/include-artifacts: 'yes'}\n"
                 "spec:\n  image: ghcr.io/org/app\n")
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value).startswith(f"{path} (document 1): metadata: annotations.imagebot.dev/include-artifacts")
