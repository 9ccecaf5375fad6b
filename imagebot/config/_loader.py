"""Load a ``policies/`` directory (or one file) into a validated, frozen :class:`Config`.

Reads every ``*.yaml``/``*.yml`` file (sorted, recursively, hidden files skipped), dispatches each
document on ``apiVersion``/``kind``, ignores unknown kinds with a debug line, and checks
references between objects. Called by the CLI commands; stages receive the parsed model types.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from imagebot import yamldoc
from imagebot.config import _argo, _flux, _imagebot, _notification
from imagebot.config._fields import Fields
from imagebot.errors import ConfigError
from imagebot.model import argo, flux, ids, notification
from imagebot.model.pullrequests import PullRequestConfig
from imagebot.model.registries import RegistrySettings

__all__ = ["Config", "load", "load_documents"]

logger = logging.getLogger("imagebot.config")

_IMAGE_GROUP = "image.toolkit.fluxcd.io"
_SOURCE_GROUP = "source.toolkit.fluxcd.io"
_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
_NOTIFICATION_GROUP = "notification.toolkit.fluxcd.io"
_VERSIONS = {
    _KUSTOMIZE_GROUP: ("v1", "v1beta2"),
    _IMAGE_GROUP: ("v1", "v1beta2", "v1beta1"),
    _SOURCE_GROUP: ("v1", "v1beta2", "v1beta1"),
    "argoproj.io": ("v1alpha1",),
    "imagebot.dev": ("v1alpha1",),
    _NOTIFICATION_GROUP: ("v1", "v1beta3", "v1beta2"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """Everything imagebot read from the configuration, keyed by namespaced name."""

    image_repositories: Mapping[ids.ObjectKey, flux.ImageRepository]
    image_policies: Mapping[ids.ObjectKey, flux.ImagePolicy]
    automations: Mapping[ids.ObjectKey, flux.ImageUpdateAutomation]
    git_repositories: Mapping[ids.ObjectKey, flux.GitRepository]
    applications: Mapping[ids.ObjectKey, argo.Application]
    application_sets: Mapping[ids.ObjectKey, argo.ApplicationSet]
    registries: RegistrySettings
    files: tuple[Path, ...]
    pull_requests: Mapping[ids.ObjectKey, PullRequestConfig] = dataclasses.field(default_factory=dict)
    """``PullRequest`` objects, keyed like the ImageUpdateAutomation they configure."""
    kustomizations: Mapping[ids.ObjectKey, flux.Kustomization] = dataclasses.field(default_factory=dict)
    receivers: Mapping[ids.ObjectKey, notification.Receiver] = dataclasses.field(default_factory=dict)
    """Flux ``Receiver`` objects: webhooks ``imagebot serve`` accepts."""
    providers: Mapping[ids.ObjectKey, notification.Provider] = dataclasses.field(default_factory=dict)
    alerts: Mapping[ids.ObjectKey, notification.Alert] = dataclasses.field(default_factory=dict)
    """Flux ``Alert`` objects: which events ``imagebot serve`` posts to which ``Provider``."""
    """Flux ``Kustomization`` objects (sync units, like Applications)."""


def _yaml_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ConfigError(f"{path}: no such file or directory (pass --config DIR)")
    files = [
        p for p in sorted(path.rglob("*"))
        if p.suffix in (".yaml", ".yml") and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    ]
    if not files:
        raise ConfigError(f"{path}: no .yaml files found")
    return files


def load_documents(path: Path, files: list[Path] | None = None) -> list[tuple[str, Any]]:
    """Every document of every YAML file under ``path`` (or of ``files``) as ``(where, data)``."""
    documents: list[tuple[str, Any]] = []
    for file in _yaml_files(path) if files is None else files:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: cannot read: {exc}") from None
        try:
            docs = yamldoc.load_all_plain(text)
        except yamldoc.YAMLSyntaxError as exc:
            raise ConfigError(f"{file}: invalid YAML at {exc}") from None
        # numbered before dropping empty documents, so "document N" matches what a reader counts
        documents.extend(
            (f"{file} (document {i})", doc) for i, doc in enumerate(docs, 1) if doc is not None
        )
    return documents


_PARSERS: dict[tuple[str, str], Callable[[Fields], Any]] = {
    (_IMAGE_GROUP, "ImageRepository"): _flux.parse_image_repository,
    (_IMAGE_GROUP, "ImagePolicy"): _flux.parse_image_policy,
    (_IMAGE_GROUP, "ImageUpdateAutomation"): _flux.parse_image_update_automation,
    (_SOURCE_GROUP, "GitRepository"): _flux.parse_git_repository,
    (_KUSTOMIZE_GROUP, "Kustomization"): _flux.parse_kustomization,
    ("argoproj.io", "Application"): _argo.parse_application,
    ("argoproj.io", "ApplicationSet"): _argo.parse_application_set,
    ("imagebot.dev", "PullRequest"): _imagebot.parse_pull_request,
    (_NOTIFICATION_GROUP, "Receiver"): _notification.parse_receiver,
    (_NOTIFICATION_GROUP, "Provider"): _notification.parse_provider,
    (_NOTIFICATION_GROUP, "Alert"): _notification.parse_alert,
}


def load(path: Path | str, *, check_references: bool = True) -> Config:
    """Load and validate the configuration at ``path`` (a directory or one file).

    ``check_references=False`` accepts an ImagePolicy whose ImageRepository is not in ``path``
    (``imagebot policy test`` evaluates a policy file on its own).
    """
    path = Path(path)
    objects: dict[str, dict[ids.ObjectKey, Any]] = {kind: {} for _, kind in _PARSERS}
    defined_in: dict[tuple[str, ids.ObjectKey], str] = {}
    registries = RegistrySettings()
    files = _yaml_files(path)
    for where, raw in load_documents(path, files):
        doc = Fields(raw, where)
        api_version, kind = doc.string("apiVersion", ""), doc.string("kind", "")
        group, _, version = api_version.rpartition("/")
        if group == "imagebot.dev" and kind == "RegistrySettings":
            _check_version(doc, group, version)
            registries = _imagebot.parse_registry_settings(doc, registries)
            continue
        parser = _PARSERS.get((group, kind))
        if parser is None:
            logger.debug("%s: ignoring %s %s", where, api_version or "(no apiVersion)", kind)
            continue
        _check_version(doc, group, version)
        obj = parser(doc)
        if (kind, obj.key) in defined_in:
            raise ConfigError(f"{where}: {kind} {obj.key} is also defined in {defined_in[(kind, obj.key)]}")
        defined_in[(kind, obj.key)] = where
        objects[kind][obj.key] = obj
    repos = objects["ImageRepository"]
    for policy in objects["ImagePolicy"].values() if check_references else ():
        if policy.repository not in repos:
            raise ConfigError(
                f"{policy.source}: ImagePolicy {policy.key}: spec.imageRepositoryRef: "
                f"ImageRepository {policy.repository} not found in {path}"
            )
    return Config(
        image_repositories=repos,
        image_policies=objects["ImagePolicy"],
        automations=objects["ImageUpdateAutomation"],
        git_repositories=objects["GitRepository"],
        applications=objects["Application"],
        application_sets=objects["ApplicationSet"],
        registries=registries,
        files=tuple(files),
        pull_requests=objects["PullRequest"],
        kustomizations=objects["Kustomization"],
        receivers=objects["Receiver"],
        providers=objects["Provider"],
        alerts=objects["Alert"],
    )


def _check_version(doc: Fields, group: str, version: str) -> None:
    if version not in _VERSIONS[group]:
        supported = ", ".join(f"{group}/{v}" for v in _VERSIONS[group])
        raise doc.error("apiVersion", f"unsupported {group}/{version}; supported: {supported}")
