"""Near-miss kinds and keys (issue 14): an error naming the kind or key meant, never a false alarm
on a valid Flux or Argo object; unknown keys that are close to nothing are warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from imagebot import config, names, yamldoc
from imagebot.errors import ConfigError
from tests.config.documents import WriteFile

POLICY = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: {kind}
metadata: {{name: app, namespace: apps}}
spec:
  {key}: {{name: app}}
  policy: {{semver: {{range: 1.x}}}}
"""


@pytest.mark.parametrize(
    ("word", "candidates", "expected"),
    [
        pytest.param("ImagePolicyy", ["ImagePolicy", "ImageRepository"], "ImagePolicy", id="kind"),
        pytest.param("imageRepositoryRf", ["imageRepositoryRef", "policy"], "imageRepositoryRef", id="key"),
        pytest.param("flux-system:adservcie", ["flux-system:adservice"], "flux-system:adservice", id="policy"),
        pytest.param("imagepolicy", ["ImagePolicy"], "ImagePolicy", id="case"),
        pytest.param("HelmRelease", ["ImagePolicy", "GitRepository"], None, id="far"),
    ],
)
def test_closest(word: str, candidates: list[str], expected: str | None) -> None:
    assert names.closest(word, candidates) == expected


def test_mistyped_kind(write: WriteFile, policies: Path) -> None:
    path = write("p.yaml", POLICY.format(kind="ImagePolicyy", key="imageRepositoryRef"))
    with pytest.raises(ConfigError) as exc:
        config.load(policies)
    assert str(exc.value) == (
        f"{path} (document 1): kind: unknown kind 'ImagePolicyy' in image.toolkit.fluxcd.io "
        "(did you mean 'ImagePolicy'?)"
    )


def test_mistyped_group(write: WriteFile, policies: Path) -> None:
    write("p.yaml", POLICY.format(kind="ImagePolicy", key="imageRepositoryRef").replace(
        "image.toolkit.fluxcd.io", "image.toolkit.fluxcd.i0"))
    with pytest.raises(ConfigError, match=r"unknown API group 'image.toolkit.fluxcd.i0' for ImagePolicy "
                                          r"\(did you mean 'image.toolkit.fluxcd.io'\?\)"):
        config.load(policies)


def test_mistyped_key_is_reported_as_itself(write: WriteFile, policies: Path) -> None:
    path = write("p.yaml", POLICY.format(kind="ImagePolicy", key="imageRepositoryRf"))
    loaded, findings = config.inspect(policies, check_references=False)
    assert not loaded.image_policies
    [finding] = findings
    assert (finding.severity, finding.code, finding.file, finding.line) == ("error", "unknown-key", str(path), 5)
    assert finding.message == "spec.imageRepositoryRf: unknown key 'imageRepositoryRf' (did you mean " \
                              "'imageRepositoryRef'?)"


def test_unknown_key_close_to_nothing_is_a_warning(
    write: WriteFile, policies: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write("p.yaml", POLICY.format(kind="ImagePolicy", key="imageRepositoryRef") + "  colour: blue\n")
    loaded = config.load(policies, check_references=False)
    assert loaded.image_policies
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "spec.colour: unknown key 'colour': neither imagebot nor Flux reads it" in record.getMessage()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: a}\n"
                     "spec: {url: https://charts.example}\n", id="flux-helm-repository"),
        pytest.param("apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata: {name: a}\n",
                     id="flux-oci-repository"),
        pytest.param("apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: a}\n", id="argo-project"),
        pytest.param("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: a}\n", id="argo-rollout"),
        pytest.param("apiVersion: app.k8s.io/v1beta1\nkind: Application\nmetadata: {name: a}\n", id="k8s-app"),
    ],
)
def test_valid_neighbours_are_not_near_misses(write: WriteFile, policies: Path, text: str) -> None:
    write("other.yaml", text)
    loaded, findings = config.inspect(policies)
    assert findings == ()
    assert not loaded.applications


def test_full_flux_objects_have_no_findings(write: WriteFile, policies: Path) -> None:
    # every field of Flux's v1 API, including the ones imagebot does not read
    write("flux.yaml", """\
        apiVersion: image.toolkit.fluxcd.io/v1
        kind: ImageRepository
        metadata: {name: app, namespace: apps, labels: {a: b}, annotations: {x: y}}
        spec:
          image: ghcr.io/org/app
          interval: 5m
          timeout: 1m
          secretRef: {name: regcred}
          serviceAccountName: sa
          certSecretRef: {name: ca}
          proxySecretRef: {name: proxy}
          accessFrom: {namespaceSelectors: [{matchLabels: {a: b}}]}
          exclusionList: ['^.*\\.sig$']
          provider: generic
          insecure: false
          suspend: false
        ---
        apiVersion: image.toolkit.fluxcd.io/v1
        kind: ImagePolicy
        metadata: {name: app, namespace: apps}
        spec:
          imageRepositoryRef: {name: app, namespace: apps}
          filterTags: {pattern: '^v(?P<v>.*)$', extract: '$v'}
          policy: {semver: {range: '>=1.0.0'}}
          digestReflectionPolicy: Always
          interval: 10m
        ---
        apiVersion: image.toolkit.fluxcd.io/v1
        kind: ImageUpdateAutomation
        metadata: {name: app, namespace: apps}
        spec:
          interval: 30m
          sourceRef: {kind: GitRepository, name: app, namespace: apps}
          git:
            checkout: {ref: {branch: main}}
            commit:
              author: {name: bot, email: bot@example.com}
              signingKey: {secretRef: {name: gpg}}
              messageTemplate: 'x'
              messageTemplateValues: {env: prod}
            push: {branch: main, options: {ci.skip: ""}}
          update: {path: ./apps, strategy: Setters}
          policySelector: {matchLabels: {}}
          suspend: false
        ---
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: GitRepository
        metadata: {name: app, namespace: apps}
        spec:
          url: https://github.com/org/app
          interval: 1m
          timeout: 60s
          ref: {branch: main}
          secretRef: {name: auth}
          proxySecretRef: {name: proxy}
          verify: {mode: HEAD, secretRef: {name: keys}}
          ignore: "/*"
          recurseSubmodules: true
          include: [{repository: {name: other}, fromPath: a, toPath: b}]
          sparseCheckout: [apps/]
          suspend: false
        """)
    loaded, findings = config.inspect(policies)
    assert findings == ()
    assert len(loaded.automations) == 1


def test_key_lines() -> None:
    text = "# c\na: 1\nb:\n  c: [1, 2]\n  d:\n    - e: 3\n---\nf: {g: 4}\n"
    lines = yamldoc.key_lines(text)
    assert lines == {
        (1, ""): 2, (1, "a"): 2, (1, "b"): 3, (1, "b.c"): 4, (1, "b.d"): 5, (1, "b.d[0].e"): 6,
        (2, ""): 8, (2, "f"): 8, (2, "f.g"): 8,
    }
