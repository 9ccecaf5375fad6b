"""The fields the sync stage reads: Application sources/destination/policy and Flux Kustomizations.

Aspects under test:
* directory and kustomize sources, destination name, allowEmpty, retry, ignoreDifferences;
* kustomize image strings in Argo's ``[old=]new[:tag][@digest]`` form;
* Flux Kustomization fields, dependsOn defaults to the own namespace;
* invalid values name the key path.
"""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Callable

import pytest

from imagebot import config
from imagebot.errors import ConfigError
from imagebot.model import argo, flux
from imagebot.model.ids import ObjectKey

Load = Callable[[str], config.Config]

_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop, namespace: argocd}
spec:
  source:
    repoURL: https://git.example/fleet
    path: apps/shop
    targetRevision: main
%s
  destination: {name: staging, namespace: shop}
  syncPolicy:
    automated: {prune: true, allowEmpty: true}
    syncOptions: [CreateNamespace=true, PruneLast=true]
    retry: {limit: 4, backoff: {duration: 2s, factor: 3, maxDuration: 1m}}
  ignoreDifferences:
    - group: apps
      kind: Deployment
      jsonPointers: [/spec/replicas]
      managedFieldsManagers: [kube-controller-manager]
    - kind: ConfigMap
      name: settings
      jqPathExpressions: ['.data.generated']
"""


def test_application_sync_fields(load_yaml: Load) -> None:
    kustomize = textwrap.indent(textwrap.dedent("""\
        kustomize:
          namePrefix: a-
          nameSuffix: -z
          namespace: shop
          commonLabels: {team: web}
          images: [ghcr.io/org/web:1.2.3, old/name=ghcr.io/org/api@sha256:abc, localhost:5000/x:7]
    """), "    ")
    [app] = load_yaml(_APP % kustomize).applications.values()
    assert app.source.kustomize == argo.KustomizeSource(
        images=(
            argo.KustomizeImage(name="ghcr.io/org/web", new_tag="1.2.3"),
            argo.KustomizeImage(name="old/name", new_name="ghcr.io/org/api", digest="sha256:abc"),
            argo.KustomizeImage(name="localhost:5000/x", new_tag="7"),
        ),
        name_prefix="a-", name_suffix="-z", namespace="shop", common_labels={"team": "web"},
    )
    assert app.destination_name == "staging"
    assert app.destination_namespace == "shop"
    assert app.sync_policy.allow_empty and app.sync_policy.prune and not app.sync_policy.self_heal
    assert app.sync_policy.option("PruneLast") == "true"
    assert app.sync_policy.retry == argo.RetryPolicy(
        limit=4, duration=datetime.timedelta(seconds=2), factor=3.0, max_duration=datetime.timedelta(minutes=1)
    )
    assert app.ignore_differences == (
        argo.IgnoreDifference(kind="Deployment", group="apps", json_pointers=("/spec/replicas",),
                              managed_fields_managers=("kube-controller-manager",)),
        argo.IgnoreDifference(kind="ConfigMap", name="settings", jq_path_expressions=(".data.generated",)),
    )


@pytest.mark.parametrize(("retry", "expected"), [
    # Argo CD's RetryStrategy.limit has no default: a retry block without it retries nothing
    pytest.param("retry: {backoff: {duration: 10s}}", argo.RetryPolicy(limit=0, duration=datetime.timedelta(seconds=10)),
                 id="no-limit-is-no-retry"),
    pytest.param("retry: {limit: -1}", argo.RetryPolicy(limit=-1), id="negative-is-unlimited"),
    pytest.param("retry: {}", argo.RetryPolicy(limit=0), id="empty"),
])
def test_retry_defaults_follow_argo_cd(load_yaml: Load, retry: str, expected: argo.RetryPolicy) -> None:
    text = _APP.replace("retry: {limit: 4, backoff: {duration: 2s, factor: 3, maxDuration: 1m}}", retry) % ""
    [app] = load_yaml(text).applications.values()
    assert app.sync_policy.retry == expected
    assert expected.factor == 2.0 and expected.max_duration == datetime.timedelta(minutes=3)  # Argo's defaults


def test_directory_source(load_yaml: Load) -> None:
    directory = "    directory: {recurse: true, include: '{*.yaml,*.json}', exclude: 'test-*'}"
    [app] = load_yaml(_APP % directory).applications.values()
    assert app.source.directory == argo.DirectorySource(recurse=True, include="{*.yaml,*.json}", exclude="test-*")
    assert app.source.kustomize is None


@pytest.mark.parametrize(("extra", "message"), [
    pytest.param("    kustomize: {images: ['=']}", "spec.source.kustomize.images[0]: '=': expected", id="image"),
    pytest.param("    directory: {recurse: maybe}", "spec.source.directory.recurse: expected true or false",
                 id="recurse"),
])
def test_invalid_source_fields_name_the_key(load_yaml: Load, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_yaml(_APP % extra)


def test_bad_json_pointer_names_the_rule(load_yaml: Load) -> None:
    text = (_APP % "").replace("jsonPointers: [/spec/replicas]", "jsonPointers: [spec.replicas]")
    with pytest.raises(ConfigError, match=r"ignoreDifferences\[0\]\.jsonPointers: 'spec.replicas' is not a JSON"):
        load_yaml(text)


def test_flux_kustomization(load_yaml: Load) -> None:
    cfg = load_yaml("""\
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata: {name: apps, namespace: flux-system}
        spec:
          interval: 10m
          sourceRef: {kind: GitRepository, name: fleet}
          path: ./apps
          prune: true
          targetNamespace: shop
          wait: true
          timeout: 2m
          images:
            - {name: ghcr.io/org/web, newTag: 1.2.3}
          healthChecks:
            - {apiVersion: apps/v1, kind: Deployment, name: web, namespace: shop}
          dependsOn:
            - name: infra
        """)
    [ks] = cfg.kustomizations.values()
    assert ks == flux.Kustomization(
        key=ObjectKey("flux-system", "apps"), source=ObjectKey("flux-system", "fleet"), path="./apps",
        prune=True, target_namespace="shop",
        images=(flux.KustomizeImageSpec(name="ghcr.io/org/web", new_tag="1.2.3"),),
        health_checks=(flux.HealthCheckRef("apps/v1", "Deployment", "web", "shop"),),
        wait=True, timeout=datetime.timedelta(minutes=2), depends_on=(ObjectKey("flux-system", "infra"),),
        interval=datetime.timedelta(minutes=10), source_file=ks.source_file,
    )


def test_flux_kustomization_needs_a_git_repository_source(load_yaml: Load) -> None:
    with pytest.raises(ConfigError, match=r"spec.sourceRef.kind: only GitRepository is supported"):
        load_yaml("""\
            apiVersion: kustomize.toolkit.fluxcd.io/v1
            kind: Kustomization
            metadata: {name: apps}
            spec: {sourceRef: {kind: OCIRepository, name: x}, path: ./}
            """)
