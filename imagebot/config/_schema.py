"""The keys each kind may have, for near-miss detection of mistyped keys and kinds.

Flux's (and imagebot's) full key sets, including keys imagebot does not read, so a valid Flux
object never trips it: a key close to a known one (``imageRepositoryRf``) is an error naming the
key meant, any other unknown key a warning. Called by :mod:`imagebot.config._loader` before each
object is parsed, so a typo is reported as itself and not as "required key missing".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from imagebot import names

__all__ = ["IGNORED_KINDS", "KINDS", "KeyProblem", "check_keys"]

Schema = Mapping[str, "Schema | None"]
"""key → the schema of its value (a mapping, or each mapping of a list), ``None``: not checked."""

_NAME: Schema = {"name": None}
_REF: Schema = {"branch": None, "tag": None, "semver": None, "name": None, "commit": None}
_METADATA: Schema = dict.fromkeys((
    "name", "namespace", "labels", "annotations", "generateName", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers",
    "ownerReferences", "managedFields", "selfLink",
))


def _object(spec: Schema | None, **extra: Schema | None) -> Schema:
    return {"apiVersion": None, "kind": None, "metadata": _METADATA, "spec": spec, "status": None, **extra}


_IMAGE_REPOSITORY: Schema = {
    "image": None, "interval": None, "timeout": None, "secretRef": _NAME, "serviceAccountName": None,
    "certSecretRef": _NAME, "proxySecretRef": _NAME, "accessFrom": None, "suspend": None,
    "provider": None, "exclusionList": None, "insecure": None,
}
_IMAGE_POLICY: Schema = {
    "imageRepositoryRef": {"name": None, "namespace": None},
    "policy": {"semver": {"range": None}, "alphabetical": {"order": None}, "numerical": {"order": None}},
    "filterTags": {"pattern": None, "extract": None},
    "digestReflectionPolicy": None, "interval": None, "minAge": None,
}
_AUTOMATION: Schema = {
    "sourceRef": {"apiVersion": None, "kind": None, "name": None, "namespace": None},
    "git": {
        "checkout": {"ref": _REF},
        "commit": {
            "author": {"name": None, "email": None},
            "signingKey": {"secretRef": _NAME},
            "messageTemplate": None, "messageTemplateValues": None,
        },
        "push": {"branch": None, "refspec": None, "options": None},
    },
    "interval": None, "update": {"path": None, "strategy": None}, "suspend": None,
    "policySelector": {"matchLabels": None, "matchExpressions": None},
}
_GIT_REPOSITORY: Schema = {
    "url": None, "secretRef": _NAME, "provider": None, "interval": None, "timeout": None, "ref": _REF,
    "verify": {"mode": None, "secretRef": _NAME, "provider": None, "matchOIDCIdentity": None},
    "proxySecretRef": _NAME, "ignore": None, "suspend": None, "recurseSubmodules": None,
    "include": {"repository": _NAME, "fromPath": None, "toPath": None},
    "gitImplementation": None, "accessFrom": None, "sparseCheckout": None, "serviceAccountName": None,
}
_REGISTRY_SETTINGS: Schema = {
    "mirrors": None, "insecure": None, "maxConnectionsPerRegistry": None, "requestDeadline": None,
}
_PULL_REQUEST: Schema = {
    "base": None, "group": None, "labels": None, "reviewers": None, "teamReviewers": None,
    "draft": None, "autoMerge": None, "bodyTemplate": None,
    "forge": {"provider": None, "apiURL": None, "repository": None, "secretRef": _NAME},
}

_GIT_PATHS: Schema = {"path": None, "exclude": None}
_GENERATOR: dict[str, Schema | None] = {
    "list": {"elements": None, "elementsYaml": None, "template": None},
    "git": {
        "repoURL": None, "revision": None, "directories": _GIT_PATHS, "files": _GIT_PATHS, "values": None,
        "pathParamPrefix": None, "requeueAfterSeconds": None, "template": None,
    },
    # Argo CD generators imagebot does not run: known, so a typo of them is not one of "list"
    "clusters": None, "clusterDecisionResource": None, "pullRequest": None, "scmProvider": None,
    "plugin": None, "selector": None,
}
_GENERATOR["matrix"] = {"generators": _GENERATOR, "template": None}
_GENERATOR["merge"] = {"generators": _GENERATOR, "mergeKeys": None, "template": None}
_APPLICATION_SET: Schema = {
    "generators": _GENERATOR, "template": {"metadata": _METADATA, "spec": None},
    "templatePatch": None, "goTemplate": None, "goTemplateOptions": None,
    "syncPolicy": {"preserveResourcesOnDeletion": None, "applicationsSync": None},
    "strategy": None, "preservedFields": None, "ignoreApplicationDifferences": None,
}

KINDS: Mapping[str, Mapping[str, Schema]] = {
    "image.toolkit.fluxcd.io": {
        "ImageRepository": _object(_IMAGE_REPOSITORY),
        "ImagePolicy": _object(_IMAGE_POLICY),
        "ImageUpdateAutomation": _object(_AUTOMATION),
    },
    "source.toolkit.fluxcd.io": {"GitRepository": _object(_GIT_REPOSITORY)},
    # read by the sync stage: only its top level is checked here
    "kustomize.toolkit.fluxcd.io": {"Kustomization": _object(None)},
    "notification.toolkit.fluxcd.io": {
        "Receiver": _object(None), "Provider": _object(None), "Alert": _object(None),
    },
    # an Application's spec is large and read by the sync stage: only its top level is checked here
    "argoproj.io": {
        "Application": _object(None, operation=None), "ApplicationSet": _object(_APPLICATION_SET),
    },
    "imagebot.dev": {"RegistrySettings": _object(_REGISTRY_SETTINGS), "PullRequest": _object(_PULL_REQUEST)},
}
"""API group → the kinds imagebot reads → their keys."""

IGNORED_KINDS: Mapping[str, frozenset[str]] = {
    "source.toolkit.fluxcd.io": frozenset({"HelmRepository", "HelmChart", "OCIRepository", "Bucket"}),
    "argoproj.io": frozenset({
        "AppProject", "Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun",
        "Experiment", "Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow",
        "WorkflowEventBinding", "EventBus", "EventSource", "Sensor",
    }),
}
"""Other kinds of the same groups that imagebot skips: never taken for a mistyped kind."""


@dataclasses.dataclass(frozen=True, slots=True)
class KeyProblem:
    """An unknown key: ``path`` (``spec.imageRepositoryRf``), and the known key it is close to."""

    path: str
    key: str
    near: str | None

    @property
    def message(self) -> str:
        if self.near is not None:
            return f"unknown key {self.key!r} (did you mean {self.near!r}?)"
        return f"unknown key {self.key!r}: neither imagebot nor Flux reads it"


def check_keys(raw: Any, schema: Schema, path: str = "") -> list[KeyProblem]:
    """Every key of ``raw`` (recursively) that ``schema`` does not know."""
    problems: list[KeyProblem] = []
    if isinstance(raw, list):
        for index, item in enumerate(raw):
            problems += check_keys(item, schema, f"{path}[{index}]")
        return problems
    if not isinstance(raw, Mapping):
        return problems
    for key, value in raw.items():
        key_path = f"{path}.{key}" if path else str(key)
        if key not in schema:
            problems.append(KeyProblem(key_path, str(key), names.closest(str(key), schema)))
            continue
        sub = schema[key]
        if sub is not None:
            problems += check_keys(value, sub, key_path)
    return problems
