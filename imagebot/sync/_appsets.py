"""The Applications each ApplicationSet generates, as Argo CD's ApplicationSet controller makes them.

For each generator (in order): its parameter sets (:mod:`._generators`), then for each set the
template (the generator's own ``template`` completed by the ApplicationSet's) rendered
(:mod:`._templates`), put in the ApplicationSet's namespace, patched by ``templatePatch``, and
read as an Application by the ``parse`` function the caller gives (the configuration's own
Application rules). Applications remember the ApplicationSet that made them.

A failure (a bad glob, a missing key under ``missingkey=error``, a repository that cannot be
read, two Applications with one name) fails that ApplicationSet only: it generates nothing this
time — as Argo CD, which then leaves its Applications as they are — and the others go on.
Called by the ``sync`` and ``apps`` commands through :func:`imagebot.sync.generate`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from imagebot import yamldoc
from imagebot.errors import ConfigError
from imagebot.model import argo
from imagebot.model.ids import ObjectKey
from imagebot.sync import _generators
from imagebot.sync._generators import Params, Tree
from imagebot.sync._source import Sources
from imagebot.sync._templates import GeneratorError, Renderer, fill_missing, merge_patch
from imagebot.sync._units import git_ref

__all__ = ["APPSET_CLONES", "AppSetFailure", "Generated", "Parse", "generate", "generate_applications"]

logger = logging.getLogger("imagebot.sync")

APPSET_CLONES = Path(".imagebot/git/appsets")
"""Where git generators clone when the caller has no work directory of its own (the promotion
gate, rollback): never the clone a run is working in."""

Parse = Callable[[object, str, ObjectKey], argo.Application]
"""``(rendered Application, where, ApplicationSet key) -> Application`` (raises ``ConfigError``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class AppSetFailure:
    """Why one ApplicationSet generated nothing: its file, the key path at fault, the reason."""

    application_set: ObjectKey
    where: str
    key_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: ApplicationSet {self.application_set}: {self.key_path}: {self.message}"


@dataclasses.dataclass(frozen=True, slots=True)
class Generated:
    applications: tuple[argo.Application, ...] = ()
    failures: tuple[AppSetFailure, ...] = ()
    rendered: Mapping[ObjectKey, Mapping[str, Mapping[str, Any]]] = dataclasses.field(default_factory=dict)
    """Per ApplicationSet, each generated Application as rendered, by name (the record's form)."""


class _Failed(Exception):
    def __init__(self, key_path: str, message: str) -> None:
        super().__init__(message)
        self.key_path, self.message = key_path, message


def generate_applications(app_sets: Iterable[argo.ApplicationSet], *, tree: Tree, parse: Parse) -> Generated:
    """Every Application of ``app_sets``, and a failure for each ApplicationSet that failed."""
    applications: list[argo.Application] = []
    failures: list[AppSetFailure] = []
    rendered: dict[ObjectKey, dict[str, Mapping[str, Any]]] = {}
    for app_set in sorted(app_sets, key=lambda s: s.key):
        try:
            made = _expand(app_set, tree, parse)
        except _Failed as exc:
            failures.append(AppSetFailure(app_set.key, app_set.source_file, exc.key_path, exc.message))
            logger.debug("%s", failures[-1])
            continue
        applications.extend(app for app, _ in made)
        rendered[app_set.key] = {app.key.name: raw for app, raw in made}
    return Generated(tuple(applications), tuple(failures), rendered)


def _expand(app_set: argo.ApplicationSet, tree: Tree,
            parse: Parse) -> list[tuple[argo.Application, Mapping[str, Any]]]:
    renderer = Renderer(go_template=app_set.go_template, missing_key_error=app_set.missing_key_error)
    made: list[tuple[argo.Application, Mapping[str, Any]]] = []
    for generator in app_set.generators:
        template = app_set.template if generator.template is None \
            else fill_missing(generator.template, app_set.template)
        try:
            sets = _generators.generate(generator, renderer, tree)
        except GeneratorError as exc:
            raise _Failed(exc.path, exc.message) from None
        except ConfigError as exc:  # a template in values, elements or a matrix child
            raise _Failed(exc.key_path or generator.path, str(exc)) from None
        for index, params in enumerate(sets):
            made.append(_application(app_set, template, params, f"(parameter set {index + 1})",
                                     renderer=renderer, parse=parse))
    seen: dict[str, int] = {}
    for app, _ in made:
        seen[app.key.name] = seen.get(app.key.name, 0) + 1
    duplicates = sorted(name for name, count in seen.items() if count > 1)
    if duplicates:
        raise _Failed("spec.template.metadata.name",
                      f"the generated Applications have duplicate names: {', '.join(duplicates)}")
    return made


def _application(app_set: argo.ApplicationSet, template: argo.Template, params: Params, which: str, *,
                 renderer: Renderer, parse: Parse) -> tuple[argo.Application, Mapping[str, Any]]:
    try:
        rendered = renderer.value(template, params, "spec.template")
    except GeneratorError as exc:
        raise _Failed(exc.path, f"{exc.message} {which}") from None
    assert isinstance(rendered, dict)
    metadata = dict(rendered.get("metadata") or {})
    metadata["namespace"] = app_set.key.namespace  # Argo CD: always the ApplicationSet's namespace
    rendered["metadata"] = metadata
    if app_set.template_patch is not None:
        rendered = _patched(app_set, rendered, params, renderer, which)
    try:
        return parse(rendered, which, app_set.key), rendered
    except ConfigError as exc:
        path = exc.key_path or ""
        message = str(exc).removeprefix(f"{which}: ").removeprefix(f"{path}: ")
        raise _Failed(f"spec.template.{path}" if path else "spec.template", f"{message} {which}") from None


def _patched(app_set: argo.ApplicationSet, app: dict[str, Any], params: Params, renderer: Renderer,
             which: str) -> dict[str, Any]:
    assert app_set.template_patch is not None
    try:
        text = renderer.string(app_set.template_patch, params, what="spec.templatePatch")
        docs = yamldoc.load_all_plain(text)
    except GeneratorError as exc:
        raise _Failed("spec.templatePatch", f"{exc.message} {which}") from None
    except yamldoc.YAMLSyntaxError as exc:
        raise _Failed("spec.templatePatch", f"the rendered patch is not YAML: {exc} {which}") from None
    patch = docs[0] if docs else None
    if patch is None:
        return app
    if not isinstance(patch, Mapping):
        raise _Failed("spec.templatePatch", f"the rendered patch is not a mapping {which}")
    project = (app.get("spec") or {}).get("project")
    merged = merge_patch(app, patch)
    assert isinstance(merged, dict)
    spec = merged.get("spec")
    if isinstance(spec, dict):  # Argo CD: a templatePatch cannot change the project
        if project is None:
            spec.pop("project", None)
        else:
            spec["project"] = project
    return merged


def generate(app_sets: Iterable[argo.ApplicationSet], sources: Sources, parse: Parse) -> Generated:
    """:func:`generate_applications` reading git generators' repositories through ``sources``
    (a clone per repository, or ``--repo DIR`` for every repository)."""
    def tree(repo_url: str, revision: str) -> Path:
        root, _ = sources.tree(repo_url, git_ref(revision), what=repo_url)
        return root

    return generate_applications(app_sets, tree=tree, parse=parse)
