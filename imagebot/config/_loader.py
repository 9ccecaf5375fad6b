"""Load a ``policies/`` directory (or one file) into a validated, frozen :class:`Config`.

Reads every ``*.yaml``/``*.yml`` file (sorted, recursively, hidden files skipped), dispatches each
document on ``apiVersion``/``kind``, ignores unknown kinds with a debug line (a near miss of a
known kind, or of a known key, is an error naming the one meant), and checks references between
objects. :func:`inspect` reports every problem as a ``Finding``; :func:`load` stops at the first.
Called by the CLI commands; stages receive the parsed model types.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from imagebot import names, yamldoc
from imagebot.config import _appset, _argo, _flux, _imagebot, _notification, _schema
from imagebot.config._fields import Fields
from imagebot.errors import ConfigError
from imagebot.model import argo, flux, ids, notification
from imagebot.model.findings import Finding, Severity
from imagebot.model.pullrequests import PullRequestConfig
from imagebot.model.registries import RegistrySettings

__all__ = ["Config", "inspect", "load", "load_documents", "locate", "located", "origin"]

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
    unloaded: Mapping[tuple[str, ids.ObjectKey], Mapping[str, str]] = dataclasses.field(default_factory=dict)
    """Objects left out because they have errors (:func:`inspect`): (kind meant, key) → labels, so
    what refers to them is not reported a second time."""


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
    ("argoproj.io", "ApplicationSet"): _appset.parse_application_set,
    ("imagebot.dev", "PullRequest"): _imagebot.parse_pull_request,
    (_NOTIFICATION_GROUP, "Receiver"): _notification.parse_receiver,
    (_NOTIFICATION_GROUP, "Provider"): _notification.parse_provider,
    (_NOTIFICATION_GROUP, "Alert"): _notification.parse_alert,
}
_WHERE = re.compile(r"(?P<file>.*) \(document (?P<document>[0-9]+)\)")


def load(path: Path | str, *, check_references: bool = True) -> Config:
    """Load and validate the configuration at ``path`` (a directory or one file).

    Raises ``ConfigError`` for the first error :func:`inspect` finds (a mistyped kind or key, an
    invalid field, a policy naming a missing ImageRepository); warnings are logged.
    ``check_references=False`` accepts an ImagePolicy whose ImageRepository is not in ``path``
    (``imagebot policy test`` evaluates a policy file on its own).
    """
    loaded, findings = inspect(path, check_references=check_references)
    for finding in findings:
        if finding.severity == "error":
            raise ConfigError(located(finding))
        logger.warning("%s", located(finding))
    return loaded


def located(finding: Finding) -> str:
    """``finding`` as one line with its file and document, as ConfigError messages read."""
    if finding.document:
        return f"{finding.file} (document {finding.document}): {finding.message}"
    return f"{finding.file}: {finding.message}" if finding.file else finding.message


def origin(where: str) -> tuple[str, int]:
    """``(file, document)`` of an object's ``source`` (``"policies/a.yaml (document 2)"``)."""
    match = _WHERE.fullmatch(where)
    return (match["file"], int(match["document"])) if match else (where, 0)


def inspect(path: Path | str, *, check_references: bool = True) -> tuple[Config, tuple[Finding, ...]]:
    """Load what can be loaded at ``path`` and report every problem instead of stopping at one.

    Each document is checked for near-miss kinds and keys (``ImagePolicyy``, ``imageRepositoryRf``
    name the kind or key meant), then parsed; a document with an error is left out of the
    ``Config``. Then references between objects: an ImagePolicy's ImageRepository (error), an
    automation's GitRepository (warning: ``run`` needs ``--repo``) and an automation whose
    ``policySelector`` selects no ImagePolicy (warning). Raises ``ConfigError`` only when ``path``
    holds no YAML at all.
    """
    path = Path(path)
    objects: dict[str, dict[ids.ObjectKey, Any]] = {kind: {} for _, kind in _PARSERS}
    defined_in: dict[tuple[str, ids.ObjectKey], str] = {}
    registries = RegistrySettings()
    files = _yaml_files(path)
    findings: list[Finding] = []
    unloaded: dict[tuple[str, ids.ObjectKey], Mapping[str, str]] = {}
    for file in files:
        file_findings: list[Finding] = []
        try:
            documents = _documents(file)
        except _Unreadable as exc:
            findings.append(Finding("error", exc.code, exc.message, file=str(file), line=exc.line))
            continue
        for number, raw in documents:
            where = f"{file} (document {number})"
            found = _Collector(file_findings, str(file), number)

            try:
                doc = Fields(raw, where)
                group, kind = _classify(doc, found)
                if (group, kind) == ("imagebot.dev", "RegistrySettings"):
                    _check_version(doc, group, version=doc.string("apiVersion").rpartition("/")[2])
                    registries = _imagebot.parse_registry_settings(doc, registries)
                    continue
                if (group, kind) not in _PARSERS:
                    continue
                _check_version(doc, group, version=doc.string("apiVersion").rpartition("/")[2])
                obj = _PARSERS[(group, kind)](doc)
            except _Skip:
                unloaded.update(_unloaded(raw))
                continue
            except ConfigError as exc:
                text = str(exc).removeprefix(f"{where}: ")
                found("error", "invalid", text, exc.key_path or "")
                unloaded.update(_unloaded(raw))
                continue
            if (kind, obj.key) in defined_in:
                first = defined_in[(kind, obj.key)]
                found("error", "duplicate", f"{kind} {obj.key} is also defined in {first}", "metadata.name")
                continue
            defined_in[(kind, obj.key)] = where
            objects[kind][obj.key] = obj
            if kind == "ImageUpdateAutomation" and _uses_updated(obj):
                found("warning", "deprecated", _DEPRECATED_UPDATED, "spec.git.commit.messageTemplate")
        findings += _with_lines(file, file_findings)
    if check_references:
        findings += _references(path, objects, unloaded)
    loaded = Config(
        image_repositories=objects["ImageRepository"],
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
        unloaded=unloaded,
    )
    return loaded, tuple(findings)


def _unloaded(raw: object) -> dict[tuple[str, ids.ObjectKey], Mapping[str, str]]:
    # best effort: the kind meant (a near miss counts as the kind it is near) and the name
    if not isinstance(raw, Mapping):
        return {}
    kind, meta = str(raw.get("kind", "")), raw.get("metadata")
    kinds = {k for known in _schema.KINDS.values() for k in known}
    kind = kind if kind in kinds else names.closest(kind, kinds) or kind
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        return {}
    namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else _flux.DEFAULT_NAMESPACE
    labels = meta.get("labels")
    labels = labels if isinstance(labels, Mapping) else {}
    key = ids.ObjectKey(str(namespace), meta["name"])
    return {(kind, key): {str(k): str(v) for k, v in labels.items()}}


@dataclasses.dataclass(frozen=True, slots=True)
class _Collector:
    """Adds findings about one document to ``out``."""

    out: list[Finding]
    file: str
    document: int

    def __call__(self, severity: Severity, code: str, message: str, key_path: str = "") -> None:
        self.out.append(Finding(severity, code, message, file=self.file, document=self.document,
                                key_path=key_path))


def _classify(doc: Fields, found: _Collector) -> tuple[str, str]:
    """``(group, kind)`` of a document, after checking its kind and keys for near misses."""
    api_version, kind = doc.string("apiVersion", ""), doc.string("kind", "")
    group = api_version.rpartition("/")[0]
    known = _schema.KINDS.get(group)
    if known is not None and kind in known:
        errors = 0
        for problem in _schema.check_keys(doc.mapping(), known[kind]):
            errors += problem.near is not None
            found("error" if problem.near else "warning", "unknown-key", f"{problem.path}: {problem.message}",
                  problem.path)
        if errors:
            raise _Skip  # parsing would report the mistyped key as a required key missing
        return group, kind
    if known is not None:
        near = names.closest(kind, known)
        if near is not None and kind not in _schema.IGNORED_KINDS.get(group, ()):
            found("error", "unknown-kind", f"kind: unknown kind {kind!r} in {group} (did you mean {near!r}?)",
                  "kind")
            raise _Skip
    elif group and any(kind in kinds for kinds in _schema.KINDS.values()):
        near = names.closest(group, _schema.KINDS)
        if near is not None:
            message = f"apiVersion: unknown API group {group!r} for {kind} (did you mean {near!r}?)"
            found("error", "unknown-kind", message, "apiVersion")
            raise _Skip
    logger.debug("%s: ignoring %s %s", doc.where, api_version or "(no apiVersion)", kind)
    return group, kind


_DEPRECATED_UPDATED = (
    "spec.git.commit.messageTemplate uses '.Updated' (deprecated): Flux v1beta1's data model, which "
    "v1beta2 and v1 removed; imagebot provides it for this v1beta1 object, and '.Changed' works in every "
    "version"
)


def _uses_updated(automation: flux.ImageUpdateAutomation) -> bool:
    template = automation.commit.message_template or ""
    return automation.api_version.endswith("/v1beta1") and re.search(r"\.Updated\b", template) is not None


class _Skip(Exception):
    """A document already reported (near-miss kind or key): not parsed, not loaded."""


class _Unreadable(Exception):
    def __init__(self, code: str, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.code, self.message, self.line = code, message, line


def _documents(file: Path) -> list[tuple[int, Any]]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Unreadable("unreadable", f"cannot read: {exc}") from None
    try:
        docs = yamldoc.load_all_plain(text)
    except yamldoc.YAMLSyntaxError as exc:
        raise _Unreadable("yaml", f"invalid YAML at {exc}", exc.line) from None
    # numbered before dropping empty documents, so "document N" matches what a reader counts
    return [(i, doc) for i, doc in enumerate(docs, 1) if doc is not None]


def _with_lines(file: Path, findings: list[Finding]) -> list[Finding]:
    if not findings:
        return findings
    try:
        lines = yamldoc.key_lines(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yamldoc.YAMLSyntaxError):
        return findings
    return [dataclasses.replace(f, line=line_of(lines, f.document, f.key_path)) for f in findings]


def line_of(lines: Mapping[tuple[int, str], int], document: int, key_path: str) -> int:
    """The line of ``key_path`` in ``document``, or of its closest written parent (a missing key)."""
    path = key_path
    while path:
        if (document, path) in lines:
            return lines[(document, path)]
        path = re.sub(r"(\.[^.\[]*|\[[0-9]+\])$", "", path) if re.search(r"[.\[]", path) else ""
    return lines.get((document, ""), 0)


def locate(where: str, key_path: str) -> tuple[str, int]:
    """``(file, line)`` of ``key_path`` in the object read from ``where`` (an object's ``source``)."""
    file, document = origin(where)
    try:
        lines = yamldoc.key_lines(Path(file).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yamldoc.YAMLSyntaxError):
        return file, 0
    return file, line_of(lines, document, key_path)


def _reference(severity: Severity, code: str, where: str, message: str, key_path: str) -> Finding:
    file, line = locate(where, key_path)
    _, document = origin(where)
    return Finding(severity, code, message, file=file, line=line, document=document, key_path=key_path)


def _references(
    path: Path, objects: Mapping[str, Mapping[ids.ObjectKey, Any]],
    unloaded: Mapping[tuple[str, ids.ObjectKey], Mapping[str, str]],
) -> list[Finding]:
    findings: list[Finding] = []
    repositories, policies = objects["ImageRepository"], objects["ImagePolicy"]
    broken_policies = [
        flux.ImagePolicy(key=key, repository=key, choice=flux.SemverChoice("*"), labels=labels)
        for (kind, key), labels in unloaded.items() if kind == "ImagePolicy"
    ]
    for policy in policies.values():
        if policy.repository not in repositories and ("ImageRepository", policy.repository) not in unloaded:
            near = names.did_you_mean(str(policy.repository), [str(k) for k in repositories])
            findings.append(_reference(
                "error", "missing-repository", policy.source,
                f"ImagePolicy {policy.key}: spec.imageRepositoryRef: ImageRepository {policy.repository} "
                f"not found in {path}{near}", "spec.imageRepositoryRef.name",
            ))
    for automation in objects["ImageUpdateAutomation"].values():
        if not any(automation.selects(p) for p in [*policies.values(), *broken_policies]):
            selector = ", ".join(f"{k}={v}" for k, v in sorted(automation.policy_selector.items()))
            # a warning: the automation does nothing, which may be on purpose (policies to come)
            findings.append(_reference(
                "warning", "selects-nothing", automation.source_file,
                f"ImageUpdateAutomation {automation.key}: spec.policySelector "
                f"{'{' + selector + '}' if selector else '(empty)'} selects no ImagePolicy in namespace "
                f"{automation.key.namespace}", "spec.policySelector" if selector else "spec",
            ))
        if automation.source not in objects["GitRepository"] and \
                ("GitRepository", automation.source) not in unloaded:
            findings.append(_reference(
                "warning", "missing-source", automation.source_file,
                f"ImageUpdateAutomation {automation.key}: spec.sourceRef: GitRepository {automation.source} "
                f"not found in {path} ('imagebot run' needs --repo)", "spec.sourceRef.name",
            ))
    return findings


def _check_version(doc: Fields, group: str, *, version: str) -> None:
    if version not in _VERSIONS[group]:
        supported = ", ".join(f"{group}/{v}" for v in _VERSIONS[group])
        raise doc.error("apiVersion", f"unsupported {group}/{version}; supported: {supported}")
