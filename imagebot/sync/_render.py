"""Render a sync unit's manifests at a checkout: plain directories or kustomize overlays.

:func:`render` returns the desired objects of one unit, validated (apiVersion, kind, name; no
duplicates), with namespaces defaulted and the unit's tracking id set. Every error is a
:class:`~imagebot.errors.RenderError` naming the unit and the file. Called by
:mod:`imagebot.sync._reconcile` and the ``sync --dry-run`` command.
"""

from __future__ import annotations

import base64
import dataclasses
import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from imagebot import yamldoc
from imagebot.errors import RenderError
from imagebot.model.cluster import ObjectRef, RenderedObject
from imagebot.sync import _hooks, _kustomize, _tracking
from imagebot.sync._units import SyncUnit

__all__ = ["Manifest", "Namespaced", "Render", "cluster_scoped_kinds", "render"]

Namespaced = Callable[[str, str], bool | None]
"""``(apiVersion, kind) -> namespaced?``; None when unknown (the built-in table decides)."""

_CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CustomResourceDefinition",
    "ClusterRole", "ClusterRoleBinding", "APIService", "PriorityClass", "IngressClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "CSIDriver", "CSINode",
    "RuntimeClass", "PodSecurityPolicy", "VolumeAttachment", "CertificateSigningRequest",
    "ComponentStatus", "FlowSchema", "PriorityLevelConfiguration", "ClusterIssuer",
})
_RBAC = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def cluster_scoped_kinds() -> frozenset[str]:
    return _CLUSTER_SCOPED


@dataclasses.dataclass(frozen=True, slots=True)
class Manifest:
    """One desired object: the body to apply and its reference/source/images."""

    body: Mapping[str, Any]
    info: RenderedObject

    @property
    def ref(self) -> ObjectRef:
        return self.info.ref


@dataclasses.dataclass(frozen=True, slots=True)
class Render:
    unit: SyncUnit
    manifests: tuple[Manifest, ...]
    """The objects applied, pruned when gone, compared by ``status`` — hooks are not among them."""
    hooks: tuple[Manifest, ...] = ()
    """Resource hooks (``argocd.argoproj.io/hook``): run in their phases, never pruned or compared.
    A hook with ``generateName`` has ``ref.name == ""`` until a sync names it."""
    skipped: tuple[ObjectRef, ...] = ()
    """Objects annotated ``hook: Skip``: never applied, and not pruned either."""

    @property
    def objects(self) -> tuple[RenderedObject, ...]:
        return tuple(m.info for m in self.manifests)


def render(
    unit: SyncUnit, root: Path, *, namespaced: Namespaced | None = None, allow_remote: bool = False,
) -> Render:
    """The desired objects of ``unit`` with its manifests at ``root`` (a checkout)."""
    base = (root / unit.path).resolve()
    if not base.is_relative_to(root.resolve()):
        raise RenderError(f"{unit.name}: path {unit.path!r} leaves the repository")
    if not base.is_dir():
        raise RenderError(f"{unit.name}: path {unit.path!r} is not a directory of {unit.repo_url}")
    documents = list(_documents(unit, root, base, allow_remote=allow_remote))
    scopes = _crd_scopes(documents)

    def is_namespaced(api_version: str, kind: str) -> bool:
        group = api_version.rpartition("/")[0]
        if (group, kind) in scopes:
            return scopes[(group, kind)]
        known = namespaced(api_version, kind) if namespaced is not None else None
        return known if known is not None else kind not in _CLUSTER_SCOPED

    manifests: dict[tuple[str, str, str, str], Manifest] = {}
    hooks: list[Manifest] = []
    skipped: list[ObjectRef] = []
    for where, doc in documents:
        manifest = _manifest(unit, where, doc, is_namespaced)
        if not manifest.ref.name:  # a generateName hook: a new object each sync, no clash possible
            hooks.append(manifest)
            continue
        clash = manifests.get(manifest.ref.key)
        if clash is not None:
            raise RenderError(
                f"{unit.name}: {where}: {manifest.ref} is also defined in {clash.info.source}"
            )
        manifests[manifest.ref.key] = manifest
    ordinary = []
    for manifest in manifests.values():
        if _hooks.is_skipped(manifest.body):
            skipped.append(manifest.ref)
        elif _hooks.phases(manifest.body):
            hooks.append(manifest)
        else:
            ordinary.append(manifest)
    return Render(unit, tuple(ordinary), hooks=tuple(hooks), skipped=tuple(skipped))


def _documents(unit: SyncUnit, root: Path, base: Path, *, allow_remote: bool) -> Iterator[tuple[str, Any]]:
    relative = base.relative_to(root.resolve()).as_posix()
    if unit.directory is None and any((base / name).is_file() for name in _kustomize.KUSTOMIZATION_FILES):
        try:
            text = _kustomize.build(base, overrides=unit.kustomize, allow_remote=allow_remote)
        except _kustomize.KustomizeFailed as exc:
            message = str(exc).replace(f"{root.resolve()}/", "")
            raise RenderError(f"{unit.name}: {relative}: kustomize: {message}") from None
        yield from _parse(unit, f"{relative} (kustomize)", text)
        return
    if unit.kustomize is not None and unit.kind == "Application":
        raise RenderError(f"{unit.name}: {relative}: spec.source.kustomize is set but there is no "
                          "kustomization.yaml in the directory")
    # Flux builds a kustomization of every manifest below the path when there is none
    recurse = unit.kind == "Kustomization" or (unit.directory is not None and unit.directory.recurse)
    for file in _files(base, recurse=recurse):
        rel = file.relative_to(base).as_posix()
        if unit.directory is not None and not _selected(rel, unit.directory.include, unit.directory.exclude):
            continue
        where = file.relative_to(root.resolve()).as_posix()
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise RenderError(f"{unit.name}: {where}: cannot read: {exc}") from None
        if file.suffix == ".json":
            try:
                yield from _expand(unit, where, [json.loads(text)])
            except json.JSONDecodeError as exc:
                message = f"invalid JSON at line {exc.lineno}: {exc.msg}"
                raise RenderError(f"{unit.name}: {where}: {message}") from None
            continue
        yield from _parse(unit, where, text)


def _files(base: Path, *, recurse: bool) -> list[Path]:
    found = base.rglob("*") if recurse else base.iterdir()
    return sorted(
        p for p in found
        if p.is_file() and p.suffix in _MANIFEST_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(base).parts)
        and p.name not in _kustomize.KUSTOMIZATION_FILES
    )


def _braces(pattern: str) -> list[str]:
    if pattern.startswith("{") and pattern.endswith("}"):
        return [p.strip() for p in pattern[1:-1].split(",") if p.strip()]
    return [pattern] if pattern else []


def _selected(relative: str, include: str, exclude: str) -> bool:
    def matches(pattern: str) -> bool:
        path = PurePosixPath(relative)
        return fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(path.name, pattern)

    includes, excludes = _braces(include), _braces(exclude)
    if includes and not any(matches(p) for p in includes):
        return False
    return not any(matches(p) for p in excludes)


def _parse(unit: SyncUnit, where: str, text: str) -> Iterator[tuple[str, Any]]:
    try:
        docs = yamldoc.load_all_plain(text)
    except yamldoc.YAMLSyntaxError as exc:
        raise RenderError(f"{unit.name}: {where}: invalid YAML at {exc}") from None
    yield from _expand(unit, where, docs, numbered=len(docs) > 1)


def _expand(
    unit: SyncUnit, where: str, docs: list[Any], *, numbered: bool = False,
) -> Iterator[tuple[str, Any]]:
    for index, doc in enumerate(docs, 1):
        label = f"{where} (document {index})" if numbered else where
        if doc is None:
            continue
        if isinstance(doc, Mapping) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
            items = doc.get("items") or []
            if not isinstance(items, list):
                raise RenderError(f"{unit.name}: {label}: items: expected a list")
            yield from ((f"{label} items[{i}]", item) for i, item in enumerate(items))
            continue
        yield label, doc


def _crd_scopes(documents: list[tuple[str, Any]]) -> dict[tuple[str, str], bool]:
    scopes: dict[tuple[str, str], bool] = {}
    for _, doc in documents:
        if isinstance(doc, Mapping) and doc.get("kind") == "CustomResourceDefinition":
            spec = doc.get("spec") or {}
            names = spec.get("names") or {} if isinstance(spec, Mapping) else {}
            if isinstance(spec, Mapping) and isinstance(names, Mapping) and names.get("kind"):
                scopes[(str(spec.get("group", "")), str(names["kind"]))] = spec.get("scope") != "Cluster"
    return scopes


def _manifest(unit: SyncUnit, where: str, doc: Any, namespaced: Callable[[str, str], bool]) -> Manifest:
    def fail(message: str) -> RenderError:
        return RenderError(f"{unit.name}: {where}: {message}")

    if not isinstance(doc, Mapping):
        raise fail(f"expected a Kubernetes object (a mapping), got {type(doc).__name__}")
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not api_version:
        raise fail("apiVersion is required")
    if not isinstance(kind, str) or not kind:
        raise fail("kind is required")
    metadata = doc.get("metadata")
    if not isinstance(metadata, Mapping):
        raise fail(f"{kind}: metadata is required")
    name = metadata.get("name")
    generate = metadata.get("generateName")
    if (not isinstance(name, str) or not name) and isinstance(generate, str) and generate \
            and _hooks.phases(doc):
        name = ""  # a hook may have generateName (Argo CD names it per sync)
        if not _DNS_NAME.match(f"{generate}x"):
            raise fail(f"{kind}: metadata.generateName must be lower case letters, digits, '-' and '.'")
    elif not isinstance(name, str) or not name:
        hint = " (generateName is allowed for hooks only: a sync needs a stable name)" if generate else ""
        raise fail(f"{kind}: metadata.name is required{hint}")
    elif not _DNS_NAME.match(name) and kind not in _RBAC:
        raise fail(f"{kind} {name!r}: metadata.name must be lower case letters, digits, '-' and '.'")
    body = json.loads(json.dumps(doc))  # a private deep copy, with JSON's number/encoding rules
    _default_protocols(body)
    if kind == "Secret" and api_version == "v1" and isinstance(body.get("stringData"), Mapping):
        # the apiserver stores stringData as data; applying stringData would change the object on
        # every sync (Flux folds it the same way)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        for key, value in body.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        body["data"] = data
    meta = body["metadata"]
    if namespaced(api_version, kind):
        namespace = meta.get("namespace")
        if unit.override_namespace or not namespace:
            namespace = unit.namespace or namespace or "default"
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
        namespace = ""
    ref = ObjectRef(api_version, kind, namespace, name)
    annotations = meta.get("annotations")
    if annotations is not None and not isinstance(annotations, Mapping):
        raise fail(f"{ref}: metadata.annotations: expected a mapping")
    meta["annotations"] = {**(annotations or {}), _tracking.ANNOTATION: _tracking.tracking_id(unit, ref)}
    try:
        wave = int(str((annotations or {}).get(_tracking.SYNC_WAVE, "0")).strip() or "0")
    except ValueError:
        raise fail(f"{ref}: annotation {_tracking.SYNC_WAVE} must be an integer") from None
    if _hooks.phases(body):
        helm_weight = _hooks.wave(body)
        wave = wave if helm_weight is None else helm_weight
    return Manifest(body, RenderedObject(ref=ref, source=where, images=tuple(_images(body)), wave=wave))


def _default_protocols(node: Any) -> None:
    """``protocol: TCP`` on ports that omit it: the API server defaults it anyway, but
    kube-apiserver before 1.21 refuses a server-side apply of a list whose key field is missing
    (kubernetes/kubernetes#98576)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ports" and isinstance(value, list):
                for port in value:
                    if isinstance(port, dict) and ("port" in port or "containerPort" in port):
                        port.setdefault("protocol", "TCP")
            _default_protocols(value)
    elif isinstance(node, list):
        for item in node:
            _default_protocols(item)


def _images(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                yield from (str(c["image"]) for c in value if isinstance(c, Mapping) and c.get("image"))
            elif isinstance(value, Mapping | list):
                yield from _images(value)
    elif isinstance(node, list):
        for item in node:
            yield from _images(item)
